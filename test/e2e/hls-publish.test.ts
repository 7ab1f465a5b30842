/**
 * The whole path: a real ffmpeg publishes over RTMP to the real gateway, the HLS playlists parse
 * with m3u8-parser, and the CMAF media decodes with ffmpeg and matches what ffprobe sees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';

let gw: RunningGateway;
let http: string;
let rtmp: string;

beforeAll(async () => {
  gw = await startTestGateway();
  http = `http://127.0.0.1:${gw.httpPort}`;
  rtmp = `rtmp://127.0.0.1:${gw.rtmpPort}`;
});
afterAll(async () => {
  await gw?.stop();
});

/** Publishes a fixture as fast as ffmpeg sends it and waits until the stream has ended. */
async function publishWhole(name: Parameters<typeof fixture>[0], key: string): Promise<void> {
  const file = await fixture(name);
  const ended = new Promise<void>((resolve) => gw.streams.on('unpublish', (s) => s.key === key && resolve()));
  const p = publish(file, `${rtmp}/live/${key}`, { realtime: false });
  const code = await p.done;
  expect(code, p.stderr()).toBe(0);
  await ended;
}

describe('RTMP publish to CMAF HLS', () => {
  it('720p30 H.264 High + AAC: master, media playlists, decodable media', async () => {
    await publishWhole('av720p30', 'cam1');
    const master = await fetchText(`${http}/live/cam1/index.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('content-type')).toContain('application/vnd.apple.mpegurl');
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    const m = parseM3u8(master.text);
    expect(m.playlists).toHaveLength(1);
    const variant = m.playlists![0]!;
    expect(variant.attributes.CODECS).toBe('avc1.64001f,mp4a.40.2');
    expect(variant.attributes.RESOLUTION).toEqual({ width: 1280, height: 720 });
    expect(variant.attributes['FRAME-RATE']).toBe(30);
    expect(variant.attributes.BANDWIDTH).toBeGreaterThan(100_000);
    expect(Number(variant.attributes['AVERAGE-BANDWIDTH'])).toBeGreaterThan(100_000);
    expect(variant.attributes.AUDIO).toBe('audio');
    const audioUri = m.mediaGroups?.AUDIO?.['audio']?.['audio']?.uri;
    expect(audioUri).toBe('audio/index.m3u8');

    const video = await downloadRendition(`${http}/live/cam1/${variant.uri}`);
    expect(video.playlist.endList).toBe(true);
    expect(video.playlist.segments.length).toBeGreaterThanOrEqual(4);
    for (const s of video.playlist.segments.slice(0, -1)) expect(s.duration).toBeCloseTo(2, 1);
    expect(await decodeErrors(video.file)).toBe('');
    const vp = await probe(video.file, true);
    const vs = vp.streams.find((s) => s.codec_type === 'video')!;
    expect(vs.codec_name).toBe('h264');
    expect(vs.profile).toBe('High');
    expect(vs.level).toBe(31);
    expect([vs.width, vs.height]).toEqual([1280, 720]);
    expect(Number(vp.format.duration)).toBeCloseTo(video.extinfTotal, 1);
    expect(Number(vs.nb_read_frames)).toBe(300);

    const audio = await downloadRendition(`${http}/live/cam1/${audioUri}`);
    expect(await decodeErrors(audio.file)).toBe('');
    const ap = await probe(audio.file);
    const as = ap.streams.find((s) => s.codec_type === 'audio')!;
    expect(as.codec_name).toBe('aac');
    expect(as.sample_rate).toBe('48000');
    expect(as.channels).toBe(2);
    // Audio is cut at the video's instants: same sequence numbers, durations within a frame.
    expect(audio.playlist.segments.length).toBe(video.playlist.segments.length);
    expect(audio.playlist.mediaSequence).toBe(video.playlist.mediaSequence);
    for (let i = 0; i < audio.playlist.segments.length - 1; i++) {
      expect(Math.abs(audio.playlist.segments[i]!.duration - video.playlist.segments[i]!.duration)).toBeLessThan(0.05);
    }
  });

  it('B-frames (-bf 3): composition offsets survive and the media decodes cleanly', async () => {
    await publishWhole('av720p30-bframes', 'bframes');
    const master = parseM3u8((await fetchText(`${http}/live/bframes/index.m3u8`)).text);
    const video = await downloadRendition(`${http}/live/bframes/${master.playlists![0]!.uri}`);
    expect(await decodeErrors(video.file)).toBe('');
    const vp = await probe(video.file, true);
    expect(Number(vp.streams[0]!.nb_read_frames)).toBe(300);
    expect(Number(vp.format.duration)).toBeCloseTo(video.extinfTotal, 1);
  });

  it('audio-only stream: one audio variant', async () => {
    await publishWhole('audio-only', 'radio');
    const m = parseM3u8((await fetchText(`${http}/live/radio/index.m3u8`)).text);
    expect(m.playlists).toHaveLength(1);
    expect(m.playlists![0]!.attributes.CODECS).toBe('mp4a.40.2');
    const audio = await downloadRendition(`${http}/live/radio/${m.playlists![0]!.uri}`);
    expect(audio.playlist.segments.length).toBeGreaterThanOrEqual(4);
    expect(await decodeErrors(audio.file)).toBe('');
    expect(audio.extinfTotal).toBeCloseTo(10, 0);
  });

  it('video-only stream: no audio group', async () => {
    await publishWhole('video-only', 'silent');
    const text = (await fetchText(`${http}/live/silent/index.m3u8`)).text;
    const m = parseM3u8(text);
    expect(text).not.toContain('EXT-X-MEDIA');
    expect(m.playlists![0]!.attributes.CODECS).toMatch(/^avc1\.4d/);
    expect(m.playlists![0]!.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });
    const video = await downloadRendition(`${http}/live/silent/${m.playlists![0]!.uri}`);
    expect(await decodeErrors(video.file)).toBe('');
  });

  it('unknown streams and files are 404, traversal is refused', async () => {
    expect((await fetchText(`${http}/live/nope/index.m3u8`)).status).toBe(404);
    expect((await fetchText(`${http}/live/cam1/src/seg-zz-999.m4s`)).status).toBe(404);
    expect((await fetchText(`${http}/live/cam1/src/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    expect((await fetchText(`${http}/live/..%2F..%2Fetc/src/index.m3u8`)).status).toBe(404);
  });
});

describe('live behaviour', () => {
  it('refuses a second publisher to a live key and keeps the first going', async () => {
    const file = await fixture('av720p30');
    const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === 'dup' && resolve()));
    const first = publish(file, `${rtmp}/live/dup`, { extra: [] });
    await live;
    const output = gw.outputs.get('live', 'dup')!;
    // Wait for the first complete segment through the packager's own event.
    await new Promise<void>((resolve) => {
      const t = output.videos.get('src')!;
      if (t.segments.length > 0) resolve();
      else t.once('update', function check() {
        if (t.segments.length > 0) resolve();
        else t.once('update', check);
      });
    });
    const second = publish(file, `${rtmp}/live/dup`);
    const code = await second.done;
    expect(code).not.toBe(0);
    expect(gw.streams.get('live', 'dup')).toBeDefined();
    const before = output.videos.get('src')!.segments.length;
    await new Promise<void>((resolve) => output.videos.get('src')!.on('update', () => output.videos.get('src')!.segments.length > before && resolve()));
    first.process.kill('SIGKILL');
    await first.done;
  });

  it('ends the playlist with ENDLIST when the publisher leaves', async () => {
    const file = await fixture('av360p-short');
    const ended = new Promise<void>((resolve) => gw.streams.on('unpublish', (s) => s.key === 'bye' && resolve()));
    const live = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === 'bye' && resolve()));
    const p = publish(file, `${rtmp}/live/bye`);
    await live;
    const playlistWhileLive = await fetchText(`${http}/live/bye/src/index.m3u8`);
    expect(playlistWhileLive.status).toBe(200);
    expect(parseM3u8(playlistWhileLive.text).endList).toBeFalsy();
    await p.done;
    await ended;
    const after = parseM3u8((await fetchText(`${http}/live/bye/src/index.m3u8`)).text);
    expect(after.endList).toBe(true);
  });
});
