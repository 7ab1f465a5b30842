/**
 * Real players in headless Chromium against a stream a real ffmpeg publishes: hls.js (classic
 * CMAF, low-latency, MPEG-TS) and dash.js (default and low-latency).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';

interface PlayResult {
  played: number;
  videoWidth: number;
  fatal: string | null;
  latency: number | null;
}

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

  async function freshPage(script: string): Promise<void> {
    const { page } = browser;
    await page.goto(`${origin}/healthz`);
    await page.addScriptTag({ path: script });
  }

  /** Plays with hls.js until `seconds` of media advanced; resolves early on a fatal error. */
  async function playHls(src: string, lowLatencyMode: boolean, seconds: number): Promise<PlayResult> {
    await freshPage(HLS_JS_PATH);
    return browser.page.evaluate(
      ({ src, lowLatencyMode, seconds }) =>
        new Promise<PlayResult>((resolve) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const HlsCtor = (window as unknown as { Hls: any }).Hls;
          const video = document.createElement('video');
          video.muted = true;
          document.body.appendChild(video);
          const hls = new HlsCtor({ lowLatencyMode });
          let start: number | null = null;
          const latencies: number[] = [];
          hls.on(HlsCtor.Events.ERROR, (_e: string, data: { fatal?: boolean; type?: string; details?: string }) => {
            if (data.fatal) resolve({ played: 0, videoWidth: video.videoWidth, fatal: `${data.type}/${data.details}`, latency: null });
          });
          video.addEventListener('timeupdate', () => {
            if (start === null && video.currentTime > 0) start = video.currentTime;
            if (start !== null && Number.isFinite(hls.latency) && hls.latency > 0) latencies.push(hls.latency);
            if (start !== null && video.currentTime - start >= seconds) {
              latencies.sort((a, b) => a - b);
              const median = latencies.length ? latencies[latencies.length >> 1]! : null;
              resolve({ played: video.currentTime - start, videoWidth: video.videoWidth, fatal: null, latency: median });
            }
          });
          hls.loadSource(src);
          hls.attachMedia(video);
          void video.play().catch(() => undefined);
        }),
      { src, lowLatencyMode, seconds },
    );
  }

  async function playDash(src: string, lowLatency: boolean, seconds: number): Promise<PlayResult> {
    await freshPage(DASH_JS_PATH);
    return browser.page.evaluate(
      ({ src, lowLatency, seconds }) =>
        new Promise<PlayResult>((resolve) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const dashjs = (window as unknown as { dashjs: any }).dashjs;
          const video = document.createElement('video');
          video.muted = true;
          document.body.appendChild(video);
          const player = dashjs.MediaPlayer().create();
          // dash.js 5 turns low-latency mode on by itself from the MPD (chunked segments and the
          // ServiceDescription's latency target): both runs use its defaults; `lowLatency` only
          // names what is measured.
          void lowLatency;
          let start: number | null = null;
          const latencies: number[] = [];
          player.on(dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) => {
            resolve({ played: 0, videoWidth: video.videoWidth, fatal: `${e.error?.code}: ${e.error?.message}`, latency: null });
          });
          video.addEventListener('timeupdate', () => {
            if (start === null && video.currentTime > 0) start = video.currentTime;
            const l = player.getCurrentLiveLatency();
            if (start !== null && Number.isFinite(l) && l > 0) latencies.push(l);
            if (start !== null && video.currentTime - start >= seconds) {
              latencies.sort((a, b) => a - b);
              resolve({ played: video.currentTime - start, videoWidth: video.videoWidth, fatal: null, latency: latencies.length ? latencies[latencies.length >> 1]! : null });
            }
          });
          player.initialize(video, src, true);
        }),
      { src, lowLatency, seconds },
    );
  }

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
