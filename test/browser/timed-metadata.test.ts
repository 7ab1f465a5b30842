/**
 * Timed metadata, watched: events inserted through `POST /api/streams/APP/KEY/metadata` while
 * hls.js and dash.js play in headless Chromium reach them as players report metadata — hls.js
 * lists the EXT-X-DATERANGE in its level details and parses the emsg ID3 (FRAG_PARSING_METADATA);
 * dash.js dispatches the MPD EventStream event to a listener of the ID3 scheme.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilSourceSegments } from '../helpers/events.js';
import { numericEventId } from '../../src/metadata/timed-event.js';

if (!browserAvailable && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 but no Chromium');

interface Seen {
  dateRanges: string[];
  id3: string[];
  dashEvents: string[];
}

describe.runIf(browserAvailable)('timed metadata in hls.js and dash.js', () => {
  let gw: RunningGateway;
  let browser: BrowserSession;
  let publisher: Publisher;

  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, 'meta');
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/meta`, { loop: true });
    await live;
    await untilSourceSegments(gw, 'meta', 2);
    browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  it('hls.js: the DATERANGE and the emsg ID3 (CMAF) and the ID3 PES (MPEG-TS); dash.js: the EventStream event', async () => {
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    const hlsPage = await browser.context.newPage();
    const tsPage = await browser.context.newPage();
    const dashPage = await browser.context.newPage();
    for (const [page, lib] of [[hlsPage, HLS_JS_PATH], [tsPage, HLS_JS_PATH], [dashPage, DASH_JS_PATH]] as const) {
      await page.goto(`${origin}/healthz`);
      await page.addScriptTag({ path: lib });
    }
    const watchHls = (url: string): void => {
      const seen = { dateRanges: [] as string[], id3: [] as string[], dashEvents: [] as string[] };
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      const H = (window as unknown as { Hls: any }).Hls; // eslint-disable-line @typescript-eslint/no-explicit-any
      const hls = new H({ lowLatencyMode: true });
      hls.on(H.Events.LEVEL_UPDATED, (_e: string, d: { details: { dateRanges: Record<string, unknown> } }) => {
        for (const id of Object.keys(d.details.dateRanges ?? {})) if (!seen.dateRanges.includes(id)) seen.dateRanges.push(id);
      });
      hls.on(H.Events.FRAG_PARSING_METADATA, (_e: string, d: { samples: { data: Uint8Array }[] }) => {
        for (const s of d.samples) seen.id3.push(new TextDecoder().decode(s.data).replace(/[^\x20-\x7e]/g, '.'));
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      void video.play().catch(() => undefined);
    };
    await hlsPage.evaluate(watchHls, `${origin}/live/meta/index.m3u8`);
    await tsPage.evaluate(watchHls, `${origin}/live/meta/ts.m3u8`);
    await dashPage.evaluate((url) => {
      const seen = { dateRanges: [] as string[], id3: [] as string[], dashEvents: [] as string[] };
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      const dashjs = (window as unknown as { dashjs: any }).dashjs; // eslint-disable-line @typescript-eslint/no-explicit-any
      const player = dashjs.MediaPlayer().create();
      // onReceive: told as soon as the MPD carrying the event is read.
      player.on('https://aomedia.org/emsg/ID3', (e: { event: { id: string } }) => seen.dashEvents.push(String(e.event.id)), null, { mode: dashjs.MediaPlayer.events.EVENT_MODE_ON_RECEIVE });
      player.initialize(video, url, true);
    }, `${origin}/live/meta/index.mpd`);
    for (const page of [hlsPage, tsPage, dashPage]) await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 30_000 });

    const res = await fetch(`${origin}/api/streams/live/meta/metadata`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'Goal!', id: 'goal-1' }) });
    expect(res.status).toBe(202);
    const seen = async (page: typeof hlsPage): Promise<Seen> => page.evaluate(() => (window as unknown as { __seen: Seen }).__seen);
    await hlsPage.waitForFunction(() => {
      const s = (window as unknown as { __seen: Seen }).__seen;
      return s.dateRanges.includes('goal-1') && s.id3.some((t) => t.includes('Goal!'));
    }, undefined, { timeout: 20_000 });
    // MPEG-TS: the ID3 tag in its own PES stream (stream_type 0x15), which hls.js parses.
    await tsPage.waitForFunction(() => (window as unknown as { __seen: Seen }).__seen.id3.some((t) => t.includes('Goal!')), undefined, { timeout: 20_000 });
    // DASH Event@id is a number: the event id's (metadata/timed-event.ts numericEventId).
    const dashId = String(numericEventId({ id: 'goal-1' }));
    await dashPage.waitForFunction((id) => (window as unknown as { __seen: Seen }).__seen.dashEvents.includes(id), dashId, { timeout: 20_000 });
    expect((await seen(hlsPage)).dateRanges).toContain('goal-1');
    expect((await seen(hlsPage)).id3.join(' ')).toContain('Goal!');
    expect((await seen(dashPage)).dashEvents).toContain(dashId);
  }, 90_000);
});
