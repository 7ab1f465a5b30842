/**
 * Requests/s for real segments through the real routes: the built gateway started as `npm start`
 * does, fed by ffmpeg until it has whole multi-part CMAF segments of about 100 KB (a 400 kbit/s
 * encode) and 660 KB (the 2.5 Mbit/s fixture), against nginx (one worker, sendfile) serving the
 * same bytes from disk. wrk, 50 keep-alive connections, the two servers alternately, repeated.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, median } from './fixtures.js';
import { run } from '../test/helpers/process.js';
import { ffmpegPath } from '../test/helpers/tools.js';
import { buildGateway } from './vs.js';
import { startGateway } from './vs-servers.js';

export interface HttpResult {
  readonly bytes: number;
  readonly url: string;
  readonly oursRps: number[];
  readonly nginxRps: number[];
  /** Median ours / median nginx. */
  readonly ratio: number | undefined;
}

/** Requests/s of `url` with wrk (one thread, 50 keep-alive connections); any error response throws. */
export async function wrk(url: string, seconds: number): Promise<number> {
  const r = await run('wrk', ['-t1', '-c50', `-d${seconds}s`, url], (seconds + 30) * 1000);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk output: ${r.stdout} ${r.stderr}`);
  if (/Non-2xx or 3xx responses/.test(r.stdout)) throw new Error(`wrk got errors from ${url}:\n${r.stdout}`);
  return Number(m[1]);
}

export function wrkAvailable(): boolean {
  return existsSync('/usr/bin/wrk');
}

/** The second listed segment of a rendition once the playlist lists three (whole, multi-part). */
async function wholeSegment(playlistUrl: string, deadline: number): Promise<string> {
  while (performance.now() < deadline) {
    const r = await fetch(playlistUrl).catch(() => undefined);
    const text = r && r.ok ? await r.text() : '';
    const segments = text.split('\n').filter((l) => /^seg-.*\.m4s$/.test(l));
    if (segments.length >= 3) return new URL(segments[1]!, playlistUrl).href;
    // No event reaches another process: the bench polls the playlist, as a player would.
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no whole segments in ${playlistUrl}`);
}

export async function benchHttp(fixture: string, seconds: number, repeats: number): Promise<HttpResult[]> {
  await buildGateway();
  const dir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  const gateway = await startGateway({ streams: 0, dir, bound: 600, dash: false });
  const publishers = [
    // ~100 KB segments: 400 kbit/s video; ~660 KB: the 2.5 Mbit/s fixture as it is.
    ['small', ['-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '380k', '-maxrate', '380k', '-bufsize', '380k', '-c:a', 'copy']],
    ['large', ['-c', 'copy']],
  ] as const;
  const nginxPort = await freePort();
  let nginx: ReturnType<typeof spawn> | undefined;
  try {
    const gatewayHttp = gateway.httpBase!;
    const feeds = publishers.map(([key, args]) =>
      spawn('timeout', ['-k', '5', '60', ffmpegPath(), '-v', 'error', '-re', '-i', fixture, '-t', '10', ...args, '-f', 'flv', `${gateway.rtmpBase!}/live/${key}`], { stdio: 'ignore' }),
    );
    const deadline = performance.now() + 40_000;
    const urls = await Promise.all(publishers.map(([key]) => wholeSegment(`${gatewayHttp}/live/${key}/src/index.m3u8`, deadline)));
    await Promise.all(feeds.map((f) => (f.exitCode === null ? once(f, 'exit') : undefined)));
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server { listen 127.0.0.1:${nginxPort}; root ${dir}; location / { add_header Access-Control-Allow-Origin *; } } }
`,
    );
    const results: HttpResult[] = [];
    const files: { url: string; bytes: number; name: string }[] = [];
    for (const url of urls) {
      const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
      const name = url.slice(url.lastIndexOf('/') + 1);
      writeFileSync(join(dir, name), bytes);
      files.push({ url, bytes: bytes.byteLength, name });
    }
    nginx = spawn('timeout', ['-k', '5', '600', '/usr/sbin/nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    // nginx says nothing when it listens: wait until a request succeeds.
    while (!(await fetch(`http://127.0.0.1:${nginxPort}/${files[0]!.name}`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 50));
    for (const f of files) {
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < repeats; i++) {
        ours.push(await wrk(f.url, seconds));
        theirs.push(await wrk(`http://127.0.0.1:${nginxPort}/${f.name}`, seconds));
      }
      results.push({ bytes: f.bytes, url: f.url, oursRps: ours, nginxRps: theirs, ratio: median(ours) / median(theirs) });
    }
    return results;
  } finally {
    nginx?.kill('SIGKILL');
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
