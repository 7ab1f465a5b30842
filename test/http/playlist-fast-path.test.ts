/**
 * The playlist fast path (src/http/playlist-fast-path.ts) beside the express routes it stands in
 * for, on 127.0.0.1 over a fabricated stream: the same bodies and headers, blocking reloads held
 * until their part exists, the rate limit's 429 (as express's limiter writes it), and everything
 * it does not own (waits for first media, bad or other parameters) left to express.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashRoutes } from '../../src/http/dash-routes.js';
import { hlsRoutes } from '../../src/http/hls-routes.js';
import { servePlaylistFast, type PlaylistFastPathOptions } from '../../src/http/playlist-fast-path.js';
import { PlaylistRateLimiter } from '../../src/http/rate-limit.js';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import type { ObservedRequest } from '../../src/observe/viewers.js';
import { classifyPath, type RequestKind } from '../../src/observe/request-kind.js';
import type { OutputRegistry } from '../../src/packager/output-registry.js';
import { PACKAGER, fabricateOutput, feedSegment, feedStream, FIRST_SEQUENCE, VIDEO_DURATIONS } from '../packager/dash/fabricate.js';

let current: OutputRegistry | undefined;
const outputs = { get: (app: string, key: string) => current?.get(app, key) } as unknown as OutputRegistry;
const answered: string[] = [];
const observed: ObservedRequest[] = [];
const observedKinds: [string, RequestKind][] = [];
let limiter = new PlaylistRateLimiter({ perSecond: 0, burst: 0 });
let fastBase = '';
let expressBase = '';
const servers: Server[] = [];

function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  const options = { outputs, segmentDuration: PACKAGER.segmentDuration, partDuration: PACKAGER.partDuration, playlistWindow: PACKAGER.playlistWindow };
  const app = express();
  app.set('etag', false);
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Expose-Headers', 'Content-Length, ETag, Date');
    next();
  });
  app.use((req, res, next) => limiter.middleware()(req, res, next));
  app.use(dashRoutes(options));
  app.use(hlsRoutes({ ...options, cache: new SegmentCache(1 << 20) }));
  const fast: PlaylistFastPathOptions = {
    ...options,
    corsOrigin: '*',
    get rateLimiter() {
      return limiter;
    },
    observe: (r, kind) => {
      observed.push(r);
      observedKinds.push([r.path, kind]);
    },
    onAnswered: (route, status) => answered.push(`${route} ${status}`),
  };
  fastBase = await listen((req, res) => {
    if (!servePlaylistFast(fast, req, res)) {
      answered.push(`express ${req.url}`);
      app(req, res);
    }
  });
  expressBase = await listen(app);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});
afterEach(() => {
  current?.close();
  current = undefined;
  answered.length = 0;
  observed.length = 0;
  observedKinds.length = 0;
  limiter = new PlaylistRateLimiter({ perSecond: 0, burst: 0 });
});

const HEADERS = ['content-type', 'cache-control', 'vary', 'access-control-allow-origin', 'content-length'];

async function both(path: string): Promise<{ fast: Response; slow: Response; fastText: string; slowText: string }> {
  const fast = await fetch(fastBase + path);
  const slow = await fetch(expressBase + path);
  return { fast, slow, fastText: await fast.text(), slowText: await slow.text() };
}

describe('playlist fast path', () => {
  it('answers media playlists and the MPD exactly as the express routes do, observed and counted', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output);
    for (const path of ['/live/cam/src/index.m3u8', '/live/cam/audio/index.m3u8', `/live/cam/src/index.m3u8?_HLS_msn=${FIRST_SEQUENCE + 2}&_HLS_part=1`, '/live/cam/src/index.m3u8?_HLS_skip=YES']) {
      const r = await both(path);
      expect(r.fast.status, path).toBe(200);
      expect(r.fastText, path).toBe(r.slowText);
      for (const h of HEADERS) expect(r.fast.headers.get(h), `${path} ${h}`).toBe(r.slow.headers.get(h));
    }
    // The MPD names /api/time on the host the client used, and the instant it was made: the two
    // servers differ only there.
    const mpd = await both('/live/cam/index.mpd');
    expect(mpd.fast.status).toBe(200);
    const same = (text: string, base: string): string => text.replaceAll(base, 'HOST').replace(/publishTime="[^"]+"/, '');
    expect(same(mpd.fastText, fastBase)).toBe(same(mpd.slowText, expressBase));
    for (const h of HEADERS.filter((x) => x !== 'content-length')) expect(mpd.fast.headers.get(h), h).toBe(mpd.slow.headers.get(h));
    expect(answered).toEqual(['media 200', 'media 200', 'media 200', 'media 200', 'mpd 200']);
    expect(observed.map((o) => [o.path, o.query])).toEqual([
      ['/live/cam/src/index.m3u8', {}],
      ['/live/cam/audio/index.m3u8', {}],
      ['/live/cam/src/index.m3u8', { _HLS_msn: String(FIRST_SEQUENCE + 2), _HLS_part: '1' }],
      ['/live/cam/src/index.m3u8', { _HLS_skip: 'YES' }],
      ['/live/cam/index.mpd', {}],
    ]);
    // The kind the fast path hands over is what classifyPath makes of the path (it is not parsed twice).
    expect(observedKinds).toHaveLength(5);
    for (const [path, kind] of observedKinds) expect(kind, path).toStrictEqual(classifyPath(path));
  });

  it('while the publisher is away, a blocking reload is answered with the playlist as it is, uncacheable (not a 503 after 3 target durations)', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output);
    output.suspend();
    const next = FIRST_SEQUENCE + VIDEO_DURATIONS.length;
    for (const base of [fastBase, expressBase]) {
      const r = await fetch(`${base}/live/cam/src/index.m3u8?_HLS_msn=${next}&_HLS_part=1`);
      expect(r.status, base).toBe(200);
      expect(r.headers.get('cache-control'), base).toBe('no-store');
      expect(await r.text()).not.toContain(`-${next}.1.m4s`);
    }
  });

  it('tells a proxy (X-Forwarded-For), and only a proxy, that a live listing may be served a second stale', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output);
    for (const base of [fastBase, expressBase]) {
      for (const path of ['/live/cam/src/index.m3u8', '/live/cam/index.mpd', '/live/cam/index.m3u8']) {
        const direct = await fetch(base + path);
        const proxied = await fetch(base + path, { headers: { 'X-Forwarded-For': '192.0.2.1' } });
        expect(direct.headers.get('cache-control'), `${base}${path}`).toBe('max-age=0, s-maxage=1');
        expect(proxied.headers.get('cache-control'), `${base}${path}`).toBe('max-age=0, s-maxage=1, stale-while-revalidate=1');
      }
      // A blocking reload is one fixed answer: never stale, proxy or not.
      const blocking = await fetch(`${base}/live/cam/src/index.m3u8?_HLS_msn=${FIRST_SEQUENCE + 2}&_HLS_part=1`, { headers: { 'X-Forwarded-For': '192.0.2.1' } });
      expect(blocking.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    }
  });

  it('holds a blocking reload until its part is listed, then answers inside that event', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output);
    const video = output.videos.get('src')!;
    const next = FIRST_SEQUENCE + VIDEO_DURATIONS.length;
    const pending = fetch(`${fastBase}/live/cam/src/index.m3u8?_HLS_msn=${next}&_HLS_part=1`);
    await new Promise<void>((resolve) => {
      const check = (): void => (video.listenerCount('update') > 0 ? resolve() : void setImmediate(check));
      check();
    });
    expect(answered).toEqual([]);
    const start = VIDEO_DURATIONS.reduce((a, b) => a + b, 0) + 10 * 90_000;
    feedSegment(video, { sequence: next, startTime: start, duration: 180_000, timescale: 90_000, open: true });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`part-${output.session}-${next}.1.m4s`);
    expect(answered).toEqual(['media 200']);
  });

  it('leaves to express what it does not own: first-media waits, bad or unknown parameters, HEAD', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    const status = async (path: string, init?: RequestInit): Promise<number> => (await fetch(fastBase + path, init)).status;
    // No media yet: express holds the request (and answers 404 when it never comes); only check it went there.
    expect(await status('/live/nope/src/index.m3u8')).toBe(404);
    feedStream(output);
    expect(await status('/live/cam/src/index.m3u8?_HLS_part=1')).toBe(400);
    expect(await status('/live/cam/src/index.m3u8?_HLS_msn=x')).toBe(400);
    expect(await status('/live/cam/src/index.m3u8?_HLS_msn=999999')).toBe(400);
    expect(await status('/live/cam/src/index.m3u8?foo=1')).toBe(200);
    expect(await status('/live/cam/src/index.m3u8', { method: 'HEAD' })).toBe(200);
    expect(answered.every((a) => a.startsWith('express '))).toBe(true);
    expect(answered).toHaveLength(6);
  });

  it('answers the rate limit\'s 429 itself, as express\'s limiter does, after observing the request', async () => {
    const { registry, output } = fabricateOutput();
    current = registry;
    feedStream(output);
    const refusal = async (base: string, path: string): Promise<{ status: number; headers: (string | null)[]; body: string }> => {
      limiter = new PlaylistRateLimiter({ perSecond: 1, burst: 1 });
      expect((await fetch(base + path)).status).toBe(200);
      const res = await fetch(base + path);
      return { status: res.status, headers: ['content-type', 'retry-after', 'access-control-allow-origin', 'content-length'].map((h) => res.headers.get(h)), body: await res.text() };
    };
    for (const [path, route] of [['/live/cam/src/index.m3u8', 'media'], ['/live/cam/index.mpd', 'mpd']] as const) {
      answered.length = 0;
      observed.length = 0;
      const fast = await refusal(fastBase, path);
      expect(fast).toEqual({ status: 429, headers: ['text/plain; charset=utf-8', '1', '*', String(fast.body.length)], body: 'too many playlist requests' });
      expect(await refusal(expressBase, path)).toEqual(fast);
      expect(answered, path).toEqual([`${route} 200`, `${route} 429`]);
      expect(observed.map((o) => o.path)).toEqual([path, path]);
    }
  });
});
