/**
 * Common Encryption ('cbcs') end to end, as a paying stream is set up: `encrypt` names the stream
 * with method `cbcs`, playback tokens are on. One encrypted CMAF store serves both protocols:
 *  - the playlists say SAMPLE-AES (ClearKey key format, the KID as a data URI) and the MPD
 *    ContentProtection (cbcs with the default KID, ClearKey with the licence URL);
 *  - the ClearKey licence route answers the content key for the stream's KID, behind the token;
 *  - ffmpeg, given that key, decrypts what the gateway served to clean H.264 and AAC, and cannot
 *    decode it without;
 *  - hls.js (EME, ClearKey) and dash.js (the licence URL from the MPD, nothing configured) play it
 *    in Chromium with the token, and fail without it. No MPEG-TS hands the media out clear.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningGateway } from '../../src/gateway.js';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';
import { join } from 'node:path';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { untilSourceSegments } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { run } from '../helpers/process.js';
import { ffmpegPath } from '../helpers/tools.js';

if (!browserAvailable && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 but no Chromium');

const PLAY = 'playback-secret-for-cenc';
const SHAKA_PATH = join(process.cwd(), 'node_modules/shaka-player/dist/shaka-player.compiled.js');

interface Watch {
  ct: number;
  fatal: string | null;
}

/** Plays `src` with hls.js (EME ClearKey, licence at `license`), or dash.js or Shaka (the MPD's licence URL). */
async function play(page: Page, origin: string, player: 'hls' | 'dash' | 'shaka', src: string, license: string): Promise<void> {
  await page.goto(`${origin}/healthz`);
  await page.addScriptTag({ path: player === 'hls' ? HLS_JS_PATH : player === 'dash' ? DASH_JS_PATH : SHAKA_PATH });
  await page.evaluate(
    ({ player, src, license }) => {
      const state = { ct: 0, fatal: null as string | null };
      (window as unknown as { __w: typeof state }).__w = state;
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      video.addEventListener('timeupdate', () => (state.ct = video.currentTime));
      /* eslint-disable @typescript-eslint/no-explicit-any */
      if (player === 'hls') {
        const H = (window as unknown as { Hls: any }).Hls;
        const hls = new H({ lowLatencyMode: true, emeEnabled: true, drmSystems: { 'org.w3.clearkey': { licenseUrl: license } } });
        hls.on(H.Events.ERROR, (_e: string, d: { fatal?: boolean; details?: string }) => {
          if (d.fatal && state.fatal === null) state.fatal = String(d.details);
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      } else if (player === 'shaka') {
        const shaka = (window as unknown as { shaka: any }).shaka;
        shaka.polyfill.installAll();
        const p = new shaka.Player();
        p.addEventListener('error', (e: { detail?: { code?: number; severity?: number } }) => {
          if (e.detail?.severity === 2 && state.fatal === null) state.fatal = `shaka ${e.detail.code}`;
        });
        void p
          .attach(video)
          .then(() => p.load(src))
          .catch((e: { code?: number }) => {
            if (state.fatal === null) state.fatal = `shaka load ${e?.code}`;
          });
      } else {
        const dashjs = (window as unknown as { dashjs: any }).dashjs;
        const p = dashjs.MediaPlayer().create();
        p.on(dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) => {
          if (state.fatal === null) state.fatal = `${e.error?.code}: ${e.error?.message}`;
        });
        // Autoplay: dash.js calls play() itself once it listens to the element (an earlier
        // play() spends the 'play' event before it listens, and it never refreshes the MPD).
        p.initialize(video, src, true);
      }
      /* eslint-enable @typescript-eslint/no-explicit-any */
      if (player === 'hls' || player === 'shaka') void video.play().catch(() => undefined);
    },
    { player, src, license },
  );
}

const watched = (page: Page): Promise<Watch> => page.evaluate(() => (window as unknown as { __w: Watch }).__w);

describe.runIf(browserAvailable)('Common Encryption (cbcs): one encrypted store for HLS SAMPLE-AES and DASH ClearKey', () => {
  let gw: RunningGateway;
  let publisher: Publisher;
  let browser: BrowserSession;
  let origin: string;
  let token: string;

  beforeAll(async () => {
    gw = await startTestGateway({ playbackSecret: PLAY, encrypt: { 'live/cbcs': { method: 'cbcs' } }, encryptionSecret: 'encryption-secret-of-the-cenc-test' });
    origin = `http://127.0.0.1:${gw.httpPort}`;
    token = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', 'cbcs'), expiresAt: unixNow() + 600 });
    const live = nextPublish(gw, 'cbcs');
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/cbcs`, { loop: true });
    await live;
    await untilSourceSegments(gw, 'cbcs', 3);
    browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  const kidOf = (): Buffer => Buffer.from(gw.outputs.get('live', 'cbcs')!.protection!.kid);
  const licenseUrl = (): string => `${origin}/live/cbcs/clearkey.json?token=${token}`;
  const askLicense = (url: string, kids: string[]): Promise<Response> => fetch(url, { method: 'POST', body: JSON.stringify({ kids, type: 'temporary' }) });

  it('the playlists say SAMPLE-AES (ClearKey, the KID) and the MPD ContentProtection; no MPEG-TS', async () => {
    const kid = kidOf();
    const master = await fetchText(`${origin}/live/cbcs/index.m3u8?token=${token}`);
    expect(master.text).toContain(`#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,${kid.toString('base64')}",KEYID=0x${kid.toString('hex')},KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`);
    const media = await fetchText(`${origin}/live/cbcs/src/index.m3u8?token=${token}`);
    const keyLines = media.text.split('\n').filter((l) => l.startsWith('#EXT-X-KEY'));
    expect(keyLines).toEqual([`#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,${kid.toString('base64')}",KEYID=0x${kid.toString('hex')},KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1"`]);
    // The key tag comes before the first EXT-X-MAP, so it covers every segment.
    const lines = media.text.split('\n');
    expect(lines.findIndex((l) => l.startsWith('#EXT-X-KEY'))).toBeLessThan(lines.findIndex((l) => l.startsWith('#EXT-X-MAP')));
    const parsed = parseM3u8(media.text);
    expect(parsed.segments.length).toBeGreaterThan(0);

    const mpd = await fetchText(`${origin}/live/cbcs/index.mpd?token=${token}`);
    expect(mpd.status).toBe(200);
    const hex = kid.toString('hex');
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    expect(mpd.text).toContain(`<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011" value="cbcs" cenc:default_KID="${uuid}"/>`);
    expect(mpd.text).toContain('schemeIdUri="urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e" value="ClearKey1.0"');
    expect(mpd.text).toContain(`<dashif:Laurl>${origin}/live/cbcs/clearkey.json?token=${token}</dashif:Laurl>`);
    // Both media AdaptationSets are protected.
    expect(mpd.text.split('urn:mpeg:dash:mp4protection:2011').length - 1).toBe(2 * (mpd.text.split('<Period').length - 1));

    expect((await fetchText(`${origin}/live/cbcs/ts.m3u8?token=${token}`)).status).toBe(404);
  });

  it('the licence route answers the key of the stream KID only, behind the token', async () => {
    const kid = kidOf().toString('base64url');
    expect((await askLicense(`${origin}/live/cbcs/clearkey.json`, [kid])).status).toBe(403);
    const answer = await askLicense(licenseUrl(), [kid]);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toContain('no-store');
    const jwk = (await answer.json()) as { keys: { kty: string; kid: string; k: string }[] };
    expect(jwk.keys).toHaveLength(1);
    expect(jwk.keys[0]!.kty).toBe('oct');
    expect(jwk.keys[0]!.kid).toBe(kid);
    expect(Buffer.from(jwk.keys[0]!.k, 'base64url').equals(Buffer.from(gw.outputs.get('live', 'cbcs')!.protection!.key))).toBe(true);
    expect((await askLicense(licenseUrl(), ['AAAAAAAAAAAAAAAAAAAAAA'])).status).toBe(404);
    expect((await fetch(licenseUrl(), { method: 'POST', body: 'not json' })).status).toBe(400);
  });

  it('ffmpeg decrypts the served video and audio with the licence key, and cannot decode them without', async () => {
    const kid = kidOf().toString('base64url');
    const jwk = (await (await askLicense(licenseUrl(), [kid])).json()) as { keys: { k: string }[] };
    const key = Buffer.from(jwk.keys[0]!.k, 'base64url').toString('hex');
    for (const rendition of ['src', 'audio']) {
      const m = parseM3u8((await fetchText(`${origin}/live/cbcs/${rendition}/index.m3u8?token=${token}`)).text);
      const segments = m.segments.slice(-2);
      const init = (await fetchBytes(`${origin}/live/cbcs/${rendition}/${segments[0]!.map!.uri}`)).bytes;
      const media = await Promise.all(segments.map(async (s) => (await fetchBytes(`${origin}/live/cbcs/${rendition}/${s.uri}`)).bytes));
      const file = Buffer.concat([init, ...media]);
      // ffmpeg 5.1 reads cbcs fragments from a pipe (a seekable file trips its fragment index).
      const decode = async (args: string[]): Promise<{ code: number | null; stderr: string; frames: number }> => {
        const r = await run('timeout', ['-k', '5', '60', ffmpegPath(), '-v', 'error', ...args, '-i', 'pipe:0', '-map', '0', '-f', 'framemd5', '-'], 70_000, file);
        return { code: r.code, stderr: r.stderr, frames: r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length };
      };
      const clear = await decode(['-decryption_key', key]);
      expect(clear.stderr, rendition).toBe('');
      expect(clear.frames, rendition).toBeGreaterThan(20);
      const without = await decode([]);
      expect(without.stderr !== '' || without.code !== 0, rendition).toBe(true);
    }
  }, 120_000);

  it('hls.js (EME ClearKey), dash.js and Shaka (licence URL from the MPD) play it with the token; without, nothing plays', async () => {
    const pages = {
      hls: await browser.context.newPage(),
      dash: await browser.context.newPage(),
      shaka: await browser.context.newPage(),
      hlsNone: await browser.context.newPage(),
      dashNone: await browser.context.newPage(),
    };
    await play(pages.hls, origin, 'hls', `${origin}/live/cbcs/index.m3u8?token=${token}`, licenseUrl());
    await play(pages.dash, origin, 'dash', `${origin}/live/cbcs/index.mpd?token=${token}`, licenseUrl());
    await play(pages.shaka, origin, 'shaka', `${origin}/live/cbcs/index.mpd?token=${token}`, licenseUrl());
    await play(pages.hlsNone, origin, 'hls', `${origin}/live/cbcs/index.m3u8`, `${origin}/live/cbcs/clearkey.json`);
    await play(pages.dashNone, origin, 'dash', `${origin}/live/cbcs/index.mpd`, `${origin}/live/cbcs/clearkey.json`);
    for (const name of ['hls', 'dash', 'shaka'] as const) {
      const page = pages[name];
      await page.waitForFunction(() => (window as unknown as { __w: Watch }).__w.ct > 4 || (window as unknown as { __w: Watch }).__w.fatal !== null, undefined, { timeout: 40_000 }).catch(() => undefined);
      const w = await watched(page);
      expect(w.fatal, name).toBeNull();
      expect(w.ct, name).toBeGreaterThan(4);
    }
    for (const name of ['hlsNone', 'dashNone'] as const) {
      await pages[name].waitForFunction(() => (window as unknown as { __w: Watch }).__w.fatal !== null, undefined, { timeout: 30_000 });
      expect((await watched(pages[name])).ct, name).toBe(0);
    }
  }, 120_000);

  it('the watch page plays it in its LL-HLS and DASH tabs (the licence URL comes from the API)', async () => {
    const info = (await (await fetch(`${origin}/api/streams/live/cbcs?token=${token}`)).json()) as { urls: { license?: string } };
    expect(info.urls.license).toBe('/live/cbcs/clearkey.json');
    for (const protocol of ['llhls', 'dash']) {
      const page = await browser.context.newPage();
      await page.goto(`${origin}/watch/live/cbcs?protocol=${protocol}&token=${token}`);
      const currentTime = (): Promise<number> => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
      await expect.poll(currentTime, { timeout: 30_000, interval: 250 }).toBeGreaterThan(1);
      await page.close();
    }
  }, 90_000);
});
