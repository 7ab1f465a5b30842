/**
 * AV1 over Enhanced RTMP, as OBS 30+ sends it: our E-RTMP test publisher (ffmpeg 5.1 has no E-RTMP
 * muxer) sends SVT-AV1 + AAC; the CMAF HLS and DASH carry `av01` with the codec string ffprobe
 * agrees with, decode cleanly with ffmpeg (dav1d), play in hls.js and dash.js in Chromium; RTMP
 * play relays E-RTMP `av01` tags; MPEG-TS, which does not carry AV1, is not offered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { parseRtmpUrl, RtmpClientConnection } from '../../src/rtmp/client.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { av1Fixture, publishAv1, type ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';
import { playDashIn, playHlsIn } from '../helpers/players.js';
import { untilUpdate } from '../helpers/events.js';

let gw: RunningGateway;
let publisher: ErtmpPublisher;
let browser: BrowserSession | undefined;
let base: string;

describe('AV1 over Enhanced RTMP', () => {
  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, 'av1');
    publisher = await publishAv1(await av1Fixture(), `rtmp://127.0.0.1:${gw.rtmpPort}/live/av1`);
    await live;
    const output = gw.outputs.get('live', 'av1')!;
    await new Promise<void>((resolve) => {
      const check = (): void => (output.videos.get('src')?.track ? resolve() : void setTimeout(check, 50));
      check();
    });
    const video = output.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 3 && output.audio.segments.length >= 3);
    base = `http://127.0.0.1:${gw.httpPort}/live/av1`;
    if (browserAvailable) browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await gw?.stop();
  });

  it('lists av01 in the HLS master and the MPD with the codec string ffprobe reads from the media', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const variant = master.playlists![0]!;
    const [videoCodec, audioCodec] = variant.attributes.CODECS!.split(',');
    expect(audioCodec).toBe('mp4a.40.2');
    expect(variant.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });
    const rendition = await downloadRendition(new URL(variant.uri, `${base}/index.m3u8`).href);
    expect(await decodeErrors(rendition.file)).toBe('');
    const [stream] = (await probe(rendition.file)).streams;
    expect(stream!.codec_name).toBe('av1');
    // av01.P.LLT.DD: profile Main = 0, the level index, Main tier, 8-bit (yuv420p).
    const level = String((stream as unknown as { level: number }).level).padStart(2, '0');
    expect(videoCodec).toBe(`av01.0.${level}M.08`);
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd).toContain(`codecs="${videoCodec}"`);
  }, 60_000);

  it('does not offer MPEG-TS, which does not carry AV1', async () => {
    const ts = await fetchText(`${base}/ts.m3u8`);
    expect(ts.status).toBe(404);
    expect(ts.text).toMatch(/AV1/);
  });

  it('relays E-RTMP av01 tags to RTMP players', async () => {
    const player = new RtmpClientConnection(parseRtmpUrl(`rtmp://127.0.0.1:${gw.rtmpPort}/live/av1`));
    const heads: number[][] = [];
    const enough = new Promise<void>((resolve) => {
      player.onMedia = (m) => {
        if (m.type === MessageType.Video && heads.length < 40) heads.push([...m.payload.subarray(0, 5)]);
        if (heads.length === 40) resolve();
      };
    });
    try {
      await player.play();
      await enough;
    } finally {
      player.close();
    }
    // The sequence start (keyframe, packet type 0) first, then coded frames (packet type 1).
    expect(heads[0]).toEqual([0x90, 0x61, 0x76, 0x30, 0x31]);
    expect(heads.slice(1).every((h) => (h[0]! & 0x8f) === 0x81 && String.fromCharCode(...h.slice(1)) === 'av01')).toBe(true);
    expect(heads.slice(1).some((h) => h[0] === 0x91)).toBe(true);
  }, 30_000);

  it.runIf(browserAvailable)('plays in hls.js and dash.js in Chromium', async () => {
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    const hls = await playHlsIn(browser!, origin, `${base}/index.m3u8`, true, 3);
    expect(hls.fatal).toBeNull();
    expect(hls.played).toBeGreaterThanOrEqual(3);
    expect(hls.videoWidth).toBe(640);
    const dash = await playDashIn(browser!, origin, `${base}/index.mpd`, false, 3);
    expect(dash.fatal).toBeNull();
    expect(dash.played).toBeGreaterThanOrEqual(3);
    expect(dash.videoWidth).toBe(640);
  }, 90_000);
});
