/** The RTMP and RTMPS listener: sockets, limits and timeouts around RtmpSession. */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';
import type { PublishPath } from '../core/publish.js';
import { RtmpSession } from './session.js';
import { listenOn } from '../core/listen.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import type { PlaybackAuthorizer } from '../auth/playback.js';
import type { CertificateStore } from '../tls/certificate-store.js';

export interface RtmpServerOptions {
  /** Authorization, limits and the registry of the protocol-neutral publish path. */
  readonly publishPath: PublishPath;
  readonly relays: RelayRegistry;
  readonly logger: Logger;
  /** Unsent bytes an RTMP player may queue before skipping to the next keyframe. */
  readonly maxPlayerQueueBytes: number;
  readonly maxConnectionsPerIp?: number;
  /** Playback tokens for RTMP play (off unless a secret is configured). */
  readonly playbackAuth?: PlaybackAuthorizer;
  /** Streams that go out encrypted only (Common Encryption): RTMP play is refused for them. */
  readonly clearPlayRefused?: (app: string, key: string) => boolean;
  /** Hides keys and tokens in text that goes to logs. */
  readonly redact?: (text: string) => string;
  readonly maxAmfDepth?: number;
  readonly maxConnections: number;
  readonly maxMessageSize: number;
  /** Seconds to finish the handshake and start publishing. */
  readonly handshakeTimeout: number;
  /** Seconds without received data before the connection is dropped. */
  readonly idleTimeout: number;
  /**
   * RTMPS: RTMP inside TLS (what OBS's `rtmps://` and ffmpeg's `rtmps://` speak; no RTMPT/RTMPE).
   * The certificate follows the store's reloads; connections already open keep theirs.
   */
  readonly tls?: CertificateStore;
}

export class RtmpServer {
  private readonly server: net.Server | tls.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly options: RtmpServerOptions;
  private nextId = 1;

  constructor(options: RtmpServerOptions) {
    this.options = options;
    const certificates = options.tls;
    if (certificates) {
      const server = tls.createServer({ ...certificates.options, handshakeTimeout: options.handshakeTimeout * 1000 }, (socket) => this.accept(socket));
      certificates.serve(server, options.logger, 'rtmps');
      this.server = server;
    } else {
      this.server = net.createServer((socket) => this.accept(socket));
    }
    this.server.maxConnections = options.maxConnections;
  }

  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Stops accepting and ends every connection (publishes end cleanly). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
  }

  private readonly perIp = new Map<string, number>();

  /** Counts the connection against its address's limit; false (and destroyed) when over it. */
  private admit(socket: net.Socket): boolean {
    const ip = socket.remoteAddress ?? '';
    const fromIp = (this.perIp.get(ip) ?? 0) + 1;
    if (fromIp > (this.options.maxConnectionsPerIp ?? Number.POSITIVE_INFINITY)) {
      this.options.logger.warn({ remote: ip, max: this.options.maxConnectionsPerIp }, 'rtmp connection refused: too many from this address');
      socket.destroy();
      return false;
    }
    this.perIp.set(ip, fromIp);
    socket.once('close', () => {
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, n);
    });
    return true;
  }

  private accept(socket: net.Socket): void {
    if (!this.admit(socket)) return;
    const id = this.nextId++;
    const log = this.options.logger.child({ conn: id, remote: `${socket.remoteAddress}:${socket.remotePort}` });
    this.sockets.add(socket);
    socket.setNoDelay(true);
    let closedReason: string | undefined;
    const session = new RtmpSession(
      {
        write: (bytes) => {
          if (!socket.destroyed) socket.write(bytes);
        },
        close: () => {
          if (!socket.destroyed) socket.end();
        },
        queuedBytes: () => socket.writableLength,
        cork: () => {
          // One writev per tick for whatever a fan-out burst wrote.
          if (socket.writableCorked > 0 || socket.destroyed) return;
          socket.cork();
          process.nextTick(() => socket.uncork());
        },
      },
      {
        publishPath: this.options.publishPath,
        relays: this.options.relays,
        logger: log,
        maxMessageSize: this.options.maxMessageSize,
        maxPlayerQueueBytes: this.options.maxPlayerQueueBytes,
        playbackAuth: this.options.playbackAuth,
        clearPlayRefused: this.options.clearPlayRefused,
        maxAmfDepth: this.options.maxAmfDepth,
        remoteAddress: socket.remoteAddress ?? '',
      },
    );
    const handshakeTimer = setTimeout(() => {
      if (!session.publishing && !session.isPlaying) finish('no publish or play within the handshake timeout', true);
    }, this.options.handshakeTimeout * 1000);
    handshakeTimer.unref();

    const finish = (reason: string, destroy: boolean): void => {
      if (closedReason !== undefined) return;
      closedReason = reason;
      clearTimeout(handshakeTimer);
      session.close(reason);
      this.sockets.delete(socket);
      if (destroy) socket.destroy();
      log.debug({ reason }, 'rtmp connection closed');
    };

    // Players send nothing for long stretches: only publishers and idle handshakes time out.
    socket.setTimeout(this.options.idleTimeout * 1000, () => {
      if (!session.isPlaying) finish('idle timeout', true);
    });
    socket.on('data', (data: Buffer) => {
      try {
        session.push(data);
        if (session.publishing || session.isPlaying) clearTimeout(handshakeTimer);
      } catch (err) {
        const message = err instanceof GatewayError ? err.message : `unexpected: ${(err as Error).message}`;
        log.warn({ err: message }, 'rtmp protocol error, dropping connection');
        finish(message, true);
      }
    });
    socket.on('error', (err) => finish(`socket error: ${err.message}`, true));
    socket.on('close', () => finish('closed by peer', false));
    socket.on('end', () => finish('ended by peer', false));
  }
}
