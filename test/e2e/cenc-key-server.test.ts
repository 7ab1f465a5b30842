/**
 * The key-provider hook of Common Encryption (auth/media-keys.ts `keyServer`, `licenseUrl`), the
 * way a DRM service plugs in: the gateway asks the key server for each publish's content key,
 * the encrypted store uses that KID and carries the DRM's pssh beside ClearKey's, the playlists
 * name the DRM's key format, the MPD sends players to the DRM's licence service (not the
 * gateway's, and without the playback token), and a key server that fails refuses the publish
 * instead of letting the stream out clear. No key ever reaches the log.
 */
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config.js';
import { startGateway, type RunningGateway } from '../../src/gateway.js';
import { pssh } from '../../src/mux/fmp4/cenc.js';
import { untilSourceSegments } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, publish, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { run } from '../helpers/process.js';
import { ffprobePath } from '../helpers/tools.js';

const KID = '9a9b9c9d9e9f0a0b0c0d0e0f10111213';
const KEY = '5f4e3d2c1b0a99887766554433221100';
/** Widevine's system id, with opaque data: what a DRM's key server hands out. */
const WIDEVINE = Uint8Array.from(Buffer.from('edef8ba979d64acea3c827dcd51d21ed', 'hex'));
const WIDEVINE_PSSH = pssh(WIDEVINE, [Buffer.from(KID, 'hex')], Uint8Array.of(0x12, 0x10, ...Buffer.from(KID, 'hex')));
const LICENSE = 'https://drm.example.com/license/widevine';

let keyServer: Server;
let keyServerUrl = '';
const keyRequests: unknown[] = [];
let gw: RunningGateway;
let publisher: Publisher;
const logLines: string[] = [];

beforeAll(async () => {
  keyServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      keyRequests.push(JSON.parse(body));
      if (req.url === '/fail') {
        res.writeHead(500).end('key service down');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kid: KID, key: KEY, pssh: [Buffer.from(WIDEVINE_PSSH).toString('base64')] }));
    });
  });
  await new Promise<void>((resolve) => keyServer.listen(0, '127.0.0.1', resolve));
  const address = keyServer.address();
  keyServerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  gw = await startGateway(
    defaultConfig({
      rtmpPort: 0,
      httpPort: 0,
      host: '127.0.0.1',
      transcode: false,
      srt: false,
      reconnectGrace: 0,
      encrypt: {
        'live/drm': { method: 'cbcs', keyServer: `${keyServerUrl}/keys`, licenseUrl: LICENSE },
        'live/down': { method: 'cbcs', keyServer: `${keyServerUrl}/fail` },
      },
    }),
    pino({ level: 'debug' }, sink),
  );
  const live = nextPublish(gw, 'drm');
  publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/drm`, { loop: true });
  await live;
  await untilSourceSegments(gw, 'drm', 2);
}, 60_000);
afterAll(async () => {
  publisher?.process.kill('SIGKILL');
  await gw?.stop();
  keyServer?.close();
});

describe('Common Encryption with a key server and a DRM licence service', () => {
  it('uses the key server content key: its KID in the init (tenc), its pssh beside ClearKey', async () => {
    expect(keyRequests).toContainEqual({ app: 'live', key: 'drm' });
    const protection = gw.outputs.get('live', 'drm')!.protection!;
    expect(Buffer.from(protection.kid).toString('hex')).toBe(KID);
    const base = `http://127.0.0.1:${gw.httpPort}/live/drm`;
    const m = parseM3u8((await fetchText(`${base}/src/index.m3u8`)).text);
    const init = Buffer.from((await fetchBytes(`${base}/src/${m.segments[0]!.map!.uri}`)).bytes);
    const tenc = init.indexOf(Buffer.from('tenc'));
    expect(init.subarray(tenc + 4 + 4 + 4, tenc + 4 + 4 + 4 + 16).toString('hex')).toBe(KID);
    expect(init.includes(Buffer.from(WIDEVINE_PSSH))).toBe(true);
    expect(init.includes(Buffer.from('1077efecc0b24d02ace33c1e52e2fb4b', 'hex'))).toBe(true);
  });

  it('the playlists name the DRM key format; the MPD sends players to the DRM licence service', async () => {
    const base = `http://127.0.0.1:${gw.httpPort}/live/drm`;
    const media = (await fetchText(`${base}/src/index.m3u8`)).text;
    expect(media).toContain(`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,${Buffer.from(WIDEVINE_PSSH).toString('base64')}",KEYID=0x${KID},KEYFORMAT="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",KEYFORMATVERSIONS="1"`);
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    // The DRM's own descriptor (its pssh, its licence URL); no ClearKey the DRM could not answer.
    expect(mpd).toContain(`<ContentProtection schemeIdUri="urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed">`);
    expect(mpd).toContain(`<cenc:pssh>${Buffer.from(WIDEVINE_PSSH).toString('base64')}</cenc:pssh>`);
    expect(mpd).toContain(`<dashif:Laurl>${LICENSE}</dashif:Laurl>`);
    expect(mpd).not.toContain('e2719d58');
    expect(mpd).toContain('cenc:default_KID="9a9b9c9d-9e9f-0a0b-0c0d-0e0f10111213"');
    // The gateway hands out no key for a stream whose licences a DRM issues.
    const asked = await fetch(`${base}/clearkey.json`, { method: 'POST', body: JSON.stringify({ kids: [Buffer.from(KID, 'hex').toString('base64url')] }) });
    expect(asked.status).toBe(404);
  });

  it('no clear copy: RTMP play and HTTP-FLV are refused for the stream', async () => {
    const flv = await fetch(`http://127.0.0.1:${gw.httpPort}/live/drm.flv`);
    expect(flv.status).toBe(403);
    const play = await run('timeout', ['-k', '5', '20', ffprobePath(), '-v', 'error', '-rw_timeout', '5000000', `rtmp://127.0.0.1:${gw.rtmpPort}/live/drm`], 30_000);
    expect(play.code).not.toBe(0);
  }, 40_000);

  it('a key server that fails refuses the publish: nothing goes out clear', async () => {
    const refused = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/down`, { realtime: false });
    const code = await refused.done;
    expect(code).not.toBe(0);
    expect(gw.outputs.get('live', 'down')).toBeUndefined();
    expect(keyRequests).toContainEqual({ app: 'live', key: 'down' });
    expect((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/down/index.m3u8`)).status).toBe(404);
  }, 30_000);

  it('no key, in any encoding, is in the log', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    const key = Buffer.from(KEY, 'hex');
    for (const text of [KEY, key.toString('base64'), key.toString('base64url')]) expect(log).not.toContain(text);
  });
});
