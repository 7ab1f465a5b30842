/** `npm run bench`: the figures users feel, printed as a table (and JSON with --json). */
import { benchAvailability } from './availability.js';
import { benchFixture, median } from './fixtures.js';
import { benchTransmux } from './transmux.js';
import { benchHttp, wrkAvailable } from './http.js';
import { benchFanout, type FanoutRun } from './fanout.js';
import { benchLadder } from './ladder.js';
import { measureLatency, renderTable } from '../src/latency/index.js';
import { benchPlayers } from './players.js';
import { benchVs, formatVs, type VsPeer } from './vs.js';
import { benchEdge, formatEdge } from './edge.js';
import { benchFloor, formatFloor } from './floor.js';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
/** `--only=transmux,availability,http,fanout,ladder,players,latency,edge,floor` runs a subset (edge and floor only when named). */
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice(7).split(',')) : undefined;
const wanted = (name: string): boolean => !only || only.has(name);

/** `--name=value` or `--name value`. */
function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = args[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
}

/**
 * `--vs nginx-rtmp|ffmpeg [--streams=1,20] [--seconds=30] [--repeats=3] [--gateway-only]`: only the
 * gateway-vs-peer bench (bench/vs.ts); `--gateway-only` leaves the peer out (to try a change, not
 * for a ratio).
 */
async function vs(peer: string): Promise<void> {
  if (peer !== 'nginx-rtmp' && peer !== 'ffmpeg') throw new Error(`--vs takes nginx-rtmp or ffmpeg, not ${peer}`);
  const result = await benchVs({
    peer: peer as VsPeer,
    counts: (argValue('--streams') ?? '1,20').split(',').map(Number),
    seconds: Number(argValue('--seconds') ?? 30),
    repeats: Number(argValue('--repeats') ?? 3),
    gatewayOnly: process.argv.includes('--gateway-only'),
  });
  console.log(json ? JSON.stringify({ vs: result }, null, 2) : formatVs(result));
}

function row(name: string, value: string, target = ''): void {
  if (!json) console.log(`${name.padEnd(58)} ${value.padStart(16)}   ${target}`);
}

async function main(): Promise<void> {
  const vsPeer = argValue('--vs');
  if (vsPeer !== undefined) return vs(vsPeer);
  const results: Record<string, unknown> = {};
  if (wanted('transmux')) {
  const long = await benchFixture(quick ? 60 : 300);
  const t = await benchTransmux(long, quick ? 3 : 5);
  results['transmux'] = t;
  row('transmux FLV -> CMAF (media s / file MB)', `${t.mediaSeconds.toFixed(0)} s / ${t.megabytes.toFixed(1)} MB`);
  row('transmux CPU seconds (median)', t.cpuSeconds.toFixed(3));
  row('transmux x realtime, one core', `${t.xRealtime.toFixed(0)}x`, 'target >= 300x');
  row('transmux MB/s, one core', t.mbPerSecond.toFixed(1));
  row('ffmpeg -c copy -f hls fmp4: CPU s / x realtime', `${t.ffmpegCpuSeconds.toFixed(3)} / ${t.ffmpegXRealtime.toFixed(0)}x`);
  row('ratio ours vs ffmpeg (CPU)', `${t.ratio.toFixed(2)}x`, '>= 1 means faster than ffmpeg');
  }

  const short = await benchFixture(60);
  if (wanted('availability')) {
  const a = await benchAvailability(short, quick ? 15 : 40);
  results['availability'] = a;
  row('first master playlist after publish start', `${a.firstPlaylistAfterPublishMs.toFixed(0)} ms`, 'target <= segment + 100 ms');
  row(`segment listed after its closing frame (n=${a.segmentSamples}) median`, `${a.segmentMedianMs.toFixed(2)} ms`, 'target < 5 ms');
  row('segment listed after its closing frame p95', `${a.segmentP95Ms.toFixed(2)} ms`);
  row(`part listed after its closing frame (n=${a.partSamples}) median`, `${a.partMedianMs.toFixed(2)} ms`, 'target < 5 ms');
  row('part listed after its closing frame p95', `${a.partP95Ms.toFixed(2)} ms`);
  }

  if (!wanted('http')) {
    // skipped
  } else if (wrkAvailable()) {
    const h = await benchHttp(short, quick ? 5 : 10, quick ? 1 : 3);
    results['http'] = h;
    for (const r of h) {
      const range = (v: number[]): string => `${median(v).toFixed(0)} [${Math.min(...v).toFixed(0)}..${Math.max(...v).toFixed(0)}]`;
      row(`${Math.round(r.bytes / 1024)} KB CMAF segment GET, real gateway, 50 conns: req/s`, range(r.oursRps));
      row(`  nginx static, same bytes: req/s (ratio ours/nginx)`, `${range(r.nginxRps)} (${r.ratio!.toFixed(2)}x)`, 'target >= 1.0x');
    }
  } else row('HTTP req/s', 'skipped', 'apt-get install wrk');

  if (wanted('fanout')) {
  const repeats = quick ? 1 : 3;
  const f = await benchFanout(short, [100, 200], quick ? 5 : 10, repeats);
  results['fanout'] = f;
  const range = (v: number[], digits: number): string => `${median(v).toFixed(digits)} [${Math.min(...v).toFixed(digits)}..${Math.max(...v).toFixed(digits)}]`;
  for (const n of [100, 200]) {
    const ours = f.runs['gateway']?.[n] ?? [];
    const peer = f.runs['nginx-rtmp']?.[n];
    const perPlayer = (runs: readonly FanoutRun[]): number[] => runs.map((r) => r.perPlayerCpuPercent * 1000);
    row(`RTMP play fan-out ${n} players (real servers, ${repeats} repeats): CPU %`, range(ours.map((r) => r.cpuPercent), 1));
    row(`  gateway CPU per player, milli-% of a core`, range(perPlayer(ours), 1));
    if (peer) {
      row(`  nginx-rtmp same run: CPU %`, range(peer.map((r) => r.cpuPercent), 1));
      row(`  nginx-rtmp CPU per player, milli-% (ratio gateway/nginx)`, `${range(perPlayer(peer), 1)} (${(median(perPlayer(ours)) / median(perPlayer(peer))).toFixed(2)}x)`, 'target <= 1.0x');
    } else row('  nginx-rtmp', 'missing', f.peerMissing ?? '');
    row(`  relay latency, publisher send -> probe player, p50 / p95 ms`, `${range(ours.map((r) => r.relayP50Ms), 1)} / ${range(ours.map((r) => r.relayP95Ms), 1)}`, 'target p50 <= 5 ms');
    if (peer) row(`  nginx-rtmp relay latency p50 / p95 ms`, `${range(peer.map((r) => r.relayP50Ms), 1)} / ${range(peer.map((r) => r.relayP95Ms), 1)}`);
    row(`  received per player, Mbit/s (players connected)`, `${range(ours.map((r) => r.receivedMbitPerPlayer), 2)} (${ours.map((r) => r.connected).join(',')})`);
  }
  }

  if (wanted('ladder')) {
    const l = await benchLadder(undefined, quick ? 5 : 10);
    results['ladder'] = l;
    row('ladder 1080p60 source: rungs', l.rungs.join(', ').slice(0, 60));
    row('ladder transcode speed (one ffmpeg, fed at full speed)', `${l.xRealtime.toFixed(2)}x realtime`);
    row('ladder CPU (cores at real time)', l.coresAtRealtime.toFixed(2));
    for (const [rung, ms] of Object.entries(l.latencyMedianMs)) row(`  extra latency of rung ${rung} over the source (median)`, `${ms.toFixed(0)} ms`, 'target < one part (200 ms)');
  }

  if (wanted('players')) {
    const p = await benchPlayers(quick ? 12 : 24, quick ? 2 : 3);
    results['players'] = p;
    for (const r of p) {
      row(`${r.player}: latency, median [min..max] of ${r.runs.length} runs`, `${r.median.toFixed(2)} s [${r.min.toFixed(2)}..${r.max.toFixed(2)}]`, r.player.startsWith('hls') ? 'goal <= 1.0 s' : 'goal <= 1.2 s');
      row(`  stalls per run`, r.stalls.join(', '));
    }
  }

  if (wanted('latency')) {
    const report = await measureLatency({ seconds: quick ? 15 : 30 });
    results['latency'] = { ...report, protocols: report.protocols.map(({ samples: _s, ...row }) => row) };
    if (!json) console.log(`\nlatency per protocol (npm run latency), ${report.durationSeconds} s:\n${renderTable(report)}`);
  }

  // The runtime's own cost per polled answer (bare node:http vs nginx): only when asked for.
  if (only?.has('floor')) {
    const f = await benchFloor({ seconds: quick ? 10 : 20, repeats: quick ? 1 : 3 });
    results['floor'] = f;
    if (!json) console.log(`\nwhat a polled answer costs the runtime (bare node:http vs nginx), ${formatFloor(f)}`);
  }

  // The edge tier (deploy/): only when asked for, it needs nginx with its Lua module.
  if (only?.has('edge')) {
    const e = await benchEdge(short, { viewers: 200, seconds: quick ? 8 : 15, repeats: quick ? 1 : 3, wrkSeconds: quick ? 3 : 5 });
    results['edge'] = e;
    if (!json) console.log(`\nedge tier (npm run edge in front of the gateway), median [min..max] of ${e.direct.length} runs:\n${formatEdge(e)}`);
  }

  if (json) console.log(JSON.stringify(results, null, 2));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
