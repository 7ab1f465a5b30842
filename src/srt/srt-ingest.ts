/**
 * SRT ingest on `--srt-port` (UDP): libsrt does the transport in the srt-relay helper process
 * (native/srt-relay.c), which hands us each caller's streamid and the MPEG-TS it sends; every
 * caller becomes an SrtPublishSession on the protocol-neutral publish path.
 *
 * A relay that dies (it should not) drops its callers, as a crashed server would; it is started
 * again after a back-off so that they can reconnect.
 */
import type { Logger } from 'pino';
import type { PublishPath } from '../core/publish.js';
import { SrtRelay } from './srt-relay.js';
import { hostOf, SrtPublishSession } from './srt-session.js';

export interface SrtIngestOptions {
  readonly publishPath: PublishPath;
  readonly logger: Logger;
  readonly port: number;
  readonly host: string;
  /** SRTO_RCVLATENCY, ms. */
  readonly latencyMs: number;
  /** Callers must present it (AES, SRTO_PASSPHRASE); absent: unencrypted. */
  readonly passphrase?: string;
  /** AES key length in bytes, 16, 24 or 32 (SRTO_PBKEYLEN), with the passphrase; absent: libsrt's 16. */
  readonly pbkeylen?: number;
  /** SRT callers at once. */
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
}

const RESTART_DELAYS_MS = [500, 1000, 2000, 5000, 10_000];

export class SrtIngest {
  private readonly options: SrtIngestOptions;
  private relay: SrtRelay | undefined;
  private readonly sessions = new Map<number, SrtPublishSession>();
  private readonly perIp = new Map<number, string>();
  private stopped = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private boundPort: number | undefined;

  constructor(options: SrtIngestOptions) {
    this.options = options;
  }

  /** Whether the relay helper is built (libsrt was there when `npm run build` ran). */
  static available(): boolean {
    return SrtRelay.binaryPath() !== undefined;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  /** Starts listening; resolves with the bound UDP port. */
  async start(): Promise<number> {
    const relay = new SrtRelay({ logger: this.options.logger });
    // A caller's bad bytes must not take the server down: only that caller is dropped.
    relay.on('open', ({ conn, streamid, peer }) => this.guarded(relay, conn, () => this.onOpen(relay, conn, streamid, peer)));
    relay.on('data', ({ conn, data }) => this.guarded(relay, conn, () => this.sessions.get(conn)?.data(data)));
    relay.on('close', ({ conn, reason }) => this.guarded(relay, conn, () => this.onClose(conn, reason)));
    relay.on('error', (err) => this.onRelayFailed(relay, err));
    this.relay = relay;
    await relay.start({
      // A restart takes the port it had (a caller reconnects to the same address).
      port: this.boundPort ?? this.options.port,
      host: this.options.host,
      latencyMs: this.options.latencyMs,
      passphrase: this.options.passphrase,
      ...(this.options.pbkeylen !== undefined ? { pbkeylen: this.options.pbkeylen } : {}),
      maxConns: this.options.maxConnections,
    });
    this.boundPort = relay.port;
    return relay.port!;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    for (const [conn, session] of this.sessions) {
      this.sessions.delete(conn);
      session.end('server stopping');
    }
    await this.relay?.stop();
  }

  private guarded(relay: SrtRelay, conn: number, work: () => void): void {
    try {
      work();
    } catch (err) {
      this.options.logger.error({ conn, err: (err as Error).message }, 'srt ingest failed on a caller; dropping it');
      const session = this.sessions.get(conn);
      this.sessions.delete(conn);
      this.perIp.delete(conn);
      relay.close(conn);
      try {
        session?.end('ingest error');
      } catch {
        // Already reported above; the stream ends with the registry's cleanup.
      }
    }
  }

  private onOpen(relay: SrtRelay, conn: number, streamid: string, peer: string): void {
    const ip = hostOf(peer);
    let fromIp = 0;
    for (const other of this.perIp.values()) if (other === ip) fromIp++;
    const log = this.options.logger.child({ conn, remote: peer });
    if (fromIp >= this.options.maxConnectionsPerIp) {
      log.warn({ max: this.options.maxConnectionsPerIp }, 'srt connection refused: too many from this address');
      relay.close(conn);
      return;
    }
    this.perIp.set(conn, ip);
    const session = new SrtPublishSession({
      streamid,
      peer,
      publishPath: this.options.publishPath,
      logger: log,
      close: () => relay.close(conn),
    });
    this.sessions.set(conn, session);
    session.begin();
  }

  private onClose(conn: number, reason: string): void {
    this.perIp.delete(conn);
    const session = this.sessions.get(conn);
    if (!session) return;
    this.sessions.delete(conn);
    session.end(reason);
  }

  private onRelayFailed(relay: SrtRelay, err: Error): void {
    if (this.stopped || relay !== this.relay || this.restartTimer !== undefined) return;
    const delay = RESTART_DELAYS_MS[Math.min(this.restarts, RESTART_DELAYS_MS.length - 1)]!;
    this.restarts++;
    this.options.logger.error({ err: err.message, restartInMs: delay }, 'srt relay failed; its callers were dropped');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.start().then(
        () => this.options.logger.info({ port: this.boundPort }, 'srt relay restarted'),
        (e: unknown) => this.onRelayFailed(this.relay!, e as Error),
      );
    }, delay);
    this.restartTimer.unref();
  }
}
