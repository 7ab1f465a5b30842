/**
 * An SRT push target's connection: ffmpeg as the SRT transport (Debian's is built with libsrt),
 * reading the relay's FLV tags on its stdin and sending them, remuxed without re-encoding, as
 * MPEG-TS to `srt://HOST:PORT?streamid=…` in caller mode. One process per SRT target: Node has no
 * SRT library, and a home-made SRT is not an option.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { LineRing } from '../ladder/line-ring.js';

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

export class SrtPushConnection implements PushConnection {
  onClose: (error: Error | undefined) => void = () => undefined;
  private readonly child: ChildProcessByStdio<Writable, null, Readable>;
  private readonly stderr = new LineRing(10);
  private closed = false;
  private exited = false;

  /** `shownUrl` replaces the URL (its stream id and passphrase are secrets) in error texts. */
  constructor(ffmpegPath: string, url: string, shownUrl: string) {
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostdin',
      // The relay's FLV starts with its sequence headers: a small probe starts at once.
      '-probesize', '4096', '-analyzeduration', '0',
      '-f', 'flv', '-i', 'pipe:0',
      '-map', '0', '-c', 'copy',
      '-f', 'mpegts', '-flush_packets', '1', url,
    ];
    this.child = spawn(ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.stderr.push(text));
    // A target that went away makes ffmpeg exit; writes to its stdin then fail (EPIPE).
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (err) => this.finish(err));
    this.child.on('exit', (code, signal) => {
      const why = (this.stderr.tail().slice(-2).join(' / ') || `ffmpeg exited (${signal ?? code})`).split(url).join(shownUrl);
      this.finish(code === 0 && !this.closed ? undefined : new Error(why));
    });
  }

  publish(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.child.pid !== undefined) return resolve();
      this.child.once('spawn', () => resolve());
      this.child.once('error', reject);
    });
  }

  write(bytes: Uint8Array): void {
    if (!this.closed && this.child.stdin.writable) this.child.stdin.write(bytes);
  }

  queuedBytes(): number {
    return this.child.stdin.writableLength;
  }

  cork(): void {
    const stdin = this.child.stdin;
    if (stdin.writableCorked > 0 || !stdin.writable) return;
    stdin.cork();
    process.nextTick(() => stdin.uncork());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.child.stdin.end();
    // ffmpeg flushes and exits on end of input; one that hangs on a dead target is killed.
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    kill.unref();
    this.child.once('exit', () => clearTimeout(kill));
  }

  private finish(error: Error | undefined): void {
    if (this.exited) return;
    this.exited = true;
    this.onClose(error);
  }
}
