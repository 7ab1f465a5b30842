/** Bench media, made once with ffmpeg and kept in .bench/ (git-ignored). */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { run } from '../test/helpers/process.js';
import { ffmpegPath } from '../test/helpers/tools.js';

export const BENCH_DIR = join(process.cwd(), '.bench');

/** The TARGETS.md stream: 720p30 H.264 High 2.5 Mbit/s + AAC 48 kHz, keyframe every 2 s. */
export async function benchFixture(seconds: number): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `720p30-2500k-${seconds}s.flv`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp.flv`;
  process.stderr.write(`bench: encoding ${seconds} s fixture (once) ...\n`);
  const r = await run(
    ffmpegPath(),
    [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-bf', '0',
      '-b:v', '2500k', '-maxrate', '2500k', '-bufsize', '5000k',
      '-c:a', 'aac', '-b:a', '128k', '-ac', '2',
      '-f', 'flv', tmp,
    ],
    30 * 60_000,
  );
  if (r.code !== 0) throw new Error(r.stderr);
  renameSync(tmp, file);
  return file;
}

/** A TCP port free on 127.0.0.1 right now (for a server started in another process). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** CPU seconds (user+sys) a child command used, measured by bash's `times`. */
export async function childCpuSeconds(cmd: string, args: string[]): Promise<{ cpu: number; wall: number; code: number | null }> {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const started = performance.now();
  const r = await run('bash', ['-c', `${quoted} >/dev/null 2>&1; code=$?; times; exit $code`], 30 * 60_000);
  const wall = (performance.now() - started) / 1000;
  const lines = r.stdout.trim().split('\n');
  const children = lines[lines.length - 1]!.trim().split(/\s+/);
  const secs = (t: string): number => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
  };
  return { cpu: secs(children[0]!) + secs(children[1]!), wall, code: r.code };
}
