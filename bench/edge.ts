/**
 * `npm run bench -- --only=edge`: the edge tier measured from outside, for deploy/README.md's
 * capacity notes. The built gateway started as `npm start` does (`--transcode false
 * --playlist-rate-limit 0`, as behind an edge), one 720p30 stream published by ffmpeg in real
 * time, `npm run edge` in front. Then, alternately and repeated:
 *  - N simulated viewers (half LL-HLS, half classic, bench/edge-viewers.ts) straight at the
 *    gateway, and the same N through the edge: requests/s the viewers sent, requests/s the
 *    gateway answered (its /metrics), CPU of the gateway and of the edge (process trees, /proc);
 *  - wrk (50 connections) on a part, a whole segment and a live playlist, through the edge (cache
 *    hits) and straight at the gateway.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './fixtures.js';
import { wrk } from './http.js';
import { runViewers } from './edge-viewers.js';
import { startGateway } from './vs-servers.js';
import { treeCpuSeconds } from './vs-proc.js';
import { buildGateway } from './vs.js';
import { ffmpegPath } from '../test/helpers/tools.js';
import { counterSum, startEdge } from '../test/helpers/edge.js';

export interface ViewerRun {
  readonly viewerRps: number;
  readonly originRps: number;
  readonly gatewayCpuPercent: number;
  readonly edgeCpuPercent: number;
}

export interface EdgeBenchResult {
  readonly viewers: number;
  readonly seconds: number;
  readonly direct: ViewerRun[];
  readonly viaEdge: ViewerRun[];
  readonly wrk: { readonly object: string; readonly bytes: number; readonly edgeRps: number[]; readonly originRps: number[] }[];
}

async function originRequests(httpBase: string): Promise<number> {
  return counterSum(await (await fetch(`${httpBase}/metrics`)).text(), 'streamgate_http_requests_total', {});
}

async function viewerRun(media: string, httpBase: string, viewers: number, seconds: number, gatewayPids: number[], edgePids: number[]): Promise<ViewerRun> {
  const [cpuG0, cpuE0, req0, t0] = [treeCpuSeconds(gatewayPids), treeCpuSeconds(edgePids), await originRequests(httpBase), performance.now()];
  const tally = await runViewers(media, viewers, seconds);
  const wall = (performance.now() - t0) / 1000;
  const [cpuG1, cpuE1, req1] = [treeCpuSeconds(gatewayPids), treeCpuSeconds(edgePids), await originRequests(httpBase)];
  return {
    viewerRps: tally.requests / wall,
    // Less the two /metrics reads of this measurement.
    originRps: (req1 - req0 - 1) / wall,
    gatewayCpuPercent: ((cpuG1 - cpuG0) / wall) * 100,
    edgeCpuPercent: ((cpuE1 - cpuE0) / wall) * 100,
  };
}

export async function benchEdge(fixture: string, options: { viewers: number; seconds: number; repeats: number; wrkSeconds: number }): Promise<EdgeBenchResult> {
  await buildGateway();
  const dir = mkdtempSync(join(tmpdir(), 'bench-edge-'));
  const bound = 60 + options.repeats * (2 * options.seconds + 6 * options.wrkSeconds + 30);
  const gateway = await startGateway({ streams: 0, dir, bound, dash: false, gatewayArgs: ['--playlist-rate-limit', '0'] });
  const publisher = spawn('timeout', ['-k', '5', String(bound), ffmpegPath(), '-v', 'error', '-re', '-stream_loop', '-1', '-i', fixture, '-c', 'copy', '-f', 'flv', `${gateway.rtmpBase!}/live/edge`], { stdio: 'ignore' });
  const edge = await startEdge([gateway.httpBase!], bound);
  try {
    const media = (base: string): string => `${base}/live/edge/src/index.m3u8`;
    // Three whole segments listed: every object the viewers and wrk ask for exists.
    let listing = '';
    while ((listing.match(/^seg-/gm) ?? []).length < 3) {
      await new Promise((r) => setTimeout(r, 250));
      listing = await fetch(media(gateway.httpBase!)).then((r) => (r.ok ? r.text() : ''), () => '');
    }
    const direct: ViewerRun[] = [];
    const viaEdge: ViewerRun[] = [];
    for (let i = 0; i < options.repeats; i++) {
      direct.push(await viewerRun(media(gateway.httpBase!), gateway.httpBase!, options.viewers, options.seconds, gateway.wrappers, [edge.process.pid!]));
      viaEdge.push(await viewerRun(media(edge.url), gateway.httpBase!, options.viewers, options.seconds, gateway.wrappers, [edge.process.pid!]));
    }
    // The newest whole part and segment at each run: the origin keeps parts only while listed.
    const newest = async (object: string): Promise<string> => {
      const text = await (await fetch(media(gateway.httpBase!))).text();
      if (object === 'live playlist') return '/live/edge/src/index.m3u8';
      if (object === 'segment') return `/live/edge/src/${text.split('\n').filter((l) => l.startsWith('seg-')).pop()!}`;
      return `/live/edge/src/${[...text.matchAll(/#EXT-X-PART:[^\n]*URI="(part-[^"]+)"/g)].pop()![1]!}`;
    };
    const wrkRows: EdgeBenchResult['wrk'][number][] = [];
    for (const object of ['part', 'segment', 'live playlist']) {
      let bytes = 0;
      const edgeRps: number[] = [];
      const originRps: number[] = [];
      for (let i = 0; i < options.repeats; i++) {
        const path = await newest(object);
        bytes = (await (await fetch(`${gateway.httpBase!}${path}`)).arrayBuffer()).byteLength;
        edgeRps.push(await wrk(`${edge.url}${path}`, options.wrkSeconds));
        originRps.push(await wrk(`${gateway.httpBase!}${path}`, options.wrkSeconds));
      }
      wrkRows.push({ object, bytes, edgeRps, originRps });
    }
    return { viewers: options.viewers, seconds: options.seconds, direct, viaEdge, wrk: wrkRows };
  } finally {
    publisher.kill('SIGKILL');
    await edge.stop();
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const range = (v: readonly number[], digits = 0): string => `${median(v).toFixed(digits)} [${Math.min(...v).toFixed(digits)}..${Math.max(...v).toFixed(digits)}]`;

export function formatEdge(r: EdgeBenchResult): string {
  const rows: [string, string, string][] = [];
  const pick = (runs: readonly ViewerRun[], f: (x: ViewerRun) => number): number[] => runs.map(f);
  rows.push([`${r.viewers} viewers (half LL-HLS, half classic), ${r.seconds} s`, 'direct', 'through the edge']);
  rows.push(['requests/s the viewers sent', range(pick(r.direct, (x) => x.viewerRps)), range(pick(r.viaEdge, (x) => x.viewerRps))]);
  rows.push(['requests/s the gateway answered', range(pick(r.direct, (x) => x.originRps)), range(pick(r.viaEdge, (x) => x.originRps), 1)]);
  rows.push(['gateway CPU, % of one core', range(pick(r.direct, (x) => x.gatewayCpuPercent), 1), range(pick(r.viaEdge, (x) => x.gatewayCpuPercent), 1)]);
  rows.push(['edge (nginx, one worker) CPU, % of one core', '-', range(pick(r.viaEdge, (x) => x.edgeCpuPercent), 1)]);
  rows.push(['', '', '']);
  rows.push(['wrk, 50 connections: req/s', 'gateway', 'edge (cache hits)']);
  for (const w of r.wrk) rows.push([`${w.object} (${Math.round(w.bytes / 1024)} KB)`, range(w.originRps), range(w.edgeRps)]);
  return rows.map(([a, b, c]) => `${a.padEnd(52)} ${b.padStart(22)} ${c.padStart(22)}`).join('\n');
}
