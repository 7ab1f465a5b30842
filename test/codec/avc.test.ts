import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  avcCodecString,
  buildAvcDecoderConfigurationRecord,
  parseAvcDecoderConfigurationRecord,
  parseSps,
} from '../../src/codec/avc.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter, hex, rbspToNal, toHex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/**
 * avcC records from the bundled ffmpeg (libx264), extracted from the mp4 'avcC' box, e.g.
 * `ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -frames:v 3 -c:v libx264 -preset veryfast
 *  -profile:v high -pix_fmt yuv420p out.mp4`
 */
const AVCC = {
  high720p30: '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000468ef8fcb',
  main720p30: '014d401fffe10019674d401feca02802dd8088000003000800000301e078c18cb001000468ef8fc8',
  baseline720p30: '0142c01fffe100176742c01fda014016ec0440000003004000000f03c60ca801000468ce0fc8',
  // 1920x1080 -> coded 1920x1088 with frame_crop_bottom_offset 4 (x 2 rows for 4:2:0)
  high1080p25: '01640028ffe1001b67640028acd940780227e5c044000003000400000300c83c60c65801000468ef8fcb',
  // rate=30000/1001, custom CQM (the scaling lists land in the PPS)
  high1080p2997: '01640028ffe1001967640028acd940780227e5c04400000fa40003a9803c60c65801000568ef8fce44',
  // -vf setsar=4/3 at 640x360
  high360pSar43: '0164001effe1001a6764001eacd940a02ff970e10000030001000003003c0f162d9601000468ef8fcb',
  high444: '01f4001fffe1001a67f4001f919b280a00b76022000003000200000300781e30632c01000568ef8f1920',
  high422: '017a001fffe1001a677a001fbcd9405005bb0110000003001000000303c0f183196001000468ef8fcb',
  // -x264-params interlaced=1: frame_mbs_only_flag 0, 1280x736 coded, cropped to 720
  interlaced720: '01640020ffe1001a67640020acd940500bbf2e0220000003002000000783e2c5b2c001000468fe8fcb',
};

function spsOf(avcc: string): Uint8Array {
  return parseAvcDecoderConfigurationRecord(hex(avcc)).sps[0]!;
}

describe('parseAvcDecoderConfigurationRecord', () => {
  it('reads profile, level, length size and parameter sets as views', () => {
    const bytes = hex(AVCC.high720p30);
    const rec = parseAvcDecoderConfigurationRecord(bytes);
    expect(rec).toMatchObject({ profile: 100, compatibility: 0, level: 31, nalLengthSize: 4 });
    expect(rec.sps.map(toHex)).toEqual(['6764001facd9405005bb0110000003001000000303c0f1831960']);
    expect(rec.pps.map(toHex)).toEqual(['68ef8fcb']);
    expect(rec.sps[0]!.buffer).toBe(bytes.buffer);
    expect(rec.spsExt).toBeUndefined();
  });

  it('reads the High-profile trailer when present', () => {
    const built = buildAvcDecoderConfigurationRecord([spsOf(AVCC.high422)], [hex('68ef8fcb')], 4);
    const rec = parseAvcDecoderConfigurationRecord(built);
    expect(rec).toMatchObject({ profile: 122, chromaFormat: 2, bitDepthLuma: 8, bitDepthChroma: 8, spsExt: [] });
  });

  it('rejects truncated and invalid records with GatewayError and an offset', () => {
    const bytes = hex(AVCC.high720p30);
    for (let n = 0; n < bytes.byteLength - 4; n++) {
      expect(() => parseAvcDecoderConfigurationRecord(bytes.subarray(0, n))).toThrow(GatewayError);
    }
    const v2 = bytes.slice();
    v2[0] = 2;
    expect(() => parseAvcDecoderConfigurationRecord(v2)).toThrow(/configurationVersion/);
    const len3 = bytes.slice();
    len3[4] = 0xfe;
    expect(() => parseAvcDecoderConfigurationRecord(len3)).toThrow(/length size 3/);
    try {
      parseAvcDecoderConfigurationRecord(bytes.subarray(0, 20));
    } catch (e) {
      expect((e as GatewayError).stage).toBe('codec.avc');
      expect((e as GatewayError).context).toHaveProperty('offset');
    }
  });
});

describe('parseSps (ffmpeg/libx264 vectors)', () => {
  it.each([
    ['high720p30', 'avc1.64001f', 1280, 720, 30],
    ['main720p30', 'avc1.4d401f', 1280, 720, 30],
    ['baseline720p30', 'avc1.42c01f', 1280, 720, 30],
    ['high1080p25', 'avc1.640028', 1920, 1080, 25],
    ['high1080p2997', 'avc1.640028', 1920, 1080, 30000 / 1001],
    ['high444', 'avc1.f4001f', 1280, 720, 30],
    ['high422', 'avc1.7a001f', 1280, 720, 30],
    ['interlaced720', 'avc1.640020', 1280, 720, 30],
  ] as const)('%s -> %s %dx%d @ %d', (name, codec, width, height, fps) => {
    const sps = parseSps(spsOf(AVCC[name]));
    expect(avcCodecString(sps)).toBe(codec);
    expect(sps.width).toBe(width);
    expect(sps.height).toBe(height);
    expect(sps.fps).toBeCloseTo(fps, 9);
  });

  it('applies frame cropping for 1080p (1920x1088 coded)', () => {
    const sps = parseSps(spsOf(AVCC.high1080p25));
    expect(sps).toMatchObject({ codedWidth: 1920, codedHeight: 1088, width: 1920, height: 1080, frameMbsOnly: true, chromaFormatIdc: 1 });
  });

  it('doubles map units and crop rows for field coding', () => {
    const sps = parseSps(spsOf(AVCC.interlaced720));
    expect(sps).toMatchObject({ frameMbsOnly: false, codedHeight: 736, height: 720 });
  });

  it('reads chroma format for 4:2:2 and 4:4:4 and the sample aspect ratio', () => {
    expect(parseSps(spsOf(AVCC.high444))).toMatchObject({ profileIdc: 244, chromaFormatIdc: 3 });
    expect(parseSps(spsOf(AVCC.high422))).toMatchObject({ profileIdc: 122, chromaFormatIdc: 2 });
    expect(parseSps(spsOf(AVCC.high360pSar43))).toMatchObject({ width: 640, height: 360, sarNum: 4, sarDen: 3 });
    expect(parseSps(spsOf(AVCC.main720p30))).toMatchObject({ constraintFlags: 0x40, sarNum: 1, sarDen: 1 });
  });
});

/**
 * Hand-built High 4:2:0 SPS exercising what x264 never writes: explicit scaling lists (one of
 * them ended early by a zero nextScale), pic_order_cnt_type 1, Extended_SAR and 24000/1001 timing.
 * The RBSP contains 00 00 0x runs, so emulation prevention is exercised too.
 */
function handBuiltSps(opts: { chroma?: number; crop?: [number, number, number, number]; timing?: [number, number] } = {}): Uint8Array {
  const w = new BitWriter();
  w.u(8, 100).u(8, 0).u(8, 40).ue(0);
  w.ue(opts.chroma ?? 1);
  if (opts.chroma === 3) w.flag(false); // separate_colour_plane_flag
  w.ue(0).ue(0).flag(false);
  w.flag(true); // seq_scaling_matrix_present_flag
  const lists = (opts.chroma ?? 1) === 3 ? 12 : 8;
  for (let i = 0; i < lists; i++) {
    const present = i === 0 || i === 6 || i === 7;
    w.flag(present);
    if (!present) continue;
    if (i === 7) {
      w.se(-8); // nextScale 0 at j = 0: "use default" -> list ends immediately
      continue;
    }
    const size = i < 6 ? 16 : 64;
    for (let j = 0; j < size; j++) w.se(j % 2 === 0 ? 1 : -1);
  }
  w.ue(0); // log2_max_frame_num_minus4
  w.ue(1).flag(false).se(-2).se(3).ue(2).se(5).se(-7); // pic_order_cnt_type 1 and its cycle
  w.ue(4).flag(false);
  w.ue(119).ue(67); // 120 x 68 MBs = 1920 x 1088
  w.flag(true).flag(true); // frame_mbs_only, direct_8x8_inference
  const crop = opts.crop ?? [0, 0, 0, 4];
  w.flag(true);
  for (const c of crop) w.ue(c);
  w.flag(true); // vui
  w.flag(true).u(8, 255).u(16, 64).u(16, 45); // Extended_SAR 64:45
  w.flag(false).flag(false).flag(false);
  const [num, scale] = opts.timing ?? [1001, 48000];
  w.flag(true).u(32, num).u(32, scale).flag(true);
  w.flag(false).flag(false).flag(false).flag(false); // no HRD, pic_struct, bitstream_restriction
  w.trailing();
  const rbsp = w.bytes();
  return Uint8Array.from([0x67, ...rbspToNal(rbsp)]);
}

describe('parseSps (hand-built)', () => {
  it('skips scaling lists and POC type 1, reads Extended_SAR and 23.976 fps', () => {
    const nal = handBuiltSps();
    const sps = parseSps(nal);
    expect(sps).toMatchObject({ profileIdc: 100, levelIdc: 40, width: 1920, height: 1080, sarNum: 64, sarDen: 45 });
    expect(sps.fps).toBeCloseTo(24000 / 1001, 9);
  });

  it('crops in chroma units for 4:4:4 (CropUnitX = CropUnitY = 1)', () => {
    const sps = parseSps(handBuiltSps({ chroma: 3, crop: [1, 1, 2, 6] }));
    expect(sps).toMatchObject({ chromaFormatIdc: 3, width: 1918, height: 1080 });
  });

  it('leaves fps undefined for implausible timing', () => {
    expect(parseSps(handBuiltSps({ timing: [1, 1] })).fps).toBeUndefined();
    expect(parseSps(handBuiltSps({ timing: [0, 50] })).fps).toBeUndefined();
  });

  it('rejects non-SPS NAL units, truncation and absurd cropping with GatewayError', () => {
    expect(() => parseSps(hex('68ef8fcb'))).toThrow(/not an SPS/);
    const nal = spsOf(AVCC.high720p30);
    for (let n = 0; n < 10; n++) expect(() => parseSps(nal.subarray(0, n))).toThrow(GatewayError);
    // A VUI cut short is tolerated: the size stays, the timing is simply unknown.
    const cut = parseSps(nal.subarray(0, 14));
    expect(cut).toMatchObject({ width: 1280, height: 720 });
    expect(cut.fps).toBeUndefined();
    expect(() => parseSps(handBuiltSps({ crop: [960, 0, 0, 0] }))).toThrow(/cropping/);
  });
});

describe('avcCodecString', () => {
  it('formats profile, constraint byte and level as two hex digits each', () => {
    expect(avcCodecString({ profileIdc: 66, constraintFlags: 0xe0, levelIdc: 10 })).toBe('avc1.42e00a');
  });
});

describe('buildAvcDecoderConfigurationRecord', () => {
  it('reproduces ffmpeg records byte for byte (non-High profiles)', () => {
    for (const name of ['main720p30', 'baseline720p30'] as const) {
      const rec = parseAvcDecoderConfigurationRecord(hex(AVCC[name]));
      expect(toHex(buildAvcDecoderConfigurationRecord(rec.sps, rec.pps))).toBe(AVCC[name]);
    }
  });

  it('adds the High-profile trailer (chroma_format, bit depths, no SPS ext)', () => {
    const rec = parseAvcDecoderConfigurationRecord(hex(AVCC.high720p30));
    expect(toHex(buildAvcDecoderConfigurationRecord(rec.sps, rec.pps))).toBe(`${AVCC.high720p30}fdf8f800`);
    expect(buildAvcDecoderConfigurationRecord(rec.sps, rec.pps, 2)[4]).toBe(0xfd);
  });

  it('validates its inputs', () => {
    const rec = parseAvcDecoderConfigurationRecord(hex(AVCC.main720p30));
    expect(() => buildAvcDecoderConfigurationRecord([], rec.pps)).toThrow(GatewayError);
    expect(() => buildAvcDecoderConfigurationRecord(rec.sps, rec.pps, 3)).toThrow(GatewayError);
    expect(() => buildAvcDecoderConfigurationRecord(rec.sps, [new Uint8Array(70000)])).toThrow(GatewayError);
  });
});

describe('fuzz', () => {
  const seeds = [...Object.values(AVCC).map(spsOf), handBuiltSps()];
  const onlyGatewayErrors = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  };

  it('parseSps throws only GatewayError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        onlyGatewayErrors(() => parseSps(Uint8Array.from([0x67, ...bytes])));
        onlyGatewayErrors(() => parseSps(bytes));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('parseSps throws only GatewayError on mutated real SPS', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (seed, edits, cut) => {
          const m = seed.slice();
          for (const [pos, v] of edits) m[1 + (pos % (m.byteLength - 1))] = v;
          onlyGatewayErrors(() => parseSps(m.subarray(0, Math.max(1, m.byteLength - (cut % 8)))));
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('parseAvcDecoderConfigurationRecord throws only GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        onlyGatewayErrors(() => parseAvcDecoderConfigurationRecord(Uint8Array.from([1, ...bytes])));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
