/**
 * The TLS certificate shared by RTMPS and HTTPS, reloaded without a restart when its files change
 * (certbot, cert-manager and acme.sh replace the files in place or by rename).
 *
 * The files are polled (`fs.watchFile`, a stat every `pollMs`) rather than watched with inotify:
 * a rename onto the watched path ends an inotify watch, and Kubernetes secret volumes swap a
 * symlink. A pair that does not load (half-written, key not matching) is logged and the old
 * certificate stays in use; the next change tries again.
 */
import { EventEmitter } from 'node:events';
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface CertificatePair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Reads and checks a certificate/key pair: the key must match the certificate. */
export function loadCertificatePair(files: CertificateFiles): CertificatePair {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.certFile);
    key = readFileSync(files.keyFile);
  } catch (err) {
    throw new GatewayError('config', `cannot read the TLS certificate or key: ${(err as Error).message}`, { cert: files.certFile, key: files.keyFile });
  }
  try {
    // Throws on unparsable PEM and on a key that does not belong to the certificate.
    createSecureContext({ cert, key });
  } catch (err) {
    throw new GatewayError('config', `the TLS certificate and key do not load: ${(err as Error).message}`, { cert: files.certFile, key: files.keyFile });
  }
  return { cert, key };
}

export interface CertificateStoreEvents {
  reload: [];
}

export class CertificateStore extends EventEmitter<CertificateStoreEvents> {
  private pair: CertificatePair;
  private readonly files: CertificateFiles;
  private readonly log: Logger;
  private readonly pollMs: number;
  private watching = false;
  private readonly onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    this.reload();
  };

  /** Loads the pair now (a bad pair is a start-up error). */
  constructor(files: CertificateFiles, log: Logger, pollMs = 2000) {
    super();
    this.files = files;
    this.log = log;
    this.pollMs = pollMs;
    this.pair = loadCertificatePair(files);
  }

  /** What `tls.createServer` / `setSecureContext` take. */
  get options(): SecureContextOptions {
    return { cert: this.pair.cert, key: this.pair.key };
  }

  /**
   * Serves this certificate on `server` (RTMPS, HTTPS): new connections get reloads, and a client
   * that cannot finish the TLS handshake (plain RTMP on the RTMPS port, a scanner) is dropped at
   * once: listening for 'tlsClientError' leaves the socket to us.
   */
  serve(server: TlsServer, log: Logger, what: string): void {
    this.on('reload', () => server.setSecureContext(this.options));
    server.on('tlsClientError', (err, socket) => {
      log.debug({ err: err.message, remote: socket.remoteAddress }, `${what} handshake failed`);
      socket.destroy();
    });
  }

  /** Starts polling the two files; a change that loads emits 'reload'. */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    for (const file of [this.files.certFile, this.files.keyFile]) watchFile(file, { interval: this.pollMs, persistent: false }, this.onChange);
  }

  /** Re-reads the files; keeps the current pair when the new one does not load. */
  reload(): boolean {
    let pair: CertificatePair;
    try {
      pair = loadCertificatePair(this.files);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'TLS certificate changed but does not load; keeping the current one');
      return false;
    }
    if (pair.cert.equals(this.pair.cert) && pair.key.equals(this.pair.key)) return false;
    this.pair = pair;
    this.log.info({ cert: this.files.certFile }, 'TLS certificate reloaded');
    this.emit('reload');
    return true;
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    for (const file of [this.files.certFile, this.files.keyFile]) unwatchFile(file, this.onChange);
  }
}
