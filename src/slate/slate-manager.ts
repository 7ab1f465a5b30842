/**
 * Stay on air: when a publisher drops, its stream goes on with a slate (a "back soon" picture and
 * silence) instead of stalling the players, for `seconds` (by default the reconnect grace). The
 * slate is a stand-in publish of the same key through the publish path: ffmpeg encodes the
 * picture once per format (the live stream's size, frame rate, keyframe interval and audio
 * codec and format; slate-clip.ts, slate-silence.ts), as soon as a stream's tracks are known, so
 * the slate goes on the air the moment the publisher drops; it is played in real time
 * (slate-feed.ts) and goes through the RTMP ingest like a publisher's FLV. Joining it is a reconnect for the
 * packagers (timestamps and sequence numbers go on, EXT-X-DISCONTINUITY and a new DASH Period),
 * and so is leaving it when the publisher comes back, which takes over at once (`preempt`).
 * When the slate's time is up the stream ends (ENDLIST).
 */
import type { Logger } from 'pino';
import type { PublishPath, Publisher } from '../core/publish.js';
import type { LiveStream } from '../core/stream.js';
import { FlvIngest } from '../flv/ingest.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { StreamOutput } from '../packager/stream-output.js';
import type { TagFeed } from '../pull/flv-feed.js';
import { feedTag } from '../flv/publish-tags.js';
import { encodeSlateClip, type SlateClip, type SlateFormat } from './slate-clip.js';
import { encodeSlateClipTs } from './slate-clip-ts.js';
import { playSlateClip } from './slate-feed.js';
import { encodeSlateSilence, isSilenceCodec } from './slate-silence.js';

export interface SlateOptions {
  /** A picture (PNG, JPEG); default: "Back soon" drawn by ffmpeg. */
  readonly image?: string;
  /** How long the slate stands in before the stream ends. */
  readonly seconds: number;
  /** Keyframe interval of the slate: the segment duration, so its segments are cut like the live ones. */
  readonly segmentDuration: number;
  readonly ffmpegPath: string | undefined;
  readonly publishPath: PublishPath;
  readonly logger: Logger;
}

interface Running {
  feed: TagFeed | undefined;
  readonly timer: NodeJS.Timeout;
  publisher: Publisher | undefined;
  stream: LiveStream | undefined;
}

/**
 * ffmpeg's inputs, maps and codecs for the slate's picture (H.264 or HEVC: see formatOf) and, for
 * AAC streams, its silence; other audio codecs' silence comes from slate-silence.ts. The output
 * format (FLV for H.264, MPEG-TS for HEVC) is the encoder's business (slate-clip*.ts).
 */
export function slateArgs(live: SlateFormat, options: { image?: string; segmentDuration: number }): string[] {
  const w = Math.max(2, Math.round(live.width / 2) * 2);
  const h = Math.max(2, Math.round(live.height / 2) * 2);
  const fps = live.fps > 0 && live.fps <= 120 ? live.fps : 30;
  const gop = Math.max(1, Math.round(fps * options.segmentDuration));
  const picture = options.image
    ? ['-loop', '1', '-framerate', String(fps), '-i', options.image]
    : ['-f', 'lavfi', '-i', `color=c=0x1f2430:s=${w}x${h}:r=${fps},drawtext=text='Back soon':fontcolor=white:fontsize=${Math.round(h / 10)}:x=(w-text_w)/2:y=(h-text_h)/2`];
  const audio = live.sampleRate && (live.audioCodec ?? 'aac') === 'aac' ? ['-f', 'lavfi', '-i', `anullsrc=r=${live.sampleRate}:cl=${live.channels === 1 ? 'mono' : 'stereo'}`] : [];
  return [
    ...picture,
    ...audio,
    '-map', '0:v',
    ...(audio.length ? ['-map', '1:a'] : []),
    '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,format=yuv420p`,
    '-r', String(fps),
    ...(live.videoCodec === 'hevc'
      ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', `keyint=${gop}:min-keyint=${gop}:scenecut=0:bframes=0:repeat-headers=1:log-level=error`]
      : ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0']),
    '-b:v', '300k',
    ...(audio.length ? ['-c:a', 'aac', '-ar', String(live.sampleRate), '-ac', String(live.channels === 1 ? 1 : 2), '-b:a', '64k'] : []),
  ];
}

export class SlateManager {
  private readonly options: SlateOptions;
  private readonly running = new Map<string, Running>();
  /** Streams whose slate is making way for their publisher right now (no new slate for that). */
  private readonly makingWay = new Set<string>();
  private closing = false;

  /** Encoded clips by format (slate-clip.ts), made when a stream of that format is published. */
  private readonly clips = new Map<string, Promise<SlateClip>>();

  constructor(outputs: OutputRegistry, options: SlateOptions) {
    this.options = options;
    outputs.on('suspend', (output: StreamOutput) => this.standIn(output));
    outputs.on('publish', (_output: StreamOutput, stream: LiveStream) => this.prepare(stream));
  }

  /** Encodes the slate for `stream`'s format once its tracks are known, before anyone needs it. */
  private prepare(stream: LiveStream): void {
    const off = stream.subscribe({
      onTrack: () => {
        if (!stream.video) return;
        void this.clipFor(formatOf(stream)).catch(() => undefined);
        if (stream.audio) off();
      },
      onFrame: () => undefined,
      onEnd: () => off(),
    });
  }

  private clipFor(format: SlateFormat): Promise<SlateClip> {
    const key = JSON.stringify(format);
    let clip = this.clips.get(key);
    if (!clip) {
      const ffmpegPath = this.options.ffmpegPath;
      if (!ffmpegPath) return Promise.reject(new Error('ffmpeg not found'));
      // A handful of formats at most in practice; bounded all the same.
      if (this.clips.size >= 32) this.clips.delete(this.clips.keys().next().value!);
      const gop = Math.max(1, Math.round(format.fps * this.options.segmentDuration));
      const encode = format.videoCodec === 'hevc' ? encodeSlateClipTs : encodeSlateClip;
      const picture = encode(ffmpegPath, slateArgs(format, { image: this.options.image, segmentDuration: this.options.segmentDuration }), format, gop);
      const codec = format.audioCodec;
      clip =
        codec !== undefined && isSilenceCodec(codec) && format.sampleRate !== undefined
          ? Promise.all([picture, encodeSlateSilence(ffmpegPath, codec, format.sampleRate, format.channels ?? 2)]).then(([video, silence]) => ({
              ...video,
              ...(silence.header ? { audioHeader: silence.header } : {}),
              silence: silence.frame,
              sampleRate: silence.sampleRate,
              silenceSamples: silence.samples,
            }))
          : picture;
      clip.catch((err: unknown) => {
        this.clips.delete(key);
        this.options.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'the slate could not be encoded');
      });
      this.clips.set(key, clip);
    }
    return clip;
  }

  /** Streams on the slate right now. */
  get active(): number {
    return this.running.size;
  }

  private standIn(output: StreamOutput): void {
    const { ffmpegPath, logger } = this.options;
    const last = output.stream;
    const video = last.video;
    if (this.closing || !ffmpegPath || !video || this.running.has(last.path) || this.makingWay.has(last.path)) return;
    const { app, key } = last;
    const log = logger.child({ stream: last.path });
    // What the slate cannot match is said once per slate, not left to be found in a player.
    if (last.audio && formatOf(last).sampleRate === undefined) log.warn({ audioCodec: last.audio.codec }, 'the slate has no audio: its silence is made in AAC, Opus, AC-3 or E-AC-3 only');
    if (video.codec !== 'avc' && video.codec !== 'hevc') log.info({ videoCodec: video.codec }, 'the slate picture is H.264: the joins change the video codec');
    const ingest = new FlvIngest();
    let entry: Running | undefined;
    const end = (reason: string, endsOutput: boolean): void => {
      if (!entry || this.running.get(last.path) !== entry) return;
      this.running.delete(last.path);
      clearTimeout(entry.timer);
      entry.feed?.close();
      if (entry.stream) {
        entry.stream.preempt = undefined;
        entry.stream.endsOutput = endsOutput;
      }
      entry.publisher?.end(reason);
      log.info({ reason }, 'slate off');
    };
    const onTag = (type: number, timestamp: number, payload: Uint8Array): void => {
      if (!entry || this.running.get(last.path) !== entry) return;
      if (!entry.publisher) {
        const started = this.options.publishPath.start({ app, key, query: '', ip: 'slate' }, log);
        if (!started.ok) {
          end(`the slate cannot start: ${started.reason}`, false);
          return;
        }
        entry.publisher = started;
        entry.stream = started.stream;
        // The publisher back: the slate makes way before the new publish starts.
        started.stream.preempt = () => {
          this.makingWay.add(last.path);
          try {
            end('the publisher is back', false);
          } finally {
            this.makingWay.delete(last.path);
          }
        };
        log.info('slate on');
      }
      feedTag(entry.publisher, ingest, type, timestamp, payload);
    };
    this.clipFor(formatOf(last)).then(
      (clip) => {
        if (entry && this.running.get(last.path) === entry) entry.feed = playSlateClip(clip, onTag);
      },
      (err: unknown) => end(`slate encoder stopped: ${err instanceof Error ? err.message : String(err)}`, true),
    );
    const timer = setTimeout(() => end('slate time is up', true), this.options.seconds * 1000);
    timer.unref();
    entry = { feed: undefined, timer, publisher: undefined, stream: undefined };
    this.running.set(last.path, entry);
  }

  close(): void {
    this.closing = true;
    for (const entry of this.running.values()) {
      clearTimeout(entry.timer);
      entry.feed?.close();
      entry.publisher?.end('gateway stopping');
    }
    this.running.clear();
  }
}

/**
 * The slate's format for a stream: its picture codec, size and frame rate, and its audio codec and
 * format. The picture is H.264 or HEVC as the live one (x264, x265); AV1 and VP9 streams get an
 * H.264 slate, each join then also a video codec change, signalled like any configuration change
 * (a new init segment after EXT-X-DISCONTINUITY, a new DASH Period). The audio matches the live
 * codec for AAC, Opus, AC-3 and E-AC-3, so the audio track goes on in the codec its playlists
 * announce; a FLAC stream's slate has no audio.
 */
export function formatOf(stream: Pick<LiveStream, 'video' | 'audio'>): SlateFormat {
  const video = stream.video!;
  const audio = stream.audio;
  const matched = audio !== undefined && (audio.codec === 'aac' || isSilenceCodec(audio.codec));
  return {
    ...(video.codec === 'hevc' ? { videoCodec: 'hevc' as const } : {}),
    width: video.width,
    height: video.height,
    fps: video.fps !== undefined && video.fps > 0 && video.fps <= 120 ? video.fps : 30,
    ...(matched ? { audioCodec: audio.codec, sampleRate: audio.sampleRate, channels: audio.channels } : {}),
  };
}
