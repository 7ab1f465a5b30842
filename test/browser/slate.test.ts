/**
 * Stay on air, watched: a live encoder is killed for 8 s and comes back. hls.js (LL-HLS) and
 * dash.js (LL-DASH), in headless Chromium with their default settings, keep playing the slate in
 * between with no stall longer than one segment and no error, and play on into the live picture
 * after the republish (both joins are a discontinuity / a new Period).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { nextPublish, startTestGateway } from '../helpers/gateway.js';
import { untilSourceSegments } from '../helpers/events.js';
import { ffmpegPath } from '../helpers/tools.js';

if (!browserAvailable && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 but no Chromium');

const AWAY_MS = 8000;
const SEGMENT_SECONDS = 2;

interface WatchState {
  ct: number;
  playing: boolean;
  errors: string[];
  /** Stalls (waiting → playing) after playback began, seconds; an open one counts up to now. */
  stalls: number[];
}

/** A live encoder, as OBS is (a looped file has seams players see as holes). */
function liveEncoder(url: string): ChildProcess {
  return spawn('timeout', ['-k', '5', '120', ffmpegPath(), '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-b:v', '800k', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url], { stdio: 'ignore', detached: true });
}

/** Kills the encoder and its `timeout` wrapper: their process group (SIGKILL to `timeout` alone leaves ffmpeg running). */
function killEncoder(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts a player in `page` that records its state in window.__watch. */
async function watch(page: Page, origin: string, kind: 'hls' | 'dash', url: string): Promise<void> {
  await page.goto(`${origin}/healthz`);
  await page.addScriptTag({ path: kind === 'hls' ? HLS_JS_PATH : DASH_JS_PATH });
  await page.evaluate(
    ({ kind, url }) => {
      const state = { ct: 0, playing: false, errors: [] as string[], stalls: [] as number[] };
      (window as unknown as { __watch: typeof state }).__watch = state;
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      const w = window as unknown as { Hls: any; dashjs: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (kind === 'hls') {
        const hls = new w.Hls({ lowLatencyMode: true });
        hls.on(w.Hls.Events.ERROR, (_e: string, d: { fatal?: boolean; details?: string }) => d.fatal && state.errors.push(String(d.details)));
        hls.loadSource(url);
        hls.attachMedia(video);
        void video.play().catch(() => undefined);
      } else {
        // dash.js starts playback itself (autoplay): an early play() would hide it from dash.js.
        const player = w.dashjs.MediaPlayer().create();
        player.on(w.dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) => state.errors.push(`${e.error?.code}: ${e.error?.message}`));
        player.initialize(video, url, true);
      }
      let waitingAt: number | undefined;
      video.addEventListener('waiting', () => {
        // From the first 'waiting' to 'playing' (players may fire 'waiting' more than once in a stall).
        if (state.playing && waitingAt === undefined) waitingAt = performance.now();
      });
      video.addEventListener('playing', () => {
        state.playing = true;
        if (waitingAt !== undefined) state.stalls.push((performance.now() - waitingAt) / 1000);
        waitingAt = undefined;
      });
      video.addEventListener('timeupdate', () => {
        state.ct = video.currentTime;
      });
      // A stall still open when the test looks is reported as it stands.
      (window as unknown as { __openStall: () => number }).__openStall = () => (waitingAt === undefined ? 0 : (performance.now() - waitingAt) / 1000);
    },
    { kind, url },
  );
}

async function stateOf(page: Page): Promise<WatchState & { open: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { __watch: WatchState; __openStall: () => number };
    return { ...w.__watch, open: w.__openStall() };
  });
}

describe.runIf(browserAvailable)('stay on air, watched: hls.js and dash.js across an 8 s publisher outage', () => {
  let gw: RunningGateway;
  let browser: BrowserSession;
  let encoder: ChildProcess | undefined;

  beforeAll(async () => {
    gw = await startTestGateway({ slate: true, reconnectGrace: 30 });
    browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    killEncoder(encoder);
    await browser?.close();
    await gw?.stop();
  });

  // One retry, on a stream key of its own: hls.js stalls now and then when a publish takes over
  // at the live edge (the same stall as test/e2e/reconnect.test.ts, an open defect). It failed
  // once in a clean-clone CI rehearsal (a 5.0 s stall, 7.98 s of the 8 s played) and passed in
  // every other run. The first attempt's figures are printed; a failure in both fails the test.
  let attempt = 0;
  let previousPages: Page[] = [];
  it('no stall longer than a segment, no error, the slate in between, the live picture after', { retry: 1, timeout: 120_000 }, async () => {
    attempt++;
    const key = `onair${attempt}`;
    killEncoder(encoder);
    for (const page of previousPages.splice(0)) await page.close().catch(() => undefined);
    const url = `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`;
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    const live = nextPublish(gw, key);
    encoder = liveEncoder(url);
    await live;
    await untilSourceSegments(gw, key, 2);
    const pages = { hls: await browser.context.newPage(), dash: await browser.context.newPage() };
    previousPages = Object.values(pages);
    await watch(pages.hls, origin, 'hls', `${origin}/live/${key}/index.m3u8`);
    await watch(pages.dash, origin, 'dash', `${origin}/live/${key}/index.mpd`);
    for (const page of Object.values(pages)) await page.waitForFunction(() => (window as unknown as { __watch: WatchState }).__watch.ct > 1, undefined, { timeout: 30_000 });

    // The publisher is gone for 8 s: the slate stands in at once.
    const slateOn = nextPublish(gw, key);
    const before = { hls: (await stateOf(pages.hls)).ct, dash: (await stateOf(pages.dash)).ct };
    killEncoder(encoder);
    const slate = await slateOn;
    expect(slate.preempt).toBeDefined();
    await new Promise((r) => setTimeout(r, AWAY_MS));
    const away = { hls: (await stateOf(pages.hls)).ct, dash: (await stateOf(pages.dash)).ct };

    // Back: the publisher takes over; the players go on into its media.
    const back = nextPublish(gw, key);
    encoder = liveEncoder(url);
    const again = await back;
    const video = gw.outputs.get('live', key)!.videos.get('src')!;
    // The first segment of the new publish (its init follows the slate's), in media seconds.
    const slateInit = video.segments[video.segments.length - 1]!.initId;
    let join = 0;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const first = video.segments.find((s) => s.initId > slateInit);
        if (first) {
          join = first.startTime / first.timescale;
          video.off('update', check);
          resolve();
        }
      };
      video.on('update', check);
      check();
    });
    expect(again.preempt).toBeUndefined();
    for (const page of Object.values(pages)) {
      await page.waitForFunction((t) => (window as unknown as { __watch: WatchState }).__watch.ct > t, join + 3, { timeout: 30_000 });
    }

    for (const [kind, page] of Object.entries(pages) as ['hls' | 'dash', Page][]) {
      const s = await stateOf(page);
      expect(s.errors, kind).toEqual([]);
      // Playback went on through the outage (8 s away: all of it played but at most one segment's
      // stall), and past the join.
      expect(away[kind] - before[kind], `${kind} played while the publisher was away`).toBeGreaterThanOrEqual(AWAY_MS / 1000 - SEGMENT_SECONDS);
      expect(s.ct, kind).toBeGreaterThan(join + 3);
      const longest = Math.max(0, s.open, ...s.stalls);
      console.log(`slate ${kind}: played ${(away[kind] - before[kind]).toFixed(2)} s of the 8 s away, stalls ${JSON.stringify(s.stalls.map((x) => Number(x.toFixed(2))))}`);
      expect(longest, `${kind} stalls ${JSON.stringify(s.stalls)}`).toBeLessThanOrEqual(SEGMENT_SECONDS);
    }
  });
});
