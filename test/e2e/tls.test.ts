/**
 * RTMPS and HTTPS from outside: ffmpeg publishes to rtmps:// with a self-signed certificate made
 * here, ffprobe plays it back over rtmps://, an HTTP/2 client (node:http2, ALPN h2) and an HTTP/1.1
 * client read the playlists, segments, MPD and API over HTTPS, hls.js plays over HTTPS in Chromium,
 * and a new certificate written over the files is served to new connections without a restart.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { playHlsIn } from '../helpers/players.js';
import { untilSourceSegments } from '../helpers/events.js';
import { run } from '../helpers/process.js';
import { ffprobePath } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');

/** A self-signed certificate for 127.0.0.1 (openssl, as a user would make one). */
function makeCertificate(cn: string, certOut: string, keyOut: string): void {
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyOut, '-out', certOut],
    { stdio: 'ignore', timeout: 30_000 },
  );
}

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function h2get(session: http2.ClientHttp2Session, path: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path });
    const chunks: Buffer[] = [];
    let headers: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (headers = h));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(chunks) }));
    req.on('error', reject);
    req.setTimeout(15_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
    req.end();
  });
}

function h1get(port: number, path: string, ca: Buffer): Promise<{ status: number; httpVersion: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, httpVersion: res.httpVersion, body }));
    });
    req.on('error', reject);
  });
}

/** The certificate a new TLS connection to `port` is given. */
function servedCertificate(port: number): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const cert = socket.getPeerCertificate();
      socket.destroy();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

let gw: RunningGateway;
let publisher: Publisher;
let ca: Buffer;
let browser: BrowserSession | undefined;

describe('RTMPS and HTTPS (HTTP/2)', () => {
  beforeAll(async () => {
    makeCertificate('streamgate-test-1', certFile, keyFile);
    ca = readFileSync(certFile);
    gw = await startTestGateway({ tlsCert: certFile, tlsKey: keyFile, rtmpsPort: 0, httpsPort: 0 });
    const live = nextPublish(gw, 'secure');
    publisher = publish(await fixture('av360p-short'), `rtmps://127.0.0.1:${gw.rtmpsPort}/live/secure`, { loop: true });
    await live;
    await untilSourceSegments(gw, 'secure', 2);
    if (browserAvailable) browser = await openBrowser({ ignoreHttpsErrors: true });
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  it('listens on RTMPS and HTTPS only with a certificate', async () => {
    expect(gw.rtmpsPort).toBeGreaterThan(0);
    expect(gw.httpsPort).toBeGreaterThan(0);
    const plain = await startTestGateway();
    try {
      expect(plain.rtmpsPort).toBeUndefined();
      expect(plain.httpsPort).toBeUndefined();
    } finally {
      await plain.stop();
    }
  });

  it('serves playlists, segments, the MPD and the API over HTTP/2', async () => {
    const session = http2.connect(`https://127.0.0.1:${gw.httpsPort}`, { ca });
    try {
      await new Promise<void>((resolve, reject) => session.once('connect', () => resolve()).once('error', reject));
      expect(session.alpnProtocol).toBe('h2');
      const master = await h2get(session, '/live/secure/index.m3u8');
      expect(master.status).toBe(200);
      expect(master.headers['content-type']).toMatch(/mpegurl/i);
      expect(master.headers['access-control-allow-origin']).toBe('*');
      const mediaUri = master.body.toString().split('\n').find((l) => l.endsWith('.m3u8') && !l.startsWith('#'))!;
      const media = await h2get(session, `/live/secure/${mediaUri}`);
      expect(media.status).toBe(200);
      const mediaText = media.body.toString();
      const base = `/live/secure/${mediaUri.slice(0, mediaUri.lastIndexOf('/') + 1)}`;
      const segment = mediaText.split('\n').find((l) => l && !l.startsWith('#'))!;
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(mediaText)![1]!;
      const [seg, ini] = await Promise.all([h2get(session, base + segment), h2get(session, base + init)]);
      expect(seg.status).toBe(200);
      expect(seg.body.subarray(4, 8).toString('latin1')).toMatch(/styp|moof/);
      expect(ini.status).toBe(200);
      expect(ini.body.subarray(4, 8).toString('latin1')).toBe('ftyp');
      // An LL-HLS blocking reload for the next part, answered on the same connection.
      const msn = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(mediaText)![1]) + mediaText.split('\n').filter((l) => l.startsWith('#EXTINF')).length;
      const blocked = await h2get(session, `/live/secure/${mediaUri}?_HLS_msn=${msn}&_HLS_part=0`);
      expect(blocked.status).toBe(200);
      expect(blocked.body.toString()).toContain(`#EXT-X-PART`);
      const mpd = await h2get(session, '/live/secure/index.mpd');
      expect(mpd.status).toBe(200);
      // UTCTiming in the scheme the player came in on (an https page cannot fetch http://).
      expect(mpd.body.toString()).toContain(`value="https://127.0.0.1:${gw.httpsPort}/api/time"`);
      const api = await h2get(session, '/api/streams/live/secure');
      expect(api.status).toBe(200);
      expect((JSON.parse(api.body.toString()) as { live: boolean }).live).toBe(true);
      expect((await h2get(session, '/live/nothing/index.m3u8')).status).toBe(404);
      const page = await h2get(session, '/');
      expect(page.status).toBe(200);
      expect(page.body.toString()).toContain('<html');
    } finally {
      session.close();
    }
  }, 60_000);

  it('answers HTTP/1.1 clients on the same port', async () => {
    const res = await h1get(gw.httpsPort!, '/live/secure/index.m3u8', ca);
    expect(res.httpVersion).toBe('1.1');
    expect(res.status).toBe(200);
    expect(res.body).toContain('#EXTM3U');
  });

  it('plays back over rtmps:// in ffprobe (one H.264 and one AAC stream)', async () => {
    const r = await run(ffprobePath(), ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `rtmps://127.0.0.1:${gw.rtmpsPort}/live/secure`], 30_000);
    expect(r.stdout.trim().split('\n').sort()).toEqual(['aac', 'h264']);
  }, 40_000);

  it('a plain RTMP client on the RTMPS port is dropped and the server goes on', async () => {
    const socket = net.connect(gw.rtmpsPort!, '127.0.0.1');
    socket.on('error', () => undefined);
    // Read (the TLS alert) so that the server's close reaches 'close'.
    socket.resume();
    // C0 (version 3) and C1: what OBS sends first when rtmp:// is pointed at the RTMPS port.
    socket.write(Buffer.alloc(1537, 3));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(gw.streams.get('live', 'secure')).toBeDefined();
  });

  it.runIf(browserAvailable)('hls.js plays over HTTPS in Chromium, over HTTP/2', async () => {
    const origin = `https://127.0.0.1:${gw.httpsPort}`;
    const r = await playHlsIn(browser!, origin, `${origin}/live/secure/index.m3u8`, true, 3);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(3);
    expect(r.videoWidth).toBe(640);
    const protocols = await browser!.page.evaluate(() => [...new Set(performance.getEntriesByType('resource').map((e) => (e as PerformanceResourceTiming).nextHopProtocol))]);
    expect(protocols).toContain('h2');
  }, 60_000);

  it('a new certificate written over the files is served to new connections, without a restart', async () => {
    expect((await servedCertificate(gw.httpsPort!)).subject.CN).toBe('streamgate-test-1');
    // As certbot and cert-manager do: the new files are renamed into place.
    const next = mkdtempSync(join(tmpdir(), 'sg-tls-next-'));
    makeCertificate('streamgate-test-2', join(next, 'cert.pem'), join(next, 'key.pem'));
    writeFileSync(keyFile + '.new', readFileSync(join(next, 'key.pem')));
    writeFileSync(certFile + '.new', readFileSync(join(next, 'cert.pem')));
    renameSync(keyFile + '.new', keyFile);
    renameSync(certFile + '.new', certFile);
    // The files are polled every 2 s: new handshakes are checked until they carry the new name.
    const deadline = Date.now() + 20_000;
    let https = '';
    let rtmps = '';
    while (Date.now() < deadline) {
      https = String((await servedCertificate(gw.httpsPort!)).subject.CN);
      rtmps = String((await servedCertificate(gw.rtmpsPort!)).subject.CN);
      if (https === 'streamgate-test-2' && rtmps === 'streamgate-test-2') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(https).toBe('streamgate-test-2');
    expect(rtmps).toBe('streamgate-test-2');
  }, 40_000);
});
