/**
 * The subtitles rendition's routes (src/http/hls-routes.ts) on 127.0.0.1 over a fabricated
 * stream: the LL-HLS subtitles playlist's blocking reload is held until the video part it names
 * exists, the preload-hinted part's WebVTT file likewise, and each part's file holds the text of
 * that part's media time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hlsRoutes } from '../../src/http/hls-routes.js';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { fromAmfCuePoint } from '../../src/metadata/timed-event.js';
import { vttFileName } from '../../src/packager/hls/subtitles.js';
import type { OutputRegistry } from '../../src/packager/output-registry.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { PACKAGER, fabricateOutput, feedSegment, feedStream, segmentOf, FIRST_SEQUENCE, FIRST_START_SECONDS, VIDEO_DURATIONS } from '../packager/dash/fabricate.js';

let current: OutputRegistry | undefined;
const outputs = { get: (app: string, key: string) => current?.get(app, key) } as unknown as OutputRegistry;
let base = '';
let server: Server;

beforeAll(async () => {
  const app = express();
  app.use(hlsRoutes({ outputs, segmentDuration: PACKAGER.segmentDuration, partDuration: PACKAGER.partDuration, playlistWindow: PACKAGER.playlistWindow, cache: new SegmentCache(1 << 20) }));
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/live/cam/subtitles`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
afterEach(() => {
  current?.close();
  current = undefined;
});

/** Resolves once a request waits on `track` (a listener on its updates). */
function untilWaiting(track: TrackOutput): Promise<void> {
  return new Promise<void>((resolve) => {
    const check = (): void => (track.listenerCount('update') > 0 ? resolve() : void setImmediate(check));
    check();
  });
}

describe('LL-HLS subtitles routes', () => {
  it('a blocking reload and the hinted part are held until the video has that part; the part file holds its text', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const next = FIRST_SEQUENCE + VIDEO_DURATIONS.length;
    const start = VIDEO_DURATIONS.reduce((a, b) => a + b, 0) + FIRST_START_SECONDS * 90_000;
    // A text 0.6 s into the segment about to begin: in its part 1 (parts of 0.5 s).
    output.addTimedEvent(fromAmfCuePoint('onTextData', { text: 'at the edge', language: 'eng' }, start / 90_000 + 0.6));

    const playlist = fetch(`${base}/index.m3u8?_HLS_msn=${next}&_HLS_part=1`);
    await untilWaiting(video);
    const parts = feedSegment(video, { sequence: next, startTime: start, duration: 180_000, timescale: 90_000, parts: 4, open: true });
    const listed = await playlist;
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(text).toContain(`URI="${vttFileName(output.session, next, 1)}"`);
    // Answered inside the event that listed part 1: the hint names part 2.
    expect(text).toContain(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${vttFileName(output.session, next, 2)}"`);

    const hinted = fetch(`${base}/${vttFileName(output.session, next, 4)}`);
    await untilWaiting(video);
    // The segment closes where the hint pointed, and the next one begins: the hinted name is its first part.
    video.onSegment(segmentOf(parts, { sequence: next, startTime: start, duration: 180_000, timescale: 90_000 }));
    output.addTimedEvent(fromAmfCuePoint('onTextData', { text: 'next segment', language: 'eng' }, start / 90_000 + 2.1));
    feedSegment(video, { sequence: next + 1, startTime: start + 180_000, duration: 180_000, timescale: 90_000, parts: 1, open: true });
    const hintedAnswer = await hinted;
    expect(hintedAnswer.status).toBe(200);
    expect(await hintedAnswer.text()).toContain('next segment');

    const part1 = await fetch(`${base}/${vttFileName(output.session, next, 1)}`);
    expect(part1.status).toBe(200);
    expect(part1.headers.get('content-type')).toMatch(/^text\/vtt/);
    expect(await part1.text()).toContain('at the edge');
    const part0 = await (await fetch(`${base}/${vttFileName(output.session, next, 0)}`)).text();
    expect(part0).not.toContain('at the edge');
    expect((await fetch(`${base}/${vttFileName(output.session, next + 5, 0)}`)).status).toBe(404);
    expect((await fetch(`${base}/${vttFileName('other', next, 0)}`)).status).toBe(404);
  });
});
