/**
 * The operator page in headless Chromium against a stream a real ffmpeg publishes: the stream is
 * listed, every protocol tab plays (currentTime advances) and shows a latency read-out.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { composeApp, type ComposedApp } from './compose.js';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';

let gw: RunningGateway;
let app: ComposedApp;
let browser: BrowserSession;
let publisher: Publisher;

const ARTIFACTS = 'test-artifacts';

describe.runIf(browserAvailable)('web page in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gw = await startTestGateway();
    app = await composeApp(gw);
    const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/web`, { loop: true });
    browser = await openBrowser();
    await live;
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await app?.close();
    await gw?.stop();
  });

  it('lists the live stream with its codecs and resolution', async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${app.origin}/`);
    const card = page.locator('[data-stream="live/web"]');
    await card.waitFor({ timeout: 20_000 });
    await expect.poll(() => card.textContent(), { timeout: 10_000 }).toMatch(/1280×720/);
    const text = (await card.textContent()) ?? '';
    expect(text).toMatch(/avc1\.64/);
    expect(text).toMatch(/mp4a\.40\.2/);
    expect(text).toMatch(/LIVE/);
    await page.screenshot({ path: `${ARTIFACTS}/web-list.png`, fullPage: true });
  }, 40_000);

  for (const protocol of ['llhls', 'hls', 'hlsts', 'dash', 'flv']) {
    it(`the ${protocol} tab plays and reads out a latency`, async () => {
      const { page } = browser;
      await page.goto(`${app.origin}/watch/live/web?protocol=${protocol}`);
      await expect.poll(() => page.getAttribute(`#tab-${protocol}`, 'aria-selected'), { timeout: 5000 }).toBe('true');
      const currentTime = (): Promise<number> => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
      await expect.poll(currentTime, { timeout: 25_000, interval: 250 }).toBeGreaterThan(0.5);
      const t1 = await currentTime();
      await expect
        .poll(currentTime, { timeout: 10_000, interval: 250 })
        .toBeGreaterThan(t1 + 1)
        .catch(async (e: unknown) => {
          // Where the player stood: its buffer, state and rate, and what the page said.
          const state = await page.evaluate(() => {
            const v = document.querySelector('video')!;
            const ranges = (r: TimeRanges): string => Array.from({ length: r.length }, (_, i) => `${r.start(i).toFixed(2)}-${r.end(i).toFixed(2)}`).join(' ');
            return { currentTime: v.currentTime, readyState: v.readyState, paused: v.paused, rate: v.playbackRate, buffered: ranges(v.buffered), status: document.querySelector('#player-status')?.textContent ?? '' };
          });
          console.log(`web page ${protocol}: stalled from ${t1.toFixed(2)}: ${JSON.stringify(state)}`);
          throw e;
        });
      const latency = async (): Promise<number> => Number((await page.getAttribute('#latency', 'data-seconds')) || NaN);
      await expect.poll(latency, { timeout: 10_000, interval: 250 }).toBeGreaterThan(0);
      const seconds = await latency();
      expect(seconds).toBeLessThan(30);
      const row = await page.getAttribute(`tr[data-protocol="${protocol}"] td[data-seconds]`, 'data-seconds');
      expect(Number(row)).toBeGreaterThan(0);
      console.log(`web page ${protocol} latency read-out: ${seconds.toFixed(2)} s`);
      await page.screenshot({ path: `${ARTIFACTS}/web-watch-${protocol}.png`, fullPage: true });
    }, 60_000);
  }

  it('the dash tab opened as the stream starts plays on past the first MPD it got', async () => {
    // The page used to call video.play() itself right after creating the dash.js player. That
    // spent the element's 'play' event before dash.js listened, so dash.js never saw playback
    // start and never refreshed the MPD: it stalled at the end of the segments the first MPD
    // listed (two, when the MPD request waited for the first segment). The page's other tabs
    // were opened on a stream that had run for a while, where the timing usually hid it.
    const started = nextPublish(gw, 'early');
    const early = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/early`, { loop: true });
    try {
      await started;
      const { page } = browser;
      await page.goto(`${app.origin}/watch/live/early?protocol=dash`);
      const currentTime = (): Promise<number> => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
      // Well past the 2 s segments a first MPD lists.
      await expect.poll(currentTime, { timeout: 30_000, interval: 250 }).toBeGreaterThan(7);
    } finally {
      early.process.kill('SIGKILL');
    }
  }, 60_000);

  it('keyboard: arrow keys move between tabs and select them; narrow window stays usable', async () => {
    const { page } = browser;
    await page.goto(`${app.origin}/watch/live/web?protocol=hls`);
    await page.focus('#tab-hls');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => page.getAttribute('#tab-hlsts', 'aria-selected')).toBe('true');
    expect(await page.getAttribute('#tab-hls', 'aria-selected')).toBe('false');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('tab-hlsts');
    await page.setViewportSize({ width: 380, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: `${ARTIFACTS}/web-watch-narrow.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 30_000);

  it('counts the page as a viewer and shows it in /metrics', async () => {
    await browser.page.goto(`${app.origin}/watch/live/web?protocol=dash`);
    await expect.poll(() => browser.page.evaluate(() => document.querySelector('video')?.currentTime ?? 0), { timeout: 25_000 }).toBeGreaterThan(0.5);
    expect(app.viewers.viewersOf('live', 'web').byProtocol.dash).toBe(1);
    expect(app.viewers.viewersOf('live', 'web').bytesServed).toBeGreaterThan(0);
    const text = await (await fetch(`${app.origin}/metrics`)).text();
    expect(text).toMatch(/^streamgate_viewers\{protocol="dash"\} 1$/m);
  }, 40_000);
});

describe.runIf(browserAvailable)('web page of a protected gateway (playback tokens and --api-token)', () => {
  const PLAY = 'page-test-playback-secret';
  const API = 'page-test-api-token-0123456789';
  let protectedGw: RunningGateway;
  let session: BrowserSession;
  let feed: Publisher;
  let origin: string;

  beforeAll(async () => {
    // One small rung for live/paid (a push target can send it); the app the page pushes to is passthrough.
    const ladder = { default: 'passthrough' as const, keys: { 'live/paid': [{ name: '144p', height: 144, maxBitrate: 100_000, profile: 'baseline' as const }] } };
    protectedGw = await startTestGateway({ playbackSecret: PLAY, apiToken: API, transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1, ladder });
    origin = `http://127.0.0.1:${protectedGw.httpPort}`;
    const live = new Promise<void>((resolve) => protectedGw.streams.on('publish', () => resolve()));
    feed = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${protectedGw.rtmpPort}/live/paid`, { loop: true });
    session = await openBrowser();
    await live;
  }, 90_000);
  afterAll(async () => {
    feed?.process.kill('SIGKILL');
    await session?.close();
    await protectedGw?.stop();
  });

  it('asks for the API token before it lists streams; a wrong one is refused', async () => {
    const { page } = session;
    await page.goto(`${origin}/`);
    const form = page.locator('#list-status form');
    await form.waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-stream="live/paid"]').count()).toBe(0);
    await page.fill('#list-status input', 'not-the-token');
    await page.click('#list-status button');
    await expect.poll(() => page.textContent('#list-status'), { timeout: 10_000 }).toMatch(/refused/);
    await page.fill('#list-status input', API);
    await page.click('#list-status button');
    await page.locator('[data-stream="live/paid"]').waitFor({ timeout: 10_000 });
  }, 40_000);

  it('plays a protected stream from its watch link with the playback token, and says what is missing without it', async () => {
    const { page } = session;
    const token = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', 'paid'), expiresAt: unixNow() + 600 });
    await page.goto(`${origin}/watch/live/paid?protocol=hls&token=${token}`);
    await expect.poll(() => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0), { timeout: 25_000, interval: 250 }).toBeGreaterThan(0.5);
    expect(await page.textContent('#watch-status')).not.toMatch(/token/);
    // Without the API token the previous test left in this tab, and without the playback token.
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${origin}/watch/live/paid?protocol=hls`);
    await expect.poll(() => page.textContent('#watch-status'), { timeout: 10_000 }).toMatch(/playback token/);
  }, 60_000);

  it('adds a push target from the watch page and removes it (with the API token)', async () => {
    const { page } = session;
    await page.goto(`${origin}/`);
    await page.fill('#list-status input', API);
    await page.click('#list-status button');
    await page.locator('[data-stream="live/paid"]').waitFor({ timeout: 10_000 });
    await page.goto(`${origin}/watch/live/paid?protocol=hls`);
    // Nothing listens on port 1: the target is added and keeps retrying.
    await page.fill('#push-url', 'rtmp://127.0.0.1:1/live/secret-platform-key');
    await page.click('#push-form button');
    const item = page.locator('#push-list li[data-push]');
    await item.waitFor({ timeout: 10_000 });
    await expect.poll(() => item.textContent(), { timeout: 10_000 }).toMatch(/(connecting|retrying) rtmp:\/\/127\.0\.0\.1:1\/live\/…/);
    expect(await item.textContent()).not.toContain('secret-platform-key');
    await item.locator('button').click();
    await expect.poll(() => page.textContent('#push-list'), { timeout: 10_000 }).toMatch(/No push targets/);
  }, 60_000);

  it('pushes a chosen rung: the POST carries the rendition, and the target row shows bytes sent and drops', async () => {
    const { page } = session;
    await page.goto(`${origin}/watch/live/paid?protocol=hls`);
    // The rung is offered once the ladder made it (the API token is still in this tab's storage).
    const rung = page.locator('#push-rendition option[value="144p"]');
    await rung.waitFor({ state: 'attached', timeout: 30_000 });
    expect(await page.locator('#push-rendition option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(['src', '144p']);
    expect(await page.textContent('label[for="push-url"]')).toMatch(/rtmp:\/\/.*rtmps:\/\/.*srt:\/\//);
    await page.selectOption('#push-rendition', '144p');
    // The gateway pushes the rung to itself, under another (passthrough) app.
    const arrived = nextPublish(protectedGw, 'rung');
    const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/streams/live/paid/push'));
    await page.fill('#push-url', `rtmp://127.0.0.1:${protectedGw.rtmpPort}/copy/rung`);
    await page.click('#push-form button');
    expect(JSON.parse((await posted).postData() ?? '{}')).toEqual({ url: `rtmp://127.0.0.1:${protectedGw.rtmpPort}/copy/rung`, rendition: '144p' });
    const copy = await arrived;
    const item = page.locator('#push-list li[data-push]');
    await expect.poll(() => item.getAttribute('data-push'), { timeout: 10_000 }).toBeTruthy();
    await expect.poll(async () => Number(await item.locator('.push-bytes').getAttribute('data-bytes')), { timeout: 15_000 }).toBeGreaterThan(0);
    const text = (await item.textContent()) ?? '';
    expect(text).toMatch(/^live rtmp:\/\/127\.0\.0\.1:\d+\/copy\/… \(144p\) · .+ · sent [\d.]+ (B|kB|MB) · 0 dropped/);
    expect(await item.locator('.push-dropped').getAttribute('data-dropped')).toBe('0');
    // What arrived is the rung, not the source.
    await expect.poll(() => copy.video?.height, { timeout: 10_000 }).toBe(144);
    await page.screenshot({ path: `${ARTIFACTS}/web-push-rung.png`, fullPage: true });
    await item.locator('button').click();
    await expect.poll(() => page.textContent('#push-list'), { timeout: 10_000 }).toMatch(/No push targets/);
  }, 90_000);
});
