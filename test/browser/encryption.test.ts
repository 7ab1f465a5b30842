/**
 * HLS AES-128 end to end, as a private stream is set up: `encrypt` for the stream (a new key
 * every 2 segments) and playback tokens. hls.js in Chromium plays the CMAF (LL-HLS) and the
 * MPEG-TS playlists with a valid token and fails without one; ffmpeg decodes the encrypted HLS
 * on its own (it fetches the keys the playlist names); a segment fetched without its key is not
 * decodable; the key itself needs the token; no DASH hands the media out in the clear.
 */
import { spawnSync } from 'node:child_process';
import { createDecipheriv } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningGateway } from '../../src/gateway.js';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';
import { browserAvailable, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { untilSourceSegments } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { run } from '../helpers/process.js';
import { ffmpegPath, ffprobePath } from '../helpers/tools.js';

if (!browserAvailable && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 but no Chromium');

const PLAY = 'playback-secret-for-encryption';

interface Watch {
  ct: number;
  fatal: string | null;
}

async function play(page: Page, origin: string, url: string): Promise<void> {
  await page.goto(`${origin}/healthz`);
  await page.addScriptTag({ path: HLS_JS_PATH });
  await page.evaluate((src) => {
    const state = { ct: 0, fatal: null as string | null };
    (window as unknown as { __w: typeof state }).__w = state;
    const video = document.createElement('video');
    video.muted = true;
    document.body.appendChild(video);
    const H = (window as unknown as { Hls: any }).Hls; // eslint-disable-line @typescript-eslint/no-explicit-any
    const hls = new H({ lowLatencyMode: true });
    hls.on(H.Events.ERROR, (_e: string, d: { fatal?: boolean; details?: string }) => {
      if (d.fatal && state.fatal === null) state.fatal = String(d.details);
    });
    video.addEventListener('timeupdate', () => (state.ct = video.currentTime));
    hls.loadSource(src);
    hls.attachMedia(video);
    void video.play().catch(() => undefined);
  }, url);
}

describe.runIf(browserAvailable)('HLS AES-128 with playback tokens', () => {
  let gw: RunningGateway;
  let publisher: Publisher;
  let browser: BrowserSession;
  let origin: string;
  let token: string;
  const dir = mkdtempSync(join(tmpdir(), 'sg-aes-'));

  beforeAll(async () => {
    gw = await startTestGateway({ playbackSecret: PLAY, encrypt: { 'live/enc': { method: 'aes-128', rotate: 2 } }, encryptionSecret: 'encryption-secret-of-this-test' });
    origin = `http://127.0.0.1:${gw.httpPort}`;
    token = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', 'enc'), expiresAt: unixNow() + 600 });
    const live = nextPublish(gw, 'enc');
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/enc`, { loop: true });
    await live;
    await untilSourceSegments(gw, 'enc', 3);
    browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keys rotate in the playlist and need the token; the segments are not decodable without their key; no DASH', async () => {
    const media = await fetchText(`${origin}/live/enc/src/index.m3u8?token=${token}`);
    expect(media.status).toBe(200);
    const keyLines = media.text.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:METHOD=AES-128'));
    const keyUris = [...new Set(keyLines.map((l) => /URI="([^"]+)"/.exec(l)![1]!))];
    expect(keyUris.length, media.text).toBeGreaterThanOrEqual(2);
    expect(keyUris.every((u) => u.includes(`token=${token}`))).toBe(true);
    expect((await fetchBytes(`${origin}${keyUris[0]!.split('?')[0]}`)).status).toBe(403);
    const key = await fetchBytes(`${origin}${keyUris[0]}`);
    expect(key.status).toBe(200);
    expect(key.bytes.byteLength).toBe(16);
    expect(key.headers.get('cache-control')).toContain('no-store');

    // A segment as fetched is ciphertext: ffprobe finds no video in init + segment; decrypted
    // with the key and IV its EXT-X-KEY names, it is H.264 again.
    const m = parseM3u8(media.text);
    const segment = m.segments[0]!;
    const segLine = media.text.split('\n').findIndex((l) => l.startsWith(segment.uri.split('?')[0]!));
    const ownKey = media.text.split('\n').slice(0, segLine).reverse().find((l) => l.startsWith('#EXT-X-KEY:METHOD=AES-128'))!;
    const init = (await fetchBytes(`${origin}/live/enc/src/${segment.map!.uri}`)).bytes;
    const cipher = (await fetchBytes(`${origin}/live/enc/src/${segment.uri}`)).bytes;
    const probe = (bytes: Uint8Array): string => {
      const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.mp4`);
      writeFileSync(file, Buffer.concat([init, bytes]));
      return String(spawnSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'csv=p=0', file]).stdout).trim();
    };
    expect(probe(cipher)).not.toMatch(/^h264,[1-9]/);
    const keyBytes = (await fetchBytes(`${origin}${/URI="([^"]+)"/.exec(ownKey)![1]}`)).bytes;
    const iv = Buffer.from(/IV=0x([0-9a-f]{32})/.exec(ownKey)![1]!, 'hex');
    const decipher = createDecipheriv('aes-128-cbc', keyBytes, iv);
    expect(probe(Buffer.concat([decipher.update(cipher), decipher.final()]))).toMatch(/^h264,[1-9]/);

    expect((await fetchText(`${origin}/live/enc/index.mpd?token=${token}`)).status).toBe(403);
  });

  it('ffmpeg decodes the encrypted HLS (CMAF and MPEG-TS) with the keys it fetches', async () => {
    // Asynchronously: the gateway answers from this very process.
    for (const playlist of ['index.m3u8', 'ts.m3u8']) {
      const r = await run('timeout', ['-k', '5', '60', ffmpegPath(), '-v', 'error', '-i', `${origin}/live/enc/${playlist}?token=${token}`, '-t', '3', '-f', 'null', '-'], 70_000);
      expect(r.code, `${playlist}: ${r.stderr}`).toBe(0);
      expect(r.stderr.trim(), playlist).toBe('');
    }
  }, 150_000);

  it('hls.js plays the CMAF (LL-HLS) and the MPEG-TS stream with the token, and fails without it', async () => {
    const pages = { cmaf: await browser.context.newPage(), ts: await browser.context.newPage(), none: await browser.context.newPage() };
    await play(pages.cmaf, origin, `${origin}/live/enc/index.m3u8?token=${token}`);
    await play(pages.ts, origin, `${origin}/live/enc/ts.m3u8?token=${token}`);
    await play(pages.none, origin, `${origin}/live/enc/index.m3u8`);
    for (const [name, page] of [['cmaf', pages.cmaf], ['ts', pages.ts]] as const) {
      // Past a key rotation: 2 segments per key, 2 s segments.
      await page.waitForFunction(() => (window as unknown as { __w: Watch }).__w.ct > 5 || (window as unknown as { __w: Watch }).__w.fatal !== null, undefined, { timeout: 40_000 }).catch(() => undefined);
      const w = await page.evaluate(() => (window as unknown as { __w: Watch }).__w);
      expect(w.fatal, name).toBeNull();
      expect(w.ct, name).toBeGreaterThan(5);
    }
    await pages.none.waitForFunction(() => (window as unknown as { __w: Watch }).__w.fatal !== null, undefined, { timeout: 20_000 });
    const none = await pages.none.evaluate(() => (window as unknown as { __w: Watch }).__w);
    expect(none.ct).toBe(0);
  }, 90_000);
});
