import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import {
  MFHD_SIZE,
  NON_SYNC_SAMPLE_FLAGS,
  SYNC_SAMPLE_FLAGS,
  TFDT_SIZE,
  buildPrft,
  containerBox,
  dinf,
  esds,
  hdlr,
  mdhd,
  mp4aSampleEntry,
  mvhd,
  packLanguage,
  tfhdSize,
  tkhd,
  trex,
  trunSize,
  visualSampleEntry,
  writeMfhd,
  writeTfdt,
  writeTfhd,
  writeTrun,
  type TfhdFields,
  type TrunLayout,
  type TrunSample,
} from '../../../src/mux/fmp4/boxes.js';
import { buildSegmentHeader } from '../../../src/mux/fmp4/fragment.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

function written(size: number, write: (view: DataView) => number): Uint8Array {
  const out = new Uint8Array(size);
  const end = write(new DataView(out.buffer));
  expect(end).toBe(size);
  return out;
}

const mfhdBytes = (seq: number) => written(MFHD_SIZE, (v) => writeMfhd(v, 0, seq));
const tfhdBytes = (f: TfhdFields) => written(tfhdSize(f), (v) => writeTfhd(v, 0, f));
const tfdtBytes = (t: number) => written(TFDT_SIZE, (v) => writeTfdt(v, 0, t));
const trunBytes = (samples: TrunSample[], layout: TrunLayout, dataOffset: number) =>
  written(trunSize(samples.length, layout), (v) => writeTrun(v, 0, samples, layout, dataOffset));

const VIDEO: TrunLayout = { perSampleFlags: true, compositionOffsets: true };
const AUDIO: TrunLayout = { perSampleFlags: false, compositionOffsets: false };

describe('fragment boxes: golden bytes', () => {
  it('mfhd carries the sequence number', () => {
    expect(hex(mfhdBytes(1))).toBe('00000010' + '6d666864' + '00000000' + '00000001');
    expect(hex(mfhdBytes(0xfffffffe))).toBe('000000106d66686400000000fffffffe');
  });

  it('tfhd sets default-base-is-moof, plus default_sample_flags when given', () => {
    expect(hex(tfhdBytes({ trackId: 1 }))).toBe('00000010' + '74666864' + '00020000' + '00000001');
    expect(hex(tfhdBytes({ trackId: 2, defaultSampleFlags: SYNC_SAMPLE_FLAGS }))).toBe(
      '00000014' + '74666864' + '00020020' + '00000002' + '02000000',
    );
  });

  it('tfdt is version 1 with a 64-bit time, exact above 2^32 and up to 2^53', () => {
    expect(hex(tfdtBytes(2 ** 32 + 5))).toBe('00000014' + '74666474' + '01000000' + '00000001' + '00000005');
    expect(hex(tfdtBytes(Number.MAX_SAFE_INTEGER))).toBe('000000147466647401000000001fffffffffffff');
    expect(() => tfdtBytes(-1)).toThrow(GatewayError);
    expect(() => tfdtBytes(2 ** 53)).toThrow(GatewayError);
  });

  it('trun v0 for video with non-negative offsets: duration, size, flags, cto', () => {
    const samples: TrunSample[] = [
      { duration: 3000, size: 10, key: true, compositionOffset: 6000 },
      { duration: 3000, size: 5, key: false, compositionOffset: 0 },
    ];
    expect(hex(trunBytes(samples, VIDEO, 100))).toBe(
      '00000034 7472756e 00000f01 00000002 00000064'.replace(/ /g, '') +
        '00000bb8 0000000a 02000000 00001770'.replace(/ /g, '') +
        '00000bb8 00000005 01010000 00000000'.replace(/ /g, ''),
    );
  });

  it('trun v1 as soon as one offset is negative (ISO/IEC 14496-12 §8.8.8)', () => {
    const samples: TrunSample[] = [
      { duration: 3000, size: 10, key: true, compositionOffset: 0 },
      { duration: 3000, size: 5, key: false, compositionOffset: -3000 },
    ];
    expect(hex(trunBytes(samples, VIDEO, 100))).toBe(
      '00000034 7472756e 01000f01 00000002 00000064'.replace(/ /g, '') +
        '00000bb8 0000000a 02000000 00000000'.replace(/ /g, '') +
        '00000bb8 00000005 01010000 fffff448'.replace(/ /g, ''),
    );
  });

  it('trun for audio: no per-sample flags, no offsets', () => {
    const samples: TrunSample[] = [
      { duration: 1024, size: 7, key: true, compositionOffset: 0 },
      { duration: 1024, size: 9, key: true, compositionOffset: 0 },
    ];
    expect(hex(trunBytes(samples, AUDIO, 0x1234))).toBe(
      '00000024 7472756e 00000301 00000002 00001234 00000400 00000007 00000400 00000009'.replace(/ /g, ''),
    );
  });

  it('trun takes the size from data when size is absent, and rejects a disagreement', () => {
    const data = new Uint8Array(33);
    const a = trunBytes([{ duration: 1, data, key: true, compositionOffset: 0 }], AUDIO, 8);
    expect(hex(a.subarray(24, 28))).toBe('00000021');
    expect(() => trunBytes([{ duration: 1, size: 32, data, key: true, compositionOffset: 0 }], AUDIO, 8)).toThrow(GatewayError);
    expect(() => trunBytes([{ duration: 1, key: true, compositionOffset: 0 }], AUDIO, 8)).toThrow(/neither size nor data/);
  });

  it('trun rejects values that do not fit their fields', () => {
    const one = (s: Partial<TrunSample>) => [{ duration: 1, size: 1, key: true, compositionOffset: 0, ...s }];
    expect(() => trunBytes(one({ duration: 2 ** 32 }), VIDEO, 8)).toThrow(GatewayError);
    expect(() => trunBytes(one({ duration: 1.5 }), VIDEO, 8)).toThrow(GatewayError);
    expect(() => trunBytes(one({ compositionOffset: -(2 ** 31) - 1 }), VIDEO, 8)).toThrow(GatewayError);
    expect(() => trunBytes(one({ compositionOffset: 2 ** 32 }), VIDEO, 8)).toThrow(GatewayError);
    expect(() => trunBytes(one({}), VIDEO, -1)).toThrow(GatewayError);
  });

  it('sample flag constants follow §8.8.3.1 (depends_on / is_non_sync)', () => {
    expect(SYNC_SAMPLE_FLAGS >>> 24 & 3).toBe(2);
    expect(SYNC_SAMPLE_FLAGS >>> 16 & 1).toBe(0);
    expect(NON_SYNC_SAMPLE_FLAGS >>> 24 & 3).toBe(1);
    expect(NON_SYNC_SAMPLE_FLAGS >>> 16 & 1).toBe(1);
  });

  it('prft v1: reference track, NTP 32.32 from Unix ms, 64-bit media time', () => {
    // 1970-01-01T00:00:01.500Z = NTP 2208988801 s + 0.5 (0x80000000)
    expect(hex(buildPrft({ trackId: 1, ntpMs: 1500, mediaTime: 2 ** 32 + 1 }))).toBe(
      '00000020 70726674 01000000 00000001 83aa7e81 80000000 00000001 00000001'.replace(/ /g, ''),
    );
    const now = buildPrft({ trackId: 3, ntpMs: Date.UTC(2024, 0, 1), mediaTime: 90_000, flags: 24 });
    const v = new DataView(now.buffer);
    expect(v.getUint32(8)).toBe(0x0100_0018); // version 1, flags 24
    expect(v.getUint32(16) - 2_208_988_800).toBe(Date.UTC(2024, 0, 1) / 1000);
    expect(() => buildPrft({ trackId: 1, ntpMs: Number.NaN, mediaTime: 0 })).toThrow(GatewayError);
  });

  it('styp brands a CMAF segment of DASH media segment format', () => {
    expect(hex(buildSegmentHeader())).toBe(
      '00000020 73747970 6d736468 00000000 6d736468 636d6673 636d6666 69736f36'.replace(/ /g, ''),
    );
  });
});

describe('init boxes: golden bytes', () => {
  it('esds of the AAC-LC 44.1 kHz stereo ASC 0x1210 (ISO/IEC 14496-14 §5.6, 14496-1 §7.2.6)', () => {
    expect(hex(esds(unhex('1210')))).toBe(
      (
        '00000027 65736473 00000000' + // size 39, 'esds', v0 flags 0
        ' 03 19 0000 00' + // ES_Descriptor, 25 bytes, ES_ID 0, flags 0
        ' 04 11 40 15 000000 00000000 00000000' + // DecoderConfig: MPEG-4 Audio, audio stream
        ' 05 02 1210' + // DecoderSpecificInfo = ASC
        ' 06 01 02' // SLConfig predefined 2
      ).replace(/ /g, ''),
    );
  });

  it('esds uses multi-byte descriptor sizes for long configs', () => {
    const asc = new Uint8Array(200).fill(0x11);
    const box = esds(asc);
    // ES_Descriptor payload = 3 + DCD(1+2+13+DSI(1+2+200)) + SL(3) = 3 + 219 + 3 = 225 -> 0x81 0x61
    expect(hex(box.subarray(12, 15))).toBe('038161');
    expect(box.length).toBe(12 + 3 + 225);
    expect(() => esds(new Uint8Array(0))).toThrow(GatewayError);
  });

  it('language "und" packs to 0x55c4', () => {
    expect(packLanguage('und')).toBe(0x55c4);
    expect(() => packLanguage('EN')).toThrow(GatewayError);
  });

  it('fixed-size headers have their specified sizes', () => {
    expect(mvhd(1000, 2).length).toBe(108);
    expect(tkhd(1, { width: 320, height: 240, volume: 0 }).length).toBe(92);
    expect(mdhd(90_000).length).toBe(32);
    expect(trex(1).length).toBe(32);
    expect(dinf().length).toBe(36);
    expect(hdlr('vide', 'VideoHandler').length).toBe(12 + 20 + 13);
  });

  it('mdhd golden: timescale 90000, language und', () => {
    expect(hex(mdhd(90_000))).toBe('00000020 6d646864 00000000 00000000 00000000 00015f90 00000000 55c40000'.replace(/ /g, ''));
  });

  it('trex golden: default sample description index 1, other defaults 0', () => {
    expect(hex(trex(7))).toBe('00000020 74726578 00000000 00000007 00000001 00000000 00000000 00000000'.replace(/ /g, ''));
  });

  it('dinf golden: dref with one self-contained url entry', () => {
    expect(hex(dinf())).toBe(
      '00000024 64696e66 0000001c 64726566 00000000 00000001 0000000c 75726c20 00000001'.replace(/ /g, ''),
    );
  });

  it('tkhd writes 16.16 width/height and flags 3', () => {
    const b = tkhd(1, { width: 1920, height: 1080, volume: 0 });
    const v = new DataView(b.buffer);
    expect(v.getUint32(8)).toBe(3);
    expect(v.getUint32(84)).toBe(1920 * 65536);
    expect(v.getUint32(88)).toBe(1080 * 65536);
    expect(() => tkhd(1, { width: 70_000, height: 1, volume: 0 })).toThrow(GatewayError);
  });

  it('mp4a writes 16.16 sample rate, or 0 above 65535', () => {
    const e = esds(unhex('1210'));
    const low = new DataView(mp4aSampleEntry(2, 44_100, e).buffer);
    expect(low.getUint16(24)).toBe(2);
    expect(low.getUint32(32)).toBe(44_100 * 65536);
    const high = new DataView(mp4aSampleEntry(2, 96_000, e).buffer);
    expect(high.getUint32(32)).toBe(0);
  });

  it('visual sample entry: 86-byte head then children', () => {
    const child = containerBox('test', [unhex('aabb')]);
    const b = visualSampleEntry('avc1', 320, 240, [child]);
    expect(b.length).toBe(86 + 10);
    const v = new DataView(b.buffer);
    expect(v.getUint16(32)).toBe(320);
    expect(v.getUint16(34)).toBe(240);
    expect(v.getUint16(82)).toBe(0x18);
    expect(v.getInt16(84)).toBe(-1);
    expect(hex(b.subarray(86))).toBe('0000000a74657374aabb');
  });
});
