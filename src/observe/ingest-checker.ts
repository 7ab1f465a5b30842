/**
 * Ingest checker: watches what a publisher sends and turns problems into warnings a streamer
 * can act on, each naming the OBS setting to change. Pure logic fed tracks, frames and a clock
 * (frame wall clocks, or `check(now)`), so it is tested without sockets; `attachIngestCheckers`
 * wires one per live stream and logs each warning once.
 */
import type { Logger } from 'pino';
import { VIDEO_TIMESCALE, type Frame, type Track } from '../core/media.js';
import type { LiveStream, StreamRegistry } from '../core/stream.js';

export type IngestWarningCode =
  | 'keyframe-interval'
  | 'keyframe-irregular'
  | 'b-frames'
  | 'timestamps-backwards'
  | 'timestamps-jump'
  | 'av-drift'
  | 'bitrate-spike'
  | 'unsupported-codec'
  | 'missing-video-header'
  | 'missing-audio-header';

export interface IngestWarning {
  readonly code: IngestWarningCode;
  /** 'info': works, with a cost (B-frames); 'warn': playback or latency suffers. */
  readonly severity: 'info' | 'warn';
  readonly message: string;
  /** The OBS setting that fixes it. */
  readonly obs: string;
  /** Wall clock (ms) when first raised. */
  readonly since: number;
  /** Wall clock (ms) when last seen (the message is the latest one). */
  readonly lastSeen: number;
  readonly count: number;
}

/** The `/api/streams` shape proposed for the lead: `warnings: [{ code, message, obs, since }]`. */
export interface IngestWarningView {
  code: IngestWarningCode;
  severity: 'info' | 'warn';
  message: string;
  obs: string;
  since: string;
}

export interface IngestCheckerOptions {
  /** Segment target in seconds (keyframe interval must not exceed it). */
  readonly segmentDuration: number;
  /** Called once per warning code, when first raised. */
  readonly onWarning?: (warning: IngestWarning) => void;
  /** When the stream started (ms); the missing-header check counts from here. Default: first call. */
  readonly startedAt?: number;
}

const OBS = {
  keyframe: 'Settings > Output > Output Mode: Advanced > Streaming > Keyframe Interval: 2 s (1 s for lower latency; never 0 = auto)',
  bframes: 'Settings > Output > Streaming: x264 options "bframes=0" (or Profile: baseline); NVENC/QSV/AMF: Max B-frames 0',
  timestamps: 'Settings > Output: lower the bitrate or use a faster CPU Usage Preset (an overloaded encoder or network skips frames); Settings > Advanced > Network: uncheck "Enable network optimizations"',
  drift: 'Audio Mixer > gear > Advanced Audio Properties: Sync Offset 0 ms; Settings > Audio > Sample Rate 48 kHz matching the devices',
  bitrate: 'Settings > Output > Streaming > Rate Control: CBR, Bitrate at most what your upload sustains',
  codec: 'Settings > Output > Streaming > Video Encoder: x264 or NVENC H.264, Profile: high or main; Audio Encoder: AAC',
  header: 'Stop and start streaming again (the encoder did not send its codec configuration); if it persists choose another Encoder in Settings > Output',
} as const;

/** AVC profile_idc a browser's MSE decodes (Baseline, Main, Extended, High). */
const PLAYABLE_AVC_PROFILES = new Set([66, 77, 88, 100]);
const SUPPORTED_AAC_OBJECT_TYPES = new Set([2, 5, 29]);
/** Video codec ids in onMetaData that the gateway ingests: FLV 7 (AVC), 12 (HEVC), Enhanced RTMP FourCCs. */
const KNOWN_VIDEO_CODEC_IDS = new Set<unknown>([7, 12, 'avc1', 'hvc1', 'hev1', 'av01', 'vp09', 0x68766331, 0x61763031, 0x76703039]);
/** Audio codec ids in onMetaData that the gateway ingests: FLV 10 (AAC), Enhanced RTMP v2 FourCCs (as strings or UI32). */
const KNOWN_AUDIO_CODEC_IDS = new Set<unknown>([10, 'mp4a', 'Opus', 'fLaC', 'ac-3', 'ec-3', 0x6d703461, 0x4f707573, 0x664c6143, 0x61632d33, 0x65632d33]);

const JUMP_SECONDS = 1;
const DRIFT_SECONDS = 0.5;
/** A drift must persist this long (wall clock) to count: interleaving alone is momentary. */
const DRIFT_PERSIST_MS = 2000;
const HEADER_GRACE_MS = 2000;
const SPIKE_FACTOR = 2;
/** Seconds of history before spikes are judged (a connect burst is not a spike). */
const SPIKE_WARMUP_BUCKETS = 5;
const KEYFRAME_HISTORY = 6;

interface KindState {
  timescale: number;
  lastDts: number | undefined;
}

export class IngestChecker {
  private readonly options: IngestCheckerOptions;
  private readonly raised = new Map<IngestWarningCode, IngestWarning>();
  private readonly state: Record<'video' | 'audio', KindState> = {
    video: { timescale: VIDEO_TIMESCALE, lastDts: undefined },
    audio: { timescale: 0, lastDts: undefined },
  };
  private hasVideo = false;
  private hasAudio = false;
  private startedAt: number | undefined;
  private lastKeyDts: number | undefined;
  private readonly keyIntervals: number[] = [];
  private driftSince: number | undefined;
  /** Bytes per whole wall-clock second: the current bucket, and the finished ones' totals. */
  private bucketSecond: number | undefined;
  private bucketBytes = 0;
  private finishedBuckets = 0;
  private finishedBytes = 0;

  constructor(options: IngestCheckerOptions) {
    this.options = options;
    this.startedAt = options.startedAt;
  }

  /** Active warnings, first raised first. */
  get warnings(): IngestWarning[] {
    return [...this.raised.values()];
  }

  view(): IngestWarningView[] {
    return this.warnings.map((w) => ({ code: w.code, severity: w.severity, message: w.message, obs: w.obs, since: new Date(w.since).toISOString() }));
  }

  onTrack(track: Track, now: number): void {
    this.startedAt ??= now;
    if (track.kind === 'video') {
      this.hasVideo = true;
      this.state.video.timescale = track.timescale;
      if (track.codec === 'hevc') {
        this.raise('unsupported-codec', 'warn', 'HEVC video: only some browsers (Safari, Chrome/Edge with hardware decoding) can play it, and HTTP-FLV players mostly cannot.', OBS.codec, now);
      } else {
        const profile = parseInt(track.codecString.slice(5, 7), 16);
        if (!PLAYABLE_AVC_PROFILES.has(profile)) {
          this.raise('unsupported-codec', 'warn', `H.264 profile_idc ${profile} (${track.codecString}) is not decodable by browsers: use High, Main or Baseline with 8-bit 4:2:0.`, OBS.codec, now);
        }
      }
    } else {
      this.hasAudio = true;
      this.state.audio.timescale = track.timescale;
      if (track.codec === 'aac' && (!SUPPORTED_AAC_OBJECT_TYPES.has(track.objectType) || track.samplesPerFrame !== 1024)) {
        this.raise('unsupported-codec', 'warn', `AAC object type ${track.objectType} with ${track.samplesPerFrame} samples per frame is not supported: use AAC-LC.`, OBS.codec, now);
      }
    }
  }

  onFrame(frame: Frame): void {
    const now = frame.wallclock;
    this.startedAt ??= now;
    const state = this.state[frame.kind];
    if (state.timescale === 0) return; // no track yet: nothing to measure against
    if (state.lastDts !== undefined) {
      const step = (frame.dts - state.lastDts) / state.timescale;
      if (step < 0) this.raise('timestamps-backwards', 'warn', `${frame.kind} timestamps went back ${Math.round(-step * 1000)} ms: players stall or skip.`, OBS.timestamps, now);
      else if (step > JUMP_SECONDS) this.raise('timestamps-jump', 'warn', `${frame.kind} timestamps jumped ${step.toFixed(1)} s (a gap in what the encoder sent).`, OBS.timestamps, now);
    }
    state.lastDts = frame.dts;
    if (frame.kind === 'video') this.checkVideo(frame, now);
    this.checkDrift(now);
    this.checkBitrate(frame, now);
  }

  /**
   * Ingest's own findings (FlvIngest 'warning' events): the ingest repairs timestamps before the
   * frames reach the stream, so backwards steps and jumps are only visible here.
   */
  onIngestWarning(code: string, message: string, now: number): void {
    switch (code) {
      case 'timestamp-backwards':
        this.raise('timestamps-backwards', 'warn', `${message}.`, OBS.timestamps, now);
        break;
      case 'timestamp-jump':
        this.raise('timestamps-jump', 'warn', `${message}.`, OBS.timestamps, now);
        break;
      case 'unsupported-codec':
        this.raise('unsupported-codec', 'warn', `${message}.`, OBS.codec, now);
        break;
      default:
        break;
    }
  }

  /** Time-based checks (no frame needed): a sequence header metadata promised that never came. */
  check(now: number, metadata: Record<string, unknown>): void {
    this.startedAt ??= now;
    const videoId = metadata['videocodecid'];
    const audioId = metadata['audiocodecid'];
    if (videoId !== undefined && !KNOWN_VIDEO_CODEC_IDS.has(videoId)) {
      this.raise('unsupported-codec', 'warn', `Video codec ${String(videoId)} is not supported: H.264, HEVC, AV1 and VP9 video are packaged.`, OBS.codec, now);
    }
    if (audioId !== undefined && !KNOWN_AUDIO_CODEC_IDS.has(audioId)) {
      this.raise('unsupported-codec', 'warn', `Audio codec ${String(audioId)} is not supported: only AAC audio is packaged.`, OBS.codec, now);
    }
    if (now - this.startedAt < HEADER_GRACE_MS) return;
    if (videoId !== undefined && KNOWN_VIDEO_CODEC_IDS.has(videoId) && !this.hasVideo) {
      this.raise('missing-video-header', 'warn', 'The stream metadata announces video but no video sequence header (codec configuration) arrived: video cannot be packaged.', OBS.header, now);
    }
    if (audioId !== undefined && KNOWN_AUDIO_CODEC_IDS.has(audioId) && !this.hasAudio) {
      this.raise('missing-audio-header', 'warn', 'The stream metadata announces audio but no AAC sequence header arrived: audio cannot be packaged.', OBS.header, now);
    }
  }

  private checkVideo(frame: Frame, now: number): void {
    if (frame.pts !== frame.dts) {
      this.raise(
        'b-frames',
        'info',
        'B-frames in the video: fine for HLS and DASH, but each B-frame adds a frame of reorder delay end to end, and some old players stutter on them.',
        OBS.bframes,
        now,
      );
    }
    const target = this.options.segmentDuration;
    if (!frame.key) {
      // No keyframe for twice the target: say so before the next one finally comes.
      if (this.lastKeyDts !== undefined && (frame.dts - this.lastKeyDts) / VIDEO_TIMESCALE > 2 * target + 0.5) {
        this.raise('keyframe-interval', 'warn', `No keyframe for more than ${(2 * target).toFixed(1)} s: segments cannot be cut, latency and start-up time grow.`, OBS.keyframe, now);
      }
      return;
    }
    if (this.lastKeyDts !== undefined) {
      const interval = (frame.dts - this.lastKeyDts) / VIDEO_TIMESCALE;
      this.keyIntervals.push(interval);
      if (this.keyIntervals.length > KEYFRAME_HISTORY) this.keyIntervals.shift();
      // Half a frame at 30 fps of slack: a 2.0 s GOP arrives as 1.99-2.01 s.
      if (interval > target + 0.017) {
        this.raise(
          'keyframe-interval',
          'warn',
          `Keyframes every ${interval.toFixed(1)} s, longer than the ${target} s segment target: segments stretch to ${interval.toFixed(1)} s, latency and start-up time grow.`,
          OBS.keyframe,
          now,
        );
      }
      if (this.keyIntervals.length >= 3) {
        const min = Math.min(...this.keyIntervals);
        const max = Math.max(...this.keyIntervals);
        if (max > 1.5 * min && max - min >= 0.5) {
          this.raise('keyframe-irregular', 'warn', `Keyframe intervals vary from ${min.toFixed(1)} to ${max.toFixed(1)} s: segment durations vary, players rebuffer or drift.`, OBS.keyframe, now);
        }
      }
    }
    this.lastKeyDts = frame.dts;
  }

  private checkDrift(now: number): void {
    const v = this.state.video;
    const a = this.state.audio;
    if (v.lastDts === undefined || a.lastDts === undefined || a.timescale === 0) return;
    const drift = a.lastDts / a.timescale - v.lastDts / v.timescale;
    if (Math.abs(drift) <= DRIFT_SECONDS) {
      this.driftSince = undefined;
      return;
    }
    this.driftSince ??= now;
    if (now - this.driftSince >= DRIFT_PERSIST_MS) {
      this.raise('av-drift', 'warn', `Audio is ${Math.round(Math.abs(drift) * 1000)} ms ${drift > 0 ? 'ahead of' : 'behind'} video in the timestamps: lips out of sync, players may stall.`, OBS.drift, now);
    }
  }

  private checkBitrate(frame: Frame, now: number): void {
    const second = Math.floor(now / 1000);
    if (this.bucketSecond === undefined) this.bucketSecond = second;
    if (second !== this.bucketSecond) {
      // The finished bucket is judged against the average of those before it.
      if (this.finishedBuckets >= SPIKE_WARMUP_BUCKETS) {
        const average = this.finishedBytes / this.finishedBuckets;
        if (this.bucketBytes > SPIKE_FACTOR * average) {
          this.raise(
            'bitrate-spike',
            'warn',
            `Ingest bitrate spiked to ${Math.round((this.bucketBytes * 8) / 1000)} kbit/s in one second, over ${SPIKE_FACTOR}x the ${Math.round((average * 8) / 1000)} kbit/s average: viewers on slower links rebuffer.`,
            OBS.bitrate,
            now,
          );
        }
      }
      // Seconds with no data at all (a stall) count as empty buckets.
      const gap = Math.min(second - this.bucketSecond - 1, 60);
      this.finishedBuckets += 1 + Math.max(0, gap);
      this.finishedBytes += this.bucketBytes;
      this.bucketSecond = second;
      this.bucketBytes = 0;
    }
    this.bucketBytes += frame.data.byteLength;
  }

  private raise(code: IngestWarningCode, severity: 'info' | 'warn', message: string, obs: string, now: number): void {
    const previous = this.raised.get(code);
    const warning: IngestWarning = { code, severity, message, obs, since: previous?.since ?? now, lastSeen: now, count: (previous?.count ?? 0) + 1 };
    this.raised.set(code, warning);
    if (!previous) this.options.onWarning?.(warning);
  }
}

const checkers = new WeakMap<LiveStream, IngestChecker>();

/** The checker of a live stream (after attachIngestCheckers), for `/api/streams` and ingest hooks. */
export function checkerOf(stream: LiveStream): IngestChecker | undefined {
  return checkers.get(stream);
}

export interface AttachIngestCheckersOptions {
  readonly segmentDuration: number;
  readonly logger: Logger;
  /** How often the time-based checks run, ms (an unref'd timer). Default 1000; 0 disables. */
  readonly checkIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Gives every stream published from now on an IngestChecker subscribed to its tracks and frames;
 * each warning is logged once per stream. Returns the detach function.
 */
export function attachIngestCheckers(streams: StreamRegistry, options: AttachIngestCheckersOptions): () => void {
  const now = options.now ?? Date.now;
  const live = new Map<LiveStream, () => void>();
  const onPublish = (stream: LiveStream): void => {
    const log = options.logger.child({ stream: stream.path, component: 'ingest-check' });
    const checker = new IngestChecker({
      segmentDuration: options.segmentDuration,
      startedAt: stream.startedAt,
      onWarning: (w) => log.warn({ code: w.code, obs: w.obs }, w.message),
    });
    checkers.set(stream, checker);
    const unsubscribe = stream.subscribe({
      onTrack: (track) => checker.onTrack(track, now()),
      onFrame: (frame) => checker.onFrame(frame),
      onEnd: () => undefined,
    });
    live.set(stream, unsubscribe);
  };
  const onUnpublish = (stream: LiveStream): void => {
    live.get(stream)?.();
    live.delete(stream);
  };
  for (const s of streams.list()) onPublish(s);
  streams.on('publish', onPublish);
  streams.on('unpublish', onUnpublish);
  const intervalMs = options.checkIntervalMs ?? 1000;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          for (const stream of live.keys()) checkers.get(stream)?.check(now(), stream.metadata);
        }, intervalMs)
      : undefined;
  timer?.unref();
  return () => {
    if (timer) clearInterval(timer);
    streams.off('publish', onPublish);
    streams.off('unpublish', onUnpublish);
    for (const unsubscribe of live.values()) unsubscribe();
    live.clear();
  };
}
