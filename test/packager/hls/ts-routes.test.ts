/**
 * The TS routes (src/http/ts-routes.ts) over real HTTP on 127.0.0.1: playlists wait for the
 * first segment without polling, segments come from the live window then the cache.
 * (Kept beside the TS packager tests: test/http/ is not in this task's directories.)
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentCache } from '../../../src/cache/segment-cache.js';
import { LiveStream } from '../../../src/core/stream.js';
import type { Frame } from '../../../src/core/media.js';
import { tsRoutes } from '../../../src/http/ts-routes.js';
import { StreamOutput } from '../../../src/packager/stream-output.js';
import { attachTsOutputs, tsOutputOf } from '../../../src/packager/hls/ts-output.js';
import { parseM3u8 } from '../../helpers/m3u8.js';
import { loadAvFixture, splitPackets } from '../../mux/ts/ts-fixture.js';

const fx = loadAvFixture();
const CONFIG = { segmentDuration: 1, partDuration: 0.2, playlistWindow: 2 };
const cache = new SegmentCache(64 * 1024 * 1024);
const outputs = new Map<string, StreamOutput>();
let server: Server;
let base = '';

const frames: Frame[] = [...fx.videoFrames, ...fx.audioFrames].sort((a, b) => a.wallclock - b.wallclock || (a.kind === 'video' ? -1 : 1));

function newStream(key: string, eager = true): { stream: LiveStream; output: StreamOutput } {
  const stream = new LiveStream('live', key);
  const output = new StreamOutput(stream, CONFIG, cache);
  outputs.set(`live/${key}`, output);
  // Attached before the first frame (as a test's shortcut); the gateway attaches on the first TS request.
  if (eager) attachTsOutputs(output, { cache });
  stream.pushTrack(fx.video);
  stream.pushTrack(fx.audio);
  return { stream, output };
}

/** Yields to the event loop until `ready` (a request has reached its wait), without timers. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !ready(); i++) await new Promise((r) => setImmediate(r));
  if (!ready()) throw new Error('condition never became true');
}

beforeAll(async () => {
  const app = express();
  app.use(tsRoutes({ outputs: { get: (a, k) => outputs.get(`${a}/${k}`) }, cache, segmentDuration: 1, playlistWindow: 2 }));
  app.use((_req, res) => res.status(418).send('fell through'));
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('TS routes', () => {
  it('multivariant waits for the first TS segment, then lists the muxed variant', async () => {
    const { stream, output } = newStream('wait');
    const src = attachTsOutputs(output, { cache }).rendition('src')!;
    const pending = fetch(`${base}/live/wait/ts.m3u8`);
    await until(() => src.listenerCount('update') > 0);
    for (const f of frames.filter((f) => f.dts < 1.5 * (f.kind === 'video' ? 90000 : 48000))) stream.pushFrame(f);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/vnd.apple.mpegurl');
    expect(res.headers.get('cache-control')).toBe('max-age=0, s-maxage=1');
    const m = parseM3u8(await res.text());
    expect(m.playlists!.map((p) => [p.uri, p.attributes.CODECS])).toEqual([['src/ts.m3u8', `${fx.video.codecString},${fx.audio.codecString}`]]);
    stream.end();
  });

  it('media playlist and segments: live window, then the cache after the end', async () => {
    const { stream, output } = newStream('main');
    for (const f of frames.filter((f) => f.dts < 3.5 * (f.kind === 'video' ? 90000 : 48000))) stream.pushFrame(f);
    const text = await (await fetch(`${base}/live/main/src/ts.m3u8`)).text();
    const m = parseM3u8(text);
    expect(m.version).toBe(3);
    expect(m.endList).toBeFalsy();
    expect(m.segments.length).toBe(2);
    const uri = m.segments[1]!.uri;
    expect(uri).toBe(`ts-${output.session}-2.ts`);

    const seg = await fetch(`${base}/live/main/src/${uri}`);
    expect(seg.status).toBe(200);
    expect(seg.headers.get('content-type')).toBe('video/mp2t');
    expect(seg.headers.get('cache-control')).toContain('immutable');
    const bytes = new Uint8Array(await seg.arrayBuffer());
    expect(splitPackets(bytes)[0]!.pid).toBe(0);
    const etag = seg.headers.get('etag')!;
    expect((await fetch(`${base}/live/main/src/${uri}`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    stream.end();
    const ended = parseM3u8(await (await fetch(`${base}/live/main/src/ts.m3u8`)).text());
    expect(ended.endList).toBe(true);
    const again = await fetch(`${base}/live/main/src/${uri}`);
    expect(again.status).toBe(200);
    expect(new Uint8Array(await again.arrayBuffer())).toEqual(bytes);
    // segment 0, no longer listed, is served from the cache
    const first = await fetch(`${base}/live/main/src/ts-${output.session}-0.ts`);
    expect(first.status).toBe(200);
  });

  it('muxes TS only once someone asks: the first request attaches and is answered with the first whole segment after it', async () => {
    const { stream, output } = newStream('lazy', false);
    const secondsOf = (f: Frame): number => f.dts / (f.kind === 'video' ? 90000 : 48000);
    for (const f of frames.filter((f) => secondsOf(f) < 1.5)) stream.pushFrame(f);
    expect(tsOutputOf(output)).toBeUndefined();
    const pending = fetch(`${base}/live/lazy/src/ts.m3u8`);
    await until(() => tsOutputOf(output)?.rendition('src')?.listenerCount('update') === 1);
    for (const f of frames.filter((f) => secondsOf(f) >= 1.5 && secondsOf(f) < 3.5)) stream.pushFrame(f);
    const m = parseM3u8(await (await pending).text());
    // Segment 1 was under way when the request came: the first TS segment is 2, numbered as CMAF's.
    expect(m.segments.map((s) => s.uri)).toEqual([`ts-${output.session}-2.ts`]);
    expect(m.mediaSequence).toBe(2);
    stream.end();
  });

  it('404s for bad names, unknown streams, renditions, sessions and sequences; other files fall through', async () => {
    newStream('nf');
    const status = async (path: string): Promise<number> => (await fetch(`${base}${path}`)).status;
    expect(await status('/live/nope/ts.m3u8')).toBe(404);
    expect(await status('/live/.hidden/ts.m3u8')).toBe(404);
    expect(await status('/live/nf/720p/ts.m3u8')).toBe(404);
    expect(await status('/live/nf/src/ts-zzz-0.ts')).toBe(404);
    expect(await status('/live/nf/src/ts-abc-99999999.ts')).toBe(404);
    expect(await status('/live/main/src/ts-ABC-1.ts')).toBe(418); // not a TS name: next router
    expect(await status('/live/main/src/seg-a-1.m4s')).toBe(418);
    expect(await status('/live/main/src/ts-a-1234567890123.ts')).toBe(418);
  });
});
