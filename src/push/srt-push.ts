/**
 * An SRT push target's connection: ffmpeg remuxes the relay's FLV tags (its stdin) to MPEG-TS
 * without re-encoding, and our libsrt helper (native/srt-relay in caller mode) sends that TS to
 * `srt://HOST:PORT` — ffmpeg's stdout piped straight into the helper's stdin. The URL's secrets
 * (`streamid`, which carries the stream key, and `passphrase`) reach the helper through its
 * environment, never a command line that `ps` shows. Node has no SRT library, and a home-made SRT
 * is not an option.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LineRing } from '../ladder/line-ring.js';
import { SrtRelay } from '../srt/srt-relay.js';

/** What a push target needs of its connection, whatever carries it (RTMP client or ffmpeg). */
export interface PushConnection {
  /** Told once when the connection is gone (error or closed). */
  onClose: (error: Error | undefined) => void;
  /** Resolves when the target takes media. */
  publish(): Promise<void>;
  write(bytes: Uint8Array): void;
  queuedBytes(): number;
  cork(): void;
  close(): void;
}

/** What the helper is told of an `srt://HOST:PORT?…` target (ffmpeg's srt URL options, which users know). */
export interface SrtCallerTarget {
  readonly host: string;
  readonly port: number;
  readonly streamId?: string;
  readonly passphrase?: string;
  /** ms (the URL's `latency` is in microseconds, as ffmpeg's srt protocol takes it). */
  readonly latencyMs?: number;
  readonly pbkeylen?: number;
}

export function parseSrtTarget(url: string): SrtCallerTarget {
  const u = new URL(url);
  const q = u.searchParams;
  const latency = q.get('latency');
  const pbkeylen = q.get('pbkeylen');
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(u.port),
    ...(q.get('streamid') ? { streamId: q.get('streamid')! } : {}),
    ...(q.get('passphrase') ? { passphrase: q.get('passphrase')! } : {}),
    ...(latency !== null && Number.isFinite(Number(latency)) ? { latencyMs: Math.max(0, Math.round(Number(latency) / 1000)) } : {}),
    ...(pbkeylen !== null && [16, 24, 32].includes(Number(pbkeylen)) ? { pbkeylen: Number(pbkeylen) } : {}),
  };
}

export class SrtPushConnection implements PushConnection {
  onClose: (error: Error | undefined) => void = () => undefined;
  private readonly remux: ChildProcess & { stdin: Writable; stdout: Readable; stderr: Readable };
  private readonly caller: ChildProcess & { stdout: Readable; stderr: Readable };
  private readonly stderr = new LineRing(10);
  private readonly connected: Promise<void>;
  private closed = false;
  private exited = false;

  /** `shownUrl` replaces the URL (its stream id and passphrase are secrets) in error texts. */
  constructor(ffmpegPath: string, url: string, shownUrl: string, relayPath = SrtRelay.binaryPath()) {
    if (!relayPath) throw new Error('dist/native/srt-relay is not built: run npm run build (needs apt-get install -y libsrt-gnutls-dev pkg-config gcc)');
    const target = parseSrtTarget(url);
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      // The relay's FLV starts with its sequence headers: a small probe starts at once.
      '-probesize', '4096', '-analyzeduration', '0',
      '-f', 'flv', '-i', 'pipe:0',
      '-map', '0', '-c', 'copy',
      '-f', 'mpegts', '-flush_packets', '1', 'pipe:1',
    ];
    this.remux = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'] }) as typeof this.remux;
    const callerArgs = ['--connect', target.host, '--port', String(target.port)];
    if (target.latencyMs !== undefined) callerArgs.push('--latency', String(target.latencyMs));
    if (target.pbkeylen !== undefined) callerArgs.push('--pbkeylen', String(target.pbkeylen));
    const env: NodeJS.ProcessEnv = { ...process.env, SRT_STREAMID: target.streamId ?? '', SRT_PASSPHRASE: target.passphrase ?? '' };
    // ffmpeg's stdout is the helper's stdin: the TS never passes through this process.
    this.caller = spawn(relayPath, callerArgs, { stdio: [this.remux.stdout, 'pipe', 'pipe'], env }) as typeof this.caller;
    // The helper has its own copy of the pipe now: ours closed, a helper that exits makes
    // ffmpeg's next write fail (EPIPE) instead of filling a pipe nobody reads.
    this.remux.stdout.destroy();
    const scrub = (text: string): string => text.split(url).join(shownUrl);
    for (const child of [this.remux, this.caller]) {
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => this.stderr.push(scrub(text)));
      child.on('error', (err) => this.finish(err));
    }
    // A target that went away makes the helper exit, and ffmpeg's writes then fail (EPIPE).
    this.remux.stdin.on('error', () => undefined);
    this.connected = new Promise<void>((resolve, reject) => {
      let out = '';
      this.caller.stdout.setEncoding('utf8');
      this.caller.stdout.on('data', (text: string) => {
        out += text;
        if (out.includes('CONNECTED\n')) resolve();
      });
      this.caller.once('exit', () => reject(new Error(this.reason('the SRT connection failed'))));
    });
    this.connected.catch(() => undefined);
    this.caller.on('exit', (code) => {
      this.remux.kill('SIGKILL');
      this.finish(code === 0 && this.closed ? undefined : new Error(this.reason(`srt-relay exited (${code})`)));
    });
    this.remux.on('exit', (code, signal) => {
      if (code !== 0 && !this.closed) this.finish(new Error(this.reason(`ffmpeg exited (${signal ?? code})`)));
    });
  }

  private reason(fallback: string): string {
    return this.stderr.tail().slice(-2).join(' / ') || fallback;
  }

  /** Resolves once the SRT handshake with the listener is done (the helper says CONNECTED). */
  publish(): Promise<void> {
    return this.connected;
  }

  write(bytes: Uint8Array): void {
    if (!this.closed && this.remux.stdin.writable) this.remux.stdin.write(bytes);
  }

  queuedBytes(): number {
    return this.remux.stdin.writableLength;
  }

  cork(): void {
    const stdin = this.remux.stdin;
    if (stdin.writableCorked > 0 || !stdin.writable) return;
    stdin.cork();
    process.nextTick(() => stdin.uncork());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // ffmpeg flushes and exits on end of input, the helper on the end of ffmpeg's output; ones
    // that hang on a dead target are killed.
    this.remux.stdin.end();
    const kill = setTimeout(() => {
      this.remux.kill('SIGKILL');
      this.caller.kill('SIGKILL');
    }, 2000);
    kill.unref();
    this.caller.once('exit', () => clearTimeout(kill));
  }

  private finish(error: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    this.onClose(error);
  }
}
