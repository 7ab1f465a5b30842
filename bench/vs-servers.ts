/**
 * The servers the vs bench compares, each started fresh in its own processes and bounded by
 * `timeout`: the real gateway (`node dist/cli.js`, as `npm start` runs it), nginx-rtmp (Debian's
 * nginx + libnginx-mod-rtmp, HLS and DASH on, a generated config), and ffmpeg (one
 * `ffmpeg -listen 1 ... -f hls` per stream; a static nginx serves its files and is NOT counted as
 * ffmpeg's cost).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, resolveFfmpegPath } from '../src/ladder/ffmpeg-path.js';
import { freePort } from './fixtures.js';
import { stopWrapped } from './vs-proc.js';
import type { RtmpTarget, ViewTarget } from './vs-types.js';
import { startNodeFlags } from './start-flags.js';

export type VsPeer = 'nginx-rtmp' | 'ffmpeg';
export type ServerKind = 'gateway' | VsPeer;

export const NGINX_RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface VsServer {
  readonly kind: ServerKind;
  /** The `timeout` wrappers of the measured processes: the server is everything below them. */
  readonly wrappers: number[];
  readonly targets: RtmpTarget[];
  readonly views: ViewTarget[];
  /** The gateway's HTTP origin and RTMP app base (`rtmp://127.0.0.1:PORT`), for other benches. */
  readonly httpBase?: string;
  readonly rtmpBase?: string;
  /** Media bytes the server holds in memory (the gateway's windows + LRU, from its /metrics). */
  heldBytes?(): Promise<number>;
  stop(): Promise<void>;
}

/** The sum of the named samples in a Prometheus text exposition. */
function metricSum(text: string, names: readonly string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const [name, value] = line.split(' ');
    if (name && names.includes(name)) sum += Number(value);
  }
  return sum;
}

export interface ServerOptions {
  readonly streams: number;
  /** A fresh temp dir for config and media files (removed by the caller). */
  readonly dir: string;
  /** Seconds every process may live at most (`timeout -k 5 bound`). */
  readonly bound: number;
  /** Viewers poll the DASH MPD too (when both servers compared make one). */
  readonly dash: boolean;
  /** More gateway flags (e.g. `--playlist-rate-limit 0` behind an edge). */
  readonly gatewayArgs?: readonly string[];
}

function exists(path: string): boolean {
  try {
    accessSync(path, constants.X_OK | constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function nginxPath(): string | undefined {
  return findOnPath('nginx') ?? (exists('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);
}

/** Why the peer cannot run here (with the command that installs it), or undefined when it can. */
export function peerMissing(peer: VsPeer): string | undefined {
  const nginx = nginxPath();
  if (peer === 'nginx-rtmp') {
    try {
      accessSync(NGINX_RTMP_MODULE, constants.R_OK);
    } catch {
      return 'nginx-rtmp not installed: apt-get install -y nginx libnginx-mod-rtmp';
    }
    return nginx ? undefined : 'nginx-rtmp not installed: apt-get install -y nginx libnginx-mod-rtmp';
  }
  if (!resolveFfmpegPath()) return 'ffmpeg not installed: apt-get install -y ffmpeg';
  return nginx ? undefined : 'nginx (serves ffmpeg\'s HLS files) not installed: apt-get install -y nginx';
}

const key = (i: number): string => `vs-${i}`;

/** A command under `timeout -k 5 bound`, its output drained (a full pipe would stall it) and its tail kept. */
function spawnBounded(bound: number, cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn('timeout', ['-k', '5', String(bound), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString()).slice(-8192);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => tail };
}

/** Resolves when the process's output matches `ready`; rejects if it exits first. */
function readyLine(p: { child: ChildProcess; output: () => string }, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!ready.test(p.output())) return;
      p.child.stdout!.off('data', check);
      p.child.stderr!.off('data', check);
      p.child.off('exit', exited);
      resolve();
    };
    const exited = (): void => reject(new Error(`${what} exited before it was ready:\n${p.output()}`));
    p.child.stdout!.on('data', check);
    p.child.stderr!.on('data', check);
    p.child.once('exit', exited);
    check();
  });
}

function targets(n: number, port: (i: number) => number): RtmpTarget[] {
  return Array.from({ length: n }, (_, i) => ({ host: '127.0.0.1', port: port(i), app: 'live', key: key(i) }));
}

/** The gateway as `npm start` runs it (its node flags, dist/ built), transcoding off: the source rendition only. */
export async function startGateway(o: ServerOptions): Promise<VsServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  // VS_GATEWAY_NODE_OPTIONS: node flags for profiling the gateway in place (e.g. --cpu-prof).
  const nodeFlags = (process.env['VS_GATEWAY_NODE_OPTIONS'] ?? '').split(' ').filter((f) => f.length > 0);
  const p = spawnBounded(o.bound, process.execPath, [...startNodeFlags(), ...nodeFlags, 'dist/cli.js', '--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--host', '127.0.0.1', '--transcode', 'false', ...(o.gatewayArgs ?? [])]);
  await readyLine(p, /listening/, 'the gateway');
  const base = `http://127.0.0.1:${httpPort}/live`;
  return {
    kind: 'gateway',
    wrappers: [p.child.pid!],
    targets: targets(o.streams, () => rtmpPort),
    views: Array.from({ length: o.streams }, (_, i) => ({
      key: key(i),
      hls: `${base}/${key(i)}/src/index.m3u8`,
      mpd: o.dash ? `${base}/${key(i)}/index.mpd` : undefined,
      llHls: true,
    })),
    httpBase: `http://127.0.0.1:${httpPort}`,
    rtmpBase: `rtmp://127.0.0.1:${rtmpPort}`,
    heldBytes: async () => metricSum(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text(), ['streamgate_cache_bytes', 'streamgate_live_window_bytes']),
    stop: () => stopWrapped(p.child),
  };
}

/** Directives every nginx here shares: no daemon, logs to stderr (readiness is read from it), files in `dir`. */
function nginxMain(dir: string, httpPort: number, locations: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr notice;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path ${dir}/tmp-body; proxy_temp_path ${dir}/tmp-proxy; fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi; scgi_temp_path ${dir}/tmp-scgi;
  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; application/dash+xml mpd; video/mp4 m4v mp4 m4s; audio/mp4 m4a; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${httpPort};
${locations}
  }
}
`;
}

/** nginx with `conf`; ready when the master has opened its sockets and started its worker. */
async function startNginx(dir: string, name: string, conf: string, bound: number): Promise<{ child: ChildProcess; output: () => string }> {
  const file = join(dir, name);
  writeFileSync(file, conf);
  const p = spawnBounded(bound, nginxPath()!, ['-e', 'stderr', '-p', dir, '-c', file]);
  await readyLine(p, /start worker process/, 'nginx');
  return p;
}

/** nginx-rtmp, one `live` application making HLS (MPEG-TS) and DASH, files served by the same nginx. */
export async function startNginxRtmp(o: ServerOptions): Promise<VsServer> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  // As root nginx's workers run as nobody: the media directories must be reachable by them
  // (mkdtemp makes 0700 directories; nginx-rtmp drops a publisher whose HLS files it cannot write).
  chmodSync(o.dir, 0o755);
  const hls = join(o.dir, 'hls');
  const dash = join(o.dir, 'dash');
  const conf = `load_module ${NGINX_RTMP_MODULE};
${nginxMain(o.dir, httpPort, `    location /hls/ { alias ${hls}/; }\n    location /dash/ { alias ${dash}/; }`)}
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    chunk_size 4096;
    application live {
      live on;
      hls on; hls_path ${hls}; hls_fragment 2s; hls_playlist_length 12s;
      dash on; dash_path ${dash}; dash_fragment 2s; dash_playlist_length 12s;
    }
  }
}
`;
  const p = await startNginx(o.dir, 'nginx-rtmp.conf', conf, o.bound);
  const base = `http://127.0.0.1:${httpPort}`;
  return {
    kind: 'nginx-rtmp',
    wrappers: [p.child.pid!],
    targets: targets(o.streams, () => rtmpPort),
    views: Array.from({ length: o.streams }, (_, i) => ({
      key: key(i),
      hls: `${base}/hls/${key(i)}.m3u8`,
      mpd: o.dash ? `${base}/dash/${key(i)}.mpd` : undefined,
      llHls: false,
    })),
    stop: () => stopWrapped(p.child),
  };
}

/**
 * One `ffmpeg -listen 1` per stream, remuxing to fMP4 HLS: what one would run without a media
 * server. It says nothing when it listens, so publishers retry a refused connection.
 */
export async function startFfmpeg(o: ServerOptions): Promise<VsServer> {
  const root = join(o.dir, 'ff');
  const httpPort = await freePort();
  const web = await startNginx(o.dir, 'static.conf', nginxMain(o.dir, httpPort, `    location /ff/ { alias ${root}/; }`), o.bound);
  const ports: number[] = [];
  const ffmpegs: ChildProcess[] = [];
  for (let i = 0; i < o.streams; i++) {
    const port = await freePort();
    const out = join(root, key(i));
    mkdirSync(out, { recursive: true });
    ports.push(port);
    ffmpegs.push(
      spawnBounded(o.bound, resolveFfmpegPath()!, [
        '-nostdin', '-hide_banner', '-loglevel', 'error',
        '-listen', '1', '-i', `rtmp://127.0.0.1:${port}/live/${key(i)}`,
        '-c', 'copy', '-f', 'hls', '-hls_time', '2', '-hls_segment_type', 'fmp4', '-hls_list_size', '6', '-hls_flags', 'delete_segments',
        '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', join(out, 'seg-%d.m4s'), join(out, 'index.m3u8'),
      ]).child,
    );
  }
  const base = `http://127.0.0.1:${httpPort}/ff`;
  return {
    kind: 'ffmpeg',
    wrappers: ffmpegs.map((c) => c.pid!),
    targets: targets(o.streams, (i) => ports[i]!),
    views: Array.from({ length: o.streams }, (_, i) => ({ key: key(i), hls: `${base}/${key(i)}/index.m3u8`, llHls: false })),
    stop: async () => {
      await Promise.all([...ffmpegs.map((c) => stopWrapped(c)), stopWrapped(web.child)]);
    },
  };
}

export function startServer(kind: ServerKind, o: ServerOptions): Promise<VsServer> {
  return kind === 'gateway' ? startGateway(o) : kind === 'nginx-rtmp' ? startNginxRtmp(o) : startFfmpeg(o);
}
