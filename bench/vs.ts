/**
 * `npm run bench -- --vs nginx-rtmp` (or `--vs ffmpeg`): the real gateway measured from outside
 * beside a peer, alternately, in the same run, with the same fixture, publishers and viewers.
 *
 * Each run is one server and one stream count N: a fresh server process tree; one process of N
 * RTMP publishers replaying the 720p30 2.5 Mbit/s fixture in real time (bench/vs-publish.ts); one
 * process of N viewers polling the HLS playlist (and DASH MPD) every 100 ms, fetching every
 * segment, plus an LL-HLS blocking-reload client on the gateway (bench/vs-view.ts). The server's
 * CPU and RSS are read from /proc over its whole process tree; delays compare the publisher's
 * send instants with the viewer's listing instants (one clock: processes on one machine).
 * Runs alternate gateway, peer, gateway, peer... so drift in the machine's state hits both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchFixture, median, percentile } from './fixtures.js';
import { partDelays, segmentDelays, segmentDurations, segmentTimeline } from './vs-figures.js';
import { rssSlopeMbPerMin, startRssSampler, stopWrapped, treeCpuSeconds } from './vs-proc.js';
import { peerMissing, startServer, type ServerKind, type VsPeer, type VsServer } from './vs-servers.js';
import type { PublishConfig, PublishResult, ViewConfig, ViewResult } from './vs-types.js';

export type { VsPeer } from './vs-servers.js';

export interface VsOptions {
  readonly peer: VsPeer;
  /** Stream counts N, each a run per server per repeat. */
  readonly counts: number[];
  /** Seconds of publishing per run (the measuring window starts at the first media message). */
  readonly seconds: number;
  readonly repeats: number;
  /** Measure the gateway alone (`--gateway-only`): for trying a change or a flag, not for a ratio. */
  readonly gatewayOnly?: boolean;
  readonly log?: (s: string) => void;
}

/** Per-repeat values of one figure for one server, and their median and range. */
export interface VsStat {
  readonly values: number[];
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface VsRow {
  readonly streams: number;
  readonly figure: string;
  readonly gateway: VsStat;
  /** Absent when the peer is not installed or the figure does not apply to it (LL-HLS). */
  readonly peer?: VsStat;
  /** gateway median / peer median. */
  readonly ratio?: number;
}

export interface VsResult {
  readonly peer: VsPeer;
  /** Why the peer was not measured (not installed), or undefined. */
  readonly peerMissing?: string;
  readonly counts: number[];
  readonly seconds: number;
  readonly repeats: number;
  /** What the reader must know about how the numbers were made. */
  readonly notes: string[];
  readonly rows: VsRow[];
}

/** CPU ticks of the first seconds (process start-up, first segments) are not the steady state. */
const CPU_SKIP_MS = 4000;

/** The figures of one run; undefined where the figure does not apply to the server. */
type RunFigures = Record<FigureId, number | undefined>;

const FIGURES = [
  { id: 'cpu', label: 'server CPU, % of one core (process tree)' },
  { id: 'rss', label: 'peak RSS, MB (process tree)' },
  { id: 'rssSlope', label: 'RSS slope over the last half of the run, MB/min (flat once the LRU is full)' },
  { id: 'held', label: 'media held in memory at the end (live windows + LRU), MB' },
  { id: 'rssBudget', label: 'RSS budget 1.2 x held + 100, MB (issue target: peak RSS below it)' },
  { id: 'hlsP50', label: 'HLS segment listed after its closing frame, 100 ms poll, p50 ms' },
  { id: 'hlsP90', label: 'HLS segment listed after its closing frame, 100 ms poll, p90 ms' },
  { id: 'llSegP50', label: 'LL-HLS segment listed after its closing frame, blocking reload, p50 ms' },
  { id: 'llSegP90', label: 'LL-HLS segment listed after its closing frame, blocking reload, p90 ms' },
  { id: 'llPartP50', label: 'LL-HLS part listed after its closing frame, blocking reload, p50 ms' },
  { id: 'llPartP90', label: 'LL-HLS part listed after its closing frame, blocking reload, p90 ms' },
  { id: 'firstPlayable', label: 'first playable HLS after publish start, ms (median of streams)' },
  { id: 'segments', label: 'segments fetched (HLS + DASH, all streams)' },
  { id: 'unmatched', label: 'HLS segments not matched to a source keyframe' },
  { id: 'httpErrors', label: 'HTTP errors' },
] as const;
type FigureId = (typeof FIGURES)[number]['id'];

const sleepUntil = (epochMs: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, epochMs - (performance.timeOrigin + performance.now()))));

/** A bench helper process (publisher or viewer) under `timeout`, spoken to by lines on stdin/stdout. */
class Helper {
  private out = '';
  readonly child: ChildProcess;

  constructor(script: string, config: string, bound: number) {
    this.child = spawn('timeout', ['-k', '5', String(bound), process.execPath, '--import', 'tsx', script, config], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
  }

  /** The first stdout match of `re`; rejects if the process exits first. */
  line(re: RegExp): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(this.out);
        if (!m) return;
        this.child.stdout!.off('data', check);
        this.child.off('exit', exited);
        resolve(m);
      };
      const exited = (code: number | null): void => reject(new Error(`${this.child.spawnargs.join(' ')} exited (${code}) early`));
      this.child.stdout!.on('data', check);
      this.child.once('exit', exited);
      check();
    });
  }

  /** Asks it to finish and write its results; waits for its exit (killed by PID if it hangs). */
  async finish(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.end('stop\n');
    const timer = setTimeout(() => void stopWrapped(this.child, 1000), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

function stat(values: number[]): VsStat {
  return { values, median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** From the two processes' JSON, the run's delay figures (all streams pooled). */
function delayFigures(published: PublishResult, viewed: ViewResult, ll: boolean): Omit<RunFigures, 'cpu' | 'rss' | 'rssSlope' | 'held' | 'rssBudget'> {
  const hls: number[] = [];
  const llSegments: number[] = [];
  const llParts: number[] = [];
  const firstPlayable: number[] = [];
  let unmatched = 0;
  let segments = 0;
  let httpErrors = 0;
  for (const view of viewed.streams) {
    const pub = published.streams.find((p) => p.key === view.key);
    segments += view.segmentsFetched;
    httpErrors += view.httpErrors;
    if (!pub || view.hlsSegments.length === 0) continue;
    const timeline = segmentTimeline(pub, segmentDurations(view.hlsSegments, view.llSegments));
    unmatched += timeline.unmatched;
    hls.push(...segmentDelays(timeline, view.hlsSegments));
    llSegments.push(...segmentDelays(timeline, view.llSegments));
    llParts.push(...partDelays(pub, timeline, view.llParts));
    if (view.firstPlayableAt !== null) firstPlayable.push(view.firstPlayableAt - pub.firstMediaAt);
  }
  return {
    hlsP50: percentile(hls, 50),
    hlsP90: percentile(hls, 90),
    llSegP50: ll ? percentile(llSegments, 50) : undefined,
    llSegP90: ll ? percentile(llSegments, 90) : undefined,
    llPartP50: ll ? percentile(llParts, 50) : undefined,
    llPartP90: ll ? percentile(llParts, 90) : undefined,
    firstPlayable: median(firstPlayable),
    segments,
    unmatched,
    httpErrors,
  };
}

function errorReport(kind: ServerKind, viewed: ViewResult): string | undefined {
  const samples = viewed.streams.flatMap((s) => s.errorSamples.map((e) => `${s.key}: ${e}`)).slice(0, 5);
  return samples.length ? `${kind}: HTTP errors, e.g.\n  ${samples.join('\n  ')}` : undefined;
}

/** CPU % of one core used by the server's tree over [firstMedia + CPU_SKIP_MS, firstMedia + seconds]. */
async function cpuWindow(server: VsServer, firstMedia: number, seconds: number): Promise<number> {
  await sleepUntil(firstMedia + CPU_SKIP_MS);
  const cpu0 = treeCpuSeconds(server.wrappers);
  const t0 = performance.now();
  await sleepUntil(firstMedia + seconds * 1000);
  const cpu1 = treeCpuSeconds(server.wrappers);
  return ((cpu1 - cpu0) / ((performance.now() - t0) / 1000)) * 100;
}

/** Publishers and viewers of one run against a started server; returns its figures. */
async function measure(server: VsServer, dir: string, fixture: string, seconds: number, bound: number, log: (s: string) => void): Promise<RunFigures> {
  const rss = startRssSampler(server.wrappers);
  const viewConfig: ViewConfig = { streams: server.views, out: join(dir, 'view.json') };
  const publishConfig: PublishConfig = { fixture, targets: server.targets, out: join(dir, 'publish.json') };
  writeFileSync(join(dir, 'view-config.json'), JSON.stringify(viewConfig));
  writeFileSync(join(dir, 'publish-config.json'), JSON.stringify(publishConfig));
  // Viewers first: they must be polling before the stream exists to see its first segment listed.
  const viewer = new Helper('bench/vs-view.ts', join(dir, 'view-config.json'), bound);
  let publisher: Helper | undefined;
  try {
    await viewer.line(/^ready$/m);
    publisher = new Helper('bench/vs-publish.ts', join(dir, 'publish-config.json'), bound);
    const firstMedia = Number((await publisher.line(/^first-media ([\d.]+)$/m))[1]);
    const cpuPercent = await cpuWindow(server, firstMedia, seconds);
    const peakRss = rss.stop();
    const held = server.heldBytes ? (await server.heldBytes()) / 1e6 : undefined;
    // Viewers stop before the publishers, so no end-of-stream segment is counted.
    await viewer.finish();
    await publisher.finish();
    const viewed = JSON.parse(readFileSync(viewConfig.out, 'utf8')) as ViewResult;
    const published = JSON.parse(readFileSync(publishConfig.out, 'utf8')) as PublishResult;
    const errors = errorReport(server.kind, viewed);
    if (errors) log(errors);
    return { cpu: cpuPercent, rss: peakRss / 1e6, rssSlope: rssSlopeMbPerMin(rss.samples()), held, rssBudget: held === undefined ? undefined : 1.2 * held + 100, ...delayFigures(published, viewed, server.views.some((v) => v.llHls)) };
  } finally {
    rss.stop();
    await Promise.all([viewer.finish(), publisher?.finish()]);
  }
}

async function runOnce(kind: ServerKind, streams: number, opts: VsOptions, fixture: string, log: (s: string) => void): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vs-'));
  // nginx's workers run as nobody when we are root: they must reach the media directories.
  chmodSync(dir, 0o755);
  const bound = opts.seconds + 60;
  let server: VsServer | undefined;
  try {
    server = await startServer(kind, { streams, dir, bound, dash: opts.peer === 'nginx-rtmp' });
    return await measure(server, dir, fixture, opts.seconds, bound, log);
  } finally {
    await server?.stop();
    // BENCH_DEBUG=1 keeps the run's files (configs, publisher and viewer JSON, server media) to look at.
    if (process.env['BENCH_DEBUG']) log(`vs: kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export async function buildGateway(): Promise<void> {
  const build = spawn('timeout', ['-k', '5', '300', 'npx', 'tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  const [code] = (await once(build, 'exit')) as [number | null];
  if (code !== 0) throw new Error('npx tsc -p tsconfig.build.json failed');
}

function notes(opts: VsOptions, missing: string | undefined): string[] {
  const out = [
    `each run: a fresh server, N publishers (720p30 H.264 2.5 Mbit/s + AAC, real time, one process) and N viewers (HLS playlist${opts.peer === 'nginx-rtmp' ? ' + DASH MPD' : ''} every 100 ms, every segment fetched, one process; LL-HLS blocking reload on the gateway), ${opts.seconds} s`,
    `CPU over [first media + ${CPU_SKIP_MS / 1000} s, end]; CPU and RSS of the whole server process tree`,
    'delays: source keyframe (or frame) send instant -> first playlist listing it; segments mapped onto source keyframes by cumulative EXTINF',
    'the gateway polls src/index.m3u8 (video; audio is a separate rendition, not polled)',
  ];
  if (opts.peer === 'ffmpeg') out.push('ffmpeg: one `ffmpeg -listen 1 -c copy -f hls (fmp4)` per stream; the static nginx serving its files is NOT counted in its CPU or RSS; no DASH polled for either server');
  if (opts.peer === 'nginx-rtmp') out.push('nginx-rtmp: HLS is MPEG-TS with audio and video in one playlist; DASH separate m4v/m4a');
  if (missing) out.push(missing);
  return out;
}

/** The peer's figures are undefined where it has no such thing (LL-HLS) or was not measured. */
function rows(counts: number[], runs: Map<string, RunFigures[]>, peerMeasured: boolean): VsRow[] {
  const out: VsRow[] = [];
  for (const streams of counts) {
    for (const f of FIGURES) {
      const values = (kind: string): number[] => (runs.get(`${kind}/${streams}`) ?? []).map((r) => r[f.id]).filter((v): v is number => v !== undefined);
      const g = values('gateway');
      const p = values('peer');
      const gateway = stat(g);
      const peer = peerMeasured && p.length > 0 ? stat(p) : undefined;
      // A ratio means something for sizes and rates, not for a slope around zero.
      const comparable = peer !== undefined && f.id !== 'rssSlope' && Math.abs(peer.median) > 1e-6;
      out.push({ streams, figure: f.label, gateway, peer, ratio: comparable ? gateway.median / peer!.median : undefined });
    }
  }
  return out;
}

export async function benchVs(opts: VsOptions): Promise<VsResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  if (!(opts.seconds * 1000 > CPU_SKIP_MS + 1000)) throw new Error(`--seconds must be more than ${CPU_SKIP_MS / 1000 + 1} (the first ${CPU_SKIP_MS / 1000} s are not measured for CPU)`);
  if (opts.counts.length === 0 || opts.counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`stream counts must be positive integers: ${opts.counts.join(',')}`);
  const missing = opts.gatewayOnly ? 'the peer is not measured (--gateway-only)' : peerMissing(opts.peer);
  if (missing) log(`!!! ${missing}: measuring the gateway only !!!`);
  const fixture = await benchFixture(60);
  await buildGateway();
  const runs = new Map<string, RunFigures[]>();
  const record = (kind: string, n: number, r: RunFigures): void => {
    const k = `${kind}/${n}`;
    runs.set(k, [...(runs.get(k) ?? []), r]);
  };
  for (let repeat = 0; repeat < opts.repeats; repeat++) {
    for (const n of opts.counts) {
      for (const kind of missing ? (['gateway'] as const) : (['gateway', opts.peer] as const)) {
        log(`vs: repeat ${repeat + 1}/${opts.repeats}, ${n} stream(s), ${kind} ...`);
        const r = await runOnce(kind, n, opts, fixture, log);
        log(`vs:   CPU ${r.cpu!.toFixed(1)} %, RSS ${r.rss!.toFixed(0)} MB, HLS listed p50 ${r.hlsP50!.toFixed(0)} ms, segments ${r.segments}, errors ${r.httpErrors}`);
        record(kind === 'gateway' ? 'gateway' : 'peer', n, r);
      }
    }
  }
  return { peer: opts.peer, peerMissing: missing, counts: opts.counts, seconds: opts.seconds, repeats: opts.repeats, notes: notes(opts, missing), rows: rows(opts.counts, runs, !missing) };
}

function cell(s: VsStat | undefined): string {
  if (!s || s.values.length === 0) return 'n/a';
  const f = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)) : 'NaN');
  return s.values.length === 1 ? f(s.median) : `${f(s.median)} [${f(s.min)}..${f(s.max)}]`;
}

/** The table: figure | gateway median [min..max] | peer median [min..max] | ratio, per stream count. */
export function formatVs(result: VsResult): string {
  const head = ['figure', 'gateway', result.peer, 'ratio gw/peer'];
  const lines: string[] = [];
  for (const n of result.counts) {
    const body = result.rows
      .filter((r) => r.streams === n)
      .map((r) => [r.figure, cell(r.gateway), cell(r.peer), r.ratio !== undefined && Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : 'n/a']);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const fmt = (cols: string[]): string => `| ${cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
    lines.push(`\n${n} stream${n === 1 ? '' : 's'}, ${result.seconds} s, ${result.repeats} repeat${result.repeats === 1 ? '' : 's'} (median [min..max] over repeats):`);
    lines.push(fmt(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(fmt));
  }
  return [`gateway vs ${result.peer}`, ...result.notes.map((n) => `  - ${n}`), ...lines].join('\n');
}
