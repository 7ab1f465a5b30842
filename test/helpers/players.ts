/**
 * hls.js and dash.js in a headless Chromium page: play a URL until some seconds of media have
 * advanced, or a fatal error. The page is loaded from `origin` (any URL there that answers), so
 * the players' requests are same-origin or CORS like a real page's.
 */
import { DASH_JS_PATH, HLS_JS_PATH, type BrowserSession } from './browser.js';

export interface PlayResult {
  played: number;
  videoWidth: number;
  fatal: string | null;
  latency: number | null;
}

async function freshPage(browser: BrowserSession, origin: string, script: string): Promise<void> {
  const { page } = browser;
  await page.goto(`${origin}/healthz`);
  await page.addScriptTag({ path: script });
}

/** Plays with hls.js until `seconds` of media advanced; resolves early on a fatal error. */
export async function playHlsIn(browser: BrowserSession, origin: string, src: string, lowLatencyMode: boolean, seconds: number): Promise<PlayResult> {
  await freshPage(browser, origin, HLS_JS_PATH);
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

export async function playDashIn(browser: BrowserSession, origin: string, src: string, lowLatency: boolean, seconds: number): Promise<PlayResult> {
  await freshPage(browser, origin, DASH_JS_PATH);
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
