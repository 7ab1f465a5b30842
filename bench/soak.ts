/**
 * Soak: the gateway in this process, `streams` real ffmpeg publishers looping a short clip with
 * `-c copy`, and `viewers` simulated HLS viewers (each polls its stream's media playlist once per
 * target duration and fetches the newest segment through one shared keep-alive agent), for N
 * minutes. Counts every error (non-200, exception, publisher exit), samples RSS and open file
 * descriptors every 5 s, prints a summary and fails on any error or fd growth beyond a bound.
 *
 *   npm run soak -- --minutes 10 [--streams 20] [--viewers 200]
 */
import http from 'node:http';
import { setMaxListeners } from 'node:events';
import { readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { RunningGateway } from '../src/gateway.js';
import { fixture } from '../test/helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../test/helpers/gateway.js';

export interface SoakOptions {
  readonly minutes: number;
  readonly streams?: number;
  readonly viewers?: number;
  /** Seconds between RSS / fd samples (default 5). */
  readonly sampleSeconds?: number;
  /** Open file descriptors the run may gain between its first and last sample (default 20). */
  readonly maxFdGrowth?: number;
  /** Progress lines (default: nothing). */
  readonly log?: (line: string) => void;
}

export interface SoakSample {
  /** Milliseconds since the measured run started. */
  readonly atMs: number;
  readonly rssMb: number;
  /** Bytes held by the segment LRU: it fills (by design) until cacheMaxBytes, which RSS shows. */
  readonly cacheMb: number;
  readonly fds: number;
}

export interface SoakResult {
  readonly minutes: number;
  readonly streams: number;
  readonly viewers: number;
  readonly requests: number;
  readonly segmentsFetched: number;
  readonly errors: number;
  /** Error descriptions and how often each happened. */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly rss: {
    readonly startMb: number;
    readonly endMb: number;
    readonly maxMb: number;
    readonly slopeMbPerMin: number;
    /** Slope of RSS minus the segment cache's bytes: growth the cache does not explain. */
    readonly slopeExcludingCacheMbPerMin: number;
  };
  readonly fds: { readonly start: number; readonly end: number; readonly max: number; readonly growth: number };
  readonly samples: readonly SoakSample[];
  /** No errors and fd growth within the bound. */
  readonly ok: boolean;
}

/** Slope of the least-squares line through the points (0 with fewer than two distinct x). */
export function leastSquaresSlope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

interface Fetched {
  readonly status: number;
  readonly body: Buffer;
}

function get(agent: http.Agent, url: string): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('request timed out after 20 s')));
    req.on('error', reject);
  });
}

/** What a viewer needs from a media playlist: the target duration, the init and the newest segment. */
export function readMediaPlaylist(text: string): { targetSeconds: number; init?: string; newest?: string } {
  const target = /#EXT-X-TARGETDURATION:(\d+)/.exec(text);
  const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text);
  const uris = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
  return { targetSeconds: target ? Number(target[1]) : 2, init: map?.[1], newest: uris.at(-1) };
}

/** Resolves after `ms`, or at once when `stop` fires first (no timer outlives the run). */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done);
  });
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const streams = options.streams ?? 20;
  const viewers = options.viewers ?? 200;
  const sampleMs = (options.sampleSeconds ?? 5) * 1000;
  const maxFdGrowth = options.maxFdGrowth ?? 20;
  const log = options.log ?? ((): void => undefined);
  const errorKinds = new Map<string, number>();
  const error = (kind: string): void => {
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  };
  let requests = 0;
  let segmentsFetched = 0;

  const file = await fixture('av360p-short');
  const gw: RunningGateway = await startTestGateway();
  const base = `http://127.0.0.1:${gw.httpPort}`;
  const keys = Array.from({ length: streams }, (_, i) => `soak-${i}`);
  const publishers: Publisher[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const stop = new AbortController();
  // Every viewer waits on the one stop signal.
  setMaxListeners(viewers + 16, stop.signal);
  let stopping = false;
  try {
    // Every stream live with a first segment before the clock starts: start-up is not soak.
    const waiting = new Map<string, () => void>();
    const pending = new Set(keys);
    const ready = Promise.all(
      keys.map(
        (key) =>
          new Promise<void>((resolve) =>
            waiting.set(key, () => {
              pending.delete(key);
              resolve();
            }),
          ),
      ),
    );
    const onPublish = (stream: { app: string; key: string }): void => {
      const resolve = waiting.get(stream.key);
      if (!resolve) return;
      waiting.delete(stream.key);
      const video = gw.outputs.get(stream.app, stream.key)!.videos.get('src')!;
      const check = (): void => {
        if (video.segments.length === 0) return;
        video.off('update', check);
        resolve();
      };
      video.on('update', check);
      check();
    };
    gw.streams.on('publish', onPublish);
    for (const key of keys) {
      const p = publish(file, `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`, { loop: true });
      void p.done.then((code) => {
        if (!stopping) error(`publisher live/${key} exited (${code}): ${p.stderr().trim().slice(0, 200)}`);
      });
      publishers.push(p);
    }
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
    const outcome = await Promise.race([ready, timeout]);
    gw.streams.off('publish', onPublish);
    if (outcome === 'timeout') throw new Error(`streams without a first segment after 60 s: ${[...pending].join(', ')}`);
    log(`${streams} streams live; starting ${viewers} viewers for ${options.minutes} min`);

    // Open the agent's sockets once, so the fd baseline holds the pool the viewers will use.
    await Promise.all(Array.from({ length: 32 }, (_, i) => get(agent, `${base}/live/${keys[i % streams]}/src/index.m3u8`).catch(() => undefined)));

    const started = performance.now();
    const deadline = started + options.minutes * 60_000;
    const samples: SoakSample[] = [];
    const sample = (): void => {
      samples.push({ atMs: performance.now() - started, rssMb: process.memoryUsage().rss / 2 ** 20, cacheMb: gw.cache.stats().bytes / 2 ** 20, fds: openFds() });
    };
    const sampler = (async () => {
      sample();
      while (!stop.signal.aborted) {
        await pause(sampleMs, stop.signal);
        if (stop.signal.aborted) break;
        sample();
        const s = samples.at(-1)!;
        log(`t=${(s.atMs / 1000).toFixed(0)}s rss=${s.rssMb.toFixed(0)}MB cache=${s.cacheMb.toFixed(0)}MB fds=${s.fds} requests=${requests} errors=${[...errorKinds.values()].reduce((a, b) => a + b, 0)}`);
      }
    })();

    const viewer = async (index: number): Promise<void> => {
      const key = keys[index % streams]!;
      const playlistUrl = `${base}/live/${key}/src/index.m3u8`;
      let target = 2;
      let init: string | undefined;
      let last: string | undefined;
      // Spread the viewers over one poll period, as real players joining over time would be.
      await pause((index / viewers) * target * 1000, stop.signal);
      while (!stop.signal.aborted && performance.now() < deadline) {
        const tick = performance.now();
        try {
          requests++;
          const pl = await get(agent, playlistUrl);
          if (pl.status !== 200) {
            error(`playlist HTTP ${pl.status}`);
          } else {
            const parsed = readMediaPlaylist(pl.body.toString('utf8'));
            target = parsed.targetSeconds;
            if (parsed.init && parsed.init !== init) {
              requests++;
              const r = await get(agent, new URL(parsed.init, playlistUrl).href);
              if (r.status !== 200 || r.body.byteLength === 0) error(`init HTTP ${r.status}`);
              init = parsed.init;
            }
            if (parsed.newest && parsed.newest !== last) {
              requests++;
              const r = await get(agent, new URL(parsed.newest, playlistUrl).href);
              if (r.status !== 200 || r.body.byteLength === 0) error(`segment HTTP ${r.status}`);
              else segmentsFetched++;
              last = parsed.newest;
            }
          }
        } catch (err) {
          error(`exception: ${(err as Error).message}`);
        }
        await pause(Math.max(0, Math.min(deadline - performance.now(), target * 1000 - (performance.now() - tick))), stop.signal);
      }
    };
    const viewerRuns = Array.from({ length: viewers }, (_, i) => viewer(i));
    await pause(Math.max(0, deadline - performance.now()), stop.signal);
    await Promise.all(viewerRuns);
    stop.abort();
    await sampler;
    sample();

    const first = samples[0]!;
    const lastSample = samples.at(-1)!;
    const rssMax = Math.max(...samples.map((s) => s.rssMb));
    const fdMax = Math.max(...samples.map((s) => s.fds));
    const slope = leastSquaresSlope(samples.map((s) => ({ x: s.atMs / 60_000, y: s.rssMb })));
    const slopeExcludingCache = leastSquaresSlope(samples.map((s) => ({ x: s.atMs / 60_000, y: s.rssMb - s.cacheMb })));
    const errors = [...errorKinds.values()].reduce((a, b) => a + b, 0);
    const growth = lastSample.fds - first.fds;
    return {
      minutes: options.minutes,
      streams,
      viewers,
      requests,
      segmentsFetched,
      errors,
      errorKinds: Object.fromEntries(errorKinds),
      rss: { startMb: first.rssMb, endMb: lastSample.rssMb, maxMb: rssMax, slopeMbPerMin: slope, slopeExcludingCacheMbPerMin: slopeExcludingCache },
      fds: { start: first.fds, end: lastSample.fds, max: fdMax, growth },
      samples,
      ok: errors === 0 && growth <= maxFdGrowth,
    };
  } finally {
    stopping = true;
    stop.abort();
    for (const p of publishers) p.process.kill('SIGKILL');
    await Promise.all(publishers.map((p) => p.done));
    agent.destroy();
    await gw.stop();
  }
}

export function formatSoak(r: SoakResult): string {
  const lines = [
    `soak: ${r.minutes} min, ${r.streams} streams, ${r.viewers} viewers`,
    `  requests ${r.requests}, segments fetched ${r.segmentsFetched}`,
    `  errors ${r.errors}${r.errors ? ` ${JSON.stringify(r.errorKinds)}` : ''}`,
    `  RSS start ${r.rss.startMb.toFixed(0)} MB, end ${r.rss.endMb.toFixed(0)} MB, max ${r.rss.maxMb.toFixed(0)} MB, slope ${r.rss.slopeMbPerMin.toFixed(2)} MB/min (${r.rss.slopeExcludingCacheMbPerMin.toFixed(2)} MB/min without the segment cache, which fills to its bound by design)`,
    `  fds start ${r.fds.start}, end ${r.fds.end}, max ${r.fds.max} (growth ${r.fds.growth})`,
    `  ${r.ok ? 'OK' : 'FAILED'}`,
  ];
  return lines.join('\n');
}

function argValue(name: string): number | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const raw = args[i]!.includes('=') ? args[i]!.slice(args[i]!.indexOf('=') + 1) : args[i + 1];
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${raw}`);
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runSoak({
    minutes: argValue('minutes') ?? 1,
    streams: argValue('streams'),
    viewers: argValue('viewers'),
    log: (line) => console.log(line),
  }).then(
    (r) => {
      console.log(formatSoak(r));
      process.exit(r.ok ? 0 : 1);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(2);
    },
  );
}
