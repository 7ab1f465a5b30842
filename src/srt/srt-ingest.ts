/**
 * SRT ingest on `--srt-port` (UDP): libsrt does the transport in the srt-relay helper process
 * (native/srt-relay.c), which hands us each caller's streamid and the MPEG-TS it sends; every
 * caller becomes an SrtPublishSession on the protocol-neutral publish path.
 *
 * A relay that dies (it should not) drops its callers, as a crashed server would; it is started
 * again after a back-off so that they can reconnect.
 *
 * The relay runs only while SRT is used: libsrt's threads wake about 100 times a second even with
 * nobody connected (its receive queue and epoll poll on 10 ms timers), about 1 % of a core for
 * nothing. Until a caller comes, a plain UDP socket holds the port ("standby"); the first
 * datagram (a caller's handshake induction) hands the port to a freshly started relay, and the
 * caller's next handshake retransmission (every 250 ms, SRT RFC draft §4.3.1.1) reaches libsrt.
 * A relay with no caller for RELAY_IDLE_MS goes back to standby.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
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
  /** A relay with no caller for this long goes back to standby; default RELAY_IDLE_MS. */
  readonly relayIdleMs?: number;
}

export interface SrtIngestEvents {
  /** The port changed hands: `relay` (libsrt listens) or `standby` (a plain UDP socket holds it). */
  state: ['relay' | 'standby'];
}

const RESTART_DELAYS_MS = [500, 1000, 2000, 5000, 10_000];
/** A relay with no caller for this long stops, and the port goes back to standby. */
const RELAY_IDLE_MS = 60_000;

export class SrtIngest extends EventEmitter<SrtIngestEvents> {
  private readonly options: SrtIngestOptions;
  private relay: SrtRelay | undefined;
  private readonly sessions = new Map<number, SrtPublishSession>();
  private readonly perIp = new Map<number, string>();
  private stopped = false;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private boundPort: number | undefined;
  /** The UDP socket holding the port while no relay runs. */
  private standby: dgram.Socket | undefined;
  /** Set while the relay is being started or stopped (standby and relay never hold the port at once). */
  private switching: Promise<void> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(options: SrtIngestOptions) {
    super();
    this.options = options;
  }

  /** Whether libsrt holds the port now (a caller came and the relay has not gone idle). */
  get relayRunning(): boolean {
    return this.relay !== undefined && this.standby === undefined;
  }

  /** Whether the relay helper is built (libsrt was there when `npm run build` ran). */
  static available(): boolean {
    return SrtRelay.binaryPath() !== undefined;
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  /** Starts listening (standby until the first caller); resolves with the bound UDP port. */
  async start(): Promise<number> {
    return this.listenStandby(this.boundPort ?? this.options.port);
  }

  /** Holds the port with a plain UDP socket until a datagram arrives, then starts the relay. */
  private async listenStandby(port: number): Promise<number> {
    const socket = dgram.createSocket(isIPv6(this.options.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, this.options.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.options.logger.warn({ err: err.message }, 'srt standby socket error'));
    socket.once('message', () => void this.wake());
    this.standby = socket;
    this.boundPort = socket.address().port;
    this.emit('state', 'standby');
    return this.boundPort;
  }

  /** A caller knocked: the relay takes the port. */
  private wake(): Promise<void> {
    if (this.switching || this.stopped) return this.switching ?? Promise.resolve();
    const standby = this.standby;
    this.standby = undefined;
    this.switching = (async () => {
      await new Promise<void>((resolve) => (standby ? standby.close(() => resolve()) : resolve()));
      if (this.stopped) return;
      try {
        await this.startRelay();
        this.options.logger.info({ port: this.boundPort }, 'srt relay started for a caller');
        this.emit('state', 'relay');
        this.armIdle();
      } catch (err) {
        this.onRelayFailed(this.relay, err as Error);
      }
    })().finally(() => (this.switching = undefined));
    return this.switching;
  }

  /** No caller for RELAY_IDLE_MS: the relay stops and the port goes back to standby. */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.sessions.size > 0 || this.stopped) return;
    this.idleTimer = setTimeout(() => void this.sleep(), this.options.relayIdleMs ?? RELAY_IDLE_MS);
    this.idleTimer.unref();
  }

  private sleep(): Promise<void> {
    if (this.switching || this.stopped || this.sessions.size > 0 || !this.relay) return Promise.resolve();
    const relay = this.relay;
    this.relay = undefined;
    this.switching = (async () => {
      await relay.stop();
      if (this.stopped) return;
      await this.listenStandby(this.boundPort!);
      this.options.logger.info({ port: this.boundPort }, 'srt relay stopped: no caller; the port is on standby');
    })()
      .catch((err: unknown) => this.options.logger.error({ err: (err as Error).message }, 'srt standby failed'))
      .finally(() => (this.switching = undefined));
    return this.switching;
  }

  private async startRelay(): Promise<number> {
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
    clearTimeout(this.idleTimer);
    for (const [conn, session] of this.sessions) {
      this.sessions.delete(conn);
      session.end('server stopping');
    }
    await this.switching;
    this.standby?.close();
    this.standby = undefined;
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
    clearTimeout(this.idleTimer);
    session.begin();
  }

  private onClose(conn: number, reason: string): void {
    this.perIp.delete(conn);
    const session = this.sessions.get(conn);
    if (!session) return;
    this.sessions.delete(conn);
    session.end(reason);
    this.armIdle();
  }

  private onRelayFailed(relay: SrtRelay | undefined, err: Error): void {
    if (this.stopped || relay !== this.relay || this.restartTimer !== undefined) return;
    const delay = RESTART_DELAYS_MS[Math.min(this.restarts, RESTART_DELAYS_MS.length - 1)]!;
    this.restarts++;
    this.options.logger.error({ err: err.message, restartInMs: delay }, 'srt relay failed; its callers were dropped');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.startRelay().then(
        () => {
          this.options.logger.info({ port: this.boundPort }, 'srt relay restarted');
          this.armIdle();
        },
        (e: unknown) => this.onRelayFailed(this.relay, e as Error),
      );
    }, delay);
    this.restartTimer.unref();
  }
}
