/**
 * Nothing protected leaks: with playback tokens and --api-token on, a client without them gets
 * nothing that names or shows a protected stream from any route the router knows (walked from
 * the express app itself, so a route added later is walked too) nor from the media paths the
 * fast paths serve; with the right token each thing opens again (so the walk can fail).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type { RunningGateway } from '../../src/gateway.js';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';

const PLAY = 'access-test-playback-secret';
const API = 'access-test-api-token-0123456789';
const KEY = 'secretkey';

let gw: RunningGateway;
let publisher: Publisher;
let base: string;
let playToken: string;

/** Every GET route path of an express app, nested routers included (strings and regexes). */
function routePaths(app: Express): (string | RegExp)[] {
  const out: (string | RegExp)[] = [];
  interface Layer {
    route?: { path: string | RegExp | (string | RegExp)[]; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const walk = (stack: Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        if (!layer.route.methods['get']) continue;
        out.push(...(Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]));
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

/** Concrete URLs for a route: parameters filled with the protected stream and its real files. */
function concrete(path: string | RegExp, files: readonly string[]): string[] {
  if (path instanceof RegExp) return path.test('/assets/app.js') ? ['/assets/app.js'] : [];
  const filled = path.replaceAll(':app', 'live').replaceAll(':key', KEY).replaceAll(':rendition', 'src');
  return filled.includes(':file') ? files.map((f) => filled.replace(':file', f)) : [filled];
}

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: Buffer }> {
  const r = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(5000) });
  let body = Buffer.alloc(0);
  try {
    body = Buffer.from(await r.arrayBuffer());
  } catch {
    // A stream that kept going (FLV) until the abort: what arrived is what counts.
  }
  return { status: r.status, type: r.headers.get('content-type') ?? '', body };
}

describe('nothing protected leaks (playback tokens and --api-token on)', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ playbackSecret: PLAY, apiToken: API });
    base = `http://127.0.0.1:${gw.httpPort}`;
    playToken = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', KEY), expiresAt: unixNow() + 600 });
    const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${KEY}`, { loop: true });
    await live;
    const video = gw.outputs.get('live', KEY)!.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 2);
  }, 60_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await gw?.stop();
  });

  it('walks every route without credentials: nothing names or shows the stream', async () => {
    const playlist = (await get(`/live/${KEY}/src/index.m3u8?token=${playToken}`)).body.toString();
    const files = [...new Set([...playlist.matchAll(/((?:init|seg|part)-[^?"\s]+\.(?:mp4|m4s))/g)].map((m) => m[1]!))].slice(0, 6);
    files.push('index.m3u8', 'ts.m3u8', `${KEY}.flv`, 'ts-x-0.ts');
    const paths = [...new Set(routePaths(gw.httpApp).flatMap((p) => concrete(p, files)))];
    // The fast paths' media URLs too (not express routes).
    paths.push(`/live/${KEY}/src/${files[0]}`, `/live/${KEY}/index.mpd`, `/live/${KEY}.flv`, '/api/streams?token=wrong');
    expect(paths.length).toBeGreaterThan(15);
    const leaks: string[] = [];
    for (const path of paths) {
      const r = await get(path);
      const media = /^(image|video|audio)\/|mpegurl|dash\+xml|x-flv|mp2t/i.test(r.type);
      if (r.body.includes(KEY)) leaks.push(`${path}: ${r.status} names ${KEY}`);
      if (r.status === 200 && media) leaks.push(`${path}: 200 ${r.type}`);
    }
    expect(leaks).toEqual([]);
    // The open routes stay open.
    for (const path of ['/healthz', '/readyz', '/api/time']) expect((await get(path)).status, path).toBe(200);
    expect((await get('/metrics')).status).toBe(401);
    expect((await get('/api/streams')).status).toBe(401);
  }, 60_000);

  it('opens with the right token: the API token everything, the playback token its own stream', async () => {
    const bearer = { Authorization: `Bearer ${API}` };
    expect((await get('/api/streams', bearer)).body.toString()).toContain(KEY);
    expect((await get('/metrics', bearer)).status).toBe(200);
    expect((await get('/api/streams', { Authorization: `Bearer ${API}x` })).status).toBe(401);
    const own = await get(`/api/streams/live/${KEY}?token=${playToken}`);
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body.toString())).toMatchObject({ app: 'live', key: KEY });
    const thumbnail = await get(`/api/streams/live/${KEY}/thumbnail.jpg?token=${playToken}`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.type).toBe('image/jpeg');
    // Another stream's token opens nothing of this one.
    const other = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', 'other'), expiresAt: unixNow() + 600 });
    expect((await get(`/api/streams/live/${KEY}?token=${other}`)).status).toBe(401);
  }, 60_000);

  it('changes through the API need the API token', async () => {
    const post = (headers: Record<string, string>): Promise<number> => fetch(`${base}/api/streams/live/${KEY}/push`, { method: 'POST', headers, body: '{}' }).then((r) => r.status);
    expect(await post({})).toBe(401);
    // Through the guard: the push route answers (the body names no target: 400).
    expect(await post({ Authorization: `Bearer ${API}` })).toBe(400);
    // Other methods stay refused everywhere.
    expect((await fetch(`${base}/api/streams`, { method: 'PUT', headers: { Authorization: `Bearer ${API}` } })).status).toBe(405);
  });
});

describe('playback tokens on, no --api-token', () => {
  it('lists no stream and shows none without its token; with it, its own', async () => {
    const g = await startTestGateway({ playbackSecret: PLAY });
    const live = new Promise<void>((resolve) => g.streams.on('publish', () => resolve()));
    const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${g.rtmpPort}/live/${KEY}`, { loop: true });
    try {
      await live;
      const video = g.outputs.get('live', KEY)!.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 1);
      const at = `http://127.0.0.1:${g.httpPort}`;
      const token = mintToken({ secret: PLAY, subject: subjectOf('play', 'live', KEY), expiresAt: unixNow() + 600 });
      expect(await (await fetch(`${at}/api/streams`)).json()).toEqual({ streams: [] });
      expect((await fetch(`${at}/api/streams/live/${KEY}`)).status).toBe(403);
      // Not told whether a stream exists either.
      expect((await fetch(`${at}/api/streams/live/nosuch`)).status).toBe(403);
      expect((await fetch(`${at}/api/streams/live/${KEY}/thumbnail.jpg`)).status).toBe(403);
      const listed = (await (await fetch(`${at}/api/streams?token=${token}`)).json()) as { streams: { key: string }[] };
      expect(listed.streams.map((s) => s.key)).toEqual([KEY]);
      expect((await fetch(`${at}/api/streams/live/${KEY}/thumbnail.jpg?token=${token}`)).headers.get('content-type')).toBe('image/jpeg');
    } finally {
      p.process.kill('SIGKILL');
      await g.stop();
    }
  }, 60_000);
});
