/**
 * E-RTMP colorInfo (VideoPacketType.Metadata) → ColourInfo → colr/mdcv/clli in the sample entry,
 * read back by ffprobe (an independent parser), VIDEO-RANGE, and the malformed-input contract.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { colorInfoFromMetadataValues, parseColorInfo, videoRangeOf, type ColourInfo } from '../../src/codec/colour.js';
import { GatewayError } from '../../src/core/errors.js';
import { encodeAmf0, type Amf0Value } from '../../src/flv/amf0.js';
import { parseVideoTagBody, videoColourMetadataBody } from '../../src/flv/tag.js';
import { FlvIngest } from '../../src/flv/ingest.js';
import { clli, colrNclx, mdcv } from '../../src/mux/fmp4/colour-boxes.js';
import { buildFragment, buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../src/mux/fmp4/init.js';
import { concatBytes, ffmpegBinary, loadHevcFixture, withDurations } from '../mux/fmp4/media-fixture.js';
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';
import { buildMultivariantPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMultivariantPlaylist } from '../../src/packager/hls/serialize.js';
import { buildMpd } from '../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../src/packager/dash/serialize.js';
import { T0, VIDEO_720P, fabricatedStreams, feedStream, mpdOptionsAt } from '../packager/dash/fabricate.js';

/** The HDR10 example values of the E-RTMP v2 spec's colorInfo (BT.2020 primaries, D65, PQ). */
const HDR10: Amf0Value = {
  colorConfig: { bitDepth: 10, colorPrimaries: 9, transferCharacteristics: 16, matrixCoefficients: 9 },
  hdrCll: { maxFall: 400, maxCLL: 1000 },
  hdrMdcv: { redX: 0.708, redY: 0.292, greenX: 0.17, greenY: 0.797, blueX: 0.131, blueY: 0.046, whitePointX: 0.3127, whitePointY: 0.329, maxLuminance: 1000, minLuminance: 0.0001 },
};

const dir = mkdtempSync(join(tmpdir(), 'colour-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An E-RTMP Metadata packet for hvc1: IsExHeader | FrameType 5 (command) | PacketType 4, FourCC, AMF0 pairs. */
function metadataTag(...values: Amf0Value[]): Uint8Array {
  return concatBytes([Uint8Array.of(0x80 | (5 << 4) | 4, 0x68, 0x76, 0x63, 0x31), encodeAmf0(...values)]);
}

describe('colorInfo', () => {
  it('reads the HDR10 example: code points, mastering display and content light level', () => {
    const c = parseColorInfo(HDR10)!;
    expect(c).toEqual({
      bitDepth: 10,
      colourPrimaries: 9,
      transferCharacteristics: 16,
      matrixCoefficients: 9,
      masteringDisplay: { red: [0.708, 0.292], green: [0.17, 0.797], blue: [0.131, 0.046], whitePoint: [0.3127, 0.329], maxLuminance: 1000, minLuminance: 0.0001 },
      contentLight: { maxCll: 1000, maxFall: 400 },
    });
    expect(videoRangeOf(c)).toBe('PQ');
    expect(videoRangeOf({ ...c, transferCharacteristics: 18 })).toBe('HLG');
    expect(videoRangeOf({ ...c, transferCharacteristics: 1 })).toBe('SDR');
    expect(videoRangeOf(undefined)).toBe('SDR');
  });

  it('Undefined, null and {} reset; missing code points are "unspecified" (2)', () => {
    expect(parseColorInfo(undefined)).toBeUndefined();
    expect(parseColorInfo(null)).toBeUndefined();
    expect(parseColorInfo({})).toBeUndefined();
    expect(parseColorInfo({ colorConfig: { transferCharacteristics: 18 } })).toEqual({ colourPrimaries: 2, transferCharacteristics: 18, matrixCoefficients: 2 });
    expect(colorInfoFromMetadataValues(['colorInfo', undefined])).toEqual({ present: true, colour: undefined });
    expect(colorInfoFromMetadataValues(['somethingElse', 1])).toEqual({ present: false });
  });

  it('out-of-range or mistyped fields are GatewayErrors naming the field', () => {
    expect(() => parseColorInfo({ colorConfig: { colorPrimaries: 300 } })).toThrow(/colorConfig\.colorPrimaries/);
    expect(() => parseColorInfo({ hdrMdcv: { redX: 'x' } })).toThrow(GatewayError);
    expect(() => parseColorInfo('HDR')).toThrow(/must be an object/);
  });

  it('the tag parser returns the colour of a Metadata packet and ignores an unreadable one (no throw)', () => {
    const body = parseVideoTagBody(metadataTag('colorInfo', HDR10));
    expect(body).toMatchObject({ kind: 'colour-info', codec: 'hevc', colour: { transferCharacteristics: 16 } });
    expect(parseVideoTagBody(metadataTag('colorInfo', { colorConfig: { colorPrimaries: -1 } }))).toMatchObject({ kind: 'ignored' });
    expect(parseVideoTagBody(concatBytes([metadataTag(), Uint8Array.of(0x02, 0xff)]))).toMatchObject({ kind: 'ignored' });
  });

  it('the Metadata packet we send to players (videoColourMetadataBody) reads back as the same colour', () => {
    const colour = parseColorInfo(HDR10)!;
    const hevc = loadHevcFixture();
    const body = videoColourMetadataBody({ ...hevc.track, colour })!;
    expect(body[0]).toBe(0x80 | (5 << 4) | 4);
    expect(parseVideoTagBody(body)).toEqual({ kind: 'colour-info', codec: 'hevc', colour });
    expect(videoColourMetadataBody(hevc.track)).toBeUndefined();
  });

  it('fuzz: random AMF values never throw anything but a GatewayError', () => {
    const runs = Number(process.env['FUZZ_RUNS'] ?? 2000);
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const value = (depth: number): Amf0Value => {
      const r = rnd();
      if (depth > 2 || r < 0.3) return [undefined, null, 'x', true, -1, 0.5, 1e9, Number.NaN][Math.floor(rnd() * 8)];
      const o: Record<string, Amf0Value> = {};
      for (const k of ['colorConfig', 'hdrCll', 'hdrMdcv', 'colorPrimaries', 'transferCharacteristics', 'maxCLL', 'maxFall', 'redX', 'redY', 'maxLuminance', 'minLuminance']) if (rnd() < 0.4) o[k] = value(depth + 1);
      return o;
    };
    for (let i = 0; i < runs; i++) {
      try {
        parseColorInfo(value(0));
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
      }
    }
  });
});

describe('colour boxes', () => {
  const c = parseColorInfo(HDR10)!;

  it('golden bytes: colr nclx, mdcv in G B R order (0.00002 and 0.0001 cd/m² units), clli', () => {
    expect(Buffer.from(colrNclx(c)).toString('hex')).toBe('00000013636f6c726e636c78' + '0009' + '0010' + '0009' + '00');
    expect(Buffer.from(mdcv(c.masteringDisplay!)).toString('hex')).toBe(
      '000000206d646376' + '2134' + '9baa' + '1996' + '08fc' + '8a48' + '3908' + '3d13' + '4042' + '00989680' + '00000001',
    );
    expect(Buffer.from(clli(c.contentLight!)).toString('hex')).toBe('0000000c636c6c69' + '03e8' + '0190');
  });

  it('ffprobe reads BT.2020 / PQ, the mastering display and the content light level from our init segment', () => {
    const hevc = loadHevcFixture();
    const track = { ...hevc.track, colour: c } satisfies typeof hevc.track & { colour: ColourInfo };
    const samples = withDurations(hevc.samples);
    const file = join(dir, 'hdr.mp4');
    writeFileSync(file, concatBytes([buildInitSegment(track), buildSegmentHeader(), buildFragment({ kind: 'video', sequenceNumber: 1, baseMediaDecodeTime: hevc.samples[0]!.dts, samples })]));
    const probe = ffmpegBinary().replace(/ffmpeg$/, 'ffprobe');
    // ffmpeg's mov demuxer logs the nclx it read (the HEVC decoder then reports the SPS VUI's
    // own, unspecified here, as the stream's colour): the trace line is the independent reading.
    const trace = spawnSync(probe, ['-v', 'trace', file], { encoding: 'utf8' }).stderr;
    expect(trace).toMatch(/nclx: pri 9 trc 16 matrix 9 full 0/);
    const r = spawnSync(probe, ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const stream = (JSON.parse(r.stdout) as { streams: { side_data_list?: Record<string, unknown>[] }[] }).streams[0]!;
    const side = stream.side_data_list ?? [];
    const mastering = side.find((d) => d['side_data_type'] === 'Mastering display metadata');
    const light = side.find((d) => d['side_data_type'] === 'Content light level metadata');
    expect(mastering).toMatchObject({ red_x: '35400/50000', red_y: '14600/50000', max_luminance: '10000000/10000', min_luminance: '1/10000' });
    expect(light).toMatchObject({ max_content: 1000, max_average: 400 });
  });
});

describe('FlvIngest with colorInfo', () => {
  const hevc = loadHevcFixture();
  const sequenceStart = concatBytes([Uint8Array.of(0x80 | (1 << 4) | 0, 0x68, 0x76, 0x63, 0x31), hevc.track.config]);

  it('Metadata after the SequenceStart (as OBS sends it) re-announces the track with its colour; the same colour again is no change', () => {
    const ingest = new FlvIngest();
    const first = ingest.pushVideo(0, sequenceStart, 0).filter((e) => e.type === 'track');
    expect(first).toHaveLength(1);
    const again = ingest.pushVideo(0, metadataTag('colorInfo', HDR10), 0).filter((e) => e.type === 'track');
    expect(again).toHaveLength(1);
    expect(again[0]!.type === 'track' && again[0]!.track.kind === 'video' && again[0]!.track.colour?.transferCharacteristics).toBe(16);
    expect(ingest.pushVideo(0, metadataTag('colorInfo', HDR10), 0)).toEqual([]);
    // A reset takes the colour off again.
    const reset = ingest.pushVideo(0, metadataTag('colorInfo', undefined), 0).filter((e) => e.type === 'track');
    expect(reset).toHaveLength(1);
    expect(reset[0]!.type === 'track' && reset[0]!.track.kind === 'video' && reset[0]!.track.colour).toBeUndefined();
  });

  it('Metadata before the SequenceStart applies to the track it makes', () => {
    const ingest = new FlvIngest();
    expect(ingest.pushVideo(0, metadataTag('colorInfo', HDR10), 0)).toEqual([]);
    const made = ingest.pushVideo(0, sequenceStart, 0).filter((e) => e.type === 'track');
    expect(made[0]!.type === 'track' && made[0]!.track.kind === 'video' && made[0]!.track.colour?.colourPrimaries).toBe(9);
  });
});

describe('HDR in the multivariant playlist and the MPD', () => {
  const fabricated = fabricatedStreams();

  it('VIDEO-RANGE=PQ on the variant (m3u8-parser) and the CICP SupplementalProperty in the video AdaptationSet (mpd-parser reads the MPD)', () => {
    const output = fabricated();
    const colour = parseColorInfo(HDR10)!;
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    const video = output.videos.get('src')!;
    // The listed segments' init (id 0) is the HDR one: each Period declares its own init's colour.
    video.onInit({ kind: 'video', id: 0, track: { ...VIDEO_720P, colour }, bytes: new Uint8Array([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70]) });
    const parser = new Parser();
    parser.push(serializeMultivariantPlaylist(buildMultivariantPlaylist(output)));
    parser.end();
    const playlists = (parser.manifest as unknown as { playlists: { attributes: Record<string, unknown> }[] }).playlists;
    expect(playlists[0]!.attributes['VIDEO-RANGE']).toBe('PQ');
    const mpd = serializeMpd(buildMpd(output, mpdOptionsAt(T0 + 20_000)));
    expect(mpd).toContain('<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="16"/>');
    expect(mpd).toContain('<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:ColourPrimaries" value="9"/>');
    expect(parseMpd(mpd, { manifestUri: 'http://gw.test/live/cam/index.mpd' }).playlists?.length).toBe(1);
  });

  it('SDR streams carry neither', () => {
    const output = fabricated();
    feedStream(output, { durations: [180_000, 180_000] });
    expect(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).not.toContain('VIDEO-RANGE');
    expect(serializeMpd(buildMpd(output, mpdOptionsAt(T0 + 20_000)))).not.toMatch(/cicp:(ColourPrimaries|TransferCharacteristics|MatrixCoefficients)/);
  });
});
