/**
 * Closed captions end to end: a publisher sends H.264 with CEA-608 captions in its SEI (as OBS's
 * caption output and hardware encoders do). The media passes through untouched, the transcoded
 * rung keeps them (ffmpeg's decoder exports A/53 cc_data, libx264 writes it back), the
 * multivariant playlist declares them (EXT-X-MEDIA TYPE=CLOSED-CAPTIONS, INSTREAM-ID="CC1") and
 * the MPD carries the SCTE 214 Accessibility descriptor; hls.js and dash.js in Chromium show the
 * caption as a cue on the video element's text track.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { RunningGateway } from '../../src/gateway.js';
import { concatBytes } from '../../src/core/bytes.js';
import { browserAvailable, DASH_JS_PATH, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { publishFlvWithCaptions } from '../helpers/captions.js';
import type { ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { ffprobePath } from '../helpers/tools.js';

if (!browserAvailable && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 but no Chromium');

const CAPTION = 'HELLO CC';
const SUBTITLE = 'Hello subtitles';

/** Plays `url` and records every cue text that reaches the video element's text tracks. */
async function watchCues(page: Page, origin: string, kind: 'hls' | 'hls-ll' | 'dash', url: string): Promise<void> {
  await page.goto(`${origin}/healthz`);
  await page.addScriptTag({ path: kind === 'dash' ? DASH_JS_PATH : HLS_JS_PATH });
  await page.evaluate(
    ({ kind, url }) => {
      const state = { cues: [] as string[], tracks: [] as string[], errors: [] as string[], subtitleFiles: [] as string[] };
      (window as unknown as { __cc: typeof state }).__cc = state;
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      // Caption tracks start disabled (DEFAULT=NO): the viewer turns them on; cues then arrive.
      const enable = (): void => {
        for (const t of Array.from(video.textTracks)) {
          if (t.mode === 'disabled') t.mode = 'hidden';
          if (!state.tracks.includes(`${t.kind}:${t.label}`)) state.tracks.push(`${t.kind}:${t.label}`);
        }
      };
      video.textTracks.addEventListener('addtrack', enable);
      setInterval(() => {
        enable();
        for (const t of Array.from(video.textTracks)) {
          for (const c of Array.from(t.cues ?? [])) {
            const text = (c as VTTCue).text ?? '';
            if (!state.cues.includes(text)) state.cues.push(text);
          }
        }
      }, 100);
      const w = window as unknown as { Hls: any; dashjs: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (kind !== 'dash') {
        const hls = new w.Hls({ lowLatencyMode: kind === 'hls-ll' });
        hls.on(w.Hls.Events.ERROR, (_e: string, d: { fatal?: boolean; details?: string }) => d.fatal && state.errors.push(String(d.details)));
        // The WebVTT files (segments or LL-HLS parts) hls.js loaded for the subtitles.
        hls.on(w.Hls.Events.FRAG_LOADED, (_e: string, d: { frag: { type: string; url: string }; part?: { url: string } | null }) => {
          if (d.frag.type === 'subtitle') state.subtitleFiles.push((d.part?.url ?? d.frag.url).split('/').pop()!);
        });
        hls.loadSource(url);
        hls.attachMedia(video);
        void video.play().catch(() => undefined);
      } else {
        const player = w.dashjs.MediaPlayer().create();
        player.on(w.dashjs.MediaPlayer.events.ERROR, (e: { error?: { message?: string } }) => state.errors.push(String(e.error?.message)));
        player.initialize(video, url, true);
      }
    },
    { kind, url },
  );
}

describe.runIf(browserAvailable)('CEA-608 captions from the encoder to the players', () => {
  let gw: RunningGateway;
  let browser: BrowserSession;
  let publisher: ErtmpPublisher;
  const dir = mkdtempSync(join(tmpdir(), 'sg-cc-'));

  beforeAll(async () => {
    gw = await startTestGateway({ transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1 });
    const live = nextPublish(gw, 'cc');
    // And subtitles: the publisher's onTextData, twice per 10 s loop.
    publisher = await publishFlvWithCaptions(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/cc`, CAPTION, [
      { ms: 1000, values: ['onTextData', { text: SUBTITLE, language: 'eng' }] },
      { ms: 6000, values: ['onTextData', { text: SUBTITLE, language: 'eng' }] },
    ]);
    await live;
    const output = gw.outputs.get('live', 'cc')!;
    await untilUpdate(output.videos.get('src')!, () => [...output.videos.values()].some((v) => v.id !== 'src' && v.segments.length >= 2));
    browser = await openBrowser();
  }, 90_000);
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every rendition carries them and says so: CLOSED-CAPTIONS in the multivariant playlist, Accessibility in the MPD', async () => {
    const base = `http://127.0.0.1:${gw.httpPort}/live/cc`;
    const text = (await fetchText(`${base}/index.m3u8`)).text;
    expect(text).toMatch(/#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",DEFAULT=NO,AUTOSELECT=YES,INSTREAM-ID="CC1"/);
    const master = parseM3u8(text);
    expect(master.playlists!.length).toBeGreaterThanOrEqual(2);
    for (const variant of master.playlists!) {
      expect(variant.attributes['CLOSED-CAPTIONS'], variant.uri).toBe('cc');
      // The bytes say the same: ffmpeg finds A/53 captions in each rendition's frames.
      const playlist = parseM3u8((await fetchText(`${base}/${variant.uri}`)).text);
      const root = `${base}/${variant.uri.replace('index.m3u8', '')}`;
      const segment = playlist.segments[playlist.segments.length - 1]!;
      const file = join(dir, `${variant.uri.split('/')[0]}.mp4`);
      writeFileSync(file, concatBytes([(await fetchBytes(`${root}${segment.map!.uri}`)).bytes, (await fetchBytes(`${root}${segment.uri}`)).bytes]));
      const probe = spawnSync(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame_side_data=side_data_type', '-of', 'csv=p=0', file]);
      expect(String(probe.stdout), variant.uri).toContain('ATSC A53 Part 4 Closed Captions');
    }
    // onTextData: a WebVTT subtitles rendition in English, cut like the video.
    expect(text).toMatch(/#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="subtitles\/index.m3u8"/);
    for (const variant of master.playlists!) expect(variant.attributes['SUBTITLES'], variant.uri).toBe('subs');
    // The MPEG-TS multivariant playlist declares the same (TS carries the SEI too).
    const tsText = (await fetchText(`${base}/ts.m3u8`)).text;
    expect(tsText).toContain('#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",DEFAULT=NO,AUTOSELECT=YES,INSTREAM-ID="CC1"');
    expect(tsText).toContain('URI="subtitles/index.m3u8"');
    for (const variant of parseM3u8(tsText).playlists!) expect([variant.attributes['CLOSED-CAPTIONS'], variant.attributes['SUBTITLES']], variant.uri).toEqual(['cc', 'subs']);
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd).toContain('<Accessibility schemeIdUri="urn:scte:dash:cc:cea-608:2015" value="CC1=und"/>');
    // And the subtitles as a WebVTT-in-CMAF text AdaptationSet.
    expect(mpd).toMatch(/<AdaptationSet id="100" contentType="text" mimeType="application\/mp4" lang="en"[^>]*>/);
    expect(mpd).toMatch(/<Representation id="subtitles" bandwidth="1000" codecs="wvtt">/);
  });

  it('hls.js and dash.js show the caption on a text track; hls.js in low-latency mode shows the subtitles', async () => {
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    // hls.js in low-latency mode at the live edge shows no CEA-608 caption: hls.js (1.7,
    // timeline-controller onFragLoading) resets its 608 decoder on every part after a segment's
    // first, so a caption whose byte pairs span two parts is lost. Whole segments keep a caption
    // together, so hls.js is asked for captions without low-latency mode, and for the WebVTT
    // subtitles (WebVTT files per part, cut like the video's) with it. The README says so.
    const wantedBy = { hls: [CAPTION, SUBTITLE], 'hls-ll': [SUBTITLE], dash: [CAPTION, SUBTITLE] } as const;
    const pages = { hls: await browser.context.newPage(), 'hls-ll': await browser.context.newPage(), dash: await browser.context.newPage() };
    await watchCues(pages.hls, origin, 'hls', `${origin}/live/cc/index.m3u8`);
    await watchCues(pages['hls-ll'], origin, 'hls-ll', `${origin}/live/cc/index.m3u8`);
    await watchCues(pages.dash, origin, 'dash', `${origin}/live/cc/index.mpd`);
    for (const [kind, page] of Object.entries(pages)) {
      const wanted: readonly string[] = wantedBy[kind as keyof typeof wantedBy];
      await page
        .waitForFunction((texts) => texts.every((t) => (window as unknown as { __cc: { cues: string[] } }).__cc.cues.some((c) => c.includes(t))), wanted, { timeout: 30_000 })
        .catch(() => undefined);
      const state = await page.evaluate(() => (window as unknown as { __cc: { cues: string[]; tracks: string[]; errors: string[]; subtitleFiles: string[] } }).__cc);
      console.log(`${kind}: text tracks ${JSON.stringify(state.tracks)}, cues ${JSON.stringify(state.cues)}, subtitle files ${JSON.stringify(state.subtitleFiles.slice(-8))}`);
      // At the live edge an LL-HLS player plays inside the segment in progress: it gets the
      // subtitles from the parts' VTT files, as it gets the media (hls.js loads only where it plays).
      if (kind === 'hls-ll') expect(state.subtitleFiles.some((f) => /^vtt-[0-9a-z]+-\d+\.\d+\.vtt$/.test(f)), JSON.stringify(state.subtitleFiles)).toBe(true);
      expect(state.errors, kind).toEqual([]);
      for (const t of wanted) expect(state.cues.some((c) => c.includes(t)), `${kind} cues ${JSON.stringify(state.cues)}`).toBe(true);
    }
  }, 90_000);
});
