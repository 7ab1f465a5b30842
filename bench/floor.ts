/**
 * `npm run bench -- --only=floor`: what answering a viewer's polls costs the runtime itself,
 * before any of our code. A bare `node:http` server (the node binary and flags `npm start` uses,
 * one handler writing a fixed playlist from memory) against nginx (one worker, the same bytes
 * from disk), each polled by one keep-alive client process at a player's pace: three pollers
 * (an HLS playlist, an MPD, an LL-HLS reload) at 10 requests/s each, and ten times that. CPU of
 * the server process from /proc, the servers alternately, repeated: median [min..max].
 *
 * This is the floor under the gateway's per-viewer CPU: a player polls every 100 ms, and at such
 * a pace each answer costs Node far more than in a saturated throughput run (wrk), where the
 * same handler stays optimized and hot in cache.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median } from './fixtures.js';
import { startNodeFlags } from './start-flags.js';
import { stopWrapped, treeCpuSeconds } from './vs-proc.js';

/** One server's measurement: CPU % of one core, and CPU µs per request the client made. */
export interface FloorSample {
  readonly cpuPercent: number;
  readonly usPerRequest: number;
  /** Answers the client received. */
  readonly requests: number;
}

export interface FloorRun {
  /** Requests per second the client aimed at (three pollers). */
  readonly rate: number;
  readonly node: FloorSample[];
  readonly nginx: FloorSample[];
}

export interface FloorResult {
  readonly bodyBytes: number;
  readonly seconds: number;
  readonly runs: FloorRun[];
  readonly nginxMissing?: string;
}

const POLLERS = 3;

/** A live media playlist of about 3 KB (6 segments of 10 parts), like the gateway's. */
function playlistBody(): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:2', '#EXT-X-PART-INF:PART-TARGET=0.100', '#EXT-X-MEDIA-SEQUENCE:100', '#EXT-X-MAP:URI="init-0.mp4"'];
  for (let s = 100; s < 106; s++) {
    for (let p = 0; p < 3; p++) lines.push(`#EXT-X-PART:DURATION=0.10000,URI="part-0-${s}.${p}.m4s"${p === 0 ? ',INDEPENDENT=YES' : ''}`);
    lines.push('#EXTINF:2.00000,', `seg-0-${s}.m4s`);
  }
  let body = lines.join('\n') + '\n';
  while (body.length < 3000) body += `#EXT-X-PART:DURATION=0.10000,URI="part-0-106.${body.length % 10}.m4s"\n`;
  return body;
}

/** The bare server: node:http, one handler, the body from memory (no framework, no routing). */
const NODE_SERVER = `
const http = require('node:http');
const body = require('node:fs').readFileSync(process.argv[1], 'utf8');
const length = String(Buffer.byteLength(body));
http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/vnd.apple.mpegurl', 'Cache-Control': 'max-age=0', 'Content-Length': length });
  res.end(body);
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('listening'));
`;

/** The client: POLLERS keep-alive pollers, each waiting 1000/perPoller ms between answers. */
const CLIENT = `
const http = require('node:http');
const [url, perPoller, seconds, pollers] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(pollers) });
const get = () => new Promise((resolve, reject) => http.get(url, { agent }, (res) => {
  if (res.statusCode !== 200) reject(new Error(url + ': HTTP ' + res.statusCode));
  res.resume(); res.on('end', resolve);
}).on('error', reject));
const end = Date.now() + Number(seconds) * 1000;
let n = 0;
Promise.all(Array.from({ length: Number(pollers) }, async () => {
  while (Date.now() < end) { await get(); n++; await new Promise((r) => setTimeout(r, 1000 / Number(perPoller))); }
})).then(() => { console.log(JSON.stringify({ requests: n })); process.exit(0); }, (e) => { console.error(String(e)); process.exit(1); });
`;

function ready(child: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before listening`)));
  });
}

/** What the server below the `timeout` wrapper used while the client polled `url` at `rate` requests/s. */
async function measure(wrapper: number, url: string, rate: number, seconds: number): Promise<FloorSample> {
  const before = treeCpuSeconds([wrapper]);
  const t0 = performance.now();
  const client = spawn('timeout', ['-k', '5', String(seconds + 30), process.execPath, '-e', CLIENT, url, String(rate / POLLERS), String(seconds), String(POLLERS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  client.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  client.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => client.once('exit', r));
  if (code !== 0) throw new Error(`the floor bench's client failed (${code}): ${err}`);
  const cpuSeconds = treeCpuSeconds([wrapper]) - before;
  const { requests } = JSON.parse(out) as { requests: number };
  return { cpuPercent: (cpuSeconds / ((performance.now() - t0) / 1000)) * 100, usPerRequest: (cpuSeconds / Math.max(1, requests)) * 1e6, requests };
}

export async function benchFloor(options: { seconds: number; repeats: number; rates?: number[] }): Promise<FloorResult> {
  const rates = options.rates ?? [30, 300];
  const dir = mkdtempSync(join(tmpdir(), 'bench-floor-'));
  const body = playlistBody();
  writeFileSync(join(dir, 'index.m3u8'), body);
  const nodePort = await freePort();
  const nginxPort = await freePort();
  const bound = String(rates.length * options.repeats * 2 * (options.seconds + 10) + 60);
  const node = spawn('timeout', ['-k', '5', bound, process.execPath, ...startNodeFlags(), '-e', NODE_SERVER, join(dir, 'index.m3u8'), String(nodePort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let nginx: ChildProcess | undefined;
  let nginxMissing: string | undefined;
  try {
    await ready(node, 'the bare node server');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 1000000; types { application/vnd.apple.mpegurl m3u8; }
  server { listen 127.0.0.1:${nginxPort}; root ${dir}; location / { add_header Cache-Control max-age=0; } } }
`,
    );
    try {
      nginx = spawn('timeout', ['-k', '5', bound, '/usr/sbin/nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
      const deadline = performance.now() + 10_000;
      // nginx says nothing when it listens: wait until a request succeeds.
      while (!(await fetch(`http://127.0.0.1:${nginxPort}/index.m3u8`).then((r) => r.ok, () => false))) {
        if (nginx.exitCode !== null || performance.now() > deadline) throw new Error('nginx did not start (apt-get install nginx)');
        await new Promise((r) => setTimeout(r, 50));
      }
    } catch (e) {
      nginxMissing = String(e);
      nginx?.kill('SIGKILL');
      nginx = undefined;
    }
    // The servers' start-up (module loading, V8 settling its heap) is not the polls' cost.
    await new Promise((r) => setTimeout(r, 3000));
    const runs: FloorRun[] = [];
    for (const rate of rates) {
      const run: FloorRun = { rate, node: [], nginx: [] };
      for (let i = 0; i < options.repeats; i++) {
        // The process tree below each timeout(1) wrapper, as the vs bench measures (bench/vs-proc.ts).
        run.node.push(await measure(node.pid!, `http://127.0.0.1:${nodePort}/index.m3u8`, rate, options.seconds));
        if (nginx) run.nginx.push(await measure(nginx.pid!, `http://127.0.0.1:${nginxPort}/index.m3u8`, rate, options.seconds));
      }
      runs.push(run);
    }
    return { bodyBytes: Buffer.byteLength(body), seconds: options.seconds, runs, ...(nginxMissing ? { nginxMissing } : {}) };
  } finally {
    if (nginx) await stopWrapped(nginx);
    await stopWrapped(node);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table `npm run bench -- --only=floor` prints. */
export function formatFloor(r: FloorResult): string {
  const range = (v: readonly number[], digits: number): string =>
    v.length === 0 ? 'n/a' : `${median(v).toFixed(digits)} [${Math.min(...v).toFixed(digits)}..${Math.max(...v).toFixed(digits)}]`;
  const out = [`a ${r.bodyBytes}-byte playlist polled by ${POLLERS} keep-alive pollers, ${r.seconds} s per run, median [min..max]:`];
  out.push('| requests/s | bare node:http CPU % | nginx CPU % | ratio | node µs/request | nginx µs/request |', '|---|---|---|---|---|---|');
  for (const run of r.runs) {
    const cpu = (v: readonly FloorSample[]): number[] => v.map((x) => x.cpuPercent);
    const us = (v: readonly FloorSample[]): number[] => v.map((x) => x.usPerRequest);
    const ratio = run.nginx.length > 0 ? `${(median(cpu(run.node)) / median(cpu(run.nginx))).toFixed(2)}x` : 'n/a';
    out.push(`| ${run.rate} | ${range(cpu(run.node), 2)} | ${range(cpu(run.nginx), 2)} | ${ratio} | ${range(us(run.node), 0)} | ${range(us(run.nginx), 0)} |`);
  }
  if (r.nginxMissing) out.push(`nginx missing: ${r.nginxMissing}`);
  return out.join('\n');
}
