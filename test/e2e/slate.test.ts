/**
 * Stay on air (--slate), at the gateway: when the publisher drops, a slate at the live stream's
 * size stands in at once (a reconnect for the packagers: EXT-X-DISCONTINUITY, a new DASH Period),
 * the publisher coming back takes over at once, and when the slate's time is up the stream ends.
 * `--slate-image` is the picture (its decoded colour is checked); an Opus stream's slate is in Opus,
 * an HEVC stream's in HEVC.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, nextPublish, publish, startTestGateway } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';
import { ffmpegPath } from '../helpers/tools.js';
import { ertmpFixture, publishErtmp } from '../helpers/ertmp-publisher.js';
import { enhancedAudioFixture } from '../helpers/audio-fixtures.js';

/** ffmpeg bounded by `timeout -k` (stdout as bytes). */
function ffmpeg(args: readonly string[]): Buffer {
  return execFileSync('timeout', ['-k', '5', '30', ffmpegPath(), '-v', 'error', '-nostdin', ...args], { maxBuffer: 64 * 1024 * 1024 });
}

/** The mean R, G, B of the first picture of an fMP4 file (decoded, scaled down to 64×36 RGB). */
function meanColour(file: string): [number, number, number] {
  const rgb = ffmpeg(['-i', file, '-frames:v', '1', '-vf', 'scale=64:36', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
  expect(rgb.byteLength).toBe(64 * 36 * 3);
  const sum = [0, 0, 0];
  for (let i = 0; i < rgb.byteLength; i++) sum[i % 3]! += rgb[i]!;
  return sum.map((v) => v / (64 * 36)) as [number, number, number];
}

describe('stay on air: the slate', () => {
  it('stands in when the publisher drops and makes way when it comes back; the playlists mark both joins', async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30 });
    let p = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/onair`, { loop: true });
    try {
      await nextPublish(gw, 'onair');
      const output = gw.outputs.get('live', 'onair')!;
      const video = output.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 2);
      const slateOn = nextPublish(gw, 'onair');
      p.process.kill('SIGKILL');
      const slate = await slateOn;
      expect(slate.preempt).toBeDefined();
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== video.segments[0]!.initId) && video.segments.length >= 4);
      expect(slate.video).toMatchObject({ width: 1280, height: 720 });
      expect(output.ended).toBe(false);
      const listing = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/onair/src/index.m3u8`)).text;
      expect(listing).toContain('#EXT-X-DISCONTINUITY');
      const mpd = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/onair/index.mpd`)).text;
      expect((mpd.match(/<Period /g) ?? []).length).toBeGreaterThanOrEqual(2);
      // The publisher is back: the slate makes way, the publish is not refused, the playlists go on.
      const back = nextPublish(gw, 'onair');
      p = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/onair`, { loop: true });
      const live = await back;
      expect(live.preempt).toBeUndefined();
      expect(slate.ended).toBe(true);
      const slateInit = video.segments[video.segments.length - 1]!.initId;
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== slateInit && s.initId > slateInit));
      expect(gw.outputs.get('live', 'onair')).toBe(output);
      expect(output.ended).toBe(false);
      expect(p.process.exitCode).toBeNull();
    } finally {
      p.process.kill('SIGKILL');
      await gw.stop();
    }
  }, 90_000);

  it("ends the stream when the slate's time is up", async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30, slateSeconds: 3 });
    const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/brief`, { loop: true });
    try {
      await nextPublish(gw, 'brief');
      const output = gw.outputs.get('live', 'brief')!;
      const video = output.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 1);
      const slateOn = nextPublish(gw, 'brief');
      p.process.kill('SIGKILL');
      await slateOn;
      await untilUpdate(video, () => video.ended);
      expect(output.ended).toBe(true);
      expect((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/brief/src/index.m3u8`)).text).toContain('#EXT-X-ENDLIST');
    } finally {
      p.process.kill('SIGKILL');
      await gw.stop();
    }
  }, 60_000);

  it('--slate-image: the slate is made from the given picture', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slate-image-'));
    // An orange picture smaller than the stream (scaled up to it), unlike the default dark slate.
    const image = join(dir, 'orange.png');
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xff8000:s=160x90', '-frames:v', '1', image]);
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30, slateImage: image });
    const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/branded`, { loop: true });
    try {
      await nextPublish(gw, 'branded');
      const video = gw.outputs.get('live', 'branded')!.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 1);
      const liveInit = video.currentInitId;
      const slateOn = nextPublish(gw, 'branded');
      p.process.kill('SIGKILL');
      const slate = await slateOn;
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== liveInit));
      expect(slate.video).toMatchObject({ width: 640, height: 360 });
      const first = video.segments.find((s) => s.initId !== liveInit)!;
      // The slate's first segment as a player gets it (its init, then the segment), decoded.
      const file = join(dir, 'slate.mp4');
      writeFileSync(file, Buffer.concat([video.init(first.initId)!, ...video.segment(first.sequence)!.chunks]));
      const [r, g, b] = meanColour(file);
      console.log(`slate mean colour: ${r.toFixed(1)}, ${g.toFixed(1)}, ${b.toFixed(1)} (picture 255, 128, 0)`);
      // YUV 4:2:0 round trips move each channel by a few levels at most.
      expect(Math.abs(r - 255)).toBeLessThan(12);
      expect(Math.abs(g - 128)).toBeLessThan(12);
      expect(Math.abs(b - 0)).toBeLessThan(12);
    } finally {
      p.process.kill('SIGKILL');
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('an Opus stream: the slate goes on in Opus, so the audio track never stops (Enhanced RTMP publisher)', async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30 });
    const live = nextPublish(gw, 'opus');
    const p = await publishErtmp('avc', await ertmpFixture('avc'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/opus`, enhancedAudioFixture('opus'));
    try {
      const stream = await live;
      const output = gw.outputs.get('live', 'opus')!;
      await untilUpdate(output.audio, () => output.audio.segments.length >= 2 && stream.audio !== undefined);
      expect(stream.audio).toMatchObject({ codec: 'opus', channels: 2 });
      const liveAudioInit = output.audio.currentInitId;
      const slateOn = nextPublish(gw, 'opus');
      p.stop();
      const slate = await slateOn;
      // The slate's audio: Opus at the live format (asked once the slate's picture is segmented),
      // and segments of it in the audio playlist.
      const video = output.videos.get('src')!;
      const liveVideoInit = video.currentInitId;
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== liveVideoInit));
      expect(slate.audio).toMatchObject({ codec: 'opus', sampleRate: 48_000, channels: 2, codecString: 'opus' });
      await untilUpdate(output.audio, () => output.audio.segments.filter((s) => s.initId !== liveAudioInit).length >= 2);
      const listing = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/opus/index.m3u8`)).text;
      expect(listing).toMatch(/CODECS="[^"]*opus/);
      const slateAudio = output.audio.segments.filter((s) => s.initId !== liveAudioInit);
      expect(slateAudio.every((s) => s.duration > 1.5)).toBe(true);
    } finally {
      p.stop();
      await gw.stop();
    }
  }, 90_000);

  it('an HEVC stream: the slate is HEVC at the live size, so the video codec never changes at the joins', async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30 });
    const live = nextPublish(gw, 'hevc');
    const p = await publishErtmp('hevc', await ertmpFixture('hevc'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/hevc`);
    try {
      const stream = await live;
      const video = gw.outputs.get('live', 'hevc')!.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 2);
      expect(stream.video).toMatchObject({ codec: 'hevc', width: 640, height: 360 });
      const liveInit = video.currentInitId;
      const slateOn = nextPublish(gw, 'hevc');
      p.stop();
      const slate = await slateOn;
      await untilUpdate(video, () => video.segments.filter((s) => s.initId !== liveInit).length >= 2);
      expect(slate.video).toMatchObject({ codec: 'hevc', width: 640, height: 360 });
      expect(slate.audio).toMatchObject({ codec: 'aac' });
      const master = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/hevc/index.m3u8`)).text;
      expect(master).toMatch(/CODECS="hvc1\./);
      expect(master).not.toMatch(/avc1\./);
    } finally {
      p.stop();
      await gw.stop();
    }
  }, 120_000);
});
