/**
 * Prometheus metrics of one gateway, on a private prom-client Registry (several gateways can
 * live in one process, as in tests). Everything is observed through events and stats the
 * pipeline already has; nothing in the pipeline knows about metrics.
 *
 * Cardinality: per-stream series exist only where they must (ingest bitrate, labelled `stream`
 * = `app/key`), only while the stream is live and for at most `maxStreamLabels` streams.
 * Counters that live forever are labelled by `app` (at most `maxAppLabels` distinct values, the
 * rest as "other": publishing is open by default, so app names are client-chosen), track kind,
 * route (a fixed set) and status.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { tsOutputOf } from '../packager/hls/ts-output.js';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { Frame } from '../core/media.js';
import type { LiveStream, StreamRegistry } from '../core/stream.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { TrackOutput } from '../packager/track-output.js';
import type { CmafPart, CmafSegment } from '../mux/fmp4/cmaf.js';
import { AvailabilityTracker } from './availability.js';
import { SlidingByteRate } from './byte-rate.js';
import { classifyPath } from './request-kind.js';
import { VIEWER_PROTOCOLS, type PlayerCounter, type ViewerTracker } from './viewers.js';

export interface MetricsSources {
  readonly streams: StreamRegistry;
  readonly outputs: Pick<OutputRegistry, 'get' | 'list'>;
  readonly relays?: PlayerCounter;
  readonly cache: Pick<SegmentCache, 'stats'>;
  /** HTTP viewer sessions; without it only RTMP/FLV players are counted (as `rtmp`). */
  readonly viewers?: ViewerTracker;
  /** Push targets, read at scrape time. */
  readonly push?: { all(): readonly PushTargetSample[] };
}

/** What /metrics shows of one push target (src/push/push-target.ts's view, with its stream). */
export interface PushTargetSample {
  /** APP/KEY. */
  readonly stream: string;
  readonly id: string;
  /** Already redacted: the stream key in it is `…` (as /api/streams shows it). */
  readonly url: string;
  readonly rendition: string;
  readonly state: string;
  readonly bytes: number;
  readonly bitrate: number;
  /** Relay messages (audio/video frames) skipped because the target's queue was full. */
  readonly dropped: number;
  readonly reconnects: number;
}

export interface GatewayMetricsOptions {
  /** Prefix of every gateway metric name. Default `streamgate_`. */
  readonly prefix?: string;
  /** Process metrics (CPU, memory, event loop lag, GC). Default true. */
  readonly defaultMetrics?: boolean;
  readonly maxAppLabels?: number;
  readonly maxStreamLabels?: number;
  /** Sliding window of the ingest bitrate gauge, ms. Default 5000. */
  readonly bitrateWindowMs?: number;
  /** Wall clock in ms with sub-ms precision (the same clock as Frame.wallclock). */
  readonly now?: () => number;
}

const AVAILABILITY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface IngestState {
  readonly rate: SlidingByteRate;
  readonly unsubscribe: () => void;
}

/** First `max` distinct values keep their name; later ones share `other`. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}
  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return 'other';
    this.seen.add(value);
    return value;
  }
}

interface IngestTally {
  videoFrames: number;
  videoBytes: number;
  audioFrames: number;
  audioBytes: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly framesIn: Counter<'app' | 'kind'>;
  readonly bytesIn: Counter<'app' | 'kind'>;
  readonly segmentsProduced: Counter<'kind'>;
  readonly partsProduced: Counter<'kind'>;
  readonly segmentAvailability: Histogram<'kind'>;
  readonly partAvailability: Histogram<'kind'>;
  readonly httpRequests: Counter<'route' | 'status'>;
  /** Incremented by the ladder each time a transcoder process is restarted. */
  readonly transcoderRestarts: Counter<'app'>;
  /** Bytes written to push targets (src/push). */
  readonly pushBytes: Counter;
  private readonly options: Required<Omit<GatewayMetricsOptions, 'now'>> & { now: () => number };
  private readonly apps: BoundedLabel;
  private sources: MetricsSources | undefined;
  private readonly ingest = new Map<LiveStream, IngestState>();
  /** Frames and bytes received per app label since the last scrape. */
  private readonly ingestTallies = new Map<string, IngestTally>();
  /** `countRequest`'s labelled children: routes and statuses are few (classifyPath's routes, HTTP codes). */
  private readonly requestCounters = new Map<string, { inc(): void }>();
  private readonly watchedTracks = new WeakSet<TrackOutput>();
  private readonly detachers: (() => void)[] = [];

  constructor(options: GatewayMetricsOptions = {}) {
    this.options = {
      prefix: options.prefix ?? 'streamgate_',
      defaultMetrics: options.defaultMetrics ?? true,
      maxAppLabels: options.maxAppLabels ?? 50,
      maxStreamLabels: options.maxStreamLabels ?? 100,
      bitrateWindowMs: options.bitrateWindowMs ?? 5000,
      now: options.now ?? (() => performance.timeOrigin + performance.now()),
    };
    this.apps = new BoundedLabel(this.options.maxAppLabels);
    const p = this.options.prefix;
    const registers = [this.registry];
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;

    this.registerStreamGauges(p, registers);
    // Per-frame counts are plain numbers (see IngestTally), added to the counters at scrape time.
    this.framesIn = new Counter({ name: `${p}ingest_frames_total`, help: 'Frames received from publishers', labelNames: ['app', 'kind'], registers, collect: () => self.flushIngestTallies() });
    this.bytesIn = new Counter({ name: `${p}ingest_bytes_total`, help: 'Frame payload bytes received from publishers', labelNames: ['app', 'kind'], registers, collect: () => self.flushIngestTallies() });
    new Gauge({
      name: `${p}ingest_bitrate_bits_per_second`,
      help: `Ingest bitrate of each live stream over a sliding ${this.options.bitrateWindowMs / 1000} s window (stream = app/key; live streams only)`,
      labelNames: ['stream'],
      registers,
      collect() {
        this.reset();
        const now = self.options.now();
        let n = 0;
        for (const [stream, state] of self.ingest) {
          if (n++ >= self.options.maxStreamLabels) break;
          this.set({ stream: stream.path }, Math.round(state.rate.bitsPerSecond(now)));
        }
      },
    });
    this.segmentsProduced = new Counter({ name: `${p}segments_total`, help: 'CMAF segments completed, by track kind', labelNames: ['kind'], registers });
    this.partsProduced = new Counter({ name: `${p}parts_total`, help: 'CMAF parts (LL-HLS parts, CMAF chunks) completed, by track kind', labelNames: ['kind'], registers });
    this.segmentAvailability = new Histogram({
      name: `${p}segment_availability_delay_seconds`,
      help: "Seconds from the arrival of the frame that closes a segment (the next segment's first frame) to the segment being announced",
      labelNames: ['kind'],
      buckets: AVAILABILITY_BUCKETS,
      registers,
    });
    this.partAvailability = new Histogram({
      name: `${p}part_availability_delay_seconds`,
      help: "Seconds from the arrival of the frame that closes a part (the next part's first frame) to the part being announced",
      labelNames: ['kind'],
      buckets: AVAILABILITY_BUCKETS,
      registers,
    });
    this.registerMemoryMetrics(p, registers);
    this.httpRequests = new Counter({ name: `${p}http_requests_total`, help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers });
    new Gauge({
      name: `${p}viewers`,
      help: 'Viewers by protocol (HTTP sessions seen within the window; RTMP/FLV connections)',
      labelNames: ['protocol'],
      registers,
      collect() {
        const streams = self.sources?.streams.list() ?? [];
        let counts: Record<string, number>;
        if (self.sources?.viewers) counts = self.sources.viewers.totals(streams);
        else {
          counts = {};
          for (const s of streams) counts['rtmp'] = (counts['rtmp'] ?? 0) + (self.sources?.relays?.playerCount(s.app, s.key) ?? 0);
        }
        for (const protocol of VIEWER_PROTOCOLS) this.set({ protocol }, counts[protocol] ?? 0);
      },
    });
    this.transcoderRestarts = new Counter({ name: `${p}transcoder_restarts_total`, help: 'Transcoder (ffmpeg) processes restarted after failing', labelNames: ['app'], registers });
    this.pushBytes = this.registerPushMetrics(p, registers);
    // The event-loop lag monitor samples every eventLoopMonitoringPrecision ms, also when idle:
    // prom-client's 10 ms default alone costs ~0.8 % of a core; 100 ms still resolves lag well.
    if (this.options.defaultMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Live streams and publishers, counted at scrape time. */
  private registerStreamGauges(p: string, registers: Registry[]): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: `${p}streams_live`,
      help: 'Streams being published and packaged right now',
      registers,
      collect() {
        self.watchNewTrackOutputs();
        this.set(self.sources?.streams.list().length ?? 0);
      },
    });
    new Gauge({
      name: `${p}publishers`,
      help: 'Live publishers by app',
      labelNames: ['app'],
      registers,
      collect() {
        this.reset();
        const byApp = new Map<string, number>();
        for (const s of self.sources?.streams.list() ?? []) {
          const app = self.apps.of(s.app);
          byApp.set(app, (byApp.get(app) ?? 0) + 1);
        }
        for (const [app, n] of byApp) this.set({ app }, n);
      },
    });
  }

  /**
   * Push targets: the count by state and the bytes of all (kept from before per-target series
   * existed), and one series per target, labelled `stream` (APP/KEY), `id` (two targets may
   * share a redacted URL: same server, different keys) and `target` (the redacted URL). Targets
   * are few (at most 16 per stream by default) and their series go when they are removed;
   * still, only the first `maxStreamLabels` streams' targets get series.
   */
  private registerPushMetrics(p: string, registers: Registry[]): Counter {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const pushBytes = new Counter({ name: `${p}push_bytes_total`, help: 'Bytes written to push targets (restreaming to other RTMP/RTMPS/SRT servers)', registers });
    new Gauge({
      name: `${p}push_targets`,
      help: 'Push targets by state (waiting: stream not live; connecting; live; retrying: lost, reconnecting with back-off)',
      labelNames: ['state'],
      registers,
      collect() {
        const counts: Record<string, number> = { waiting: 0, connecting: 0, live: 0, retrying: 0 };
        for (const t of self.sources?.push?.all() ?? []) if (t.state in counts) counts[t.state]!++;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    const labelNames = ['stream', 'id', 'target'] as const;
    const labelsOf = (t: PushTargetSample): Record<(typeof labelNames)[number], string> => ({ stream: t.stream, id: t.id, target: t.url });
    // The targets keep their own counts: mirrored at scrape time, as the cache's are.
    const perTargetCounter = (name: string, help: string, read: (t: PushTargetSample) => number): void => {
      new Counter({
        name: `${p}${name}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const t of self.pushSamples()) this.inc(labelsOf(t), read(t));
        },
      });
    };
    perTargetCounter('push_target_bytes_total', 'Bytes written to this push target since it was added', (t) => t.bytes);
    perTargetCounter('push_target_dropped_total', 'Messages (audio/video frames) not sent to this push target because its queue was full (it skips to the next keyframe)', (t) => t.dropped);
    perTargetCounter('push_target_reconnects_total', 'Times this push target lost its connection and retried', (t) => t.reconnects);
    new Gauge({
      name: `${p}push_target_bitrate_bits_per_second`,
      help: 'Bitrate sent to this push target over the last few seconds',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const t of self.pushSamples()) this.set(labelsOf(t), t.bitrate);
      },
    });
    new Gauge({
      name: `${p}push_target_info`,
      help: 'One per push target (value 1): its state (waiting, connecting, live, retrying) and rendition',
      labelNames: [...labelNames, 'rendition', 'state'],
      registers,
      collect() {
        this.reset();
        for (const t of self.pushSamples()) this.set({ ...labelsOf(t), rendition: t.rendition, state: t.state }, 1);
      },
    });
    return pushBytes;
  }

  /** The push targets that get per-target series: those of the first `maxStreamLabels` streams. */
  private pushSamples(): PushTargetSample[] {
    const streams = new Set<string>();
    const samples: PushTargetSample[] = [];
    for (const t of this.sources?.push?.all() ?? []) {
      if (!streams.has(t.stream)) {
        if (streams.size >= this.options.maxStreamLabels) continue;
        streams.add(t.stream);
      }
      samples.push(t);
    }
    return samples;
  }

  /** What the gateway holds: the LRU (bytes, entries, hits, evictions) and the live windows. */
  private registerMemoryMetrics(p: string, registers: Registry[]): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({ name: `${p}cache_bytes`, help: 'Bytes held by the segment LRU cache', registers, collect() { this.set(self.sources?.cache.stats().bytes ?? 0); } });
    new Gauge({
      name: `${p}live_window_bytes`,
      help: 'Media bytes pinned by the live windows (CMAF segments, open parts, inits; TS for streams watched over TS); with cache_bytes, the media the gateway holds',
      registers,
      collect() {
        let bytes = 0;
        for (const output of self.sources?.outputs.list() ?? []) {
          for (const track of output.trackOutputs()) bytes += track.pinnedBytes;
          for (const ts of tsOutputOf(output)?.list() ?? []) bytes += ts.pinnedBytes;
        }
        this.set(bytes);
      },
    });
    new Gauge({ name: `${p}cache_entries`, help: 'Objects held by the segment LRU cache', registers, collect() { this.set(self.sources?.cache.stats().entries ?? 0); } });
    new Gauge({
      name: `${p}cache_hit_ratio`,
      help: 'Cache hits / lookups since start (0 before any lookup)',
      registers,
      collect() {
        const s = self.sources?.cache.stats();
        this.set(s && s.hits + s.misses > 0 ? s.hits / (s.hits + s.misses) : 0);
      },
    });
    // The cache keeps its own monotonic counts: mirrored into counters at scrape time.
    const mirrored = (name: string, help: string, read: (s: ReturnType<SegmentCache['stats']>) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          const s = self.sources?.cache.stats();
          this.reset();
          if (s) this.inc(read(s));
        },
      });
    };
    mirrored(`${p}cache_hits_total`, 'Cache lookups that found the object', (s) => s.hits);
    mirrored(`${p}cache_misses_total`, 'Cache lookups that did not', (s) => s.misses);
    mirrored(`${p}cache_evictions_total`, 'Objects evicted by the LRU to stay within its byte bound', (s) => s.evictions);
  }

  /** Subscribes to the gateway's registries: streams live now and every later publish. */
  attach(sources: MetricsSources): this {
    this.sources = sources;
    const onPublish = (stream: LiveStream): void => this.watchStream(stream);
    const onUnpublish = (stream: LiveStream): void => {
      this.ingest.get(stream)?.unsubscribe();
      this.ingest.delete(stream);
    };
    for (const s of sources.streams.list()) onPublish(s);
    // Registered after the OutputRegistry's own listener, so the stream's output exists by now.
    sources.streams.on('publish', onPublish);
    sources.streams.on('unpublish', onUnpublish);
    this.detachers.push(() => {
      sources.streams.off('publish', onPublish);
      sources.streams.off('unpublish', onUnpublish);
    });
    return this;
  }

  detach(): void {
    for (const d of this.detachers.splice(0)) d();
    for (const state of this.ingest.values()) state.unsubscribe();
    this.ingest.clear();
  }

  /** For the ladder: one transcoder of `app` restarted. */
  transcoderRestarted(app: string): void {
    this.transcoderRestarts.inc({ app: this.apps.of(app) });
  }

  /** Prometheus text exposition of everything. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Counts one answered HTTP request. The labelled child is looked up once per (route, status):
   * prom-client's `inc(labels)` hashes the label object on every call, a cost the segment fast
   * path pays per request.
   */
  countRequest(route: string, status: number): void {
    const id = `${route} ${status}`;
    let child = this.requestCounters.get(id);
    if (!child) {
      child = this.httpRequests.labels(route, String(status));
      this.requestCounters.set(id, child);
    }
    child.inc();
  }

  /** Express middleware counting requests by route and status; mount it first. */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      const route = classifyPath(req.path).route;
      res.once('close', () => this.countRequest(route, res.statusCode));
      next();
    };
  }

  private tallyOf(app: string): IngestTally {
    let tally = this.ingestTallies.get(app);
    if (!tally) {
      tally = { videoFrames: 0, videoBytes: 0, audioFrames: 0, audioBytes: 0 };
      this.ingestTallies.set(app, tally);
    }
    return tally;
  }

  /** Moves what the per-frame tallies counted since the last scrape into the counters. */
  private flushIngestTallies(): void {
    for (const [app, t] of this.ingestTallies) {
      if (t.videoFrames > 0) this.framesIn.inc({ app, kind: 'video' }, t.videoFrames);
      if (t.audioFrames > 0) this.framesIn.inc({ app, kind: 'audio' }, t.audioFrames);
      if (t.videoBytes > 0) this.bytesIn.inc({ app, kind: 'video' }, t.videoBytes);
      if (t.audioBytes > 0) this.bytesIn.inc({ app, kind: 'audio' }, t.audioBytes);
      t.videoFrames = t.videoBytes = t.audioFrames = t.audioBytes = 0;
    }
  }

  private watchStream(stream: LiveStream): void {
    if (this.ingest.has(stream)) return;
    const app = this.apps.of(stream.app);
    const tally = this.tallyOf(app);
    const rate = new SlidingByteRate(this.options.bitrateWindowMs);
    const unsubscribe = stream.subscribe({
      onTrack: () => undefined,
      // The per-frame path is plain additions: a prom-client inc() hashes its labels every call.
      onFrame: (frame: Frame) => {
        const bytes = frame.data.byteLength;
        if (frame.kind === 'video') {
          tally.videoFrames++;
          tally.videoBytes += bytes;
        } else {
          tally.audioFrames++;
          tally.audioBytes += bytes;
        }
        rate.add(bytes, frame.wallclock);
      },
      onEnd: () => undefined,
    });
    this.ingest.set(stream, { rate, unsubscribe });
    this.watchNewTrackOutputs();
  }

  /**
   * Subscribes to TrackOutputs not seen yet. Called at publish and at every scrape, so renditions
   * the ladder adds later are picked up too (from their first scrape on).
   */
  private watchNewTrackOutputs(): void {
    for (const output of this.sources?.outputs.list() ?? []) {
      if (output.ended) continue;
      for (const track of output.trackOutputs()) this.watchTrackOutput(track);
    }
  }

  watchTrackOutput(track: TrackOutput): void {
    if (this.watchedTracks.has(track) || track.ended) return;
    this.watchedTracks.add(track);
    const availability = new AvailabilityTracker();
    const kind = track.kind;
    const parts = this.partsProduced.labels(kind);
    const segments = this.segmentsProduced.labels(kind);
    const partDelay = this.partAvailability.labels(kind);
    const segmentDelay = this.segmentAvailability.labels(kind);
    const onPart = (part: CmafPart): void => {
      parts.inc();
      const settled = availability.onPart(part, this.options.now());
      if (settled.part !== undefined) partDelay.observe(settled.part);
      if (settled.segment !== undefined) segmentDelay.observe(settled.segment);
    };
    const onSegment = (segment: CmafSegment): void => {
      segments.inc();
      availability.onSegment(segment, this.options.now());
    };
    const onInit = (): void => availability.reset();
    track.on('part', onPart);
    track.on('segment', onSegment);
    track.on('init', onInit);
    track.once('end', () => {
      track.off('part', onPart);
      track.off('segment', onSegment);
      track.off('init', onInit);
    });
  }
}
