/** hls.js in headless Chromium plays what a real ffmpeg publishes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';

declare const Hls: {
  new (config?: Record<string, unknown>): {
    loadSource(url: string): void;
    attachMedia(video: HTMLVideoElement): void;
    on(event: string, cb: (event: string, data: { fatal?: boolean; details?: string; type?: string }) => void): void;
    latency: number;
  };
  Events: Record<string, string>;
};

interface PlayResult {
  currentTime: number;
  videoWidth: number;
  fatal: string | null;
}

let gw: RunningGateway;
let browser: BrowserSession;
let publisher: Publisher;

describe.runIf(browserAvailable)('hls.js in Chromium', () => {
  beforeAll(async () => {
    gw = await startTestGateway();
    const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/browser`, { loop: true });
    // Loop the fixture so the stream stays live for as long as the test needs.
    browser = await openBrowser();
    await live;
  }, 60_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  it('plays the multivariant playlist: time advances 4 s, picture has a size, no fatal error', async () => {
    const { page } = browser;
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    await page.goto(`${origin}/healthz`);
    await page.addScriptTag({ path: HLS_JS_PATH });
    const result = await page.evaluate(
      (src) =>
        new Promise<PlayResult>((resolve) => {
          const video = document.createElement('video');
          video.muted = true;
          document.body.appendChild(video);
          const hls = new Hls({ lowLatencyMode: false });
          let fatal: string | null = null;
          let start: number | null = null;
          hls.on(Hls.Events.ERROR, (_e, data) => {
            if (data.fatal) {
              fatal = `${data.type}/${data.details}`;
              resolve({ currentTime: video.currentTime, videoWidth: video.videoWidth, fatal });
            }
          });
          video.addEventListener('timeupdate', () => {
            if (start === null && video.currentTime > 0) start = video.currentTime;
            if (start !== null && video.currentTime - start >= 4) {
              resolve({ currentTime: video.currentTime - start, videoWidth: video.videoWidth, fatal });
            }
          });
          hls.loadSource(src);
          hls.attachMedia(video);
          void video.play().catch(() => undefined);
        }),
      `${origin}/live/browser/index.m3u8`,
    );
    expect(result.fatal).toBeNull();
    expect(result.currentTime).toBeGreaterThanOrEqual(4);
    expect(result.videoWidth).toBe(1280);
  }, 60_000);
});
