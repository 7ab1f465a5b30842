/**
 * Level switching in real players: the ladder is on, a real ffmpeg publishes 720p30, and hls.js
 * and dash.js in headless Chromium are told to change rendition mid-playback and back. Renditions
 * cut at the same instants with the same numbers (ARCHITECTURE.md "Chunking is not muxing") are
 * what lets a player splice one into the other without stalling.
 *
 * hls.js: `hls.currentLevel = n` is an IMMEDIATE switch; hls.js flushes the whole video buffer
 * (stream-controller.ts immediateLevelSwitch: flushMainBuffer(0, +Infinity)), so one `waiting` while
 * the new level's first segment loads is hls.js's own doing. What the gateway must guarantee is the
 * part after it: once the new level renders, playback runs on with no stall for 3 s of media.
 * dash.js: with automatic video switching off, `setRepresentationForTypeByIndex`; it may replace
 * buffered media ahead on an up-switch, so the same rule: no `waiting` once the new rendition renders.
 * Every `waiting` (step, media buffered ahead) is logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { untilUpdate } from '../helpers/events.js';
import { committedFixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';

/** One forced switch, as seen by the page. */
interface SwitchResult {
  /** The level (hls.js) or representation index (dash.js) asked for. */
  target: number;
  targetHeight: number;
  /** Levels / representation indexes the player reported as switched to (rendered), in order. */
  switchedTo: number[];
  /** video.videoHeight once the switch rendered. */
  videoHeight: number;
  /** `waiting` events between asking and the new rendition rendering. */
  waitingDuringSwitch: number;
  /** `waiting` events from the new rendition rendering until `advanced` was reached. */
  waitingAfterSwitch: number;
  /** Media seconds played after the switch rendered. */
  advanced: number;
}

interface AbrRun {
  heights: number[];
  initial: number;
  initialHeight: number;
  switches: SwitchResult[];
  /** `waiting` events between playback start and the first switch request. */
  waitingBeforeSwitch: number;
  /** Every `waiting` event: during which step, and how much media was buffered ahead then. */
  waits: { phase: string; currentTime: number; ahead: number }[];
  fatal: string | null;
  /** Where it gave up, if it did (bounded wait ran out). */
  stuck: string | null;
}

/** Media seconds that must play on after each switch. */
const PLAY_AFTER_SWITCH = 3;

let gw: RunningGateway;
let browser: BrowserSession;
let publisher: Publisher;
let origin: string;

describe.runIf(browserAvailable)('ABR level switching in Chromium', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1 });
    origin = `http://127.0.0.1:${gw.httpPort}`;
    const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
    // What OBS sends by default: x264 with 3 B-frames (rung keyframes must land on its decode-order cuts).
    publisher = publish(committedFixture('bframes3-720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/abrswitch`, { loop: true });
    browser = await openBrowser();
    await live;
    const output = gw.outputs.get('live', 'abrswitch')!;
    // Every rung with three segments: a player can buffer on any level it is sent to.
    await untilUpdate(output.videos.get('src')!, () => {
      const rungs = [...output.videos.values()].filter((v) => v.id !== 'src');
      return rungs.length >= 1 && rungs.every((v) => v.segments.length >= 3);
    });
    const master = parseM3u8((await fetchText(`${origin}/live/abrswitch/index.m3u8`)).text);
    expect(master.playlists!.length).toBeGreaterThanOrEqual(2);
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  async function freshPage(script: string): Promise<void> {
    await browser.page.goto(`${origin}/healthz`);
    await browser.page.addScriptTag({ path: script });
  }

  it('hls.js switches level (hls.currentLevel) and back, without a stall after the switch', async () => {
    await freshPage(HLS_JS_PATH);
    const run = await browser.page.evaluate(
      ({ src, playAfter }) =>
        new Promise<AbrRun>((resolve) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const HlsCtor = (window as unknown as { Hls: any }).Hls;
          const video = document.createElement('video');
          video.muted = true;
          document.body.appendChild(video);
          const hls = new HlsCtor({ lowLatencyMode: false });
          const result: AbrRun = { heights: [], initial: -1, initialHeight: 0, switches: [], waitingBeforeSwitch: 0, waits: [], fatal: null, stuck: null };
          let waiting = 0;
          let switched: number[] = [];
          let phase = 'start';
          // Event-driven waits: every player/video event re-checks the pending condition.
          let pending: { check: () => boolean; done: () => void } | null = null;
          const poke = (): void => {
            if (pending && pending.check()) {
              const p = pending;
              pending = null;
              p.done();
            }
          };
          const until = (what: string, check: () => boolean): Promise<void> =>
            new Promise((done) => {
              phase = what;
              pending = { check, done };
              poke();
            });
          const finish = (): void => {
            hls.destroy();
            resolve(result);
          };
          // A bound, not a threshold: if a step never completes, report where it stuck.
          const guard = setTimeout(() => {
            result.stuck = `${phase} (currentTime ${video.currentTime.toFixed(2)}, videoHeight ${video.videoHeight}, level ${hls.currentLevel})`;
            finish();
          }, 70_000);
          hls.on(HlsCtor.Events.ERROR, (_e: string, data: { fatal?: boolean; type?: string; details?: string }) => {
            if (!data.fatal) return;
            result.fatal = `${data.type}/${data.details} during ${phase}`;
            clearTimeout(guard);
            finish();
          });
          hls.on(HlsCtor.Events.LEVEL_SWITCHED, (_e: string, data: { level: number }) => {
            switched.push(data.level);
            poke();
          });
          video.addEventListener('waiting', () => {
            waiting++;
            let ahead = 0;
            for (let i = 0; i < video.buffered.length; i++) {
              if (video.buffered.start(i) <= video.currentTime + 0.05 && video.buffered.end(i) > video.currentTime) ahead = video.buffered.end(i) - video.currentTime;
            }
            result.waits.push({ phase, currentTime: video.currentTime, ahead });
          });
          for (const ev of ['timeupdate', 'resize', 'playing']) video.addEventListener(ev, poke);

          const switchTo = async (target: number): Promise<void> => {
            const targetHeight = result.heights[target]!;
            switched = [];
            const waitingAtAsk = waiting;
            hls.currentLevel = target;
            await until(`switch to level ${target}`, () => switched.includes(target) && video.videoHeight === targetHeight && !video.paused && video.readyState >= 3);
            const waitingAtRender = waiting;
            const from = video.currentTime;
            await until(`play ${playAfter} s on level ${target}`, () => video.currentTime - from >= playAfter);
            result.switches.push({
              target,
              targetHeight,
              switchedTo: [...switched],
              videoHeight: video.videoHeight,
              waitingDuringSwitch: waitingAtRender - waitingAtAsk,
              waitingAfterSwitch: waiting - waitingAtRender,
              advanced: video.currentTime - from,
            });
          };

          void (async () => {
            await until('manifest', () => hls.levels.length >= 2);
            result.heights = hls.levels.map((l: { height: number }) => l.height);
            let startTime = -1;
            let waitingAtStart = 0;
            await until('playback start', () => {
              if (startTime < 0 && video.currentTime > 0 && video.videoHeight > 0) {
                startTime = video.currentTime;
                waitingAtStart = waiting;
              }
              return startTime >= 0 && video.currentTime - startTime >= 1;
            });
            result.waitingBeforeSwitch = waiting - waitingAtStart;
            result.initial = hls.currentLevel;
            result.initialHeight = video.videoHeight;
            // Go to the level whose height is furthest from what plays now, then back.
            let target = 0;
            result.heights.forEach((h, i) => {
              if (Math.abs(h - result.initialHeight) > Math.abs(result.heights[target]! - result.initialHeight)) target = i;
            });
            const back = result.heights.findIndex((h) => h === result.initialHeight);
            await switchTo(target);
            await switchTo(back);
            clearTimeout(guard);
            finish();
          })();
          hls.loadSource(src);
          hls.attachMedia(video);
          void video.play().catch(() => undefined);
        }),
      { src: `${origin}/live/abrswitch/index.m3u8`, playAfter: PLAY_AFTER_SWITCH },
    );
    console.log(`hls.js ABR switch: ${JSON.stringify(run)}`);
    expect(run.fatal).toBeNull();
    expect(run.stuck).toBeNull();
    expect(run.heights.length).toBeGreaterThanOrEqual(2);
    expect(run.switches).toHaveLength(2);
    const [away, back] = run.switches;
    expect(away!.targetHeight).not.toBe(run.initialHeight);
    expect(back!.targetHeight).toBe(run.initialHeight);
    expect(run.waitingBeforeSwitch).toBe(0);
    for (const s of run.switches) {
      expect(s.switchedTo).toContain(s.target);
      expect(s.videoHeight).toBe(s.targetHeight);
      expect(s.waitingAfterSwitch).toBe(0);
      expect(s.advanced).toBeGreaterThanOrEqual(PLAY_AFTER_SWITCH);
    }
  }, 100_000);

  it('dash.js switches representation (setRepresentationForTypeByIndex) and back, without a stall', async () => {
    await freshPage(DASH_JS_PATH);
    const run = await browser.page.evaluate(
      ({ src, playAfter }) =>
        new Promise<AbrRun>((resolve) => {
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          const dashjs = (window as unknown as { dashjs: any }).dashjs;
          const video = document.createElement('video');
          video.muted = true;
          document.body.appendChild(video);
          const player = dashjs.MediaPlayer().create();
          // A seamless switch appends the new rendition after what is buffered (no fast-switch
          // replacement of the buffer), from a few seconds behind the live edge: what a player that
          // promises no stall on a quality change would do. The test is about switching, not latency.
          player.updateSettings({
            streaming: {
              abr: { autoSwitchBitrate: { video: false } },
              buffer: { fastSwitchEnabled: false },
              delay: { liveDelay: 4 },
            },
          });
          const result: AbrRun = { heights: [], initial: -1, initialHeight: 0, switches: [], waitingBeforeSwitch: 0, waits: [], fatal: null, stuck: null };
          let waiting = 0;
          let switched: number[] = [];
          let reps: { id: string; height: number }[] = [];
          let phase = 'start';
          let pending: { check: () => boolean; done: () => void } | null = null;
          const poke = (): void => {
            if (pending && pending.check()) {
              const p = pending;
              pending = null;
              p.done();
            }
          };
          const until = (what: string, check: () => boolean): Promise<void> =>
            new Promise((done) => {
              phase = what;
              pending = { check, done };
              poke();
            });
          const finish = (): void => {
            player.destroy();
            resolve(result);
          };
          const guard = setTimeout(() => {
            result.stuck = `${phase} (currentTime ${video.currentTime.toFixed(2)}, videoHeight ${video.videoHeight})`;
            finish();
          }, 70_000);
          player.on(dashjs.MediaPlayer.events.ERROR, (e: { error?: { code?: number; message?: string } }) => {
            result.fatal = `${e.error?.code}: ${e.error?.message} during ${phase}`;
            clearTimeout(guard);
            finish();
          });
          player.on(dashjs.MediaPlayer.events.QUALITY_CHANGE_RENDERED, (e: { mediaType: string; newRepresentation: { id: string } }) => {
            if (e.mediaType !== 'video') return;
            switched.push(reps.findIndex((r) => r.id === e.newRepresentation.id));
            poke();
          });
          video.addEventListener('waiting', () => {
            waiting++;
            let ahead = 0;
            for (let i = 0; i < video.buffered.length; i++) {
              if (video.buffered.start(i) <= video.currentTime + 0.05 && video.buffered.end(i) > video.currentTime) ahead = video.buffered.end(i) - video.currentTime;
            }
            result.waits.push({ phase, currentTime: video.currentTime, ahead });
          });
          for (const ev of ['timeupdate', 'resize', 'playing']) video.addEventListener(ev, poke);

          const switchTo = async (target: number): Promise<void> => {
            const targetHeight = reps[target]!.height;
            switched = [];
            const waitingAtAsk = waiting;
            player.setRepresentationForTypeByIndex('video', target);
            await until(`switch to representation ${target}`, () => switched.includes(target) && video.videoHeight === targetHeight && !video.paused);
            const waitingAtRender = waiting;
            const from = video.currentTime;
            await until(`play ${playAfter} s on representation ${target}`, () => video.currentTime - from >= playAfter);
            result.switches.push({
              target,
              targetHeight,
              switchedTo: [...switched],
              videoHeight: video.videoHeight,
              waitingDuringSwitch: waitingAtRender - waitingAtAsk,
              waitingAfterSwitch: waiting - waitingAtRender,
              advanced: video.currentTime - from,
            });
          };

          void (async () => {
            let startTime = -1;
            let waitingAtStart = 0;
            await until('playback start', () => {
              if (startTime < 0 && video.currentTime > 0 && video.videoHeight > 0) {
                startTime = video.currentTime;
                waitingAtStart = waiting;
              }
              return startTime >= 0 && video.currentTime - startTime >= 1;
            });
            reps = (player.getRepresentationsByType('video') as { id: string; height: number }[]).map((r) => ({ id: r.id, height: r.height }));
            result.heights = reps.map((r) => r.height);
            result.waitingBeforeSwitch = waiting - waitingAtStart;
            const current = player.getCurrentRepresentationForType('video') as { id: string } | null;
            result.initial = reps.findIndex((r) => r.id === current?.id);
            result.initialHeight = video.videoHeight;
            let target = 0;
            result.heights.forEach((h, i) => {
              if (Math.abs(h - result.initialHeight) > Math.abs(result.heights[target]! - result.initialHeight)) target = i;
            });
            const back = result.initial;
            await switchTo(target);
            await switchTo(back);
            clearTimeout(guard);
            finish();
          })();
          player.initialize(video, src, true);
        }),
      { src: `${origin}/live/abrswitch/index.mpd`, playAfter: PLAY_AFTER_SWITCH },
    );
    console.log(`dash.js ABR switch: ${JSON.stringify(run)}`);
    expect(run.fatal).toBeNull();
    expect(run.stuck).toBeNull();
    expect(run.heights.length).toBeGreaterThanOrEqual(2);
    expect(run.initial).toBeGreaterThanOrEqual(0);
    expect(run.switches).toHaveLength(2);
    expect(run.switches[0]!.targetHeight).not.toBe(run.initialHeight);
    expect(run.switches[1]!.targetHeight).toBe(run.initialHeight);
    expect(run.waitingBeforeSwitch).toBe(0);
    for (const s of run.switches) {
      expect(s.switchedTo).toContain(s.target);
      expect(s.videoHeight).toBe(s.targetHeight);
      // Not asserted: `waitingDuringSwitch`. dash.js replaces buffered media ahead on an up-switch
      // (fast switching), and on a CPU-starved box the replacement can land late: seen once with
      // 0.1 s buffered while two transcoders ran next to Chromium. Logged above.
      expect(s.waitingAfterSwitch).toBe(0);
      expect(s.advanced).toBeGreaterThanOrEqual(PLAY_AFTER_SWITCH);
    }
  }, 100_000);
});
