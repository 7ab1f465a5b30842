/**
 * SRT ingest through libsrt: drives native/srt-relay (built by scripts/build-native.mjs into
 * dist/native/srt-relay), which listens on one UDP port for any number of SRT callers and hands
 * us their stream ids and bytes over a pipe (framing: relay-frames.ts).
 *
 *   OBS / ffmpeg ──SRT/UDP──▶ srt-relay (libsrt, one epoll) ──frames on stdout──▶ SrtRelay
 *                                   ▲                                             │ 'open' / 'data' / 'close'
 *                                   └──────────── "close ID" on stdin ◀───────────┘ close(conn)
 *
 * The passphrase travels in the child's environment (SRT_PASSPHRASE), never on its command line.
 * The child exits when its stdin ends, so it dies with the gateway; stop() ends stdin, then sends
 * SIGTERM, then SIGKILL, and resolves once it has exited. Its stderr lines go to the logger
 * (debug; warn for its "warning:"/"error:" lines) and the last ones explain a failed start.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { LineRing } from '../ladder/line-ring.js';
import { RelayFrameReader, type RelayFrame } from './relay-frames.js';

export interface SrtOpenEvent {
  /** The relay's id for this connection (1, 2, ...), used by close(). */
  conn: number;
  /** The caller's SRT stream id, verbatim (e.g. `live/KEY` or `#!::r=live/KEY,m=publish`). */
  streamid: string;
  /** `IP:PORT` of the caller (`[IPv6]:PORT` for IPv6). */
  peer: string;
}

export interface SrtDataEvent {
  conn: number;
  /** One SRT message: MPEG-TS packets. A view that stays valid (never reused by the reader). */
  data: Uint8Array;
}

export interface SrtCloseEvent {
  conn: number;
  reason: string;
}

export interface SrtRelayEvents {
  open: [SrtOpenEvent];
  data: [SrtDataEvent];
  close: [SrtCloseEvent];
  /** The relay process failed after start (crash, corrupt output). Its connections get 'close'. */
  error: [Error];
}

export interface SrtRelayStartOptions {
  /** UDP port; 0 picks a free one (see `port` once started). */
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** SRTO_RCVLATENCY in ms. Default 120. */
  latencyMs?: number;
  /** 10..79 characters; callers must present the same one. */
  passphrase?: string;
  /** AES key length 16/24/32, with a passphrase. Default 16. */
  pbkeylen?: number;
  /** Most simultaneous callers. Default 64. */
  maxConns?: number;
}

export interface SrtRelayOptions {
  logger?: Logger;
  /** Default SrtRelay.binaryPath(). */
  binaryPath?: string;
  /** How long start() waits for READY. Default 10000 ms. */
  startTimeoutMs?: number;
  /** stop(): after stdin ends, how long before SIGTERM, then before SIGKILL. Default 2000 ms each. */
  stopGraceMs?: number;
}

const BINARY = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'native', 'srt-relay');

/** Relay children still running: killed if this process exits, so none is orphaned. */
const liveChildren = new Set<ChildProcessWithoutNullStreams>();
let exitHookInstalled = false;
function track(child: ChildProcessWithoutNullStreams): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
}

export class SrtRelay extends EventEmitter<SrtRelayEvents> {
  private readonly opts: SrtRelayOptions;
  private readonly log: Logger | undefined;
  private readonly stderrTail = new LineRing(20);
  private stderrPartial = '';
  private child: ChildProcessWithoutNullStreams | undefined;
  private reader = new RelayFrameReader();
  private readonly open = new Set<number>();
  private boundPort: number | undefined;
  private stopping: Promise<void> | undefined;
  private exited = false;

  /**
   * dist/native/srt-relay of this package when it is built (found from this module's location:
   * src/srt under tsx/vitest and dist/srt are both two levels below the package root).
   */
  static binaryPath(): string | undefined {
    try {
      accessSync(BINARY, constants.X_OK);
      return BINARY;
    } catch {
      return undefined;
    }
  }

  constructor(opts: SrtRelayOptions = {}) {
    super();
    this.opts = opts;
    this.log = opts.logger;
  }

  /** The bound UDP port, once started. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** The relay's pid while it runs. */
  get pid(): number | undefined {
    return this.child && !this.exited ? this.child.pid : undefined;
  }

  /** Ids of the connections open now. */
  connections(): number[] {
    return [...this.open];
  }

  /** Spawns the relay; resolves once it listens (READY), rejects if it exits or times out first. */
  start(opts: SrtRelayStartOptions): Promise<void> {
    if (this.child) return Promise.reject(new GatewayError('srt', 'relay already started'));
    const bin = this.opts.binaryPath ?? SrtRelay.binaryPath();
    if (!bin) {
      return Promise.reject(
        new GatewayError('srt', 'dist/native/srt-relay is not built: run npm run build (needs apt-get install -y libsrt-gnutls-dev pkg-config gcc)'),
      );
    }
    const args = ['--port', String(opts.port)];
    if (opts.host !== undefined) args.push('--host', opts.host);
    if (opts.latencyMs !== undefined) args.push('--latency', String(Math.round(opts.latencyMs)));
    if (opts.pbkeylen !== undefined) args.push('--pbkeylen', String(opts.pbkeylen));
    if (opts.maxConns !== undefined) args.push('--max-conns', String(opts.maxConns));
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['SRT_PASSPHRASE'];
    if (opts.passphrase) env['SRT_PASSPHRASE'] = opts.passphrase;

    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    this.exited = false;
    this.reader = new RelayFrameReader();
    track(child);

    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let ready = false;
      const settle = (err?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timeoutMs = this.opts.startTimeoutMs ?? 10_000;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(this.failure(`srt-relay did not report READY within ${timeoutMs} ms`));
      }, timeoutMs);

      child.stdin.on('error', () => {
        /* EPIPE once the child is gone: its exit is handled below */
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => this.onStderr(text));
      child.stdout.on('data', (chunk: Buffer) => {
        let frames: RelayFrame[];
        try {
          frames = this.reader.push(chunk);
        } catch (err) {
          child.kill('SIGKILL');
          if (!settled) settle(err as Error);
          else if (ready) this.fail(err as Error);
          return;
        }
        for (const f of frames) {
          if (f.type === 'ready') {
            if (this.boundPort === undefined) this.boundPort = f.port;
            if (!settled) ready = true;
            settle();
          } else {
            this.dispatch(f);
          }
        }
      });
      child.on('error', (err) => {
        // spawn failed (EACCES...): no 'exit' follows when the process never started
        this.exited = true;
        if (!settled) settle(new GatewayError('srt', `cannot run ${bin}: ${err.message}`));
        else if (ready) this.fail(err);
      });
      child.on('close', (code, signal) => {
        this.exited = true;
        this.flushStderr();
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (!settled) settle(this.failure(`srt-relay exited (${how}) before READY`));
        else if (ready && !this.stopping) this.fail(new GatewayError('srt', `srt-relay exited unexpectedly (${how})`, { tail: this.stderrTail.last() ?? '' }));
        this.closeAll('relay exited');
      });
    });
  }

  /** Asks the relay to drop a connection (refused stream key...); 'close' follows. */
  close(conn: number): void {
    const child = this.child;
    if (!child || this.exited || this.stopping || !this.open.has(conn)) return;
    child.stdin.write(`close ${conn}\n`);
  }

  /** Ends the relay (stdin EOF, then SIGTERM, then SIGKILL); resolves once it has exited. */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const child = this.child;
    if (!child || this.exited) return (this.stopping = Promise.resolve());
    const grace = this.opts.stopGraceMs ?? 2000;
    this.stopping = new Promise<void>((resolve) => {
      let term: NodeJS.Timeout | undefined;
      let kill: NodeJS.Timeout | undefined;
      child.once('close', () => {
        clearTimeout(term);
        clearTimeout(kill);
        resolve();
      });
      term = setTimeout(() => {
        child.kill('SIGTERM');
        kill = setTimeout(() => child.kill('SIGKILL'), grace);
      }, grace);
      child.stdin.end();
    });
    return this.stopping;
  }

  private dispatch(f: Exclude<RelayFrame, { type: 'ready' }>): void {
    switch (f.type) {
      case 'open':
        this.open.add(f.conn);
        this.emit('open', { conn: f.conn, streamid: f.streamid, peer: f.peer });
        break;
      case 'data':
        if (this.open.has(f.conn)) this.emit('data', { conn: f.conn, data: f.data });
        break;
      case 'close':
        if (this.open.delete(f.conn)) this.emit('close', { conn: f.conn, reason: f.reason });
        break;
    }
  }

  /** After an unexpected end: every connection still open gets its 'close'. */
  private closeAll(reason: string): void {
    for (const conn of [...this.open]) {
      this.open.delete(conn);
      this.emit('close', { conn, reason });
    }
  }

  private fail(err: Error): void {
    this.log?.warn({ err: err.message }, 'srt relay failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private failure(message: string): GatewayError {
    this.flushStderr();
    const tail = this.stderrTail.tail().join('\n');
    return new GatewayError('srt', tail ? `${message}:\n${tail}` : message);
  }

  private onStderr(text: string): void {
    this.stderrTail.push(text);
    const parts = (this.stderrPartial + text).split('\n');
    this.stderrPartial = parts.pop() ?? '';
    if (this.stderrPartial.length > 4096) this.stderrPartial = this.stderrPartial.slice(0, 4096);
    for (const line of parts) this.logLine(line);
  }

  private flushStderr(): void {
    if (this.stderrPartial) this.logLine(this.stderrPartial);
    this.stderrPartial = '';
  }

  private logLine(line: string): void {
    const text = line.trimEnd();
    if (!text || !this.log) return;
    if (/^srt-relay: (warning|error):/.test(text)) this.log.warn({ component: 'srt-relay' }, text);
    else this.log.debug({ component: 'srt-relay' }, text);
  }
}
