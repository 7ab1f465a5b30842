/**
 * More real players in headless Chromium against a stream a real ffmpeg publishes: Shaka Player
 * (DASH and HLS) and Video.js with VHS (HLS and DASH), each measured the same way: media time
 * advances by at least N seconds with no error event, and the video element decodes frames
 * (getVideoPlaybackQuality). Then dash.js and Shaka across a publisher that is killed and
 * publishes again 3 s later (reconnect grace on: the MPD gets a second Period): no fatal error,
 * and playback continues past the join.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsoleMessage, Request as PlaywrightRequest, Response as PlaywrightResponse } from 'playwright-core';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, DASH_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';

const SHAKA_PATH = join(process.cwd(), 'node_modules/shaka-player/dist/shaka-player.compiled.js');
const VIDEOJS_PATH = join(process.cwd(), 'node_modules/video.js/dist/video.min.js');

type Kind = 'shaka' | 'videojs' | 'dashjs';

/** What the page reports: media time, decoded/dropped frames, errors (fatal first). */
interface Sample {
  currentTime: number;
  frames: number;
  dropped: number;
  width: number;
  fatal: string | null;
  errors: string[];
}

/**
 * In-page harness: starts a player on one <video>, records its errors, and answers "wait until
 * currentTime >= T (or a fatal error)" from the element's own timeupdate events.
 */
const HARNESS = `
window.__sg = { errors: [], fatal: null, wake: () => undefined, video: null, player: null };
window.__sgFail = (message, fatal) => {
  window.__sg.errors.push(String(message));
  if (fatal && !window.__sg.fatal) window.__sg.fatal = String(message);
  window.__sg.wake();
};
window.__sgSample = () => {
  const v = window.__sg.video;
  const q = v.getVideoPlaybackQuality();
  return { currentTime: v.currentTime, frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, width: v.videoWidth, fatal: window.__sg.fatal, errors: window.__sg.errors.slice() };
};
window.__sgUntil = (target) => new Promise((resolve) => {
  const v = window.__sg.video;
  const check = () => {
    const s = window.__sgSample();
    if (s.fatal || (v.currentTime > 0 && v.currentTime >= target)) {
      v.removeEventListener('timeupdate', check);
      window.__sg.wake = () => undefined;
      resolve(s);
    }
  };
  window.__sg.wake = check;
  v.addEventListener('timeupdate', check);
  check();
});
window.__sgStart = async (kind, src) => {
  const video = document.createElement('video');
  video.muted = true;
  document.body.appendChild(video);
  window.__sg.video = video;
  if (kind === 'shaka') {
    shaka.polyfill.installAll();
    const player = new shaka.Player();
    window.__sg.player = player;
    player.addEventListener('error', (e) => {
      const d = e.detail || {};
      window.__sgFail('shaka ' + d.code + ' severity ' + d.severity + ' ' + JSON.stringify(d.data || []).slice(0, 300), d.severity === 2);
    });
    await player.attach(video);
    try {
      await player.load(src);
    } catch (e) {
      window.__sgFail('shaka load ' + (e && e.code) + ' ' + JSON.stringify((e && e.data) || []).slice(0, 300), true);
    }
    video.play().catch(() => undefined);
  } else if (kind === 'videojs') {
    video.className = 'video-js';
    const player = videojs(video, { muted: true, autoplay: 'muted', html5: { vhs: { overrideNative: true }, nativeAudioTracks: false, nativeVideoTracks: false } });
    window.__sg.player = player;
    // VHS says only "no available working or supported playlists" once it has excluded the last
    // one: its reasons for excluding are kept for the failure message.
    window.__sg.excluded = [];
    player.on('error', () => {
      const e = player.error();
      const why = window.__sg.excluded.length ? ' (excluded: ' + window.__sg.excluded.join('; ') + ')' : '';
      window.__sgFail('videojs ' + (e && e.code) + ' ' + (e && e.message) + why, true);
    });
    player.src({ src, type: src.endsWith('.mpd') ? 'application/dash+xml' : 'application/x-mpegURL' });
    const hookExclusions = () => {
      const vhs = player.tech({ IWillNotUseThisInPlugins: true }).vhs;
      const pc = vhs && vhs.playlistController_;
      if (!pc || pc.__sgHooked) return;
      pc.__sgHooked = true;
      const exclude = pc.excludePlaylist.bind(pc);
      pc.excludePlaylist = (args) => {
        const error = (args && args.error) || {};
        window.__sg.excluded.push(JSON.stringify({ playlist: args && args.playlistToExclude && args.playlistToExclude.id, message: error.message, status: error.status, code: error.code }).slice(0, 400));
        return exclude(args);
      };
    };
    hookExclusions();
    player.on('loadstart', hookExclusions);
    // Video.js may have moved the element into its wrapper: it is still the one that plays.
    window.__sg.video = player.tech({ IWillNotUseThisInPlugins: true }).el();
  } else {
    const player = dashjs.MediaPlayer().create();
    window.__sg.player = player;
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => window.__sgFail('dash.js ' + (e.error && e.error.code) + ' ' + (e.error && e.error.message), true));
    // Autoplay: dash.js calls play() itself once it listens to the element (an earlier play()
    // would fire 'play' before it listens, and it would never start refreshing the MPD).
    player.initialize(video, src, true);
  }
};
`;

let gw: RunningGateway;
let browser: BrowserSession;
let publisher: Publisher;
let origin: string;
let rtmp: string;

describe.runIf(browserAvailable)('Shaka Player and Video.js in Chromium', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ reconnectGrace: 10 });
    origin = `http://127.0.0.1:${gw.httpPort}`;
    rtmp = `rtmp://127.0.0.1:${gw.rtmpPort}/live`;
    const live = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
    publisher = publish(await fixture('av720p30'), `${rtmp}/more`, { loop: true });
    browser = await openBrowser();
    await live;
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  async function start(kind: Kind, src: string): Promise<void> {
    const { page } = browser;
    await page.goto(`${origin}/healthz`);
    await page.addScriptTag({ path: kind === 'shaka' ? SHAKA_PATH : kind === 'videojs' ? VIDEOJS_PATH : DASH_JS_PATH });
    await page.addScriptTag({ content: HARNESS });
    await page.evaluate(({ kind, src }) => (window as unknown as { __sgStart: (k: string, s: string) => Promise<void> }).__sgStart(kind, src), { kind, src });
  }

  /** Resolves when the media time reached `target` seconds, or on a fatal error. */
  function until(target: number): Promise<Sample> {
    return browser.page.evaluate((t) => (window as unknown as { __sgUntil: (t: number) => Promise<Sample> }).__sgUntil(t), target);
  }

  /**
   * Plays `src` with `kind` until the media time advanced `seconds` past where it started.
   * `seen`: what the page saw go wrong on the way (HTTP answers >= 400, failed requests, the
   * player's console warnings and errors), for the failure message.
   */
  async function play(kind: Kind, src: string, seconds: number): Promise<{ first: Sample; last: Sample; seen: string[] }> {
    const { page } = browser;
    const seen: string[] = [];
    const onResponse = (r: PlaywrightResponse): void => {
      if (r.status() >= 400) seen.push(`${r.status()} ${r.url()}`);
    };
    const onFailed = (r: PlaywrightRequest): void => {
      seen.push(`failed ${r.url()}: ${r.failure()?.errorText ?? ''}`);
    };
    const onConsole = (m: ConsoleMessage): void => {
      if (m.type() === 'warning' || m.type() === 'error') seen.push(`console ${m.type()}: ${m.text().slice(0, 300)}`);
    };
    page.on('response', onResponse);
    page.on('requestfailed', onFailed);
    page.on('console', onConsole);
    try {
      await start(kind, src);
      let first = await until(Number.MIN_VALUE);
      // A player may start at the playlist's first time and then seek to the live edge: the media
      // time it "played" across that jump decoded nothing. Measure from the first decoded frame.
      while (!first.fatal && first.frames === 0) first = await until(first.currentTime + 0.1);
      if (first.fatal) return { first, last: first, seen };
      const last = await until(first.currentTime + seconds);
      return { first, last, seen };
    } finally {
      page.off('response', onResponse);
      page.off('requestfailed', onFailed);
      page.off('console', onConsole);
    }
  }

  function expectPlayed(r: { first: Sample; last: Sample; seen: string[] }, seconds: number, width = 1280): void {
    expect(r.last.fatal, r.seen.join('\n')).toBeNull();
    expect(r.last.errors).toEqual([]);
    expect(r.last.currentTime - r.first.currentTime).toBeGreaterThanOrEqual(seconds);
    expect(r.last.frames).toBeGreaterThan(r.first.frames);
    expect(r.last.width).toBe(width);
  }

  it('Shaka Player plays the MPD', async () => {
    const r = await play('shaka', `${origin}/live/more/index.mpd`, 6);
    expectPlayed(r, 6);
    console.log(`shaka dash: ${r.last.frames - r.first.frames} frames decoded, ${r.last.dropped} dropped`);
  }, 60_000);

  it('Shaka Player plays the HLS multivariant playlist', async () => {
    const r = await play('shaka', `${origin}/live/more/index.m3u8`, 6);
    expectPlayed(r, 6);
    console.log(`shaka hls: ${r.last.frames - r.first.frames} frames decoded, ${r.last.dropped} dropped`);
  }, 60_000);

  // One retry: in one CI run of many VHS excluded its only video playlist 2.5 s in ("no available
  // working or supported playlists"), and it has not happened again in 14 local runs. The first
  // attempt's failure (with VHS's exclusion reasons and the HTTP errors the page saw) is printed,
  // and a player that fails twice still fails the test.
  it('Video.js (VHS) plays the HLS multivariant playlist', { retry: 1, timeout: 60_000 }, async () => {
    const r = await play('videojs', `${origin}/live/more/index.m3u8`, 6);
    if (r.last.fatal) console.log(`video.js hls failed: ${r.last.fatal}; the page saw: ${JSON.stringify(r.seen)}`);
    expectPlayed(r, 6);
    console.log(`video.js hls: ${r.last.frames - r.first.frames} frames decoded, ${r.last.dropped} dropped`);
  });

  it('Video.js (VHS) plays the MPD', async () => {
    const r = await play('videojs', `${origin}/live/more/index.mpd`, 6);
    expectPlayed(r, 6);
    console.log(`video.js dash: ${r.last.frames - r.first.frames} frames decoded, ${r.last.dropped} dropped`);
  }, 60_000);

  /**
   * The publisher of `key` is killed after the player played a few seconds and publishes again
   * 3 s later: the player must carry on past the join (the second Period) without a fatal error.
   */
  async function acrossReconnect(kind: Kind, key: string): Promise<void> {
    const file = await fixture('av720p30');
    const url = `${rtmp}/${key}`;
    const live = new Promise<void>((resolve) => gw.streams.once('publish', (s) => s.key === key && resolve()));
    const first = publish(file, url, { loop: true });
    let second: Publisher | undefined;
    try {
      await live;
      const output = gw.outputs.get('live', key)!;
      const video = output.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 2 && output.audio.segments.length >= 2);
      await start(kind, `${origin}/live/${key}/index.mpd`);
      const started = await until(Number.MIN_VALUE);
      expect(started.fatal).toBeNull();
      const before = await until(started.currentTime + 3);
      expect(before.fatal).toBeNull();

      const gone = new Promise<void>((resolve) => gw.streams.once('unpublish', (s) => s.key === key && resolve()));
      first.process.kill('SIGKILL');
      await gone;
      // The deliberate gap of the scenario (not a synchronisation): back 3 s later.
      await new Promise((r) => setTimeout(r, 3000));
      const back = new Promise<void>((resolve) => gw.streams.once('publish', (s) => s.key === key && resolve()));
      second = publish(file, url, { loop: true });
      await back;
      expect(output.periodMarks).toHaveLength(2);
      // Where the second Period starts on the presentation timeline (media time + time away).
      await untilUpdate(video, () => video.segments.some((s) => s.discontinuity && s.startTime / s.timescale >= output.periodMarks[1]!.start - 0.001));
      const joinAt = output.periodMarks[1]!.start + output.periodMarks[1]!.offset;
      expect(joinAt).toBeGreaterThan(before.currentTime);

      const atJoin = await until(joinAt);
      expect(atJoin.fatal).toBeNull();
      const after = await until(joinAt + 6);
      console.log(`${kind} across the reconnect: join at ${joinAt.toFixed(3)} s, reached ${after.currentTime.toFixed(3)} s; errors: ${JSON.stringify(after.errors)}`);
      expect(after.fatal).toBeNull();
      expect(after.currentTime).toBeGreaterThanOrEqual(joinAt + 6);
      // Frames kept being decoded after the join.
      expect(after.frames).toBeGreaterThan(atJoin.frames);
    } finally {
      first.process.kill('SIGKILL');
      second?.process.kill('SIGKILL');
    }
  }

  it('dash.js plays across a publisher kill + republish (second Period)', async () => {
    await acrossReconnect('dashjs', 'again-dashjs');
  }, 90_000);

  it('Shaka Player plays across a publisher kill + republish (second Period)', async () => {
    await acrossReconnect('shaka', 'again-shaka');
  }, 90_000);
});
