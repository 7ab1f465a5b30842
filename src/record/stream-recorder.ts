/**
 * Records one stream to disk as it is packaged: the CMAF files of every rendition plus playlists
 * and an MPD that play the recording back (during the stream, after it, and after a crash).
 *
 *   DIR/APP/KEY/SESSION/index.m3u8, index.mpd, REND/index.m3u8, REND/init-*.mp4, REND/seg-*.m4s
 *
 * Durability: each file is written as NAME.tmp, fsynced, renamed and its directory fsynced
 * (durable-write.ts); a segment is listed only after its rename, so a crash loses at most the
 * segment in progress and every manifest names complete files only.
 *
 * Isolation: the recorder only listens to TrackOutput events and does its I/O on promise queues
 * (one per rendition, so a rendition's files never reorder). A failure (disk full, permission) is
 * logged once and stops this stream's recording; the live output never sees it.
 */
import { join, resolve } from 'node:path';
import type { Track } from '../core/media.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { SiblingOutput, StreamOutput } from '../packager/stream-output.js';
import { initFileName, segmentFileName, type TrackOutput } from '../packager/track-output.js';
import { serializeMpd } from '../packager/dash/serialize.js';
import { serializeMultivariantPlaylist } from '../packager/hls/serialize.js';
import type { CmafSegment } from '../mux/fmp4/cmaf.js';
import { nodeFs, syncDirectory, writeFileDurably, type RecorderFs } from './durable-write.js';
import {
  MPD_NAME,
  PLAYLIST_NAME,
  buildRecordedMediaPlaylist,
  buildRecordedMpd,
  buildRecordedMultivariant,
  serializeRecordedMediaPlaylist,
  type RecordedSegment,
  type RecordedTrack,
} from './recording-manifests.js';
import { pruneRecordings, type RetentionLimits } from './retention.js';
import { SerialQueue } from './serial-queue.js';

export interface RecorderOptions {
  /** Root directory of all recordings. */
  readonly dir: string;
  readonly retention?: RetentionLimits;
  readonly logger?: Logger;
  /**
   * Segment bytes waiting for the disk, over all renditions, before recording gives up (the disk
   * is slower than the stream; holding more would grow memory without bound).
   */
  readonly maxPendingBytes?: number;
  /** Filesystem calls; node's fs.promises unless a test injects faults. */
  readonly fs?: RecorderFs;
  /** Wall clock for the MPD's publishTime and retention; Date.now by default. */
  readonly now?: () => number;
}

export type RecorderState = 'recording' | 'ended' | 'failed';

export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

/** A path segment that stays inside its parent: no separators, no leading dot (`..`, hidden files). */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/** Session directories being written by this process: retention never touches them. */
const recordingNow = new Set<string>();
/** Roots pruned once already in this process (the "at start" pass). */
const prunedRoots = new Set<string>();
/** One prune at a time per root. */
const pruneChains = new Map<string, Promise<unknown>>();
/** Recorders not yet done, for a graceful shutdown that waits for the final manifests. */
const active = new Set<StreamRecorder>();

/** Session directories being recorded now, for callers running their own retention pass. */
export function liveRecordings(): ReadonlySet<string> {
  return recordingNow;
}

/** Runs retention on `dir` after any prune already running there; never rejects. */
export function scheduleRetention(dir: string, limits: RetentionLimits, logger: Logger, now: () => number = Date.now): Promise<void> {
  const root = resolve(dir);
  const previous = pruneChains.get(root) ?? Promise.resolve();
  const next = previous.then(async () => {
    if (limits.maxAgeHours === undefined && limits.maxBytes === undefined) return;
    try {
      const result = await pruneRecordings(root, { ...limits, now: now(), live: recordingNow });
      if (result.removed.length > 0) logger.info({ removed: result.removed, keptBytes: result.keptBytes }, 'recordings pruned');
    } catch (err) {
      logger.error({ err, dir: root }, 'recording retention failed');
    }
  });
  pruneChains.set(root, next);
  return next;
}

class TrackRecorder {
  readonly queue = new SerialQueue();
  readonly segments: RecordedSegment[] = [];
  readonly initsQueued = new Set<number>();
  lastQueuedSequence = -Infinity;
  media: Track | undefined;
  private dirReady: Promise<void> | undefined;

  constructor(
    readonly output: TrackOutput,
    readonly dir: string,
  ) {}

  ensureDir(fs: RecorderFs, sessionReady: () => Promise<void>): Promise<void> {
    this.dirReady ??= (async () => {
      await sessionReady();
      await fs.mkdir(this.dir, { recursive: true });
      await syncDirectory(fs, join(this.dir, '..'));
    })();
    return this.dirReady;
  }

  recorded(): RecordedTrack | undefined {
    if (!this.media || this.segments.length === 0) return undefined;
    return { id: this.output.id, session: this.output.session, media: this.media, segments: this.segments };
  }
}

export class StreamRecorder implements SiblingOutput {
  readonly output: StreamOutput;
  /** DIR/APP/KEY/SESSION, absolute. */
  readonly sessionDir: string;
  /** Resolves once the recording is final (VOD playlists, MPD, retention run) or has failed. */
  readonly done: Promise<void>;
  state: RecorderState = 'recording';
  error: unknown;
  private readonly root: string;
  private readonly fs: RecorderFs;
  private readonly logger: Logger;
  private readonly retention: RetentionLimits;
  private readonly maxPendingBytes: number;
  private readonly now: () => number;
  private readonly tracks = new Map<TrackOutput, TrackRecorder>();
  private readonly topQueue = new SerialQueue();
  private topScheduled = false;
  private finishing = false;
  private sessionReady: Promise<void> | undefined;
  private readonly detachers: (() => void)[] = [];
  private resolveDone: () => void = () => undefined;

  constructor(output: StreamOutput, options: RecorderOptions) {
    this.output = output;
    this.root = resolve(options.dir);
    this.sessionDir = join(this.root, output.app, output.key, output.session);
    this.fs = options.fs ?? nodeFs;
    this.logger = (options.logger ?? silentLogger()).child({ component: 'recorder', stream: output.path, session: output.session });
    this.retention = options.retention ?? {};
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.now = options.now ?? Date.now;
    this.done = new Promise((r) => (this.resolveDone = r));

    if (![output.app, output.key, output.session].every((n) => SAFE_NAME.test(n))) {
      this.fail(new Error('stream name is not a safe directory name'), { app: output.app, key: output.key });
      return;
    }
    recordingNow.add(this.sessionDir);
    if (!prunedRoots.has(this.root)) {
      prunedRoots.add(this.root);
      void scheduleRetention(this.root, this.retention, this.logger, this.now);
    }
    this.logger.info({ dir: this.sessionDir }, 'recording');
    this.sync();
    this.maybeFinish();
  }

  renditionsChanged(): void {
    this.sync();
  }

  /** The recording ends with the stream (its final manifests); nothing to let go of earlier. */
  detach(): void {}

  /** Starts recording renditions added since the last call (a transcoded rung); cheap when none. */
  sync(): void {
    if (this.state !== 'recording') return;
    for (const t of [...this.output.videos.values(), this.output.audio]) {
      if (!this.tracks.has(t)) this.attachTrack(t);
    }
  }

  /** Resolves when every write queued so far (and any it queued) has finished. */
  async whenIdle(): Promise<void> {
    const queues = (): SerialQueue[] => [...[...this.tracks.values()].map((t) => t.queue), this.topQueue];
    do {
      await Promise.all(queues().map((q) => q.idle()));
    } while (queues().some((q) => q.length > 0));
  }

  /** Bytes waiting for the disk over all renditions. */
  get pendingBytes(): number {
    let n = 0;
    for (const t of this.tracks.values()) n += t.queue.pendingBytes;
    return n;
  }

  /** Segments on disk per rendition id (a snapshot). */
  recordedSegments(): Map<string, readonly RecordedSegment[]> {
    return new Map([...this.tracks.values()].map((t) => [t.output.id, [...t.segments]]));
  }

  private attachTrack(track: TrackOutput): void {
    if (!SAFE_NAME.test(track.id)) {
      this.logger.warn({ rendition: track.id }, 'rendition id is not a safe directory name: not recorded');
      return;
    }
    const tr = new TrackRecorder(track, join(this.sessionDir, track.id));
    this.tracks.set(track, tr);
    const onSegment = (segment: CmafSegment): void => this.onSegment(tr, segment);
    const onEnd = (): void => this.maybeFinish();
    track.on('segment', onSegment);
    track.on('end', onEnd);
    this.detachers.push(() => {
      track.off('segment', onSegment);
      track.off('end', onEnd);
    });
    // Joined late (a rung added after its first segments): record what the live window still holds.
    for (const info of track.segments) {
      const segment = track.segment(info.sequence);
      if (segment) this.onSegment(tr, segment);
    }
  }

  private onSegment(tr: TrackRecorder, segment: CmafSegment): void {
    if (this.state !== 'recording') return;
    this.sync();
    if (segment.sequence <= tr.lastQueuedSequence) return;
    const track = tr.output;
    const initBytes = tr.initsQueued.has(segment.initId) ? undefined : track.init(segment.initId);
    if (!tr.initsQueued.has(segment.initId) && !initBytes) {
      this.fail(new Error('init segment no longer held'), { rendition: track.id, initId: segment.initId });
      return;
    }
    const bytes = segment.byteLength + (initBytes?.byteLength ?? 0);
    if (this.pendingBytes + bytes > this.maxPendingBytes) {
      this.fail(new Error('disk slower than the stream: pending bytes limit exceeded'), { rendition: track.id, pendingBytes: this.pendingBytes, maxPendingBytes: this.maxPendingBytes });
      return;
    }
    tr.lastQueuedSequence = segment.sequence;
    tr.initsQueued.add(segment.initId);
    tr.media ??= track.track;
    const media = track.track;
    const recorded: RecordedSegment = {
      sequence: segment.sequence,
      startTime: segment.startTime,
      timescale: segment.timescale,
      durationTicks: segment.duration,
      initId: segment.initId,
      discontinuity: segment.discontinuity,
      byteLength: segment.byteLength,
      programDateTime: this.output.clock.wallclockAt(segment.startTime, segment.timescale),
    };
    // The job holds the chunk views only, not the segment (its parts carry every frame).
    const chunks = segment.chunks;
    const { sequence, initId } = segment;
    tr.queue.push(
      async () => {
        if (this.state === 'failed') return;
        await tr.ensureDir(this.fs, () => this.ensureSession());
        if (initBytes) await writeFileDurably(this.fs, tr.dir, initFileName(track.session, initId), [initBytes]);
        await writeFileDurably(this.fs, tr.dir, segmentFileName(track.session, sequence), chunks);
        // The media description that goes with this init (a config change replaces track.track).
        if (media) tr.media = media;
        tr.segments.push(recorded);
        await this.writeMediaPlaylist(tr, false);
        this.scheduleTopFiles();
      },
      bytes,
      (err) => this.fail(err, { rendition: track.id, sequence }),
    );
  }

  private ensureSession(): Promise<void> {
    this.sessionReady ??= (async () => {
      await this.fs.mkdir(this.sessionDir, { recursive: true });
      // The new directory entries themselves: SESSION in KEY, KEY in APP, APP in DIR.
      for (let dir = join(this.sessionDir, '..'); dir.startsWith(this.root); dir = join(dir, '..')) {
        await syncDirectory(this.fs, dir);
        if (dir === this.root) break;
      }
    })();
    return this.sessionReady;
  }

  private async writeMediaPlaylist(tr: TrackRecorder, ended: boolean): Promise<void> {
    const recorded = tr.recorded();
    if (!recorded) return;
    const playlist = buildRecordedMediaPlaylist(recorded, { segmentDuration: this.output.config.segmentDuration, ended });
    await writeFileDurably(this.fs, tr.dir, PLAYLIST_NAME, serializeRecordedMediaPlaylist(playlist, ended ? 'VOD' : 'EVENT'));
  }

  /** The multivariant playlist and MPD: rewritten at most once per burst of segments. */
  private scheduleTopFiles(): void {
    if (this.topScheduled || this.state === 'failed') return;
    this.topScheduled = true;
    this.topQueue.push(
      async () => {
        this.topScheduled = false;
        if (this.state === 'failed') return;
        await this.writeTopFiles();
      },
      0,
      (err) => this.fail(err, { file: 'index' }),
    );
  }

  private async writeTopFiles(): Promise<void> {
    const tracks = [...this.tracks.values()].flatMap((t) => t.recorded() ?? []);
    if (tracks.length === 0) return;
    await this.ensureSession();
    await writeFileDurably(this.fs, this.sessionDir, PLAYLIST_NAME, serializeMultivariantPlaylist(buildRecordedMultivariant(tracks)));
    const mpd = buildRecordedMpd(tracks, { segmentDuration: this.output.config.segmentDuration, now: this.now() });
    await writeFileDurably(this.fs, this.sessionDir, MPD_NAME, serializeMpd(mpd));
  }

  /** The output ended (every track ended): VOD playlists, final MPD, then retention. */
  private maybeFinish(): void {
    if (this.state !== 'recording' || this.finishing || !this.output.ended) return;
    this.sync();
    if (![...this.tracks.keys()].every((t) => t.ended)) return;
    this.finishing = true;
    for (const d of this.detachers) d();
    void this.finish();
  }

  private async finish(): Promise<void> {
    for (const tr of this.tracks.values()) {
      tr.queue.push(
        async () => {
          if (this.state !== 'failed') await this.writeMediaPlaylist(tr, true);
        },
        0,
        (err) => this.fail(err, { rendition: tr.output.id, file: PLAYLIST_NAME }),
      );
    }
    await this.whenIdle();
    if (this.state === 'failed') return;
    try {
      await this.writeTopFiles();
    } catch (err) {
      this.fail(err, { file: 'index' });
      return;
    }
    this.state = 'ended';
    recordingNow.delete(this.sessionDir);
    const segments = [...this.tracks.values()].reduce((n, t) => n + t.segments.length, 0);
    this.logger.info({ dir: this.sessionDir, segments }, 'recording complete');
    await scheduleRetention(this.root, this.retention, this.logger, this.now);
    this.resolveDone();
  }

  /** Logs once and stops recording this stream; files already listed stay valid. */
  private fail(err: unknown, context: Record<string, unknown>): void {
    if (this.state !== 'recording') return;
    this.state = 'failed';
    this.error = err;
    for (const d of this.detachers) d();
    recordingNow.delete(this.sessionDir);
    this.logger.error({ err, dir: this.sessionDir, ...context }, 'recording stopped');
    this.resolveDone();
  }
}

/**
 * Records `output` under `options.dir` until it ends. Idempotent per output: a publisher that
 * reconnects into the same output keeps its recorder (and session directory).
 */
export function attachRecorder(output: StreamOutput, options: RecorderOptions): StreamRecorder {
  const existing = output.outputOf(StreamRecorder);
  if (existing) return existing;
  const recorder = output.attachOutput(StreamRecorder, () => new StreamRecorder(output, options));
  active.add(recorder);
  void recorder.done.then(() => active.delete(recorder));
  return recorder;
}

/** Resolves when every recording in this process is final (or failed): await after ending the outputs on shutdown. */
export async function recordingsSettled(): Promise<void> {
  await Promise.all([...active].map((r) => r.done));
}

export function recorderOf(output: StreamOutput): StreamRecorder | undefined {
  return output.outputOf(StreamRecorder);
}
