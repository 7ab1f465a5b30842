/**
 * Stay on air: when a publisher drops, its stream goes on with a slate (a "back soon" picture and
 * silence) instead of stalling the players, for `seconds` (by default the reconnect grace). The
 * slate is a stand-in publish of the same key through the publish path: ffmpeg encodes the
 * picture once, at the live stream's size, frame rate, keyframe interval and audio format, and
 * its FLV goes through the RTMP ingest like a publisher's. Joining it is a reconnect for the
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
import { spawnFlvFeed, type TagFeed } from '../pull/flv-feed.js';
import { feedTag } from '../flv/publish-tags.js';

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
  readonly feed: TagFeed;
  readonly timer: NodeJS.Timeout;
  publisher: Publisher | undefined;
  stream: LiveStream | undefined;
}

/** The slate's picture and silence, encoded like the live stream (H.264 + AAC in FLV). */
export function slateArgs(live: { width: number; height: number; fps: number; sampleRate?: number; channels?: number }, options: { image?: string; segmentDuration: number }): string[] {
  const w = Math.max(2, Math.round(live.width / 2) * 2);
  const h = Math.max(2, Math.round(live.height / 2) * 2);
  const fps = live.fps > 0 && live.fps <= 120 ? live.fps : 30;
  const gop = Math.max(1, Math.round(fps * options.segmentDuration));
  const picture = options.image
    ? ['-loop', '1', '-framerate', String(fps), '-i', options.image]
    : ['-f', 'lavfi', '-i', `color=c=0x1f2430:s=${w}x${h}:r=${fps},drawtext=text='Back soon':fontcolor=white:fontsize=${Math.round(h / 10)}:x=(w-text_w)/2:y=(h-text_h)/2`];
  const audio = live.sampleRate ? ['-f', 'lavfi', '-i', `anullsrc=r=${live.sampleRate}:cl=${live.channels === 1 ? 'mono' : 'stereo'}`] : [];
  return [
    '-re',
    ...picture,
    ...audio,
    '-map', '0:v',
    ...(audio.length ? ['-map', '1:a'] : []),
    '-vf', `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,format=yuv420p`,
    '-r', String(fps),
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-bf', '0',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-b:v', '300k',
    ...(audio.length ? ['-c:a', 'aac', '-ar', String(live.sampleRate), '-ac', String(live.channels === 1 ? 1 : 2), '-b:a', '64k'] : []),
  ];
}

export class SlateManager {
  private readonly options: SlateOptions;
  private readonly running = new Map<string, Running>();
  /** Streams whose slate is making way for their publisher right now (no new slate for that). */
  private readonly makingWay = new Set<string>();
  private closing = false;

  constructor(outputs: OutputRegistry, options: SlateOptions) {
    this.options = options;
    outputs.on('suspend', (output: StreamOutput) => this.standIn(output));
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
    const ingest = new FlvIngest();
    const args = slateArgs(
      { width: video.width, height: video.height, fps: video.fps ?? 30, sampleRate: last.audio?.sampleRate, channels: last.audio?.channels },
      { image: this.options.image, segmentDuration: this.options.segmentDuration },
    );
    let entry: Running | undefined;
    const end = (reason: string, endsOutput: boolean): void => {
      if (!entry || this.running.get(last.path) !== entry) return;
      this.running.delete(last.path);
      clearTimeout(entry.timer);
      entry.feed.close();
      if (entry.stream) {
        entry.stream.preempt = undefined;
        entry.stream.endsOutput = endsOutput;
      }
      entry.publisher?.end(reason);
      log.info({ reason }, 'slate off');
    };
    const feed = spawnFlvFeed(
      ffmpegPath,
      args,
      (type, timestamp, payload) => {
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
      },
      (reason) => end(`slate encoder stopped: ${reason}`, true),
    );
    const timer = setTimeout(() => end('slate time is up', true), this.options.seconds * 1000);
    timer.unref();
    entry = { feed, timer, publisher: undefined, stream: undefined };
    this.running.set(last.path, entry);
  }

  close(): void {
    this.closing = true;
    for (const entry of this.running.values()) {
      clearTimeout(entry.timer);
      entry.feed.close();
      entry.publisher?.end('gateway stopping');
    }
    this.running.clear();
  }
}
