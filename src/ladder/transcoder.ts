/**
 * The I/O edge of the ladder: one ffmpeg per stream turns the source video into every rung.
 *
 *   source LiveStream ──▶ Transcoder (a StreamSink) ──FLV on stdin──▶ ffmpeg
 *                            ▲                                          │ FLV per rung on fd 3, 4, ...
 *                            └── FlvReader ▸ FlvIngest ◀────────────────┘
 *                                   └─▶ onRungTrack / onRungFrame (rung dts on the source timeline)
 *
 * Only video goes through ffmpeg: the source audio track is shared by every rendition.
 *
 * Timing: ffmpeg is fed FLV milliseconds relative to the keyframe its run started on (so the
 * 32-bit FLV clock never wraps inside ffmpeg) and timestamps pass through untouched
 * (see ffmpeg-args.ts); a rung frame's dts is mapped back by adding that base. With a source clock
 * in whole milliseconds (RTMP) rung timestamps are exactly the source's.
 *
 * Supervision: ffmpeg missing -> 'failed'. Crash, unparsable output, input backlog, or output
 * lagging the input by more than `maxLagMs` (wall time a fed frame waits for every rung) ->
 * SIGKILL, log the last stderr lines, 'restarting' with exponential back-off; the new run starts on
 * the next source keyframe. A run that is merely slower than real time is not a failure: the
 * self-tuning (ladder/tuning.ts) replaces it by a lighter one (a faster preset, then fewer rungs)
 * at the next keyframe, without back-off. `stop()` (or the source ending) closes stdin so ffmpeg flushes, then
 * SIGTERM, then SIGKILL: every child is waited for, none is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { GatewayError } from '../core/errors.js';
import { VIDEO_TIMESCALE, type Frame, type Track, type VideoTrack } from '../core/media.js';
import type { StreamSink } from '../core/stream.js';
import { FlvIngest } from '../flv/ingest.js';
import { FLV_TAG_VIDEO, FlvReader } from '../flv/reader.js';
import { transcoderInput, type TranscoderInput } from './transcoder-input.js';
import { DEFAULT_BACKOFF, restartDelayMs, type BackoffOptions } from './backoff.js';
import { buildTranscodeArgs, RUNG_FD_BASE } from './ffmpeg-args.js';
import { resolveFfmpegPath } from './ffmpeg-path.js';
import type { TranscodedRendition } from './ladder.js';
import { LineRing } from './line-ring.js';
import { fallingBehind, lighterPlan, SpeedMeter, type TuningPlan, type TuningStep } from './tuning.js';

export type TranscoderState = 'idle' | 'running' | 'restarting' | 'failed' | 'disabled' | 'stopped';

export interface TranscoderStatus {
  /**
   * idle: waiting for the source's first keyframe; running; restarting: backing off or waiting
   * for a keyframe after a failure; failed: gave up (ffmpeg missing, too many failures in a row);
   * disabled: nothing to transcode; stopped: the stream ended.
   */
  state: TranscoderState;
  /** ffmpeg runs started after a failure. */
  restarts: number;
  lastError?: string;
  pid?: number;
  /** The x264 preset the current plan uses (the self-tuning may have made it faster than configured). */
  preset: string;
  /** The rungs made now (a rung the self-tuning dropped is gone from this list). */
  rungs: string[];
  /** Output media time per wall time over the last seconds (1 = keeping up with a live source). */
  speed?: number;
  /** What the self-tuning changed to keep real time, oldest first (bounded). */
  tuning?: { at: string; change: string; speed?: number }[];
}

export interface TranscoderLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface TranscoderOptions {
  /** Default resolveFfmpegPath(); `null` means "no ffmpeg available". */
  ffmpegPath?: string | null;
  /** x264 preset, default veryfast. */
  preset?: string;
  encoderThreads?: number;
  decoderThreads?: number;
  /** Longest a fed frame may wait for every rung's output before ffmpeg counts as stuck. Default 5000. */
  maxLagMs?: number;
  /** Most bytes queued on ffmpeg's stdin before it counts as stuck. Default 32 MiB. */
  maxInputBacklogBytes?: number;
  backoff?: BackoffOptions;
  /** Consecutive failed runs before giving up ('failed'). Default 10. */
  maxConsecutiveFailures?: number;
  /** A run that has produced output for this long resets the failure count. Default 10000. */
  healthyAfterMs?: number;
  /** After stdin closes, how long ffmpeg may take to flush before SIGTERM. Default 5000. */
  drainTimeoutMs?: number;
  /** SIGTERM -> SIGKILL grace. Default 2000. */
  killGraceMs?: number;
  /** stderr lines kept for the crash log. Default 40. */
  stderrLines?: number;
  /**
   * Keep real time (ladder/tuning.ts): a run that falls behind is replaced at the next keyframe
   * by a faster preset, then by fewer rungs. Default true.
   */
  selfTune?: boolean;
  /** Largest FLV tag accepted from ffmpeg. Default 16 MiB. */
  maxTagSize?: number;
  /** For log lines. */
  label?: string;
  logger?: TranscoderLogger;
  onRungTrack?: (rung: string, track: VideoTrack) => void;
  onRungFrame?: (rung: string, frame: Frame) => void;
  onStatus?: (status: TranscoderStatus) => void;
}

export interface TranscoderEvents {
  rungTrack: [rung: string, track: VideoTrack];
  rungFrame: [rung: string, frame: Frame];
  status: [TranscoderStatus];
  /** The self-tuning changed the plan (a faster preset, a rung dropped). */
  tuned: [TuningStep];
  /** A run started (pid). */
  spawn: [pid: number];
  /** A run ended (pid, exit code, signal). */
  exit: [pid: number, code: number | null, signal: NodeJS.Signals | null];
  /** stop() finished: no child left. */
  stopped: [];
}

interface RungOutput {
  readonly rung: TranscodedRendition;
  readonly reader: FlvReader;
  readonly ingest: FlvIngest;
  /** Latest dts this run produced for the rung (source timeline), undefined before the first. */
  lastDts: number | undefined;
}

interface PendingInput {
  dts: number;
  /** performance.now() when written. */
  at: number;
  wallclock: number;
}

interface Run {
  readonly child: ChildProcess;
  readonly baseMs: number;
  readonly outputs: RungOutput[];
  readonly startedAt: number;
  /** Input frames not yet out of every rung, in dts order (head index avoids O(n) shifts). */
  readonly pending: PendingInput[];
  pendingHead: number;
  /** Source keyframes fed to this run, pts -> dts (the most recent few). */
  readonly keyframeDts: Map<number, number>;
  /** Largest pts - dts of the source frames fed to this run (its reorder delay). */
  maxCompositionOffset: number;
  /** The reason it was killed by us, if so. */
  failure: string | undefined;
  stopping: boolean;
  finished: boolean;
  firstOutputAt: number | undefined;
  closed: Promise<void>;
  lastConfig: Uint8Array | undefined;
  /** What ffmpeg's stdin carries for this source codec (FLV for H.264, fMP4 for the others). */
  readonly input: TranscoderInput;
  /** Decode time (90 kHz) of the last frame written. */
  lastTicks: number;
  /**
   * Started at a hand-over while an earlier run still flushes: its output waits here (bounded)
   * until that run is done, so the earlier run's last frames come out first.
   */
  held: { name: string; frame: Frame }[] | undefined;
}

const TICKS_PER_MS = VIDEO_TIMESCALE / 1000;
/** Source keyframes remembered per run for mapping rung keyframes back to source decode times. */
const KEYFRAMES_REMEMBERED = 16;
/** How far (90 kHz) a rung keyframe's pts may be from the source keyframe it was made from: 100 ms. */
const KEYFRAME_MATCH_TICKS = 9_000;
const LAG_CHECK_INTERVAL_MS = 500;
/** Rung frames a run started at a hand-over holds while the previous run flushes (a few seconds). */
const MAX_HELD_OUTPUT = 2048;

/**
 * The decode time of the source keyframe a rung keyframe was made from: the one with the same
 * pts, or the nearest within KEYFRAME_MATCH_TICKS (ffmpeg's decoder may re-time a frame by a
 * few ms where the source's timestamps are uneven, e.g. at a looped file's seam).
 */
export function nearestKeyframeDts(keyframes: ReadonlyMap<number, number>, pts: number): number | undefined {
  const exact = keyframes.get(pts);
  if (exact !== undefined) return exact;
  let best: number | undefined;
  let bestDistance = KEYFRAME_MATCH_TICKS + 1;
  for (const [keyPts, keyDts] of keyframes) {
    const d = Math.abs(keyPts - pts);
    if (d < bestDistance) {
      bestDistance = d;
      best = keyDts;
    }
  }
  return best;
}

/** Every live ffmpeg child of this process: killed if the gateway exits, so none is orphaned. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  liveChildren.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

export class Transcoder extends EventEmitter<TranscoderEvents> implements StreamSink {
  readonly rungs: readonly TranscodedRendition[];
  private readonly opts: TranscoderOptions;
  private readonly ffmpegPath: string | undefined;
  private readonly stderr: LineRing;
  private state: TranscoderState = 'idle';
  private restarts = 0;
  private runsStarted = 0;
  private failures = 0;
  private lastError: string | undefined;
  private source: VideoTrack | undefined;
  private run: Run | undefined;
  /** Runs handed over at a configuration change, flushing what they still hold (bounded by drainTimeoutMs). */
  private readonly draining = new Set<Run>();
  /** Back-off elapsed: the next source keyframe starts a run. */
  private armed = true;
  private plannedRestart = false;
  private backoffTimer: NodeJS.Timeout | undefined;
  private lagTimer: NodeJS.Timeout | undefined;
  private stopPromise: Promise<void> | undefined;
  /** Per rung across runs: last emitted dts (monotonic output) and last announced config. */
  private readonly emittedDts = new Map<string, number>();
  private readonly announced = new Map<string, VideoTrack>();
  /** What runs are started with: the preset and the rungs (the self-tuning makes it lighter). */
  private plan: TuningPlan;
  private readonly meter = new SpeedMeter();
  private readonly tuning: { at: string; change: string; speed?: number }[] = [];

  constructor(rungs: readonly TranscodedRendition[], opts: TranscoderOptions = {}) {
    super();
    this.rungs = rungs;
    this.opts = opts;
    this.stderr = new LineRing(opts.stderrLines ?? 40);
    this.plan = { preset: opts.preset ?? 'veryfast', rungs };
    this.ffmpegPath = opts.ffmpegPath === null ? undefined : (opts.ffmpegPath ?? resolveFfmpegPath());
    if (rungs.length === 0) this.setState('disabled', 'no rungs to transcode');
    else if (!this.ffmpegPath) this.setState('failed', 'ffmpeg not found (set FFMPEG_PATH)');
  }

  status(): TranscoderStatus {
    const s: TranscoderStatus = { state: this.state, restarts: this.restarts, preset: this.plan.preset, rungs: this.plan.rungs.map((r) => r.name) };
    if (this.lastError !== undefined) s.lastError = this.lastError;
    const pid = this.run?.child.pid;
    if (pid !== undefined && !this.run?.finished) s.pid = pid;
    const speed = this.run && !this.run.finished ? this.meter.speed : undefined;
    if (speed !== undefined) s.speed = Math.round(speed * 100) / 100;
    if (this.tuning.length > 0) s.tuning = [...this.tuning];
    return s;
  }

  /** The last lines ffmpeg wrote to stderr (bounded). */
  stderrTail(): string[] {
    return this.stderr.tail();
  }

  /** Pids of ffmpeg children that have not exited yet. */
  pids(): number[] {
    const pids: number[] = [];
    for (const run of [...this.draining, this.run]) {
      if (run && run.child.exitCode === null && run.child.signalCode === null && run.child.pid !== undefined) pids.push(run.child.pid);
    }
    return pids;
  }

  // --- StreamSink --------------------------------------------------------------------------

  onTrack(track: Track): void {
    if (track.kind !== 'video') return;
    this.source = track;
    const run = this.run;
    if (run && !run.finished && !sameBytes(run.lastConfig, track.config)) {
      // A mid-stream sequence header change is passed on; ffmpeg's decoder re-inits from it.
      this.writeSequenceHeader(run, track, run.lastTicks);
    }
  }

  onFrame(frame: Frame): void {
    if (frame.kind !== 'video') return;
    if (this.state === 'failed' || this.state === 'disabled' || this.state === 'stopped' || this.stopPromise) return;
    const source = this.source;
    if (!source) return;
    let run = this.run;
    if (!run || run.finished) {
      if (!this.armed || !frame.key) return;
      run = this.startRun(frame, source);
      if (!run) return;
    }
    if (run.failure !== undefined || run.stopping) return;
    this.writeFrame(run, frame, source);
    this.checkHealth(run);
  }

  onEnd(): void {
    void this.stop();
  }

  /** Closes ffmpeg's input, lets it flush, then SIGTERM / SIGKILL. Resolves once no child is left. */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    clearTimeout(this.backoffTimer);
    this.armed = false;
    const run = this.run;
    this.stopPromise = (async () => {
      await Promise.all([...this.draining].map((d) => d.closed));
      if (run && !run.finished) {
        run.stopping = true;
        run.child.stdin?.end();
        const drained = await this.waitClosed(run, this.opts.drainTimeoutMs ?? 5_000);
        if (!drained) {
          run.child.kill('SIGTERM');
          const terminated = await this.waitClosed(run, this.opts.killGraceMs ?? 2_000);
          if (!terminated) run.child.kill('SIGKILL');
        }
        await run.closed;
      }
      this.stopLagTimer();
      if (this.state !== 'failed' && this.state !== 'disabled') this.setState('stopped');
      this.emit('stopped');
    })();
    return this.stopPromise;
  }

  // --- runs --------------------------------------------------------------------------------

  private startRun(first: Frame, source: VideoTrack): Run | undefined {
    const path = this.ffmpegPath;
    if (!path) return undefined;
    const baseMs = Math.floor(first.dts / TICKS_PER_MS);
    const input = transcoderInput(source.codec, baseMs * TICKS_PER_MS);
    const rungs = this.plan.rungs;
    const args = buildTranscodeArgs(rungs, {
      inputFormat: input.format,
      preset: this.plan.preset,
      ...(this.opts.encoderThreads !== undefined ? { encoderThreads: this.opts.encoderThreads } : {}),
      ...(this.opts.decoderThreads !== undefined ? { decoderThreads: this.opts.decoderThreads } : {}),
      ...(source.fps !== undefined ? { sourceFps: source.fps } : {}),
    });
    const stdio: Array<'pipe' | 'ignore'> = ['pipe', 'ignore', 'pipe', ...rungs.map(() => 'pipe' as const)];
    const child = spawn(path, args, { stdio });
    track(child);
    this.stderr.clear();
    // A hand-over at a configuration change is not a restart after a failure.
    if (this.runsStarted++ > 0 && !this.plannedRestart) this.restarts++;
    this.plannedRestart = false;
    const maxTagSize = this.opts.maxTagSize ?? 16 * 1024 * 1024;
    let resolveClosed: () => void = () => {};
    const run: Run = {
      child,
      baseMs,
      outputs: rungs.map((rung) => ({ rung, reader: new FlvReader({ maxTagSize }), ingest: new FlvIngest(), lastDts: undefined })),
      startedAt: performance.now(),
      pending: [],
      pendingHead: 0,
      keyframeDts: new Map(),
      maxCompositionOffset: 0,
      failure: undefined,
      stopping: false,
      finished: false,
      firstOutputAt: undefined,
      closed: new Promise<void>((resolve) => (resolveClosed = resolve)),
      lastConfig: undefined,
      input,
      lastTicks: first.dts,
      held: this.draining.size > 0 ? [] : undefined,
    };
    this.run = run;
    this.armed = false;
    this.meter.clear();

    child.stdin?.on('error', () => {
      // EPIPE when ffmpeg dies first; its exit is handled by 'close'.
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => this.stderr.push(text));
    run.outputs.forEach((out, i) => {
      const stream = child.stdio[RUNG_FD_BASE + i] as Readable | null | undefined;
      stream?.on('data', (chunk: Buffer) => this.onOutput(run, out, chunk));
      stream?.on('error', () => {});
    });
    child.on('error', (err) => {
      // Spawn failure (ENOENT, EACCES): no point in retrying a binary that is not there.
      if (child.pid === undefined) {
        this.finishRun(run, null, null, `cannot start ffmpeg: ${err.message}`, true);
        resolveClosed();
      }
    });
    child.on('close', (code, signal) => {
      liveChildren.delete(child);
      this.finishRun(run, code, signal, undefined, false);
      resolveClosed();
    });
    if (child.pid !== undefined) {
      this.emit('spawn', child.pid);
      this.opts.logger?.info({ stream: this.opts.label, pid: child.pid, rungs: rungs.map((r) => r.name), preset: this.plan.preset }, 'transcoder started');
    }
    this.setState('running');
    this.startLagTimer();
    run.lastConfig = source.config;
    for (const bytes of input.start(source)) child.stdin?.write(bytes);
    return run;
  }

  private writeSequenceHeader(run: Run, track: VideoTrack, atTicks: number): void {
    run.lastConfig = track.config;
    const bytes = run.input.config(track, atTicks);
    if (bytes) run.child.stdin?.write(bytes);
    else this.handOver(run);
  }

  /**
   * The input container cannot carry a new configuration (fragmented MP4 has one moov): this run
   * gets no more input and flushes what it holds, and the source's next keyframe (the new
   * configuration's first frame) starts a new run at once. Rung numbering continues across the
   * two (RenditionJoin realigns at the keyframe's source segment); a late frame of the old run
   * behind the new run's output is dropped by the monotonic check in onOutput.
   */
  private handOver(run: Run): void {
    this.opts.logger?.info({ stream: this.opts.label, pid: run.child.pid }, 'the source changed its configuration: a new transcoder run starts at its next keyframe');
    this.retire(run, this.opts.drainTimeoutMs ?? 5_000);
  }

  /**
   * Stops feeding `run` and re-arms for a planned restart at the source's next keyframe, without
   * the failure back-off. With `killAfterMs` > 0 the run's input ends and it flushes what it holds
   * (killed if it has not exited by then); with 0 it is killed at once.
   */
  private retire(run: Run, killAfterMs: number): void {
    run.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    if (killAfterMs > 0) {
      run.child.stdin?.end();
      timer = setTimeout(() => run.child.kill('SIGKILL'), killAfterMs);
      timer.unref();
    } else run.child.kill('SIGKILL');
    this.draining.add(run);
    void run.closed.then(() => {
      clearTimeout(timer);
      this.draining.delete(run);
      this.releaseHeld();
    });
    this.run = undefined;
    this.stopLagTimer();
    this.armed = true;
    this.plannedRestart = true;
  }

  private writeFrame(run: Run, frame: Frame, source: VideoTrack): void {
    run.lastTicks = frame.dts;
    run.child.stdin?.write(run.input.frame(frame, source));
    run.pending.push({ dts: frame.dts, at: performance.now(), wallclock: frame.wallclock });
    if (frame.pts - frame.dts > run.maxCompositionOffset) run.maxCompositionOffset = frame.pts - frame.dts;
    if (frame.key) {
      run.keyframeDts.set(frame.pts, frame.dts);
      if (run.keyframeDts.size > KEYFRAMES_REMEMBERED) run.keyframeDts.delete(run.keyframeDts.keys().next().value!);
    }
  }

  private onOutput(run: Run, out: RungOutput, chunk: Buffer): void {
    if (run.failure !== undefined) return;
    let tags;
    try {
      tags = out.reader.push(chunk);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.fail(run, `unparsable ffmpeg output for ${out.rung.name}: ${e.message}`);
      return;
    }
    const name = out.rung.name;
    for (const tag of tags) {
      if (tag.type !== FLV_TAG_VIDEO) continue;
      for (const ev of out.ingest.pushVideo(tag.timestamp, tag.payload, Date.now())) {
        if (ev.type === 'track') {
          if (ev.track.kind !== 'video') continue;
          const prev = this.announced.get(name);
          if (prev && sameBytes(prev.config, ev.track.config)) continue;
          this.announced.set(name, ev.track);
          this.opts.onRungTrack?.(name, ev.track);
          this.emit('rungTrack', name, ev.track);
        } else if (ev.type === 'frame') {
          const offset = run.baseMs * TICKS_PER_MS;
          const pts = ev.frame.pts + offset;
          const dts = this.decodeShift(run, out, ev.frame.key, pts, ev.frame.dts + offset);
          out.lastDts = dts;
          run.firstOutputAt ??= performance.now();
          const frame: Frame = { ...ev.frame, dts, pts, wallclock: this.sourceWallclock(run, dts) ?? ev.frame.wallclock };
          if (run.held && run.held.length < MAX_HELD_OUTPUT) run.held.push({ name, frame });
          else this.deliver(name, frame);
        }
      }
    }
    this.releasePending(run);
  }

  /** A rung frame out, in decode order per rung: after a restart the new run may repeat times the old one produced. */
  private deliver(name: string, frame: Frame): void {
    const last = this.emittedDts.get(name);
    if (last !== undefined && frame.dts <= last) return;
    if (last === undefined && !frame.key) return;
    this.emittedDts.set(name, frame.dts);
    // Called from ffmpeg's stdout handler: a consumer that throws (a muxer refusing a frame) loses
    // that frame, never the process.
    try {
      this.opts.onRungFrame?.(name, frame);
      this.emit('rungFrame', name, frame);
    } catch (err) {
      this.opts.logger?.warn({ stream: this.opts.label, rung: name, err: (err as Error).message }, 'a rung frame was refused downstream; dropped');
    }
  }

  /** The runs handed over from are done: the current run's held output goes out. */
  private releaseHeld(): void {
    const run = this.run;
    if (this.draining.size > 0 || !run?.held) return;
    const held = run.held;
    run.held = undefined;
    for (const { name, frame } of held) this.deliver(name, frame);
  }

  /**
   * A rung's decode time on the source's decode timeline. The rung has no reordering (dts == pts
   * == the source frame's pts), while a source with B-frames decodes a keyframe earlier than it
   * shows it (dts = pts - its composition offset) and is cut on dts. So:
   *  - a rung keyframe takes the decode time of the source keyframe it was made from: it sits on
   *    exactly the source's cut instant, and the rung is cut with the same numbers;
   *  - every other rung frame decodes at pts - the largest composition offset the source has
   *    shown so far, so decode times always increase into the next keyframe, whose offset is at
   *    most that (x264's open-GOP I-frames have a larger one than its first IDR).
   * Presentation times stay the source's; the rung carries composition offsets like any
   * reordered stream (ISO/IEC 14496-12 §8.6.1.3).
   */
  private decodeShift(run: Run, out: RungOutput, key: boolean, pts: number, rawDts: number): number {
    if (key) {
      const sourceDts = nearestKeyframeDts(run.keyframeDts, pts);
      if (sourceDts !== undefined && sourceDts <= pts && (out.lastDts === undefined || sourceDts > out.lastDts)) return sourceDts;
    }
    const dts = run.maxCompositionOffset > 0 ? pts - run.maxCompositionOffset : rawDts;
    return out.lastDts !== undefined && dts <= out.lastDts ? out.lastDts + 1 : dts;
  }

  /** The source frame's arrival time for the same dts: keeps PROGRAM-DATE-TIME equal across renditions. */
  private sourceWallclock(run: Run, dts: number): number | undefined {
    const p = run.pending;
    let lo = run.pendingHead;
    let hi = p.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const d = p[mid]!.dts;
      if (d === dts) return p[mid]!.wallclock;
      if (d < dts) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Drops the input entries every rung has produced (or skipped past). */
  private releasePending(run: Run): void {
    let min = Infinity;
    for (const o of run.outputs) {
      if (o.lastDts === undefined) return;
      if (o.lastDts < min) min = o.lastDts;
    }
    const p = run.pending;
    while (run.pendingHead < p.length && p[run.pendingHead]!.dts <= min) run.pendingHead++;
    if (run.pendingHead > 1024 && run.pendingHead * 2 > p.length) {
      p.splice(0, run.pendingHead);
      run.pendingHead = 0;
    }
    if (run.firstOutputAt !== undefined && this.failures > 0 && performance.now() - run.firstOutputAt >= (this.opts.healthyAfterMs ?? 10_000)) {
      this.failures = 0;
    }
  }

  private checkHealth(run: Run): void {
    if (run.finished || run.failure !== undefined || run.stopping) return;
    const backlog = run.child.stdin?.writableLength ?? 0;
    const maxBacklog = this.opts.maxInputBacklogBytes ?? 32 * 1024 * 1024;
    if (backlog > maxBacklog) {
      this.fail(run, `ffmpeg input backlog ${backlog} bytes exceeds ${maxBacklog}`);
      return;
    }
    const now = performance.now();
    const oldest = run.pending[run.pendingHead];
    const lag = oldest ? now - oldest.at : 0;
    if (this.opts.selfTune !== false && run.firstOutputAt !== undefined && this.tuneIfBehind(run, now, lag)) return;
    const maxLag = this.opts.maxLagMs ?? 5_000;
    if (oldest && lag > maxLag) {
      this.fail(run, `ffmpeg output is more than ${maxLag} ms behind its input`);
    }
  }

  /**
   * Measures the run's speed (the rung furthest behind) and, when it falls behind, replaces it by
   * a lighter plan: killed now (its backlog would only compete with the new run), the next source
   * keyframe starts the new run at once; the rungs rejoin there (packager/rendition-join.ts).
   */
  private tuneIfBehind(run: Run, now: number, lag: number): boolean {
    let media = Infinity;
    for (const o of run.outputs) media = Math.min(media, o.lastDts ?? -Infinity);
    if (Number.isFinite(media)) this.meter.record(now, media / TICKS_PER_MS);
    const speed = this.meter.speed;
    if (!fallingBehind(now - run.startedAt, lag, speed)) return false;
    const step = lighterPlan(this.plan, speed);
    if (!step) return false;
    this.plan = step.plan;
    this.tuning.push({ at: new Date().toISOString(), change: step.change, ...(speed !== undefined ? { speed: Math.round(speed * 100) / 100 } : {}) });
    if (this.tuning.length > 16) this.tuning.shift();
    this.opts.logger?.warn(
      { stream: this.opts.label, pid: run.child.pid, speed, lagMs: Math.round(lag), preset: step.plan.preset, rungs: step.plan.rungs.map((r) => r.name) },
      `transcoder falls behind real time: ${step.change}`,
    );
    this.retire(run, 0);
    this.emit('tuned', step);
    this.setState('restarting');
    return true;
  }

  private fail(run: Run, reason: string): void {
    if (run.failure !== undefined || run.finished) return;
    run.failure = reason;
    run.child.kill('SIGKILL');
  }

  private finishRun(run: Run, code: number | null, signal: NodeJS.Signals | null, error: string | undefined, fatal: boolean): void {
    if (run.finished) return;
    run.finished = true;
    const pid = run.child.pid;
    if (pid !== undefined) this.emit('exit', pid, code, signal);
    if (this.run === run) this.stopLagTimer();
    if (run.stopping && run.failure === undefined && error === undefined) return;
    const tail = this.stderr.tail();
    const reason = error ?? run.failure ?? `ffmpeg exited (code ${code}, signal ${signal})${tail.length ? `: ${tail[tail.length - 1]}` : ''}`;
    this.opts.logger?.warn({ stream: this.opts.label, pid, code, signal, stderr: tail }, `transcoder failed: ${reason}`);
    if (this.stopPromise) {
      this.lastError = reason;
      return;
    }
    this.failures++;
    if (fatal || this.failures > (this.opts.maxConsecutiveFailures ?? 10)) {
      this.setState('failed', reason);
      return;
    }
    this.setState('restarting', reason);
    const delay = restartDelayMs(this.failures, this.opts.backoff ?? DEFAULT_BACKOFF);
    this.backoffTimer = setTimeout(() => {
      this.armed = true;
    }, delay);
    this.backoffTimer.unref();
  }

  private startLagTimer(): void {
    this.stopLagTimer();
    // Catches a stuck ffmpeg while the source is idle too (no frame to trigger the check).
    this.lagTimer = setInterval(() => {
      if (this.run) this.checkHealth(this.run);
    }, LAG_CHECK_INTERVAL_MS);
    this.lagTimer.unref();
  }

  private stopLagTimer(): void {
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = undefined;
  }

  private waitClosed(run: Run, timeoutMs: number): Promise<boolean> {
    if (run.finished) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      void run.closed.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private setState(state: TranscoderState, error?: string): void {
    this.state = state;
    if (error !== undefined) this.lastError = error;
    const s = this.status();
    this.opts.onStatus?.(s);
    this.emit('status', s);
  }
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
