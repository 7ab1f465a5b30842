/**
 * RTMP play fan-out, measured from outside: the real gateway (started as `npm start` runs it,
 * bench/vs-servers.ts) and nginx-rtmp (libnginx-mod-rtmp, the vs bench's config), alternately,
 * each fresh. One publisher replays the bench stream with every video frame stamped with its send
 * time (src/latency/publisher.ts, an H.264 SEI); a probe player in this process reads the stamps
 * and gives the relay latency the server adds (send -> arrival, loopback); N players in another
 * process (bench/rtmp-players.ts) make the load. CPU is the server's whole process tree from
 * /proc: first with the publisher and the probe only (baseline), then with N players; the cost
 * per player is the difference over N.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wallClockMs } from '../src/latency/clock.js';
import { playRtmp } from '../src/latency/players.js';
import { startPublisher } from '../src/latency/publisher.js';
import type { ProtocolMeasurement } from '../src/latency/report.js';
import { percentile } from './fixtures.js';
import { treeCpuSeconds } from './vs-proc.js';
import { peerMissing, startServer, type ServerKind } from './vs-servers.js';

export interface FanoutRun {
  readonly players: number;
  /** Players that completed the handshake and got media. */
  readonly connected: number;
  readonly baselineCpuPercent: number;
  readonly cpuPercent: number;
  /** (cpu - baseline) / players, % of one core. */
  readonly perPlayerCpuPercent: number;
  readonly receivedMbitPerPlayer: number;
  /** Probe player: video frame send -> arrival, ms, while the N players play. */
  readonly relayP50Ms: number;
  readonly relayP95Ms: number;
}

export interface FanoutResult {
  /** Per server, per player count: one run per repeat. */
  readonly runs: Record<string, Record<number, FanoutRun[]>>;
  /** Why nginx-rtmp did not run, when it did not. */
  readonly peerMissing?: string;
}

function runPlayers(port: number, key: string, n: number, seconds: number): Promise<{ connected: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('timeout', ['-k', '5', String(seconds + 60), process.execPath, '--import', 'tsx', 'bench/rtmp-players.ts', String(port), 'live', key, String(n), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as { connected: number; bytes: number });
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

async function cpuPercentDuring(wrappers: readonly number[], during: Promise<unknown>): Promise<number> {
  const c0 = treeCpuSeconds(wrappers);
  const t0 = performance.now();
  await during;
  return ((treeCpuSeconds(wrappers) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One fresh server of `kind`: baseline, then each player count in turn. */
async function runServer(kind: ServerKind, fixture: string, counts: readonly number[], seconds: number): Promise<FanoutRun[]> {
  const dir = mkdtempSync(join(tmpdir(), `bench-fanout-${kind}-`));
  const bound = 60 + counts.length * (seconds * 2 + 30);
  const server = await startServer(kind, { streams: 1, dir, bound, dash: true });
  const target = server.targets[0]!;
  const publisher = await startPublisher({ host: target.host, port: target.port, app: target.app, key: target.key }, { flvFile: fixture });
  const probeAbort = new AbortController();
  const measurement: ProtocolMeasurement = { protocol: 'rtmp', startedMs: wallClockMs(), frames: [], bufferRule: '', bufferSeconds: 0 };
  const probe = playRtmp({ rtmp: { host: target.host, port: target.port, app: target.app, key: target.key }, httpBase: '', signal: probeAbort.signal, measurement }).catch(() => undefined);
  const runs: FanoutRun[] = [];
  try {
    await sleep(3000); // the publish settles and the GOP cache fills (a bench, not a test)
    const baseline = await cpuPercentDuring(server.wrappers, sleep(seconds * 1000));
    for (const n of counts) {
      const players = runPlayers(target.port, target.key, n, seconds);
      await sleep(1000); // connections made; measure the steady state
      const from = measurement.frames.length;
      const cpu = await cpuPercentDuring(server.wrappers, players);
      const got = await players;
      const latencies = measurement.frames.slice(from).map((f) => f.arrivalMs - f.sendMs);
      runs.push({
        players: n,
        connected: got.connected,
        baselineCpuPercent: baseline,
        cpuPercent: cpu,
        perPlayerCpuPercent: (cpu - baseline) / n,
        receivedMbitPerPlayer: (got.bytes * 8) / 1e6 / seconds / Math.max(1, got.connected),
        relayP50Ms: latencies.length ? percentile(latencies, 50) : NaN,
        relayP95Ms: latencies.length ? percentile(latencies, 95) : NaN,
      });
    }
  } finally {
    probeAbort.abort();
    await probe;
    publisher.stop();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return runs;
}

export async function benchFanout(fixture: string, counts: readonly number[], seconds: number, repeats: number): Promise<FanoutResult> {
  const missing = peerMissing('nginx-rtmp');
  const kinds: ServerKind[] = missing ? ['gateway'] : ['gateway', 'nginx-rtmp'];
  const runs: Record<string, Record<number, FanoutRun[]>> = {};
  for (let r = 0; r < repeats; r++) {
    for (const kind of kinds) {
      process.stderr.write(`fanout: repeat ${r + 1}/${repeats}, ${kind} ...\n`);
      for (const run of await runServer(kind, fixture, counts, seconds)) {
        ((runs[kind] ??= {})[run.players] ??= []).push(run);
        process.stderr.write(`fanout:   ${run.players} players: CPU ${run.cpuPercent.toFixed(1)} % (baseline ${run.baselineCpuPercent.toFixed(1)}), relay p50 ${run.relayP50Ms.toFixed(1)} ms\n`);
      }
    }
  }
  return { runs, ...(missing ? { peerMissing: missing } : {}) };
}
