/**
 * The whole path for DASH: a real ffmpeg publishes over RTMP to the real gateway; the MPD parses
 * with mpd-parser, names exactly the HLS playlist's files, and the media it names decodes with
 * ffmpeg. Until the lead mounts dashRoutes in src/http/server.ts, the test serves the gateway's
 * own outputs and cache through a small express app (api + dash + hls routes, in gateway order).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'mpd-parser';
import type { RunningGateway } from '../../src/gateway.js';
import { defaultConfig } from '../../src/config.js';
import { apiRoutes } from '../../src/http/api-routes.js';
import { dashRoutes } from '../../src/http/dash-routes.js';
import { hlsRoutes } from '../../src/http/hls-routes.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, publish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, probe } from '../helpers/media-check.js';

let gw: RunningGateway;
let server: Server;
let http: string;
let rtmp: string;

beforeAll(async () => {
  gw = await startTestGateway();
  const config = defaultConfig();
  const options = { outputs: gw.outputs, segmentDuration: config.segmentDuration, partDuration: config.partDuration, playlistWindow: config.playlistWindow };
  const app = express();
  app.set('etag', false);
  app.use(apiRoutes(gw.outputs));
  app.use(dashRoutes(options));
  app.use(hlsRoutes({ ...options, cache: gw.cache }));
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  http = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rtmp = `rtmp://127.0.0.1:${gw.rtmpPort}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await gw?.stop();
});

async function publishWhole(name: Parameters<typeof fixture>[0], key: string): Promise<void> {
  const file = await fixture(name);
  const ended = new Promise<void>((resolve) => gw.streams.on('unpublish', (s) => s.key === key && resolve()));
  const p = publish(file, `${rtmp}/live/${key}`, { realtime: false });
  const code = await p.done;
  expect(code, p.stderr()).toBe(0);
  await ended;
}

type Parsed = ReturnType<typeof parse>;
type Playlist = Parsed['playlists'][number];

/** init + every segment the Representation names, fetched and joined into one file. */
async function downloadRepresentation(p: Playlist): Promise<string> {
  const pieces: Uint8Array[] = [];
  let lastInit: string | undefined;
  for (const s of p.segments) {
    if (s.map && s.map.resolvedUri !== lastInit) {
      const init = await fetchBytes(s.map.resolvedUri);
      expect(init.status, s.map.resolvedUri).toBe(200);
      pieces.push(init.bytes);
      lastInit = s.map.resolvedUri;
    }
    const media = await fetchBytes(s.resolvedUri);
    expect(media.status, s.resolvedUri).toBe(200);
    pieces.push(media.bytes);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'sg-dash-')), 'media.mp4');
  writeFileSync(file, Buffer.concat(pieces));
  return file;
}

async function hlsUris(playlistUrl: string): Promise<string[]> {
  const m = parseM3u8((await fetchText(playlistUrl)).text);
  return m.segments.map((s) => new URL(s.uri, playlistUrl).href);
}

describe('RTMP publish to DASH', () => {
  it('ended A/V stream: static MPD over the HLS files, decodable media', async () => {
    await publishWhole('av720p30', 'dash1');
    const mpdUrl = `${http}/live/dash1/index.mpd`;
    const r = await fetchText(mpdUrl);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/dash+xml');
    expect(r.text).toContain('type="static"');
    const m = parse(r.text, { manifestUri: mpdUrl, NOW: Date.now() });
    const video = m.playlists[0]!;
    expect(video.attributes['CODECS']).toBe('avc1.64001f');
    expect(video.attributes['RESOLUTION']).toEqual({ width: 1280, height: 720 });
    expect(video.segments.map((s) => s.resolvedUri)).toEqual(await hlsUris(`${http}/live/dash1/src/index.m3u8`));
    const videoFile = await downloadRepresentation(video);
    expect(await decodeErrors(videoFile)).toBe('');
    const vp = await probe(videoFile);
    expect(vp.streams[0]!.codec_name).toBe('h264');
    const total = video.segments.reduce((n, s) => n + s.duration, 0);
    expect(m.duration).toBeCloseTo(total, 1);

    const audio = Object.values(Object.values(m.mediaGroups.AUDIO)[0]!)[0]!.playlists[0]!;
    expect(audio.segments.map((s) => s.resolvedUri)).toEqual(await hlsUris(`${http}/live/dash1/audio/index.m3u8`));
    const audioFile = await downloadRepresentation(audio as Playlist);
    expect(await decodeErrors(audioFile)).toBe('');
  });

  it('audio-only stream: one audio AdaptationSet', async () => {
    await publishWhole('audio-only', 'dashradio');
    const text = (await fetchText(`${http}/live/dashradio/index.mpd`)).text;
    expect(text).not.toContain('contentType="video"');
    const m = parse(text, { manifestUri: `${http}/live/dashradio/index.mpd`, NOW: Date.now() });
    const audio = Object.values(Object.values(m.mediaGroups.AUDIO)[0]!)[0]!.playlists[0]!;
    expect(await decodeErrors(await downloadRepresentation(audio as Playlist))).toBe('');
  });

  it('live: dynamic LL MPD; the announced in-progress segment streams chunked and equals the final one', async () => {
    const file = await fixture('av360p-short');
    const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === 'dashlive' && resolve()));
    const p = publish(file, `${rtmp}/live/dashlive`);
    await live;
    const mpdUrl = `${http}/live/dashlive/index.mpd`;
    const r = await fetchText(mpdUrl);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('max-age=0, s-maxage=1');
    expect(r.text).toContain('type="dynamic"');
    expect(r.text).toContain('availabilityTimeComplete="false"');
    const m = parse(r.text, { manifestUri: mpdUrl, NOW: Date.now() });
    const video = m.playlists[0]!;
    const track = gw.outputs.get('live', 'dashlive')!.videos.get('src')!;
    // The MPD's last S is the segment that was in progress when the MPD was built (LL).
    const open = video.segments[video.segments.length - 1]!;
    expect(track.segments.length).toBeGreaterThan(0);
    // Streamed while growing (chunked) or, if it completed meanwhile, served whole: same bytes.
    const res = await fetch(open.resolvedUri);
    expect(res.status).toBe(200);
    const streamed = new Uint8Array(await res.arrayBuffer());
    const final = await fetchBytes(open.resolvedUri);
    expect(final.headers.get('content-length')).toBe(String(final.bytes.length));
    expect(streamed).toEqual(final.bytes);
    await p.done;
  });
});
