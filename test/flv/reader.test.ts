import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { FlvReader, type FlvTag } from '../../src/flv/reader.js';
import { encodeFlvTag, flvHeader } from '../../src/flv/writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const hexOf = (u: Uint8Array): string => Buffer.from(u).toString('hex');

function file(tags: Array<{ type: number; timestamp: number; payload: Uint8Array }>): Uint8Array {
  const parts = [flvHeader({ audio: true, video: true }), ...tags.map((t) => encodeFlvTag(t.type, t.timestamp, t.payload))];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

const simplify = (tags: FlvTag[]): Array<{ type: number; timestamp: number; payload: string }> =>
  tags.map((t) => ({ type: t.type, timestamp: t.timestamp, payload: hexOf(t.payload) }));

const SAMPLE = [
  { type: 18, timestamp: 0, payload: Uint8Array.of(2, 0, 10, 0x6f, 0x6e) },
  { type: 9, timestamp: 0, payload: Uint8Array.of(0x17, 0, 0, 0, 0, 1, 0x64) },
  { type: 8, timestamp: 23, payload: Uint8Array.of(0xaf, 1, 0x21) },
  { type: 9, timestamp: 0x12345678, payload: Uint8Array.of(0x27, 1, 0, 0, 0, 0xaa) }, // uses TimestampExtended
  { type: 8, timestamp: 0xffffffff, payload: new Uint8Array(0) },
];

describe('flv writer', () => {
  it('golden bytes: header with PreviousTagSize0, tag with extended timestamp and PreviousTagSize', () => {
    expect(hexOf(flvHeader({ audio: true, video: true }))).toBe('464c56010500000009' + '00000000');
    expect(hexOf(flvHeader({ audio: false, video: true }))).toBe('464c56010100000009' + '00000000');
    expect(hexOf(encodeFlvTag(9, 0x12345678, Uint8Array.of(0xaa, 0xbb)))).toBe('09' + '000002' + '345678' + '12' + '000000' + 'aabb' + '0000000d');
  });
});

describe('FlvReader', () => {
  it('reads the header and round-trips tags from the writer', () => {
    const reader = new FlvReader();
    expect(simplify(reader.push(file(SAMPLE)))).toEqual(simplify(SAMPLE));
    expect(reader.header).toEqual({ version: 1, audio: true, video: true });
  });

  it('survives a split at every byte boundary (and byte-by-byte)', () => {
    const bytes = file(SAMPLE);
    for (let cut = 0; cut <= bytes.byteLength; cut++) {
      const reader = new FlvReader();
      const tags = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
      expect(simplify(tags)).toEqual(simplify(SAMPLE));
    }
    const reader = new FlvReader();
    const tags: FlvTag[] = [];
    for (let i = 0; i < bytes.byteLength; i++) tags.push(...reader.push(bytes.subarray(i, i + 1)));
    expect(simplify(tags)).toEqual(simplify(SAMPLE));
  });

  it('hands out views for whole tags and its own buffer for split ones', () => {
    const bytes = file(SAMPLE);
    const whole = new FlvReader().push(bytes);
    expect(whole[1]!.payload.buffer).toBe(bytes.buffer);
    const reader = new FlvReader();
    // Tag 1's body spans bytes 44..50: cut inside it.
    const split = [...reader.push(bytes.subarray(0, 46)), ...reader.push(bytes.subarray(46))];
    expect(split[1]!.payload.buffer).not.toBe(bytes.buffer);
    expect(split[1]!.payload.buffer.byteLength).toBe(7);
  });

  it('skips extra header bytes given by DataOffset', () => {
    const body = file(SAMPLE).subarray(9);
    const header = Uint8Array.of(0x46, 0x4c, 0x56, 1, 5, 0, 0, 0, 12, 0xde, 0xad, 0xbe);
    const reader = new FlvReader();
    expect(simplify(reader.push(Uint8Array.from([...header, ...body])))).toEqual(simplify(SAMPLE));
  });

  it('rejects a bad signature, absurd DataOffset, encrypted tags and oversized tags', () => {
    expect(() => new FlvReader().push(Uint8Array.from([0x46, 0x4c, 0x58, 1, 5, 0, 0, 0, 9]))).toThrow(/signature/);
    expect(() => new FlvReader().push(Uint8Array.from([0x46, 0x4c, 0x56, 1, 5, 0x7f, 0, 0, 0]))).toThrow(/DataOffset/);
    const big = file([{ type: 9, timestamp: 0, payload: new Uint8Array(2000) }]);
    try {
      new FlvReader({ maxTagSize: 1000 }).push(big);
      throw new Error('did not throw');
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError);
      expect((e as GatewayError).context).toMatchObject({ offset: 13, type: 9 });
    }
    const enc = file(SAMPLE.slice(1, 2));
    enc[13] = 0x29; // Filter bit
    expect(() => new FlvReader().push(enc)).toThrow(/encrypted/);
  });

  it('random and mutated input throws only GatewayError and terminates', () => {
    const seed = file(SAMPLE);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 5 }),
        (edits, tail, cuts) => {
          const m = Uint8Array.from([...seed, ...tail]);
          for (const [p, v] of edits) m[p % m.byteLength] = v;
          const reader = new FlvReader({ maxTagSize: 4096 });
          try {
            let off = 0;
            for (const c of [...cuts.sort((a, b) => a - b), m.byteLength]) {
              const end = Math.min(m.byteLength, Math.max(off, c));
              reader.push(m.subarray(off, end));
              off = end;
            }
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
