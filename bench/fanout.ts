/**
 * RTMP play fan-out cost: CPU of the server while one 2.5 Mbit/s stream is played by N players
 * (players run in another process). Ours in-process; nginx-rtmp (Debian libnginx-mod-rtmp) the
 * same way when it is installed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publish, startTestGateway } from '../test/helpers/gateway.js';
import { freePort } from './fixtures.js';

export interface FanoutResult {
  players: number;
  oursCpuPercent: number;
  oursBaselineCpuPercent: number;
  nginxCpuPercent?: number;
  nginxBaselineCpuPercent?: number;
  receivedMbitPerPlayer: number;
}

function runPlayers(port: number, n: number, seconds: number): Promise<{ connected: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/rtmp-players.ts', String(port), 'live', 'fan', String(n), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
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

/** CPU seconds of a pid (and its threads) from /proc. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

async function measure(cpuNow: () => number, during: Promise<unknown>, seconds: number): Promise<number> {
  const c0 = cpuNow();
  const t0 = performance.now();
  await during;
  const c1 = cpuNow();
  const wall = (performance.now() - t0) / 1000;
  void seconds;
  return ((c1 - c0) / wall) * 100;
}

const selfCpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function benchFanout(file: string, counts: number[], seconds: number): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  const gw = await startTestGateway();
  const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
  const pub = publish(file, `rtmp://127.0.0.1:${gw.rtmpPort}/live/fan`, { loop: true });
  await live;
  await new Promise((r) => setTimeout(r, 3000)); // let the GOP cache fill (bench, not a test)
  const baseline = await measure(selfCpu, new Promise((r) => setTimeout(r, seconds * 1000)), seconds);
  const nginx = await startNginxRtmp(file);
  let nginxBaseline: number | undefined;
  if (nginx) nginxBaseline = await measure(() => nginx.cpu(), new Promise((r) => setTimeout(r, seconds * 1000)), seconds);
  for (const n of counts) {
    const players = runPlayers(gw.rtmpPort, n, seconds);
    const ours = await measure(selfCpu, players, seconds);
    const got = await players;
    let nginxCpu: number | undefined;
    if (nginx) nginxCpu = await measure(() => nginx.cpu(), runPlayers(nginx.port, n, seconds), seconds);
    results.push({
      players: n,
      oursCpuPercent: ours,
      oursBaselineCpuPercent: baseline,
      nginxCpuPercent: nginxCpu,
      nginxBaselineCpuPercent: nginxBaseline,
      receivedMbitPerPlayer: (got.bytes * 8) / 1e6 / seconds / Math.max(1, got.connected),
    });
  }
  nginx?.stop();
  pub.process.kill('SIGKILL');
  await gw.stop();
  return results;
}

interface NginxHandle {
  port: number;
  cpu(): number;
  stop(): void;
}

/** nginx-rtmp on a free port with one `live` application, fed by its own ffmpeg publisher. */
async function startNginxRtmp(file: string): Promise<NginxHandle | undefined> {
  const nginxBin = ['/usr/sbin/nginx'].find((p) => {
    try {
      readFileSync(p);
      return true;
    } catch {
      return false;
    }
  });
  const modulePath = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
  try {
    readFileSync(modulePath);
  } catch {
    return undefined;
  }
  if (!nginxBin) return undefined;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${modulePath};
worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 4096; }
rtmp { server { listen 127.0.0.1:${port}; chunk_size 4096; application live { live on; } } }
`,
  );
  const child = spawn(nginxBin, ['-c', conf, '-p', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const pub = publish(file, `rtmp://127.0.0.1:${port}/live/fan`, { loop: true });
  await new Promise((r) => setTimeout(r, 3000));
  return {
    port,
    cpu: () => procCpuSeconds(child.pid!),
    stop: () => {
      pub.process.kill('SIGKILL');
      child.kill('SIGKILL');
    },
  };
}
