import type { LiveStream } from '../../src/core/stream.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { defaultConfig, type Config } from '../../src/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { ffmpegPath } from './tools.js';

/** The real gateway, in this process, on free ports of 127.0.0.1. */
export function startTestGateway(overrides: Partial<Config> = {}): Promise<RunningGateway> {
  // No ladder unless a test asks for one: transcoding would compete for the 2 cores. No SRT
  // listener unless asked for (srt: true, srtPort: 0 for a free port).
  return startGateway(defaultConfig({ rtmpPort: 0, httpPort: 0, srtPort: 0, host: '127.0.0.1', transcode: false, srt: false, reconnectGrace: 0, ...overrides }), silentLogger());
}

export interface Publisher {
  readonly process: ChildProcess;
  readonly stderr: () => string;
  readonly done: Promise<number | null>;
}

/** A real ffmpeg publishing a file with `-c copy` (in real time unless `realtime` is false). */
export function publish(file: string, url: string, options: { realtime?: boolean; loop?: boolean; extra?: string[] } = {}): Publisher {
  const args = ['-v', 'error', '-nostdin'];
  if (options.realtime !== false) args.push('-re');
  if (options.loop) args.push('-stream_loop', '-1');
  args.push('-i', file, '-c', 'copy', ...(options.extra ?? []), '-f', 'flv', url);
  const child = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, stderr: () => stderr, done };
}

export async function fetchText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export async function fetchBytes(url: string): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
}

/** Resolves with the stream at the next publish of `key` on `gw` (a publisher, a pull, the slate). */
export function nextPublish(gw: RunningGateway, key: string): Promise<LiveStream> {
  return new Promise((resolve) => {
    const on = (s: LiveStream): void => {
      if (s.key !== key) return;
      gw.streams.off('publish', on);
      resolve(s);
    };
    gw.streams.on('publish', on);
  });
}
