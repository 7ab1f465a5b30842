import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hevcCodecString, parseHevcDecoderConfigurationRecord, parseHevcSps } from '../../src/codec/hevc.js';
import { GatewayError } from '../../src/core/errors.js';
import { hex, toHex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/**
 * hvcC from the bundled ffmpeg's libx265 (`-c:v libx265 -preset ultrafast -tag:v hvc1`, 3 frames
 * of testsrc2), with the x265 user-data SEI array removed (numOfArrays 4 -> 3) to keep it short.
 */
const HVCC_1080 =
  '01016000000090000000000078f000fcfdf8f800000f03a00001001840010c01ffff016000000300900000030000030078959409a1' +
  '0001002c420101016000000300900000030000030078a003c0801107cb965654a4c2f01010000003001000000301e080a2' +
  '000100064401c073c189';
const HVCC_360 =
  '0101600000009000000000003ff000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003003f959409a1' +
  '0001002b42010101600000030090000003000003003fa005020171f2e595952930bc04040000030004000003007820a2' +
  '000100064401c073c189';

describe('parseHevcDecoderConfigurationRecord', () => {
  it('reads general profile/tier/level and the VPS/SPS/PPS arrays as views', () => {
    const bytes = hex(HVCC_1080);
    const rec = parseHevcDecoderConfigurationRecord(bytes);
    expect(rec).toMatchObject({
      generalProfileSpace: 0,
      generalTierFlag: 0,
      generalProfileIdc: 1,
      generalProfileCompatibilityFlags: 0x60000000,
      generalLevelIdc: 120,
      chromaFormat: 1,
      bitDepthLuma: 8,
      nalLengthSize: 4,
    });
    expect(toHex(rec.generalConstraintIndicatorFlags)).toBe('900000000000');
    expect([rec.vps.length, rec.sps.length, rec.pps.length, rec.other.length]).toEqual([1, 1, 1, 0]);
    expect(toHex(rec.pps[0]!)).toBe('4401c073c189');
    expect(rec.sps[0]!.buffer).toBe(bytes.buffer);
  });

  it('rejects truncation with GatewayError', () => {
    const bytes = hex(HVCC_360);
    for (let n = 0; n < bytes.byteLength; n++) {
      expect(() => parseHevcDecoderConfigurationRecord(bytes.subarray(0, n))).toThrow(GatewayError);
    }
  });
});

describe('hevcCodecString', () => {
  it('matches ffprobe/x265 (Main, level 4.0 / 2.1)', () => {
    expect(hevcCodecString(parseHevcDecoderConfigurationRecord(hex(HVCC_1080)))).toBe('hvc1.1.6.L120.90');
    expect(hevcCodecString(parseHevcDecoderConfigurationRecord(hex(HVCC_360)), 'hev1')).toBe('hev1.1.6.L63.90');
  });

  it('formats the ISO/IEC 14496-15 Annex E examples', () => {
    const base = { generalProfileSpace: 0, generalTierFlag: 0, generalProfileIdc: 1, generalProfileCompatibilityFlags: 0x60000000 };
    expect(hevcCodecString({ ...base, generalLevelIdc: 93, generalConstraintIndicatorFlags: hex('b00000000000') })).toBe('hvc1.1.6.L93.B0');
    expect(
      hevcCodecString({ generalProfileSpace: 0, generalTierFlag: 1, generalProfileIdc: 2, generalProfileCompatibilityFlags: 0x20000000, generalLevelIdc: 120, generalConstraintIndicatorFlags: hex('b00000000000') }, 'hev1'),
    ).toBe('hev1.2.4.H120.B0');
    expect(hevcCodecString({ ...base, generalProfileSpace: 1, generalLevelIdc: 90, generalConstraintIndicatorFlags: hex('000000000000') })).toBe('hvc1.A1.6.L90');
    expect(hevcCodecString({ ...base, generalLevelIdc: 93, generalConstraintIndicatorFlags: hex('b02300000001') })).toBe('hvc1.1.6.L93.B0.23.0.0.0.1');
  });
});

describe('parseHevcSps', () => {
  it('applies the conformance window (1920x1088 -> 1080, 640x368 -> 360)', () => {
    const sps1080 = parseHevcSps(parseHevcDecoderConfigurationRecord(hex(HVCC_1080)).sps[0]!);
    expect(sps1080).toMatchObject({ profileIdc: 1, levelIdc: 120, codedWidth: 1920, codedHeight: 1088, width: 1920, height: 1080, chromaFormatIdc: 1 });
    const sps360 = parseHevcSps(parseHevcDecoderConfigurationRecord(hex(HVCC_360)).sps[0]!);
    expect(sps360).toMatchObject({ width: 640, height: 360, codedHeight: 368 });
  });

  it('throws only GatewayError on truncated, wrong and mutated input', () => {
    const sps = parseHevcDecoderConfigurationRecord(hex(HVCC_1080)).sps[0]!;
    expect(() => parseHevcSps(hex('4401c073'))).toThrow(/not an SPS/);
    for (let n = 0; n < 20; n++) expect(() => parseHevcSps(sps.subarray(0, n))).toThrow(GatewayError);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.uint8Array({ maxLength: 40 }), (edits, rnd) => {
        const m = sps.slice();
        for (const [p, v] of edits) m[2 + (p % (m.byteLength - 2))] = v;
        for (const input of [m, Uint8Array.from([0x42, 0x01, ...rnd])]) {
          try {
            parseHevcSps(input);
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
