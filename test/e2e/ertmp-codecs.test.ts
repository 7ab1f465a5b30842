/**
 * AV1 and VP9 over Enhanced RTMP, as OBS 30+ sends them: our E-RTMP test publisher (ffmpeg 5.1 has
 * no E-RTMP muxer) sends SVT-AV1 or libvpx VP9 + AAC; the CMAF HLS and DASH carry `av01` / `vp09`
 * with the codec string ffprobe agrees with, decode cleanly with ffmpeg, play in hls.js and dash.js
 * in Chromium; RTMP play relays E-RTMP tags with the FourCC; MPEG-TS, which carries neither, is
 * not offered. Enhanced RTMP v2 audio (Opus, FLAC, AC-3 beside `avc1` video) reaches CMAF HLS and
 * DASH with the codec string ffprobe agrees with, RTMP play as E-RTMP audio tags, and hls.js in
 * Chromium decodes the Opus. HEVC (`hvc1`) reaches CMAF HLS and DASH with the Annex E codec string
 * ffmpeg's own reader derives from the served SPS, and MPEG-TS HLS, both decoding cleanly (its
 * playback in Chromium, where the browser can decode HEVC, is test/browser/hevc.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { parseRtmpUrl, RtmpClientConnection } from '../../src/rtmp/client.js';
import { MessageType } from '../../src/rtmp/messages.js';
import { browserAvailable, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { enhancedAudioFixture } from '../helpers/audio-fixtures.js';
import { ertmpFixture, publishErtmp, type ErtmpCodec, type ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';
import { playDashIn, playHlsIn } from '../helpers/players.js';
import { untilSourceSegments } from '../helpers/events.js';
import { run } from '../helpers/process.js';
import { ffmpegPath, ffprobePath } from '../helpers/tools.js';
import { hevcCodecStringOf } from '../helpers/hevc-trace.js';
import { publishMultitrackAudio } from '../helpers/ertmp-multitrack-audio.js';

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

/** ffprobe's HEVC profile names -> general_profile_idc (ITU-T H.265 Annex A.3). */
const HEVC_PROFILE_IDC: Record<string, number> = { Main: 1, 'Main 10': 2, 'Main Still Picture': 3, Rext: 4 };

describe('HEVC over Enhanced RTMP (hvc1, as OBS 30+ sends it)', () => {
  let gw: RunningGateway;
  let publisher: ErtmpPublisher;
  let base: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, 'hevc');
    publisher = await publishErtmp('hevc', await ertmpFixture('hevc'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/hevc`);
    await live;
    const output = gw.outputs.get('live', 'hevc')!;
    await untilSourceSegments(gw, 'hevc', 3, () => output.audio.segments.length >= 3);
    base = `http://127.0.0.1:${gw.httpPort}/live/hevc`;
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await gw?.stop();
  });

  it('CODECS and @codecs are the Annex E string of the served SPS, agreeing with ffprobe\'s profile and level; the CMAF decodes cleanly', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const variant = master.playlists![0]!;
    const [videoCodec, audioCodec] = variant.attributes.CODECS!.split(',');
    expect(audioCodec).toBe('mp4a.40.2');
    expect(variant.attributes.RESOLUTION).toEqual({ width: 640, height: 360 });
    const rendition = await downloadRendition(new URL(variant.uri, `${base}/index.m3u8`).href);
    expect(await decodeErrors(rendition.file)).toBe('');
    const [stream] = (await probe(rendition.file)).streams;
    expect(stream!.codec_name).toBe('hevc');
    // hvc1.PROFILE.COMPAT.TIERLEVEL.CONSTRAINTS (ISO/IEC 14496-15 Annex E.3): the profile and the
    // level are ffprobe's; the whole string is what ffmpeg's own reader finds in the SPS served.
    const profileIdc = HEVC_PROFILE_IDC[stream!.profile!];
    expect(profileIdc, `ffprobe profile ${stream!.profile}`).toBeDefined();
    expect(videoCodec).toMatch(new RegExp(`^hvc1\\.${profileIdc}\\.[0-9A-F]+\\.[LH]${stream!.level}(\\.[0-9A-F]{1,2})*$`));
    expect(videoCodec).toBe(await hevcCodecStringOf(rendition.file));
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd).toContain(`codecs="${videoCodec}"`);
  }, 60_000);

  it('ts.m3u8 carries the HEVC in MPEG-TS, which ffprobe reads and ffmpeg decodes cleanly', async () => {
    const ts = await fetchText(`${base}/ts.m3u8`);
    expect(ts.status).toBe(200);
    const probed = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', `${base}/ts.m3u8`], 60_000);
    expect(probed.code, probed.stderr).toBe(0);
    expect((JSON.parse(probed.stdout) as { streams: { codec_name: string; width: number }[] }).streams[0]).toMatchObject({ codec_name: 'hevc', width: 640 });
    const decoded = await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-i', `${base}/ts.m3u8`, '-t', '2', '-f', 'null', '-'], 60_000);
    expect(decoded.stderr.trim()).toBe('');
    expect(decoded.code).toBe(0);
  }, 90_000);
});

describe('Enhanced RTMP v2 multitrack audio (ManyTracks): track 0 is the stream audio, track 1 an alternative audio rendition', () => {
  let gw: RunningGateway;
  let publisher: ErtmpPublisher;
  let base: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, 'mta');
    publisher = await publishMultitrackAudio(await ertmpFixture('avc'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/mta`);
    await live;
    const output = gw.outputs.get('live', 'mta')!;
    await untilSourceSegments(gw, 'mta', 3, () => output.audio.segments.length >= 3 && (output.audioRenditions.get('audio-2')?.segments.length ?? 0) >= 3);
    base = `http://127.0.0.1:${gw.httpPort}/live/mta`;
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await gw?.stop();
  });

  it('the HLS audio group and the MPD list both tracks; each audio rendition decodes as AAC', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const group = master.mediaGroups!.AUDIO!['audio']!;
    expect(Object.values(group).map((a) => [a.default, a.uri])).toEqual([
      [true, 'audio/index.m3u8'],
      [false, 'audio-2/index.m3u8'],
    ]);
    for (const rendition of ['audio', 'audio-2']) {
      const downloaded = await downloadRendition(`${base}/${rendition}/index.m3u8`);
      expect(await decodeErrors(downloaded.file)).toBe('');
      expect((await probe(downloaded.file)).streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
    }
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd.match(/<AdaptationSet [^>]*contentType="audio"/g)).toHaveLength(2);
    expect(mpd).toMatch(/<Representation id="audio-2"[^>]*codecs="mp4a.40.2"/);
  }, 60_000);
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

/** What each Enhanced RTMP v2 audio codec is called by ffprobe, and its RFC 6381 codec string. */
const AUDIO_EXPECT: Record<'opus' | 'flac' | 'ac3', { fourcc: string; ffprobe: string; codecs: string; rate: number; channels: number }> = {
  opus: { fourcc: 'Opus', ffprobe: 'opus', codecs: 'opus', rate: 48_000, channels: 2 },
  flac: { fourcc: 'fLaC', ffprobe: 'flac', codecs: 'flac', rate: 44_100, channels: 1 },
  ac3: { fourcc: 'ac-3', ffprobe: 'ac3', codecs: 'ac-3', rate: 48_000, channels: 6 },
};
/** ffprobe's codec_name -> the codec string HLS CODECS and DASH @codecs must carry. */
const CODEC_STRING_OF: Record<string, string> = { opus: 'opus', flac: 'flac', ac3: 'ac-3', eac3: 'ec-3' };

/**
 * Plays with hls.js until `seconds` of media advanced; says what audio hls.js chose and how many
 * audio bytes Chromium decoded (HTMLMediaElement.webkitAudioDecodedByteCount).
 */
async function playHlsAudio(browser: BrowserSession, origin: string, src: string, seconds: number): Promise<{ played: number; audioBytes: number; audioCodec: string | null; fatal: string | null }> {
  await browser.page.goto(`${origin}/healthz`);
  await browser.page.addScriptTag({ path: HLS_JS_PATH });
  return browser.page.evaluate(
    ({ src, seconds }) =>
      new Promise<{ played: number; audioBytes: number; audioCodec: string | null; fatal: string | null }>((resolve) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const HlsCtor = (window as unknown as { Hls: any }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        const hls = new HlsCtor({ lowLatencyMode: false });
        let audioCodec: string | null = null;
        let start: number | null = null;
        const decoded = (): number => (video as unknown as { webkitAudioDecodedByteCount?: number }).webkitAudioDecodedByteCount ?? -1;
        hls.on(HlsCtor.Events.BUFFER_CODECS, (_e: string, data: { audio?: { codec?: string } }) => {
          audioCodec ??= data.audio?.codec ?? null;
        });
        hls.on(HlsCtor.Events.ERROR, (_e: string, data: { fatal?: boolean; type?: string; details?: string }) => {
          if (data.fatal) resolve({ played: 0, audioBytes: decoded(), audioCodec, fatal: `${data.type}/${data.details}` });
        });
        video.addEventListener('timeupdate', () => {
          if (start === null && video.currentTime > 0) start = video.currentTime;
          if (start !== null && video.currentTime - start >= seconds) resolve({ played: video.currentTime - start, audioBytes: decoded(), audioCodec, fatal: null });
        });
        hls.loadSource(src);
        hls.attachMedia(video);
        void video.play().catch(() => undefined);
      }),
    { src, seconds },
  );
}

describe('Enhanced RTMP v2 audio (Opus, FLAC, AC-3) with H.264 over E-RTMP', () => {
  let gw: RunningGateway;
  const publishers: ErtmpPublisher[] = [];
  let browser: BrowserSession | undefined;
  const base = (codec: string): string => `http://127.0.0.1:${gw.httpPort}/live/ea-${codec}`;

  beforeAll(async () => {
    gw = await startTestGateway();
    const video = await ertmpFixture('avc');
    // One gateway, the three publishes at once: their segments arrive together.
    await Promise.all(
      (['opus', 'flac', 'ac3'] as const).map(async (codec) => {
        const key = `ea-${codec}`;
        const live = nextPublish(gw, key);
        publishers.push(await publishErtmp('avc', video, `rtmp://127.0.0.1:${gw.rtmpPort}/live/${key}`, enhancedAudioFixture(codec)));
        await live;
        const output = gw.outputs.get('live', key)!;
        await untilSourceSegments(gw, key, 3, () => output.audio.segments.length >= 3);
      }),
    );
    if (browserAvailable) browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    for (const p of publishers) p.stop();
    await browser?.close();
    await gw?.stop();
  });

  it.each(['opus', 'flac', 'ac3'] as const)('%s: CODECS and @codecs are what ffprobe reads from the audio rendition, which decodes cleanly', async (codec) => {
    const expected = AUDIO_EXPECT[codec];
    const master = parseM3u8((await fetchText(`${base(codec)}/index.m3u8`)).text);
    const [videoCodec, audioCodec] = master.playlists![0]!.attributes.CODECS!.split(',');
    expect(videoCodec).toMatch(/^avc1\./);
    const rendition = await downloadRendition(`${base(codec)}/audio/index.m3u8`);
    expect(await decodeErrors(rendition.file)).toBe('');
    const [stream] = (await probe(rendition.file)).streams;
    expect(stream).toMatchObject({ codec_type: 'audio', codec_name: expected.ffprobe, sample_rate: String(expected.rate), channels: expected.channels });
    expect(audioCodec).toBe(CODEC_STRING_OF[stream!.codec_name]);
    const mpd = (await fetchText(`${base(codec)}/index.mpd`)).text;
    expect(mpd).toContain(`codecs="${audioCodec}"`);
    // MPEG-TS carries AAC only: a clean 404 that says why.
    const ts = await fetchText(`${base(codec)}/ts.m3u8`);
    expect(ts.status).toBe(404);
    expect(ts.text).toMatch(/AAC audio only/);
  }, 60_000);

  it('relays Opus to RTMP players as E-RTMP audio tags with the FourCC', async () => {
    const player = new RtmpClientConnection(parseRtmpUrl(`rtmp://127.0.0.1:${gw.rtmpPort}/live/ea-opus`));
    const heads: number[][] = [];
    const enough = new Promise<void>((resolve) => {
      player.onMedia = (m) => {
        if (m.type === MessageType.Audio && heads.length < 20) heads.push([...m.payload.subarray(0, 5)]);
        if (heads.length === 20) resolve();
      };
    });
    try {
      await player.play();
      await enough;
    } finally {
      player.close();
    }
    const opus = [...'Opus'].map((c) => c.charCodeAt(0));
    expect(heads[0]).toEqual([0x90, ...opus]); // SequenceStart (OpusHead)
    expect(heads.slice(1).every((h) => h[0] === 0x91 && h.slice(1).every((c, i) => c === opus[i]))).toBe(true);
  }, 30_000);

  it.runIf(browserAvailable)('hls.js in Chromium plays the Opus and the FLAC stream, decoding their audio (Chromium has no AC-3 decoder)', async () => {
    const origin = `http://127.0.0.1:${gw.httpPort}`;
    for (const codec of ['opus', 'flac'] as const) {
      const played = await playHlsAudio(browser!, origin, `${base(codec)}/index.m3u8`, 3);
      expect(played.fatal).toBeNull();
      expect(played.played).toBeGreaterThanOrEqual(3);
      expect(played.audioCodec).toBe(codec);
      expect(played.audioBytes).toBeGreaterThan(0);
    }
  }, 60_000);
});

describe('HDR: an HEVC publish with E-RTMP colorInfo (HDR10)', () => {
  const HDR10 = {
    colorConfig: { bitDepth: 10, colorPrimaries: 9, transferCharacteristics: 16, matrixCoefficients: 9 },
    hdrCll: { maxFall: 400, maxCLL: 1000 },
    hdrMdcv: { redX: 0.708, redY: 0.292, greenX: 0.17, greenY: 0.797, blueX: 0.131, blueY: 0.046, whitePointX: 0.3127, whitePointY: 0.329, maxLuminance: 1000, minLuminance: 0.0001 },
  };
  let gw: RunningGateway;
  let publisher: ErtmpPublisher;
  let base: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    const live = nextPublish(gw, 'hdr');
    publisher = await publishErtmp('hevc', await ertmpFixture('hevc'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/hdr`, undefined, { colorInfo: HDR10 });
    await live;
    await untilSourceSegments(gw, 'hdr', 2);
    base = `http://127.0.0.1:${gw.httpPort}/live/hdr`;
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await gw?.stop();
  });

  it('the init segment carries colr/mdcv/clli (ffmpeg reads them), the variant says VIDEO-RANGE=PQ, the MPD the CICP properties; one init, no discontinuity', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    expect(master.playlists![0]!.attributes['VIDEO-RANGE']).toBe('PQ');
    const rendition = await downloadRendition(new URL(master.playlists![0]!.uri, `${base}/index.m3u8`).href);
    expect(await decodeErrors(rendition.file)).toBe('');
    const trace = await run(ffprobePath(), ['-v', 'trace', rendition.file], 30_000);
    expect(trace.stderr).toMatch(/nclx: pri 9 trc 16 matrix 9 full 0/);
    const streams = await run(ffprobePath(), ['-v', 'error', '-show_streams', '-of', 'json', rendition.file], 30_000);
    const side = (JSON.parse(streams.stdout) as { streams: { side_data_list?: { side_data_type: string }[] }[] }).streams[0]!.side_data_list ?? [];
    expect(side.map((d) => d.side_data_type)).toEqual(expect.arrayContaining(['Mastering display metadata', 'Content light level metadata']));
    // The Metadata packet came right after the SequenceStart: the track was re-made before any
    // frame, so the media playlist has one init and no discontinuity.
    const media = (await fetchText(new URL(master.playlists![0]!.uri, `${base}/index.m3u8`).href)).text;
    expect(media.match(/#EXT-X-MAP/g)?.length).toBe(1);
    expect(media).not.toContain('#EXT-X-DISCONTINUITY');
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd).toContain('<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="16"/>');
  });

  it('RTMP players get the colorInfo Metadata packet ahead of the SequenceStart', async () => {
    const player = new RtmpClientConnection(parseRtmpUrl(`rtmp://127.0.0.1:${gw.rtmpPort}/live/hdr`));
    const heads: number[] = [];
    const got = new Promise<void>((resolve) => {
      player.onMedia = (m) => {
        if (m.type !== MessageType.Video) return;
        heads.push(m.payload[0]! & 0x0f);
        if (heads.length === 3) resolve();
      };
    });
    try {
      await player.play();
      await got;
    } finally {
      player.close();
    }
    // PacketType 4 (Metadata), then 0 (SequenceStart), then coded frames.
    expect(heads.slice(0, 2)).toEqual([4, 0]);
  });
});
