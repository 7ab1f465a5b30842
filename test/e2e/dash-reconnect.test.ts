/**
 * DASH across a publisher reconnect: ffmpeg publishes, is killed, publishes the same key again
 * 3 s later (reconnect grace on). The MPD then has two Periods (a new init segment, the media
 * timeline continuing, the second Period placed after the time away), with stable AdaptationSet
 * ids; every segment and init URL it lists answers 200, and each Period's media decodes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'mpd-parser';
import type { RunningGateway } from '../../src/gateway.js';
import { parseMpdRepresentation, expandTemplate } from '../../src/latency/manifests.js';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { decodeErrors } from '../helpers/media-check.js';

let gw: RunningGateway;
let base: string;
let rtmpUrl: string;
let first: Publisher | undefined;
let second: Publisher | undefined;

beforeAll(async () => {
  gw = await startTestGateway({ reconnectGrace: 10 });
  base = `http://127.0.0.1:${gw.httpPort}/live/dashback`;
  rtmpUrl = `rtmp://127.0.0.1:${gw.rtmpPort}/live/dashback`;
});
afterAll(async () => {
  first?.process.kill('SIGKILL');
  second?.process.kill('SIGKILL');
  await gw?.stop();
});

describe('DASH across a publisher reconnect', () => {
  it('two Periods after a kill + republish 3 s later; every listed URL is 200; each Period decodes', async () => {
    const file = await fixture('av720p30');
    const live = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
    first = publish(file, rtmpUrl, { loop: true });
    await live;
    const output = gw.outputs.get('live', 'dashback')!;
    const video = output.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 2 && output.audio.segments.length >= 2);
    const beforeText = (await fetchText(`${base}/index.mpd`)).text;
    expect(beforeText.match(/<Period\b/g)).toHaveLength(1);

    const gone = new Promise<void>((resolve) => gw.streams.once('unpublish', () => resolve()));
    first.process.kill('SIGKILL');
    await gone;
    // The deliberate gap of the scenario (not a synchronisation): back 3 s later.
    await new Promise((r) => setTimeout(r, 3000));
    const back = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
    second = publish(file, rtmpUrl, { loop: true });
    await back;
    expect(gw.outputs.get('live', 'dashback')).toBe(output);
    expect(output.periodMarks).toHaveLength(2);
    const joinAt = output.periodMarks[1]!.start;
    const after = (t: { segments: { startTime: number; timescale: number }[] }): number => t.segments.filter((s) => s.startTime / s.timescale >= joinAt - 0.001).length;
    await untilUpdate(video, () => after(video) >= 2 && after(output.audio) >= 2);

    const res = await fetchText(`${base}/index.mpd`);
    expect(res.status).toBe(200);
    const text = res.text;
    const periods = [...text.matchAll(/<Period\b[^>]*\bid="([^"]+)"[^>]*\bstart="([^"]+)"/g)].map((m) => ({ id: m[1]!, start: m[2]! }));
    expect(periods).toHaveLength(2);
    expect(new Set(periods.map((p) => p.id)).size).toBe(2);
    // Each Period: both AdaptationSets with the same ids, its own init.
    for (const chunk of text.split(/<Period\b/).slice(1)) {
      expect([...chunk.matchAll(/<AdaptationSet\b[^>]*\bid="(\d+)"/g)].map((m) => m[1])).toEqual(['0', '1']);
    }
    const own0 = parseMpdRepresentation(text, 'src', 0)!;
    const own1 = parseMpdRepresentation(text, 'src', 1)!;
    expect(own0.initialization).not.toBe(own1.initialization);
    // The media timeline continues (presentationTimeOffset = where the old media ended), and
    // Period 2 starts the wall-clock time the publisher was away after Period 1's media ended,
    // so availabilityStartTime + presentation time stays the time media was produced at.
    const mark = output.periodMarks[1]!;
    expect(mark.offset).toBeGreaterThan(0);
    const last0 = own0.segments[own0.segments.length - 1]!;
    const end0 = own0.periodStart + (last0.t + last0.d - own0.presentationTimeOffset) / own0.timescale;
    expect(own1.presentationTimeOffset / own1.timescale).toBeCloseTo(joinAt, 2);
    expect(Math.abs(last0.t + last0.d - own1.presentationTimeOffset)).toBeLessThanOrEqual(Math.ceil(own1.timescale / 1000));
    expect(own1.periodStart - end0).toBeCloseTo(mark.offset, 2);
    const first1 = own1.segments[0]!;
    expect(own1.periodStart + (first1.t - own1.presentationTimeOffset) / own1.timescale).toBeGreaterThanOrEqual(own1.periodStart);

    // mpd-parser sees every segment of both Periods, a discontinuity at the join; all answer 200.
    const m = parse(text, { manifestUri: `${base}/index.mpd`, NOW: Date.now() });
    const audioGroup = Object.values(Object.values(m.mediaGroups.AUDIO)[0]!)[0]!;
    const playlists = [...m.playlists, ...audioGroup.playlists];
    expect(playlists).toHaveLength(2);
    const urls = new Set<string>();
    for (const p of playlists) {
      expect(p.segments.some((s) => (s as unknown as { discontinuity?: boolean }).discontinuity)).toBe(true);
      for (const s of p.segments) {
        urls.add(s.resolvedUri);
        if (s.map?.resolvedUri) urls.add(s.map.resolvedUri);
      }
    }
    for (const url of urls) {
      const r = await fetchBytes(url);
      expect(r.status, url).toBe(200);
      expect(r.bytes.byteLength, url).toBeGreaterThan(0);
    }

    // Each Period's src media (its init + its complete segments) decodes.
    const dir = mkdtempSync(join(tmpdir(), 'sg-dash-reconnect-'));
    for (const [k, info] of [own0, own1].entries()) {
      const init = await fetchBytes(new URL(info.initialization, `${base}/index.mpd`).href);
      const chunks = [init.bytes];
      const complete = info.segments.filter((s) => video.segments.some((v) => v.startTime === s.t));
      expect(complete.length).toBeGreaterThan(0);
      for (const s of complete) chunks.push((await fetchBytes(new URL(expandTemplate(info.media, s), `${base}/index.mpd`).href)).bytes);
      const path = join(dir, `period-${k}.mp4`);
      writeFileSync(path, Buffer.concat(chunks));
      expect(await decodeErrors(path)).toBe('');
    }
  }, 90_000);
});
