/**
 * HLS AES-128 without playback tokens, where the HTTP fast paths answer (http/fast-path.ts,
 * http/playlist-fast-path.ts): an encrypted stream's playlists name keys, its segments and parts
 * go out encrypted (and decrypt to exactly the packager's bytes), its MPD and in-progress DASH
 * segments are refused; a stream the config does not name stays clear.
 */
import { createDecipheriv } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { concatBytes } from '../../src/core/bytes.js';
import { ivOf } from '../../src/auth/media-keys.js';
import { untilSourceSegments } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';

let gw: RunningGateway;
const publishers: Publisher[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ encrypt: { 'live/secret': { method: 'aes-128', rotate: 0 } } });
  for (const key of ['secret', 'open']) {
    const live = nextPublish(gw, key);
    publishers.push(publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`, { loop: true }));
    await live;
    await untilSourceSegments(gw, key, 2);
  }
}, 60_000);
afterAll(async () => {
  for (const p of publishers) p.process.kill('SIGKILL');
  await gw?.stop();
});

function decrypt(bytes: Uint8Array, key: Uint8Array, iv: Buffer): Buffer {
  const d = createDecipheriv('aes-128-cbc', key, iv);
  return Buffer.concat([d.update(bytes), d.final()]);
}

describe('HLS AES-128 on the fast paths', () => {
  it('segments and parts go out encrypted and decrypt to the packager bytes; the MPD is refused', async () => {
    const base = `http://127.0.0.1:${gw.httpPort}/live/secret`;
    const text = (await fetchText(`${base}/src/index.m3u8`)).text;
    const video = gw.outputs.get('live', 'secret')!.videos.get('src')!;
    const seg = video.segments[video.segments.length - 1]!;
    const keyLine = text.split('\n').find((l) => l.startsWith('#EXT-X-KEY:METHOD=AES-128') && l.endsWith(`IV=0x${seg.sequence.toString(16).padStart(32, '0')}`))!;
    expect(keyLine, text).toBeDefined();
    const key = (await fetchBytes(`http://127.0.0.1:${gw.httpPort}${/URI="([^"]+)"/.exec(keyLine)![1]}`)).bytes;
    const iv = Buffer.from(/IV=0x([0-9a-f]{32})/.exec(keyLine)![1]!, 'hex');

    const served = (await fetchBytes(`${base}/src/seg-${video.session}-${seg.sequence}.m4s`)).bytes;
    const clear = concatBytes([...video.segment(seg.sequence)!.chunks]);
    expect(Buffer.compare(Buffer.from(served.subarray(0, 64)), Buffer.from(clear.subarray(0, 64)))).not.toBe(0);
    expect(decrypt(served, key, iv).equals(Buffer.from(clear))).toBe(true);
    const part = (await fetchBytes(`${base}/src/part-${video.session}-${seg.sequence}.0.m4s`)).bytes;
    expect(decrypt(part, key, iv).equals(Buffer.from(video.part(seg.sequence, 0)!))).toBe(true);
    // The init segment stays clear (METHOD=NONE before its EXT-X-MAP).
    const init = (await fetchBytes(`${base}/src/init-${video.session}-${seg.initId}.mp4`)).bytes;
    expect(Buffer.from(init).equals(Buffer.from(video.init(seg.initId)!))).toBe(true);

    expect((await fetchText(`${base}/index.mpd`)).status).toBe(403);
    // The segment in progress is not streamed clear by the LL-DASH route: the HLS route has no
    // whole segment yet (404), or it just completed and goes out encrypted.
    const open = video.openSequence!;
    const inProgress = await fetchBytes(`${base}/src/seg-${video.session}-${open}.m4s`);
    if (inProgress.status === 200) expect(decrypt(inProgress.bytes, key, ivOf(open)).equals(Buffer.from(concatBytes([...video.segment(open)!.chunks])))).toBe(true);
    else expect(inProgress.status).toBe(404);
  });

  it('a stream the config does not encrypt is served clear, and has no key', async () => {
    const base = `http://127.0.0.1:${gw.httpPort}/live/open`;
    const text = (await fetchText(`${base}/src/index.m3u8`)).text;
    expect(text).not.toContain('EXT-X-KEY');
    const video = gw.outputs.get('live', 'open')!.videos.get('src')!;
    const seg = video.segments[video.segments.length - 1]!;
    const served = (await fetchBytes(`${base}/src/seg-${video.session}-${seg.sequence}.m4s`)).bytes;
    expect(Buffer.from(served).equals(Buffer.from(concatBytes([...video.segment(seg.sequence)!.chunks])))).toBe(true);
    expect((await fetchText(`${base}/index.mpd`)).status).toBe(200);
    expect((await fetchBytes(`${base}/key-${video.session}-0.key`)).status).toBe(404);
  });
});
