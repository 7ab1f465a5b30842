/**
 * A publisher that drops and comes back within the grace window: the playlists go on (media
 * sequence keeps counting, a DISCONTINUITY marks the join, timestamps never go backwards), and
 * hls.js keeps playing across it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { untilUpdate, within } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';

let gw: RunningGateway;
let base: string;
let rtmpUrl: string;
let first: Publisher | undefined;
let second: Publisher | undefined;
let browser: BrowserSession | undefined;

beforeAll(async () => {
  gw = await startTestGateway({ reconnectGrace: 10 });
});
afterAll(async () => {
  first?.process.kill('SIGKILL');
  second?.process.kill('SIGKILL');
  await browser?.close();
  await gw?.stop();
});

describe('publisher reconnect', () => {
  // One retry, each attempt on a stream key of its own (a real browser on a loaded CI box). In
  // about 1 full run in 6, hls.js stalls after the join with no error: readyState 1, its playhead
  // in the fragments it loads while video.buffered stays at the join. The dropped publish used
  // to leave one track up to 0.2 s shorter than the other; the tracks now end together (checked
  // below), but the stall was seen once more after that. The failure detail gives each
  // SourceBuffer's ranges and the fragments each track buffered, to find which track stops. The
  // one seen on 2026-12-03 was the audio track: it stopped loading 1.3 s into playback, before
  // the join (sn 2 part 7, a 0.1 s hole in its SourceBuffer), while video went on; the server's
  // audio parts were continuous (tfdt) in 6 runs of the same fixture, and 37 players opened the
  // same way did not stall. The detail now also gives hls.js's stream controllers' states and the
  // audio parts requested. The first attempt's failure is printed; a failure in both still fails
  // the test.
  let attempt = 0;
  /** The next `event` of this attempt's stream (a former attempt's publisher may still be leaving). */
  const untilStream = (event: 'publish' | 'unpublish', key: string): Promise<void> =>
    new Promise((resolve) => {
      const on = (stream: { key: string }): void => {
        if (stream.key !== key) return;
        gw.streams.off(event, on);
        resolve();
      };
      gw.streams.on(event, on);
    });
  it('continues the playlists across a publisher that is killed and publishes again 3 s later', { retry: 1, timeout: 150_000 }, async () => {
    attempt++;
    const key = `comeback${attempt}`;
    first?.process.kill('SIGKILL');
    second?.process.kill('SIGKILL');
    await browser?.close();
    browser = undefined;
    base = `http://127.0.0.1:${gw.httpPort}/live/${key}`;
    rtmpUrl = `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`;
    const file = await fixture('av720p30');
    const live = untilStream('publish', key);
    first = publish(file, rtmpUrl, { loop: true });
    await within(live, 20_000, () => `the first publisher's publish (ffmpeg exit ${first?.process.exitCode})`);
    const output = gw.outputs.get('live', key)!;
    const video = output.videos.get('src')!;
    await within(untilUpdate(video, () => video.segments.length >= 2), 30_000, () => `two segments; ${video.segments.length} so far`);

    // A player in Chromium plays across the join.
    type Played = { advanced: number; fatal: string | null; detail: string };
    let played: Promise<Played> | undefined;
    if (browserAvailable) {
      browser = await openBrowser();
      await browser.page.goto(`http://127.0.0.1:${gw.httpPort}/healthz`);
      await browser.page.addScriptTag({ path: HLS_JS_PATH });
      played = browser.page.evaluate(
        (src) =>
          new Promise<Played>((resolve) => {
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            const HlsCtor = (window as unknown as { Hls: any }).Hls;
            const video = document.createElement('video');
            video.muted = true;
            document.body.appendChild(video);
            const hls = new HlsCtor();
            let start: number | null = null;
            // What the player did, for the failure message when it neither errs nor advances:
            // errors and seeks; per track type, the fragments it buffered (parts of one fragment
            // collapsed) and its SourceBuffer's ranges (video.buffered is only their overlap).
            const notes: string[] = [];
            const t0 = performance.now();
            const frags: Record<string, string[]> = {};
            const sourceBuffers: Record<string, string> = {};
            let lastLevel = '';
            const rangesOf = (r: TimeRanges): string => Array.from({ length: r.length }, (_, i) => `${r.start(i).toFixed(2)}-${r.end(i).toFixed(2)}`).join(' ');
            const advanced = (): number => (start === null ? 0 : video.currentTime - start);
            const detail = (): string =>
              `currentTime ${video.currentTime.toFixed(2)}, readyState ${video.readyState}, buffered [${rangesOf(video.buffered)}], ` +
              `source buffers ${JSON.stringify(sourceBuffers)}, level ${lastLevel}, notes ${notes.slice(-12).join('; ')}, ` +
              `fragments ${Object.entries(frags).map(([type, list]) => `${type}: ${list.slice(-8).join(' ')}`).join(' | ')}, ` +
              `audio loads ${audioLoads.slice(-8).join(' ')}, controllers ${controllers()}`;
            // Where each of hls.js's stream controllers stands (state, fragment and part in hand):
            // the stall seen so far had the audio track stop loading near its start.
            const controllers = (): string =>
              (['streamController', 'audioStreamController'] as const)
                .map((name) => {
                  const c = (hls as Record<string, { state?: string; fragCurrent?: { sn?: number | string }; partCurrent?: { index?: number } } | undefined>)[name];
                  return `${name} ${c?.state ?? '?'} ${c?.fragCurrent?.sn ?? '-'}.${c?.partCurrent?.index ?? '-'}`;
                })
                .join('; ');
            const audioLoads: string[] = [];
            hls.on(HlsCtor.Events.FRAG_LOADING, (_e: string, d: { frag: { sn: number | string; type: string }; part?: { index: number } | null }) => {
              if (d.frag.type === 'audio') audioLoads.push(`${d.frag.sn}.${d.part?.index ?? '-'}@${((performance.now() - t0) / 1000).toFixed(1)}s`);
              if (audioLoads.length > 40) audioLoads.shift();
            });
            hls.on(HlsCtor.Events.ERROR, (_e: string, d: { fatal?: boolean; details?: string; error?: Error; reason?: string; url?: string }) => {
              notes.push(`${d.fatal ? 'FATAL ' : ''}${d.details}`);
              if (d.fatal) resolve({ advanced: advanced(), fatal: `${d.details}: ${d.error?.message ?? d.reason ?? ''} ${d.url ?? ''}`, detail: detail() });
            });
            // The media playlist as hls.js placed it (sn/cc@start+duration of its last fragments).
            hls.on(HlsCtor.Events.LEVEL_UPDATED, (_e: string, d: { details: { fragments: { sn: number; cc: number; start: number; duration: number }[] } }) => {
              lastLevel = d.details.fragments.slice(-5).map((f) => `${f.sn}/cc${f.cc}@${f.start.toFixed(2)}+${f.duration.toFixed(2)}`).join(' ');
            });
            video.addEventListener('seeking', () => notes.push(`seeking to ${video.currentTime.toFixed(2)} (liveSync ${Number(hls.liveSyncPosition).toFixed(2)})`));
            hls.on(HlsCtor.Events.FRAG_BUFFERED, (_e: string, d: { frag: { sn: number | string; cc: number; type: string; start: number }; part?: { index: number } | null }) => {
              const list = (frags[d.frag.type] ??= []);
              const name = `${d.frag.sn}/cc${d.frag.cc}@${d.frag.start.toFixed(2)}`;
              const last = list[list.length - 1];
              if (last?.startsWith(`${name}`)) list[list.length - 1] = `${name}.${d.part?.index ?? '-'}`;
              else list.push(`${name}.${d.part?.index ?? '-'}`);
            });
            hls.on(HlsCtor.Events.BUFFER_APPENDED, (_e: string, d: { timeRanges?: Record<string, TimeRanges | undefined> }) => {
              for (const [type, r] of Object.entries(d.timeRanges ?? {})) if (r) sourceBuffers[type] = rangesOf(r);
            });
            video.addEventListener('timeupdate', () => {
              if (start === null && video.currentTime > 0) start = video.currentTime;
              // Far enough to have crossed the join (the stream was cut ~3 s into playback).
              if (start !== null && video.currentTime - start >= 12) resolve({ advanced: advanced(), fatal: null, detail: detail() });
            });
            // Bounded: a player that stalls without an error reports where it stood.
            setTimeout(() => resolve({ advanced: advanced(), fatal: 'no error, but playback stopped advancing', detail: detail() }), 60_000);
            hls.loadSource(src);
            hls.attachMedia(video);
            void video.play().catch(() => undefined);
          }),
        `${base}/index.m3u8`,
      );
      // An attempt that fails before it awaits the player closes the browser under it.
      played = played.catch((e: unknown) => ({ advanced: 0, fatal: `the page went away: ${String(e)}`, detail: '' }));
    }

    const before = parseM3u8((await fetchText(`${base}/src/index.m3u8`)).text);
    const lastBefore = before.mediaSequence! + before.segments.length - 1;
    const gone = untilStream('unpublish', key);
    first.process.kill('SIGKILL');
    await within(gone, 20_000, () => 'the unpublish of the killed publisher');
    expect(output.suspendedAt).toBeDefined();
    expect(parseM3u8((await fetchText(`${base}/src/index.m3u8`)).text).endList).toBeFalsy();
    // The deliberate gap of the scenario (not a synchronisation): back 3 s later.
    await new Promise((r) => setTimeout(r, 3000));
    const back = untilStream('publish', key);
    second = publish(file, rtmpUrl, { loop: true });
    await within(back, 20_000, () => `the second publisher's publish (ffmpeg exit ${second?.process.exitCode})`);
    expect(gw.outputs.get('live', key)).toBe(output);
    await within(
      untilUpdate(video, () => video.segments.some((s) => s.discontinuity) && video.segments.length >= 4 && video.segments[video.segments.length - 1]!.discontinuity === false),
      30_000,
      () => `a segment after the join; segments ${JSON.stringify(video.segments.map((s) => [s.sequence, s.discontinuity]))}`,
    );

    const text = (await fetchText(`${base}/src/index.m3u8`)).text;
    const after = parseM3u8(text);
    expect(text).toContain('#EXT-X-DISCONTINUITY');
    expect(after.endList).toBeFalsy();
    // Media sequence numbers keep counting: no number reused, none skipped.
    const firstSeq = after.mediaSequence!;
    expect(firstSeq + after.segments.length - 1).toBeGreaterThan(lastBefore);
    const seqs = video.segments.map((s) => s.sequence);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    // Timestamps go on across the join with no overlap, and with no hole beyond the one the new
    // publish brings itself: the tracks of the dropped publish end together (a hole of 0.13 s in
    // the track the drop had cut short stalled hls.js at the join: its maxBufferHole is 0.1 s),
    // and the new publish starts there. Its first frame lands on the join, so the other track
    // starts as far behind as in the file, audio at its first frame from the video's start.
    const source = (await probe(file)).streams;
    const startOf = (type: string): number => Number(source.find((s) => s.codec_type === type)!.start_time);
    const ownHole = Math.abs(startOf('audio') - startOf('video')) + 1024 / 48000;
    for (const [kind, track] of [['video', video], ['audio', output.audio]] as const) {
      const segments = track.segments;
      const joined = segments.findIndex((s, i) => i > 0 && s.discontinuity);
      expect(joined, `${kind}: a discontinuity in ${JSON.stringify(segments.map((s) => [s.sequence, s.discontinuity]))}`).toBeGreaterThan(0);
      for (let i = 1; i < segments.length; i++) {
        const prev = segments[i - 1]!;
        const hole = (segments[i]!.startTime - (prev.startTime + prev.durationTicks)) / prev.timescale;
        const allowed = i === joined ? ownHole : 0;
        const where = `${kind} segment ${segments[i]!.sequence}${i === joined ? ' (the join)' : ''}: ${(hole * 1000).toFixed(1)} ms after the previous one's end`;
        expect(hole, where).toBeGreaterThan(-0.002);
        expect(hole, where).toBeLessThan(allowed + 0.002);
      }
    }
    const audio = parseM3u8((await fetchText(`${base}/audio/index.m3u8`)).text);
    expect(audio.segments.some((s) => s.discontinuity)).toBe(true);
    // Every listed segment, across the join, decodes.
    const whole = await downloadRendition(`${base}/src/index.m3u8`);
    expect(await decodeErrors(whole.file)).toBe('');

    if (played) {
      const r = await played;
      if (r.fatal !== null || r.advanced < 12) console.log(`reconnect attempt ${attempt}: hls.js ${r.fatal ?? 'advanced too little'}: ${r.detail}`);
      expect(r.fatal, r.detail).toBeNull();
      expect(r.advanced, r.detail).toBeGreaterThanOrEqual(12);
    }
  });

  it('ends the playlists when the publisher does not come back within the grace window', async () => {
    const gw2 = await startTestGateway({ reconnectGrace: 1 });
    try {
      const ended = new Promise<void>((resolve) => gw2.streams.once('unpublish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw2.rtmpPort}/live/once`, { realtime: false });
      await p.done;
      await ended;
      const output = gw2.outputs.get('live', 'once')!;
      expect(output.ended).toBe(false);
      await untilUpdate(output.videos.get('src')!, () => output.ended);
      expect(parseM3u8((await fetchText(`http://127.0.0.1:${gw2.httpPort}/live/once/src/index.m3u8`)).text).endList).toBe(true);
    } finally {
      await gw2.stop();
    }
  });
});
