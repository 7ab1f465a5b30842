/**
 * Ties the ladder to the gateway: per published stream, wait until the source video and its
 * bitrate are known, select the renditions, take a transcode slot, run the Transcoder, and hand
 * each rung to the packager as a video rendition (a LiveStream per rung, video only: the source's
 * audio rendition is shared).
 *
 * Bitrate: metadata `videodatarate` (kbit/s, FLV onMetaData) when present, else measured over the
 * first `measureMs` of video, from the first keyframe to the first keyframe at least that far on
 * (whole GOPs, so a big IDR does not skew a short window). The ladder starts on that keyframe; the
 * packager aligns each rung's first segment with the source's next one.
 *
 * Wiring (lead):
 *   registry.on('publish', (s) => ladders.attach(s));
 *   new LadderManager({ addVideoRendition: (s, id, src) => outputs.get(s.path)?.addVideoRendition(id, src) })
 */
import { VIDEO_TIMESCALE, type Frame, type Track, type VideoTrack } from '../core/media.js';
import { LiveStream, type StreamSink } from '../core/stream.js';
import {
  DEFAULT_LADDER,
  resolveLadderConfig,
  selectLadder,
  type LadderConfig,
  type SelectLadderOptions,
  type SelectedRendition,
  type TranscodedRendition,
} from './ladder.js';
import { TranscodeSlots, type SlotLease } from './slots.js';
import { Transcoder, type TranscoderOptions, type TranscoderStatus } from './transcoder.js';

/** What the packager needs from a rung: the LiveStream subscribe contract. */
export interface RenditionSource {
  subscribe(sink: StreamSink): () => void;
}

export type AddVideoRendition = (stream: LiveStream, id: string, source: RenditionSource, rendition: TranscodedRendition) => void;

export type RemoveVideoRendition = (stream: LiveStream, id: string) => void;

export type TranscoderFactory = (rungs: readonly TranscodedRendition[], opts: TranscoderOptions) => Transcoder;

export interface LadderManagerOptions {
  config?: LadderConfig;
  /** Shared cap on concurrent transcodes. Default: a new TranscodeSlots() (cores - 1). */
  slots?: TranscodeSlots;
  select?: Omit<SelectLadderOptions, 'passthroughOnly'>;
  /** Options for every Transcoder (callbacks and label are set by the manager). */
  transcoder?: Omit<TranscoderOptions, 'onRungTrack' | 'onRungFrame' | 'onStatus' | 'label'>;
  /** Bitrate measurement window without metadata. Default 2000 ms (use the segment duration). */
  measureMs?: number;
  /** Audio frames with no video announced before the stream counts as audio-only. Default 50. */
  audioOnlyAfterFrames?: number;
  addVideoRendition?: AddVideoRendition;
  /** A rung the self-tuning dropped to keep real time: no longer offered. */
  removeVideoRendition?: RemoveVideoRendition;
  createTranscoder?: TranscoderFactory;
  logger?: TranscoderOptions['logger'];
  /** Told every time a stream's transcoder is restarted (metrics). */
  onTranscoderRestart?: (stream: LiveStream) => void;
}

export type LadderPhase = 'waiting' | 'selected' | 'ended';

export interface StreamLadderInfo {
  path: string;
  phase: LadderPhase;
  renditions: SelectedRendition[];
  /** Why there are no transcoded rungs (audio-only, config, no slot, ...). */
  reason?: string;
  bitrate?: number;
  bitrateFrom?: 'metadata' | 'measured';
  transcoder?: TranscoderStatus;
}

const TICKS_PER_MS = VIDEO_TIMESCALE / 1000;

export class StreamLadder implements StreamSink {
  readonly stream: LiveStream;
  private readonly manager: LadderManager;
  private readonly opts: LadderManagerOptions;
  private phase: LadderPhase = 'waiting';
  private renditions: SelectedRendition[] = [];
  private reason: string | undefined;
  private bitrate: number | undefined;
  private bitrateFrom: 'metadata' | 'measured' | undefined;
  private video: VideoTrack | undefined;
  private firstKeyDts: number | undefined;
  private measuredBytes = 0;
  private audioFrames = 0;
  private transcoder: Transcoder | undefined;
  private lease: SlotLease | undefined;
  private readonly rungStreams = new Map<string, LiveStream>();
  private unsubscribe: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  constructor(stream: LiveStream, manager: LadderManager, opts: LadderManagerOptions) {
    this.stream = stream;
    this.manager = manager;
    this.opts = opts;
  }

  /** Subscribes to the source (separate from the constructor: subscribe replays known tracks). */
  start(): void {
    this.unsubscribe = this.stream.subscribe(this);
  }

  info(): StreamLadderInfo {
    const info: StreamLadderInfo = { path: this.stream.path, phase: this.phase, renditions: [...this.renditions] };
    if (this.reason !== undefined) info.reason = this.reason;
    if (this.bitrate !== undefined) info.bitrate = this.bitrate;
    if (this.bitrateFrom !== undefined) info.bitrateFrom = this.bitrateFrom;
    if (this.transcoder) info.transcoder = this.transcoder.status();
    return info;
  }

  /** The rung's stream (video only), for packaging or inspection. */
  rung(name: string): LiveStream | undefined {
    return this.rungStreams.get(name);
  }

  get transcoderInstance(): Transcoder | undefined {
    return this.transcoder;
  }

  onTrack(track: Track): void {
    if (track.kind === 'video') this.video = track;
    this.transcoder?.onTrack(track);
  }

  onFrame(frame: Frame): void {
    if (this.phase === 'selected') {
      this.transcoder?.onFrame(frame);
      return;
    }
    if (this.phase !== 'waiting') return;
    if (frame.kind === 'audio') {
      if (this.video || this.stream.metadata['videocodecid'] !== undefined) return;
      if (++this.audioFrames >= (this.opts.audioOnlyAfterFrames ?? 50)) this.decide(undefined, 'audio-only stream');
      return;
    }
    const video = this.video;
    if (!video) return;
    if (this.firstKeyDts === undefined) {
      if (!frame.key) return;
      this.firstKeyDts = frame.dts;
    }
    const declared = metadataBitrate(this.stream.metadata);
    if (frame.key && declared !== undefined) {
      this.bitrate = declared;
      this.bitrateFrom = 'metadata';
      this.decide(frame);
      return;
    }
    const span = frame.dts - this.firstKeyDts;
    if (frame.key && span >= (this.opts.measureMs ?? 2_000) * TICKS_PER_MS) {
      this.bitrate = Math.round((this.measuredBytes * 8 * VIDEO_TIMESCALE) / span);
      this.bitrateFrom = 'measured';
      this.decide(frame);
      return;
    }
    this.measuredBytes += frame.data.byteLength;
  }

  onEnd(): void {
    void this.stop();
  }

  /** Stops the transcoder (flushing it), ends every rung stream, frees the slot. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    this.phase = 'ended';
    this.unsubscribe?.();
    this.stopping = (async () => {
      await this.transcoder?.stop();
      for (const s of this.rungStreams.values()) s.end();
      this.lease?.release();
      this.lease = undefined;
      this.manager.forget(this);
    })();
    return this.stopping;
  }

  private decide(keyframe: Frame | undefined, reason?: string): void {
    this.phase = 'selected';
    const video = this.video;
    const resolved = resolveLadderConfig(this.opts.config ?? {}, this.stream.app, this.stream.key);
    const fps = video?.fps ?? metadataNumber(this.stream.metadata, 'framerate');
    // An encoder that sends its own ladder (Enhanced RTMP multitrack) is not transcoded.
    const ownLadder = this.stream.videoRenditions.size > 0;
    const passthroughOnly = resolved.passthroughOnly || ownLadder;
    this.renditions = selectLadder(
      {
        width: video?.width ?? 0,
        height: video?.height ?? 0,
        hasVideo: video !== undefined,
        ...(fps !== undefined ? { fps } : {}),
        ...(this.bitrate !== undefined ? { bitrate: this.bitrate } : {}),
      },
      resolved.rungs.length > 0 ? resolved.rungs : DEFAULT_LADDER,
      { ...this.opts.select, passthroughOnly },
    );
    const rungs = this.renditions.filter((r): r is TranscodedRendition => r.kind === 'transcode');
    if (rungs.length === 0) {
      this.reason =
        reason ??
        (ownLadder
          ? 'the encoder sends its own renditions (multitrack): none transcoded'
          : resolved.passthroughOnly
            ? `passthrough by ${resolved.from} config`
            : 'no rung below the source');
      return;
    }
    const slot = this.manager.slots.acquire(this.stream.path);
    if (!slot.ok) {
      this.reason = slot.reason;
      this.renditions = this.renditions.filter((r) => r.kind === 'passthrough');
      this.opts.logger?.warn({ stream: this.stream.path }, slot.reason);
      return;
    }
    this.lease = slot.lease;
    const transcoderOpts: TranscoderOptions = {
      ...this.opts.transcoder,
      label: this.stream.path,
      ...(this.opts.logger ? { logger: this.opts.logger } : {}),
      onRungTrack: (name, track) => this.rungStreams.get(name)?.pushTrack(track),
      onRungFrame: (name, frame) => this.rungStreams.get(name)?.pushFrame(frame),
      onStatus: (status) => {
        if (status.restarts > restartsSeen) {
          restartsSeen = status.restarts;
          this.opts.onTranscoderRestart?.(this.stream);
        }
      },
    };
    let restartsSeen = 0;
    const factory = this.opts.createTranscoder ?? ((r, o) => new Transcoder(r, o));
    this.transcoder = factory(rungs, transcoderOpts);
    this.transcoder.on('tuned', (step) => {
      for (const name of step.dropped) {
        this.renditions = this.renditions.filter((r) => r.name !== name);
        this.opts.removeVideoRendition?.(this.stream, name);
        this.rungStreams.get(name)?.end();
        this.rungStreams.delete(name);
      }
    });
    for (const r of rungs) {
      const rungStream = new LiveStream(this.stream.app, `${this.stream.key}/${r.name}`);
      this.rungStreams.set(r.name, rungStream);
      this.opts.addVideoRendition?.(this.stream, r.name, rungStream, r);
    }
    if (video) this.transcoder.onTrack(video);
    if (keyframe) this.transcoder.onFrame(keyframe);
  }
}

export class LadderManager {
  readonly slots: TranscodeSlots;
  private readonly opts: LadderManagerOptions;
  private readonly ladders = new Map<string, StreamLadder>();

  constructor(opts: LadderManagerOptions = {}) {
    this.opts = opts;
    this.slots = opts.slots ?? new TranscodeSlots();
  }

  /** Call on publish. A stream already attached under the same path is stopped first. */
  attach(stream: LiveStream): StreamLadder {
    const previous = this.ladders.get(stream.path);
    if (previous) void previous.stop();
    const ladder = new StreamLadder(stream, this, this.opts);
    this.ladders.set(stream.path, ladder);
    ladder.start();
    return ladder;
  }

  get(path: string): StreamLadder | undefined {
    return this.ladders.get(path);
  }

  list(): StreamLadderInfo[] {
    return [...this.ladders.values()].map((l) => l.info());
  }

  /** Gateway shutdown: every transcoder stopped, no child left. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.ladders.values()].map((l) => l.stop()));
  }

  /** @internal called by StreamLadder when it stops. */
  forget(ladder: StreamLadder): void {
    if (this.ladders.get(ladder.stream.path) === ladder) this.ladders.delete(ladder.stream.path);
  }
}

function metadataNumber(meta: Record<string, unknown>, key: string): number | undefined {
  const v = meta[key];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** FLV onMetaData `videodatarate` is in kbit/s. */
function metadataBitrate(meta: Record<string, unknown>): number | undefined {
  const kbps = metadataNumber(meta, 'videodatarate');
  return kbps === undefined ? undefined : Math.round(kbps * 1000);
}
