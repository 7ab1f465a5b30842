import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hevcNalType, splitAnnexB } from '../../src/codec/annexb.js';
import { buildHevcDecoderConfigurationRecord, hevcCodecString, parseHevcDecoderConfigurationRecord, parseHevcSps } from '../../src/codec/hevc.js';
import { buildVideoTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';
import { ffmpegPath } from '../helpers/tools.js';
import { hex, toHex } from './bit-writer.js';

const run = promisify(execFile);

/** hvcC records of libx265 streams as ffmpeg writes them (see test/codec/hevc.test.ts). */
const HVCC_1080 =
  '01016000000090000000000078f000fcfdf8f800000f03a00001001840010c01ffff016000000300900000030000030078959409a1' +
  '0001002c420101016000000300900000030000030078a003c0801107cb965654a4c2f01010000003001000000301e080a2' +
  '000100064401c073c189';
const HVCC_360 =
  '0101600000009000000000003ff000fcfdf8f800000f03a00001001840010c01ffff01600000030090000003000003003f959409a1' +
  '0001002b42010101600000030090000003000003003fa005020171f2e595952930bc04040000030004000003007820a2' +
  '000100064401c073c189';

describe('buildHevcDecoderConfigurationRecord', () => {
  it('rebuilds x265 records byte for byte from their parameter sets', () => {
    for (const record of [HVCC_1080, HVCC_360]) {
      const parsed = parseHevcDecoderConfigurationRecord(hex(record));
      const built = buildHevcDecoderConfigurationRecord(parsed.vps, parsed.sps, parsed.pps);
      expect(toHex(built)).toBe(record);
    }
  });

  it('round-trips through parseHevcDecoderConfigurationRecord and buildVideoTrack', () => {
    const source = parseHevcDecoderConfigurationRecord(hex(HVCC_1080));
    for (const nalLengthSize of [1, 2, 4]) {
      const built = buildHevcDecoderConfigurationRecord(source.vps, source.sps, source.pps, nalLengthSize);
      const back = parseHevcDecoderConfigurationRecord(built);
      const sps = parseHevcSps(source.sps[0]!);
      expect(back).toMatchObject({
        generalProfileSpace: sps.profileSpace,
        generalTierFlag: sps.tierFlag,
        generalProfileIdc: sps.profileIdc,
        generalProfileCompatibilityFlags: sps.profileCompatibilityFlags,
        generalLevelIdc: sps.levelIdc,
        chromaFormat: 1,
        bitDepthLuma: 8,
        bitDepthChroma: 8,
        nalLengthSize,
        other: [],
      });
      expect(toHex(back.generalConstraintIndicatorFlags)).toBe('900000000000');
      expect([...back.vps, ...back.sps, ...back.pps].map(toHex)).toEqual([...source.vps, ...source.sps, ...source.pps].map(toHex));
      // array_completeness = 1 on every array.
      expect(built[23]! & 0x80).toBe(0x80);
      const track = buildVideoTrack('hevc', built);
      expect(track).toMatchObject({ codec: 'hevc', width: 1920, height: 1080, codecString: 'hvc1.1.6.L120.90', nalLengthSize });
      expect(hevcCodecString(back)).toBe('hvc1.1.6.L120.90');
    }
  });

  it('rejects missing, misplaced or oversized parameter sets and bad length sizes with GatewayError', () => {
    const { vps, sps, pps } = parseHevcDecoderConfigurationRecord(hex(HVCC_360));
    expect(() => buildHevcDecoderConfigurationRecord([], sps, pps)).toThrow(GatewayError);
    expect(() => buildHevcDecoderConfigurationRecord(vps, [], pps)).toThrow(GatewayError);
    expect(() => buildHevcDecoderConfigurationRecord(vps, sps, [])).toThrow(GatewayError);
    expect(() => buildHevcDecoderConfigurationRecord(pps, sps, pps)).toThrow(/type 34/);
    expect(() => buildHevcDecoderConfigurationRecord(vps, sps, pps, 3)).toThrow(GatewayError);
    expect(() => buildHevcDecoderConfigurationRecord(vps, sps, [new Uint8Array(0x10000).fill(0x44)])).toThrow(GatewayError);
    expect(() => buildHevcDecoderConfigurationRecord(vps, [sps[0]!.subarray(0, 8)], pps)).toThrow(GatewayError);
  });
});

describe('buildHevcDecoderConfigurationRecord against ffmpeg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hevc-record-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let annexB: Uint8Array;
  let ffmpegRecord: Uint8Array;

  beforeAll(async () => {
    const raw = join(dir, 'clip.265');
    const mp4 = join(dir, 'clip.mp4');
    const x265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:pools=1:frame-threads=1'];
    await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', '0.2', ...x265, '-f', 'hevc', raw], { timeout: 60_000 });
    await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-y', '-i', raw, '-c', 'copy', '-f', 'mp4', mp4], { timeout: 60_000 });
    annexB = new Uint8Array(readFileSync(raw));
    const file = Buffer.from(readFileSync(mp4));
    const at = file.indexOf('hvcC');
    ffmpegRecord = new Uint8Array(file.subarray(at + 4, at - 4 + file.readUInt32BE(at - 4)));
  });

  it('matches the hvcC ffmpeg writes for the same Annex B stream (array_completeness aside)', () => {
    const nals = splitAnnexB(annexB);
    const ofType = (t: number): Uint8Array[] => nals.filter((n) => hevcNalType(n) === t);
    const ours = buildHevcDecoderConfigurationRecord(ofType(32), ofType(33), ofType(34));
    const theirs = parseHevcDecoderConfigurationRecord(ffmpegRecord);
    expect(theirs.other).toEqual([]);
    // ffmpeg's mp4 muxer leaves array_completeness at 0; ours says 1 (no in-band parameter sets).
    expect(ours[23]! & 0x80).toBe(0x80);
    const masked = withoutCompleteness(ours);
    const theirsMasked = withoutCompleteness(ffmpegRecord);
    expect(toHex(masked)).toBe(toHex(theirsMasked));
    expect(buildVideoTrack('hevc', ours)).toMatchObject({ width: 320, height: 180 });
  });
});

/** A copy of an hvcC with the array_completeness bits cleared. */
function withoutCompleteness(record: Uint8Array): Uint8Array {
  const out = record.slice();
  let at = 23;
  for (let a = 0; a < out[22]!; a++) {
    out[at] = out[at]! & 0x3f;
    const count = (out[at + 1]! << 8) | out[at + 2]!;
    at += 3;
    for (let i = 0; i < count; i++) at += 2 + ((out[at]! << 8) | out[at + 1]!);
  }
  return out;
}
