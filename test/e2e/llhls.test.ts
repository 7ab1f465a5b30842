/** LL-HLS against a live stream a real ffmpeg publishes: tags, blocking reload, hinted parts, part = segment pieces. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { untilUpdate } from '../helpers/events.js';

let gw: RunningGateway;
let publisher: Publisher;
let base: string;
let video: TrackOutput;


beforeAll(async () => {
  gw = await startTestGateway();
  base = `http://127.0.0.1:${gw.httpPort}/live/ll`;
  const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
  publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/ll`, { loop: true });
  await live;
  video = gw.outputs.get('live', 'll')!.videos.get('src')!;
  await untilUpdate(video, () => video.segments.length >= 2);
}, 60_000);
afterAll(async () => {
  publisher?.process.kill('SIGKILL');
  await gw?.stop();
});

describe('LL-HLS', () => {
  it('media playlists carry parts, hints, server control and rendition reports, parsed without warnings', async () => {
    const { text, headers } = await fetchText(`${base}/src/index.m3u8`);
    expect(headers.get('cache-control')).toBe('max-age=0, s-maxage=1');
    const m = parseM3u8(text);
    // The default part: 0.1 s, three frames at 30 fps; PART-HOLD-BACK is three part targets (RFC 8216bis §4.4.3.8 SHOULD).
    expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.100');
    expect(text).toMatch(/#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=[\d.]+,HOLD-BACK=[\d.]+,PART-HOLD-BACK=0.300/);
    expect(text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-[0-9a-z]+-\d+\.\d+\.m4s"/);
    expect(text).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/audio\/index\.m3u8",LAST-MSN=\d+/);
    const withParts = m.segments.filter((s) => s.parts && s.parts.length > 0);
    expect(withParts.length).toBeGreaterThan(0);
    for (const s of withParts) {
      expect(s.parts![0]!.independent).toBe(true);
      const sum = s.parts!.reduce((n, p) => n + p.duration, 0);
      expect(sum).toBeCloseTo(s.duration, 2);
    }
  });

  it('a blocking reload returns within one part duration of the part being made', async () => {
    // Ask for the part after the newest one.
    const msn = video.openSequence!;
    const part = video.openParts.length;
    let madeAt = 0;
    const onPart = (p: { segment: number; index: number }): void => {
      if (madeAt === 0 && ((p.segment === msn && p.index === part) || p.segment > msn)) madeAt = performance.now();
    };
    video.on('part', onPart);
    const res = await fetchText(`${base}/src/index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`);
    const answeredAt = performance.now();
    video.off('part', onPart);
    expect(res.status).toBe(200);
    expect(madeAt).toBeGreaterThan(0);
    const session = gw.outputs.get('live', 'll')!.session;
    expect(res.text.includes(`part-${session}-${msn}.${part}.m4s`) || res.text.includes(`seg-${session}-${msn}.m4s`)).toBe(true);
    const delayMs = answeredAt - madeAt;
    console.log(`blocking reload answered ${delayMs.toFixed(1)} ms after the part was made`);
    expect(delayMs).toBeLessThan(200);
  });

  it('refuses a request too far ahead with 400', async () => {
    const ahead = video.openSequence! + 5;
    expect((await fetchText(`${base}/src/index.m3u8?_HLS_msn=${ahead}`)).status).toBe(400);
    expect((await fetchText(`${base}/src/index.m3u8?_HLS_msn=abc`)).status).toBe(400);
    expect((await fetchText(`${base}/src/index.m3u8?_HLS_part=1`)).status).toBe(400);
  });

  it('holds a request for the hinted part until its bytes exist', async () => {
    const m = await fetchText(`${base}/src/index.m3u8`);
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(m.text)![1]!;
    const res = await fetchBytes(`${base}/src/${hint}`);
    expect(res.status).toBe(200);
    const [, seq, idx] = /part-[0-9a-z]+-(\d+)\.(\d+)\.m4s/.exec(hint)!;
    expect(Buffer.from(res.bytes).equals(Buffer.from(video.hintedPart(Number(seq), Number(idx))!))).toBe(true);
  });

  it('a hinted part the segment closed before is answered with the next segment\'s first part, not a 404', async () => {
    // The hint named index k of segment N; a keyframe then closed N with k parts (Shaka Player
    // stops on a 404 for a hinted part). Asked right away, the request waits for N+1's first part.
    await untilUpdate(video, () => video.openParts.length === 0 && video.lastSegment !== undefined);
    const last = video.lastSegment!;
    const res = await fetchBytes(`${base}/src/part-${video.session}-${last.sequence}.${last.parts.length}.m4s`);
    expect(res.status).toBe(200);
    expect(Buffer.from(res.bytes).equals(Buffer.from(video.part(last.sequence + 1, 0)!))).toBe(true);
    expect((await fetchBytes(`${base}/src/part-${video.session}-${last.sequence}.${last.parts.length + 1}.m4s`)).status).toBe(404);
  });

  it('a segment is its styp followed by its parts, byte for byte', async () => {
    const m = parseM3u8((await fetchText(`${base}/src/index.m3u8`)).text);
    const seg = m.segments.find((s) => s.parts && s.parts.length > 0)!;
    const whole = (await fetchBytes(`${base}/src/${seg.uri}`)).bytes;
    const pieces = [buildSegmentHeader()];
    for (const p of seg.parts!) pieces.push((await fetchBytes(`${base}/src/${p.uri}`)).bytes);
    expect(Buffer.from(whole).equals(Buffer.concat(pieces))).toBe(true);
  });
});
