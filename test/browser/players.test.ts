/**
 * Real players in headless Chromium against a stream a real ffmpeg publishes: hls.js (classic
 * CMAF, low-latency, MPEG-TS) and dash.js (default and low-latency).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { playDashIn, playHlsIn, type PlayResult } from '../helpers/players.js';

let gw: RunningGateway;
let browser: BrowserSession;
let publisher: Publisher;
let origin: string;

describe.runIf(browserAvailable)('players in Chromium', () => {
  beforeAll(async () => {
    gw = await startTestGateway();
    origin = `http://127.0.0.1:${gw.httpPort}`;
    const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/browser`, { loop: true });
    browser = await openBrowser();
    await live;
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  const playHls = (src: string, lowLatencyMode: boolean, seconds: number): Promise<PlayResult> => playHlsIn(browser, origin, src, lowLatencyMode, seconds);
  const playDash = (src: string, lowLatency: boolean, seconds: number): Promise<PlayResult> => playDashIn(browser, origin, src, lowLatency, seconds);

  it('hls.js plays the CMAF multivariant playlist', async () => {
    const r = await playHls(`${origin}/live/browser/index.m3u8`, false, 4);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(4);
    expect(r.videoWidth).toBe(1280);
    console.log(`hls.js classic latency (median hls.latency): ${r.latency?.toFixed(2)} s`);
  }, 60_000);

  it('hls.js in low-latency mode plays with parts and blocking reload', async () => {
    const urls: string[] = [];
    const onRequest = (req: { url(): string }): void => void urls.push(req.url());
    browser.page.on('request', onRequest);
    const r = await playHls(`${origin}/live/browser/index.m3u8`, true, 6);
    browser.page.off('request', onRequest);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(6);
    expect(r.latency).not.toBeNull();
    // What makes it low-latency was used: parts were fetched and playlist reloads blocked on the next part.
    expect(urls.filter((u) => /\/part-[^/]+\.m4s$/.test(u)).length, 'part requests').toBeGreaterThan(0);
    expect(urls.filter((u) => /index\.m3u8\?.*_HLS_msn=\d+&_HLS_part=\d+/.test(u)).length, 'blocking reloads').toBeGreaterThan(0);
    console.log(`hls.js LL-HLS latency (median hls.latency): ${r.latency?.toFixed(2)} s`);
  }, 60_000);

  it('hls.js plays the MPEG-TS playlist', async () => {
    const r = await playHls(`${origin}/live/browser/ts.m3u8`, false, 4);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(4);
    expect(r.videoWidth).toBe(1280);
  }, 60_000);

  it('dash.js plays the MPD', async () => {
    const r = await playDash(`${origin}/live/browser/index.mpd`, false, 4);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(4);
    expect(r.videoWidth).toBe(1280);
    console.log(`dash.js latency (median): ${r.latency?.toFixed(2)} s`);
  }, 60_000);

  it('dash.js in low-latency mode plays the MPD', async () => {
    const r = await playDash(`${origin}/live/browser/index.mpd`, true, 5);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(5);
    expect(r.latency).not.toBeNull();
    console.log(`dash.js low-latency latency (median): ${r.latency?.toFixed(2)} s`);
  }, 60_000);
});
