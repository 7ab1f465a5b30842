/**
 * AV1 and VP9 over Enhanced RTMP, as OBS 30+ sends them: our E-RTMP test publisher (ffmpeg 5.1 has
 * no E-RTMP muxer) sends SVT-AV1 or libvpx VP9 + AAC; the CMAF HLS and DASH carry `av01` / `vp09`
 * with the codec string ffprobe agrees with, decode cleanly with ffmpeg, play in hls.js and dash.js
 * in Chromium; RTMP play relays E-RTMP tags with the FourCC; MPEG-TS, which carries neither, is
 * not offered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { parseRtmpUrl, RtmpClientConnection } from '../../src/rtmp/client.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { ertmpFixture, publishErtmp, type ErtmpCodec, type ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';
import { playDashIn, playHlsIn } from '../helpers/players.js';
import { untilSourceSegments } from '../helpers/events.js';

/** What ffprobe calls each codec, and the codec string expected from its profile and level. */
const EXPECT: Record<'av1' | 'vp9', { name: string; fourcc: string; codecs: (level: number) => RegExp }> = {
  // av01.P.LLT.DD: profile Main = 0, the level index, Main tier, 8-bit (yuv420p).
  av1: { name: 'av1', fourcc: 'av01', codecs: (level) => new RegExp(`^av01\\.0\\.${String(level).padStart(2, '0')}M\\.08$`) },
  // vp09.PP.LL.DD.CC.cp.tc.mc.FF: profile 0, 8-bit, 4:2:0 (ffprobe gives no VP9 level).
  vp9: { name: 'vp9', fourcc: 'vp09', codecs: () => /^vp09\.00\.\d{2}\.08\.0[01]\.\d{2}\.\d{2}\.\d{2}\.0[01]$/ },
};

describe.each(['av1', 'vp9'] as const)('%s over Enhanced RTMP', (codec) => {
  let gw: RunningGateway;
  let publisher: ErtmpPublisher;
  let browser: BrowserSession | undefined;
  let base: string;
  const expected = EXPECT[codec];

  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, codec);
    publisher = await publishErtmp(codec, await ertmpFixture(codec), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${codec}`);
    await live;
    const output = gw.outputs.get('live', codec)!;
    await untilSourceSegments(gw, codec, 3, () => output.audio.segments.length >= 3);
    base = `http://127.0.0.1:${gw.httpPort}/live/${codec}`;
    if (browserAvailable) browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await gw?.stop();
  });

  it('lists the codec in the HLS master and the MPD with the codec string ffprobe reads from the media', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const variant = master.playlists![0]!;
    const [videoCodec, audioCodec] = variant.attributes.CODECS!.split(',');
    expect(audioCodec).toBe('mp4a.40.2');
    expect(variant.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });
    const rendition = await downloadRendition(new URL(variant.uri, `${base}/index.m3u8`).href);
    expect(await decodeErrors(rendition.file)).toBe('');
    const [stream] = (await probe(rendition.file)).streams;
    expect(stream!.codec_name).toBe(expected.name);
    expect(videoCodec).toMatch(expected.codecs((stream as unknown as { level: number }).level));
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd).toContain(`codecs="${videoCodec}"`);
  }, 60_000);

  it('does not offer MPEG-TS, which carries neither', async () => {
    const ts = await fetchText(`${base}/ts.m3u8`);
    expect(ts.status).toBe(404);
    expect(ts.text).toContain(codec.toUpperCase());
  });

  it('relays E-RTMP tags with the FourCC to RTMP players', async () => {
    const player = new RtmpClientConnection(parseRtmpUrl(`rtmp://127.0.0.1:${gw.rtmpPort}/live/${codec}`));
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
    expect(heads[0]).toEqual([0x90, ...[...expected.fourcc].map((c) => c.charCodeAt(0))]);
    expect(heads.slice(1).every((h) => (h[0]! & 0x8f) === 0x81 && String.fromCharCode(...h.slice(1)) === expected.fourcc)).toBe(true);
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

describe('HEVC, AV1 and VP9 sources get a transcoded ladder (ffmpeg reads them as fragmented MP4)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1 });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it.each(['hevc', 'av1', 'vp9'] as const)('%s: a lower H.264 rung is listed beside the source and decodes cleanly', async (codec) => {
    const key = `ladder-${codec}`;
    const live = nextPublish(gw, key);
    const publisher = await publishErtmp(codec, await ertmpFixture(codec), `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`);
    try {
      await live;
      const output = gw.outputs.get('live', key)!;
      await new Promise<void>((resolve) => {
        const check = (): void => ([...output.videos.values()].some((v, i) => i > 0 && v.segments.length >= 2) ? resolve() : void setTimeout(check, 100));
        check();
      });
      const url = `http://127.0.0.1:${gw.httpPort}/live/${key}/index.m3u8`;
      const master = parseM3u8((await fetchText(url)).text);
      expect(master.playlists!.length).toBeGreaterThanOrEqual(2);
      const rung = master.playlists!.find((p) => p.attributes.CODECS!.startsWith('avc1.'))!;
      expect(rung.attributes.RESOLUTION!.height).toBeLessThan(360);
      const rendition = await downloadRendition(new URL(rung.uri, url).href);
      expect(await decodeErrors(rendition.file)).toBe('');
    } finally {
      publisher.stop();
    }
  }, 90_000);
});
