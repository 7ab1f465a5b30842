/** FLAC: STREAMINFO in every E-RTMP SequenceStart form, the dfLa payload, frame headers and splitting (RFC 9639). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flacDflaPayload, flacSampleEntryRate, parseFlacConfig, readFlacFrameHeader, splitFlacFrames } from '../../src/codec/flac.js';
import { buildFlacTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** ffmpeg 5.1's flac encoder, 44.1 kHz mono 16-bit: STREAMINFO (block size 4608). */
const STREAMINFO = unhex('120012000002490004f50ac440f0000409985b55c460cf698b4aab4c1b1fffa4737f');
/** The dfLa ffmpeg writes for it: version/flags, then the block (last flag, type 0, length 34). */
const FFMPEG_DFLA = '00000000' + '80000022' + hex(STREAMINFO);
/** The header of ffmpeg's first frame: fixed blocking, 4608 samples, 44.1 kHz, mono, 16-bit, frame 0, CRC-8. */
const FIRST_FRAME_HEADER = unhex('fff85908003c');

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x8005) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let b = 0; b < 8; b++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/**
 * A frame as a FLAC encoder lays it out (§9): header with block size code 6 (8-bit size after the
 * coded number) and 48 kHz, `payload` standing in for the subframes, CRC-16 footer.
 */
function frame(number: number, blockSize: number, payload: Uint8Array): Uint8Array {
  const head = Uint8Array.of(0xff, 0xf8, (6 << 4) | 10, (1 << 4) | (4 << 1), number & 0x7f, blockSize - 1);
  const withCrc8 = Uint8Array.of(...head, crc8(head));
  const body = Uint8Array.of(...withCrc8, ...payload);
  const crc = crc16(body);
  return Uint8Array.of(...body, crc >> 8, crc & 0xff);
}

describe('FLAC configuration', () => {
  it('reads the three SequenceStart forms alike and writes the dfLa ffmpeg writes', () => {
    const forms = [
      Uint8Array.of(0x66, 0x4c, 0x61, 0x43, 0x80, 0, 0, 34, ...STREAMINFO), // E-RTMP v2: "fLaC" + block
      Uint8Array.of(0x80, 0, 0, 34, ...STREAMINFO), // the block alone
      STREAMINFO, // the bare STREAMINFO (ffmpeg's FLV muxer, mpegts.js)
      Uint8Array.of(0x66, 0x4c, 0x61, 0x43, ...STREAMINFO), // the marker and the bare STREAMINFO
    ];
    for (const form of forms) {
      const config = parseFlacConfig(form);
      expect(config.streamInfo).toEqual({ minBlockSize: 4608, maxBlockSize: 4608, sampleRate: 44_100, channels: 1, bitsPerSample: 16 });
      expect(hex(flacDflaPayload(config))).toBe(FFMPEG_DFLA);
    }
    expect(buildFlacTrack(forms[0]!)).toMatchObject({ codec: 'flac', codecString: 'flac', timescale: 44_100, channels: 1, samplesPerFrame: 4608 });
  });

  it('keeps further metadata blocks and sets the last-block flag on the last one only', () => {
    // STREAMINFO not flagged last, then a VORBIS_COMMENT (type 4) without the flag either: the data
    // ends the list, the comment gets the flag. A block after a flagged one is not read.
    const comment = Uint8Array.of(4, 0, 0, 2, 0xaa, 0xbb);
    const config = parseFlacConfig(Uint8Array.of(0x66, 0x4c, 0x61, 0x43, 0x00, 0, 0, 34, ...STREAMINFO, ...comment));
    expect(config.blocks[0]).toBe(0x00);
    expect(config.blocks[38]).toBe(0x84); // the comment, now flagged last
    expect(config.blocks.byteLength).toBe(38 + 6);
    const stopped = parseFlacConfig(Uint8Array.of(0x80, 0, 0, 34, ...STREAMINFO, 1, 0, 0, 0));
    expect(stopped.blocks.byteLength).toBe(38);
  });

  it('refuses what is not STREAMINFO first, truncated or out of range', () => {
    expect(() => parseFlacConfig(Uint8Array.of(0x84, 0, 0, 34, ...STREAMINFO))).toThrow(/not a 34-byte STREAMINFO/);
    expect(() => parseFlacConfig(Uint8Array.of(0x80, 0, 0, 34, ...STREAMINFO.subarray(0, 20)))).toThrow(/truncated/);
    expect(() => parseFlacConfig(Uint8Array.of(0x66, 0x4c, 0x61))).toThrow(/truncated/);
    const zeroRate = STREAMINFO.slice();
    zeroRate.fill(0, 10, 13);
    expect(() => parseFlacConfig(zeroRate)).toThrow(/sample rate is 0/);
    const smallBlocks = STREAMINFO.slice();
    smallBlocks[1] = 8;
    smallBlocks[0] = 0;
    expect(() => parseFlacConfig(smallBlocks)).toThrow(/block sizes/);
  });

  it('writes rates above 16 bits as their greatest regular division (FLAC-in-ISOBMFF §3.3.1)', () => {
    expect([44_100, 65_535, 88_200, 96_000, 176_400, 192_000, 655_350, 70_001].map(flacSampleEntryRate)).toEqual([44_100, 65_535, 44_100, 48_000, 44_100, 48_000, 65_535, 65_535]);
  });
});

describe('FLAC frames', () => {
  it('reads the block size from ffmpeg\'s first frame header', () => {
    expect(readFlacFrameHeader(FIRST_FRAME_HEADER)).toEqual({ blockSize: 4608, sampleRate: 44_100, length: 6 });
    const bad = FIRST_FRAME_HEADER.slice();
    bad[5] ^= 1;
    expect(() => readFlacFrameHeader(bad)).toThrow(/CRC-8 mismatch/);
    expect(() => readFlacFrameHeader(Uint8Array.of(0xff, 0xf8, 0x09, 0x08, 0x00, 0x00))).toThrow(/block size code 0/);
  });

  it('splits a body of several frames at their boundaries, not at sync-like bytes inside a frame', () => {
    const a = frame(0, 192, Uint8Array.of(1, 2, 3, 4, 5));
    // This frame's payload holds a perfect copy of a frame header: only the CRC-16 tells it apart.
    const b = frame(1, 100, Uint8Array.of(...frame(9, 50, Uint8Array.of(7)).subarray(0, 7), 9, 9));
    const c = frame(2, 256, Uint8Array.of(0xff, 0xf8, 0x00));
    const frames = splitFlacFrames(Uint8Array.of(...a, ...b, ...c));
    expect(frames.map((f) => f.blockSize)).toEqual([192, 100, 256]);
    expect(frames.map((f) => hex(f.data))).toEqual([hex(a), hex(b), hex(c)]);
    expect(splitFlacFrames(a)).toHaveLength(1);
    expect(() => splitFlacFrames(Uint8Array.of(0, 1, 2, 3, 4, 5, 6))).toThrow(/not a FLAC frame/);
  });

  it('random and mutated configurations and frames throw only GatewayError', () => {
    const seeds = [Uint8Array.of(0x66, 0x4c, 0x61, 0x43, 0x80, 0, 0, 34, ...STREAMINFO), STREAMINFO, Uint8Array.of(...frame(0, 192, Uint8Array.of(1, 2)), ...frame(1, 192, Uint8Array.of(3)))];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([s, edits, cut]) => {
            const m = s.slice();
            for (const [p, v] of edits) m[p % m.byteLength] = v;
            return m.subarray(0, m.byteLength - (cut % 8));
          }),
        ),
        (bytes) => {
          for (const f of [() => parseFlacConfig(bytes), () => readFlacFrameHeader(bytes), () => splitFlacFrames(bytes)]) {
            try {
              f();
            } catch (e) {
              if (!(e instanceof GatewayError)) throw e;
            }
          }
          try {
            // Whatever splits covers the body exactly, in order.
            const frames = splitFlacFrames(bytes);
            expect(frames.reduce((n, x) => n + x.data.byteLength, 0)).toBe(bytes.byteLength);
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
