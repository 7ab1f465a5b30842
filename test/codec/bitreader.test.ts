import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BitReader, nalToRbsp } from '../../src/codec/bitreader.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter, hex, rbspToNal, toHex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('BitReader', () => {
  it('reads fixed-width fields MSB first, including a full unsigned 32-bit value', () => {
    const r = new BitReader(hex('a5 ff ff ff ff 80'));
    expect(r.u(4)).toBe(0xa);
    expect(r.u(4)).toBe(0x5);
    expect(r.u(32)).toBe(0xffffffff);
    expect(r.flag()).toBe(true);
    expect(r.bitsLeft).toBe(7);
  });

  it('decodes exp-Golomb codes per H.264 Table 9-2 / 9-3', () => {
    // 1 | 010 | 011 | 00100 | 00101 -> ue 0,1,2,3,4 ; then se: 010 -> 1, 011 -> -1, 00100 -> 2
    const r = new BitReader(Uint8Array.of(0b10100110, 0b01000010, 0b10100110, 0b01000000));
    expect([r.ue(), r.ue(), r.ue(), r.ue(), r.ue()]).toEqual([0, 1, 2, 3, 4]);
    expect([r.se(), r.se(), r.se()]).toEqual([1, -1, 2]);
  });

  it('round-trips ue/se values through a writer', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 30), max: 2 ** 30 }), { maxLength: 20 }), (values) => {
        const w = new BitWriter();
        for (const v of values) w.ue(Math.abs(v)).se(v);
        const r = new BitReader(w.bytes());
        for (const v of values) {
          expect(r.ue()).toBe(Math.abs(v));
          expect(r.se()).toBe(v);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('throws GatewayError past the end and on over-long codes', () => {
    const r = new BitReader(Uint8Array.of(0xff), 'codec.avc');
    r.u(6);
    expect(() => r.u(3)).toThrow(GatewayError);
    expect(() => new BitReader(new Uint8Array(8)).ue()).toThrow(/too long|truncated/);
    expect(() => new BitReader(new Uint8Array(2)).ue()).toThrow(GatewayError);
  });
});

describe('nalToRbsp', () => {
  it('removes emulation prevention bytes and returns the same view when there are none', () => {
    // 00 00 [03] 01 | 00 00 [03] 00 | 00 [03] 03 ff: the last 03 follows a removed one, so it is data.
    expect(toHex(nalToRbsp(hex('00 00 03 01 00 00 03 00 00 03 03 ff')))).toBe('0000010000000003ff');
    const plain = hex('67 64 00 1f ac');
    expect(nalToRbsp(plain)).toBe(plain);
    // A 03 after only one zero is data.
    expect(toHex(nalToRbsp(hex('00 03 00 00 03')))).toBe('00030000');
  });

  it('inverts rbspToNal for arbitrary data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }).map((a) => a.map((b) => (b < 8 ? b & 3 : b))), (rbsp) => {
        expect(toHex(nalToRbsp(rbspToNal(rbsp)))).toBe(toHex(rbsp));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
