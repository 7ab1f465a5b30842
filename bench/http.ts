/**
 * Requests/s for a cached segment through our real routes, against nginx serving the same bytes
 * as a static file, measured with wrk (50 keep-alive connections) in the same run.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway } from '../test/helpers/gateway.js';
import { freePort } from './fixtures.js';
import { run } from '../test/helpers/process.js';

export interface HttpResult {
  bytes: number;
  oursRps: number;
  nginxRps?: number;
  ratio?: number;
}

async function wrk(url: string, seconds: number): Promise<number> {
  const r = await run('wrk', ['-t1', '-c50', `-d${seconds}s`, url], (seconds + 30) * 1000);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk output: ${r.stdout} ${r.stderr}`);
  return Number(m[1]);
}

export function wrkAvailable(): boolean {
  return existsSync('/usr/bin/wrk');
}

export async function benchHttp(sizes: number[], seconds: number): Promise<HttpResult[]> {
  const gw = await startTestGateway({ logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-http-'));
  const results: HttpResult[] = [];
  let nginx: { port: number; stop(): void } | undefined;
  if (existsSync('/usr/sbin/nginx')) {
    const port = await freePort();
    writeFileSync(
      join(dir, 'nginx.conf'),
      `worker_processes 1; daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 1000000;
  server { listen 127.0.0.1:${port}; root ${dir}; location / { add_header Access-Control-Allow-Origin *; } } }
`,
    );
    const child = spawn('/usr/sbin/nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    nginx = { port, stop: () => child.kill('SIGKILL') };
  }
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const name = `seg-bench-${size}.m4s`;
    gw.cache.set(`live/bench/src/${name}`, { chunks: [bytes], byteLength: size, contentType: 'video/iso.segment' });
    writeFileSync(join(dir, name), bytes);
    const oursRps = await wrk(`http://127.0.0.1:${gw.httpPort}/live/bench/src/${name}`, seconds);
    const nginxRps = nginx ? await wrk(`http://127.0.0.1:${nginx.port}/${name}`, seconds) : undefined;
    results.push({ bytes: size, oursRps, nginxRps, ratio: nginxRps ? oursRps / nginxRps : undefined });
  }
  nginx?.stop();
  await gw.stop();
  return results;
}
