/**
 * DASH routes against a real express app on 127.0.0.1 (dashRoutes mounted before hlsRoutes, as
 * the gateway will), over a fabricated stream fed by hand: MPD readiness, 404s, and the LL-DASH
 * chunked delivery of the segment in progress. No sleeps: every step waits on an observable event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'mpd-parser';
import { dashRoutes } from '../../src/http/dash-routes.js';
import { hlsRoutes } from '../../src/http/hls-routes.js';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import type { OutputRegistry } from '../../src/packager/output-registry.js';
import type { StreamOutput } from '../../src/packager/stream-output.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { AUDIO_STEREO, PACKAGER, SESSION, VIDEO_720P, fabricateOutput, feedInit, feedSegment, feedStream, makePart, segmentOf } from '../packager/dash/fabricate.js';

/** Registries the routes look streams up in; each test installs its own. */
let current: OutputRegistry | undefined;
const outputs = {
  get: (app: string, key: string) => current?.get(app, key),
} as unknown as OutputRegistry;

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.set('etag', false);
  const options = { outputs, segmentDuration: PACKAGER.segmentDuration, partDuration: PACKAGER.partDuration, playlistWindow: PACKAGER.playlistWindow };
  app.use(dashRoutes(options));
  app.use(hlsRoutes({ ...options, cache: new SegmentCache(1 << 20) }));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
afterEach(() => {
  current?.close();
  current = undefined;
});

function stream(): StreamOutput {
  const { registry, output } = fabricateOutput();
  current = registry;
  return output;
}

/** Resolves once something new subscribed to the track's `event` (a request is now waiting on it). */
function subscribed(track: TrackOutput, event: 'update' | 'part', before: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (track.listenerCount(event) > before) resolve();
      else setImmediate(check);
    };
    check();
  });
}

interface Streamed {
  readonly res: IncomingMessage;
  /** Resolves when at least `n` body bytes arrived. */
  bytes(n: number): Promise<Uint8Array>;
  readonly done: Promise<{ body: Uint8Array; complete: boolean }>;
  abort(): void;
}

function get(path: string, method = 'GET'): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let waiters: Array<{ n: number; resolve: (b: Uint8Array) => void }> = [];
      const body = (): Uint8Array => new Uint8Array(Buffer.concat(chunks));
      res.on('data', (d: Buffer) => {
        chunks.push(d);
        const have = chunks.reduce((n, c) => n + c.length, 0);
        waiters = waiters.filter((w) => (have >= w.n ? (w.resolve(body()), false) : true));
      });
      const done = new Promise<{ body: Uint8Array; complete: boolean }>((resolveDone) => {
        res.on('end', () => resolveDone({ body: body(), complete: res.complete }));
        res.on('error', () => resolveDone({ body: body(), complete: false }));
        res.on('aborted', () => resolveDone({ body: body(), complete: false }));
      });
      resolve({
        res,
        done,
        abort: () => req.destroy(),
        bytes: (n) =>
          new Promise((r) => {
            if (chunks.reduce((k, c) => k + c.length, 0) >= n) r(body());
            else waiters.push({ n, resolve: r });
          }),
      });
    });
    req.end();
  });
}

async function text(path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

const STYP = buildSegmentHeader();

describe('GET /:app/:key/index.mpd', () => {
  it('serves the dynamic LL MPD with the request host in UTCTiming', async () => {
    feedStream(stream());
    const r = await text('/live/cam/index.mpd');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/dash+xml');
    expect(r.headers.get('cache-control')).toBe('max-age=0, s-maxage=1');
    expect(r.body).toContain(`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${base}/api/time"/>`);
    expect(r.body).toContain('availabilityTimeComplete="false"');
    const m = parse(r.body, { manifestUri: `${base}/live/cam/index.mpd`, NOW: Date.now() });
    expect(m.playlists[0]!.segments[0]!.resolvedUri).toBe(`${base}/live/cam/src/seg-${SESSION}-8.m4s`);
  });

  it('static and cacheable once ended', async () => {
    const output = stream();
    feedStream(output);
    output.close();
    const r = await text('/live/cam/index.mpd');
    expect(r.body).toContain('type="static"');
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
  });

  it('404 for unknown streams and invalid names', async () => {
    feedStream(stream());
    expect((await text('/live/nope/index.mpd')).status).toBe(404);
    expect((await text('/live/..%2F..%2Fetc/index.mpd')).status).toBe(404);
    expect((await text('/.hidden/cam/index.mpd')).status).toBe(404);
  });

  it('a first request waits for the first segments of every track', async () => {
    const output = stream();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    feedInit(output.audio, AUDIO_STEREO);
    const before = video.listenerCount('update');
    const pending = text('/live/cam/index.mpd');
    await subscribed(video, 'update', before);
    feedSegment(video, { sequence: 0, startTime: 0, duration: 180_000, timescale: 90_000 });
    feedSegment(output.audio, { sequence: 0, startTime: 0, duration: 96_000, timescale: 48_000 });
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body).toContain('contentType="audio"');
    expect(r.body).toContain('contentType="video"');
  });
});

describe('LL-DASH: the segment in progress over chunked transfer', () => {
  it('styp + parts so far, then each new part, ending with the segment', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    // Other outputs (MPEG-TS) listen to parts too: count only what this route adds.
    const partListenersAtStart = video.listenerCount('part');
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    const opts = { sequence: n, startTime: start, duration: 180_000, timescale: 90_000 };
    const parts = [0, 1, 2, 3].map((i) => makePart(video, n, i, start + i * 45_000, 45_000, 90_000, 300 + i));
    video.onPart(parts[0]!);
    video.onPart(parts[1]!);

    const s = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`);
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers['transfer-encoding']).toBe('chunked');
    expect(s.res.headers['content-length']).toBeUndefined();
    expect(s.res.headers['content-type']).toBe('video/iso.segment');
    const prefix = concat([STYP, parts[0]!.bytes, parts[1]!.bytes]);
    expect(await s.bytes(prefix.length)).toEqual(prefix);

    video.onPart(parts[2]!);
    const more = concat([STYP, parts[0]!.bytes, parts[1]!.bytes, parts[2]!.bytes]);
    expect(await s.bytes(more.length)).toEqual(more);

    video.onPart(parts[3]!);
    const segment = segmentOf(parts, opts);
    video.onSegment(segment);
    const { body, complete } = await s.done;
    expect(complete).toBe(true);
    expect(body).toEqual(concat(segment.chunks));
    // The same URL, now complete, comes from the HLS file route with a length.
    const again = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`);
    expect(again.res.headers['content-length']).toBe(String(segment.byteLength));
    expect((await again.done).body).toEqual(concat(segment.chunks));
    expect(video.listenerCount('part')).toBe(partListenersAtStart);
  });

  it('the segment after the open one waits for it to start', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    const openParts = feedSegment(video, { sequence: n, startTime: start, duration: 180_000, timescale: 90_000, parts: 2, open: true });

    const before = video.listenerCount('update');
    const pending = get(`/live/cam/src/seg-${SESSION}-${n + 1}.m4s`);
    await subscribed(video, 'update', before);
    video.onSegment(segmentOf(openParts, { sequence: n, startTime: start, duration: 180_000, timescale: 90_000 }));
    const s = await pending;
    expect(s.res.headers['transfer-encoding']).toBe('chunked');
    expect(await s.bytes(STYP.length)).toEqual(STYP);
    const next = feedSegment(video, { sequence: n + 1, startTime: start + 180_000, duration: 180_000, timescale: 90_000, parts: 3 });
    const { body, complete } = await s.done;
    expect(complete).toBe(true);
    expect(body).toEqual(concat([STYP, ...next.map((p) => p.bytes)]));
  });

  it('HEAD answers headers only; a client that leaves is unsubscribed', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    // Other outputs (MPEG-TS) listen to parts too: count only what this route adds.
    const partListenersAtStart = video.listenerCount('part');
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    feedSegment(video, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000, parts: 1, open: true });

    const head = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`, 'HEAD');
    expect(head.res.statusCode).toBe(200);
    expect((await head.done).body.length).toBe(0);

    const s = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`);
    await s.bytes(STYP.length + 100);
    expect(video.listenerCount('part')).toBe(partListenersAtStart + 1);
    const closed = new Promise<void>((resolve) => s.res.on('close', () => resolve()));
    s.abort();
    await closed;
    // The server sees the close on its next turn; the next part event finds nobody listening.
    await new Promise<void>((resolve) => {
      const check = (): void => (video.listenerCount('part') === partListenersAtStart ? resolve() : void setImmediate(check));
      check();
    });
    video.onPart(makePart(video, n, 1, start + 45_000, 45_000, 90_000));
  });

  it('other sessions, old numbers and far-ahead numbers fall through (404 here)', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const n = video.openSequence!;
    expect((await text(`/live/cam/src/seg-zz-${n}.m4s`)).status).toBe(404);
    expect((await text(`/live/cam/src/seg-${SESSION}-${n + 2}.m4s`)).status).toBe(404);
    expect((await text(`/live/cam/src/seg-${SESSION}-1.m4s`)).status).toBe(404);
    expect((await text(`/live/cam/nope/seg-${SESSION}-${n}.m4s`)).status).toBe(404);
  });

  it('the stream ending finishes the response', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    const parts = feedSegment(video, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000, parts: 1, open: true });
    const s = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`);
    await s.bytes(STYP.length + parts[0]!.bytes.length);
    video.onSegment(segmentOf(parts, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000 }));
    output.close();
    const { complete, body } = await s.done;
    expect(complete).toBe(true);
    expect(body).toEqual(concat([STYP, parts[0]!.bytes]));
  });
});

describe('$Time$-addressed segments (a Representation whose timeline has a gap)', () => {
  it('every URL of an MPD with a gapped rung is 200 with that segment; gaps and unknown times are 404', async () => {
    const output = stream();
    feedStream(output, { audio: false, durations: [180_000, 180_000, 180_000, 180_000] });
    const rung = output.addVideoRendition('360p', { subscribe: () => () => undefined });
    feedInit(rung, { ...VIDEO_720P, width: 640, height: 360 });
    const segments = new Map<number, Uint8Array>();
    for (let sequence = 5; sequence <= 8; sequence++) {
      const start = (10 + (sequence - 5) * 2) * 90_000;
      if (sequence === 6) {
        rung.addGap(sequence, start, 180_000, 90_000);
        continue;
      }
      const parts = feedSegment(rung, { sequence, startTime: start, duration: 180_000, timescale: 90_000 });
      segments.set(sequence, concat([STYP, ...parts.map((p) => p.bytes)]));
    }
    const mpd = (await text('/live/cam/index.mpd')).body;
    expect(mpd).toContain(`media="$RepresentationID$/seg-${SESSION}-t$Time$.m4s"`);
    const m = parse(mpd, { manifestUri: `${base}/live/cam/index.mpd`, NOW: Date.now() });
    const rungPlaylist = m.playlists.find((p) => p.attributes.NAME === '360p')!;
    // LL: the last S of each Representation is the segment in progress (no part yet here).
    const complete = (p: typeof rungPlaylist): typeof rungPlaylist.segments => p.segments.slice(0, -1);
    expect(rungPlaylist.segments[rungPlaylist.segments.length - 1]!.resolvedUri).toBe(`${base}/live/cam/360p/seg-${SESSION}-t${18 * 90_000}.m4s`);
    const listed: number[] = [];
    for (const s of complete(rungPlaylist)) {
      const r = await fetch(s.resolvedUri);
      expect(r.status, s.resolvedUri).toBe(200);
      const body = new Uint8Array(await r.arrayBuffer());
      const sequence = [...segments].find(([, bytes]) => Buffer.compare(Buffer.from(bytes), Buffer.from(body)) === 0)?.[0];
      expect(sequence, s.resolvedUri).toBeDefined();
      listed.push(sequence!);
    }
    expect(listed).toEqual([5, 7, 8]);
    for (const p of m.playlists) for (const s of complete(p)) expect((await fetch(s.resolvedUri)).status, s.resolvedUri).toBe(200);
    expect((await text(`/live/cam/360p/seg-${SESSION}-t${12 * 90_000}.m4s`)).status).toBe(404);
    expect((await text(`/live/cam/360p/seg-${SESSION}-t123.m4s`)).status).toBe(404);
    expect((await text(`/live/cam/360p/seg-zz-t${10 * 90_000}.m4s`)).status).toBe(404);
  });

  it('the segment in progress by its time is the chunked in-progress response', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    const parts = feedSegment(video, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000, parts: 1, open: true });
    const s = await get(`/live/cam/src/seg-${SESSION}-t${start}.m4s`);
    expect(s.res.headers['content-length']).toBeUndefined();
    await s.bytes(STYP.length + parts[0]!.bytes.length);
    video.onSegment(segmentOf(parts, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000 }));
    const { complete, body } = await s.done;
    expect(complete).toBe(true);
    expect(body).toEqual(concat([STYP, parts[0]!.bytes]));
  });
});

describe('in-progress segments across a reconnect', () => {
  it('while the publisher is away nothing is streamed; a part of another init ends the response unfinished', async () => {
    const output = stream();
    feedStream(output, { audio: false });
    const video = output.videos.get('src')!;
    const n = video.openSequence!;
    const start = video.lastSegment!.startTime + video.lastSegment!.durationTicks;
    feedSegment(video, { sequence: n, startTime: start, duration: 90_000, timescale: 90_000, parts: 1, open: true });
    const s = await get(`/live/cam/src/seg-${SESSION}-${n}.m4s`);
    await s.bytes(STYP.length + 1);
    // The reconnected session's media (a new init) must not continue this segment.
    feedInit(video, VIDEO_720P, 1);
    video.onPart({ ...makePart(video, n, 1, start + 45_000, 45_000, 90_000), initId: 1 });
    const { complete } = await s.done;
    expect(complete).toBe(false);

    output.suspend();
    expect((await text(`/live/cam/src/seg-${SESSION}-${video.openSequence!}.m4s`)).status).toBe(404);
  });
});
