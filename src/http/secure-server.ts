/**
 * HTTPS on `--https-port`: HTTP/2 (ALPN h2, RFC 9113) with HTTP/1.1 for clients that do not offer
 * it, both answered by the same handler as plain HTTP. Safari wants HTTP/2 for LL-HLS (the LL-HLS
 * spec, RFC 8216bis Appendix B.1, says blocking requests SHOULD go over HTTP/2), and one HTTP/2
 * connection carries a player's playlist and segment requests side by side.
 *
 * The certificate follows the store's reloads; connections already open keep theirs.
 */
import http2 from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { CertificateStore } from '../tls/certificate-store.js';
import { listenOn } from '../core/listen.js';

/** What stopping needs of a plain or secure HTTP server. */
export interface HttpListener {
  close(): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

export interface SecureHttpServerOptions {
  readonly certificates: CertificateStore;
  readonly logger: Logger;
  readonly maxHeaderBytes: number;
  /** HTTP/1.1 requests, and HTTP/2 ones made to look like them (see http2-bridge.ts). */
  readonly onRequest: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
}

/** Concurrent requests on one HTTP/2 connection: a player's blocking reloads, parts and segments. */
const MAX_CONCURRENT_STREAMS = 256;
/** Connections idle this long are closed (HTTP/2 sessions and HTTP/1.1 keep-alives alike). */
const IDLE_TIMEOUT_MS = 120_000;

export class SecureHttpServer implements HttpListener {
  readonly server: http2.Http2SecureServer;
  private readonly sockets = new Set<TLSSocket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(options: SecureHttpServerOptions) {
    const { certificates } = options;
    this.server = http2.createSecureServer(
      {
        ...certificates.options,
        allowHTTP1: true,
        maxHeaderListPairs: 128,
        maxSendHeaderBlockLength: options.maxHeaderBytes,
        settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, maxHeaderListSize: options.maxHeaderBytes },
      },
      options.onRequest,
    );
    this.server.setTimeout(IDLE_TIMEOUT_MS);
    // The HTTP/1.1 fallback reads its limits from the server object, as the plain HTTP server sets them.
    Object.assign(this.server, { maxHeaderSize: options.maxHeaderBytes, headersTimeout: 20_000, requestTimeout: 30_000, keepAliveTimeout: 65_000 });
    certificates.serve(this.server, options.logger, 'https');
    this.server.on('secureConnection', (socket: TLSSocket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host);
  }

  /** Stops accepting connections (open ones go on). */
  close(): void {
    this.server.close();
  }

  /** HTTP/2 sessions are told to go away once their open requests are answered (GOAWAY). */
  closeIdleConnections(): void {
    for (const session of this.sessions) session.close();
  }

  closeAllConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
