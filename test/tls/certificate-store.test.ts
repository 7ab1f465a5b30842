/** The shared RTMPS/HTTPS certificate: checked at start, reloaded only when a new pair loads. */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CertificateStore, loadCertificatePair } from '../../src/tls/certificate-store.js';
import { GatewayError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';

function makePair(dir: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${cn}.crt`);
  const key = join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-keyout', key, '-out', cert], { stdio: 'ignore', timeout: 30_000 });
  return { cert, key };
}

function subjectOf(store: CertificateStore): string {
  return new X509Certificate(store.options.cert as Buffer).subject;
}

describe('CertificateStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-certs-'));
  const a = makePair(dir, 'alpha');
  const b = makePair(dir, 'beta');

  it('refuses a missing file or a key that does not match the certificate, with both paths in the error', () => {
    expect(() => loadCertificatePair({ certFile: join(dir, 'none.crt'), keyFile: a.key })).toThrow(GatewayError);
    expect(() => loadCertificatePair({ certFile: a.cert, keyFile: b.key })).toThrow(/do not load.*alpha\.crt.*beta\.key/);
  });

  it('reloads a new pair, keeps the current one when the new files do not load, and ignores an unchanged pair', () => {
    const certFile = join(dir, 'live.crt');
    const keyFile = join(dir, 'live.key');
    copyFileSync(a.cert, certFile);
    copyFileSync(a.key, keyFile);
    const store = new CertificateStore({ certFile, keyFile }, silentLogger());
    let reloads = 0;
    store.on('reload', () => reloads++);
    expect(subjectOf(store)).toBe('CN=alpha');
    expect(store.reload()).toBe(false);
    // Half-way through a renewal: the new certificate beside the old key.
    copyFileSync(b.cert, certFile);
    expect(store.reload()).toBe(false);
    expect(subjectOf(store)).toBe('CN=alpha');
    copyFileSync(b.key, keyFile);
    expect(store.reload()).toBe(true);
    expect(subjectOf(store)).toBe('CN=beta');
    writeFileSync(certFile, 'not a certificate');
    expect(store.reload()).toBe(false);
    expect(subjectOf(store)).toBe('CN=beta');
    expect(reloads).toBe(1);
    store.close();
  });
});
