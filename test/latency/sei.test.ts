import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import {
  addEmulationPrevention,
  buildTimestampSei,
  findTimestampInAvcc,
  findTimestampsInAnnexB,
  insertSeiIntoAvcc,
  readTimestampSei,
  removeEmulationPrevention,
} from '../../src/latency/sei.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const UUID = '73747265616d676174652d6c61742d31';
const runs = Number(process.env.FUZZ_RUNS ?? 300);

function avcc(...nals: Uint8Array[]): Uint8Array {
  const out: number[] = [];
  for (const n of nals) out.push(n.length >>> 24, (n.length >>> 16) & 255, (n.length >>> 8) & 255, n.length & 255, ...n);
  return Uint8Array.from(out);
}

function nalTypes(frame: Uint8Array): number[] {
  const types: number[] = [];
  let off = 0;
  while (off < frame.length) {
    const len = new DataView(frame.buffer, frame.byteOffset + off).getUint32(0);
    types.push(frame[off + 4]! & 0x1f);
    off += 4 + len;
  }
  return types;
}

describe('timestamp SEI', () => {
  it('golden bytes: plain payload', () => {
    // 1.7e12 ms as float64 BE = 42 78 bc fe 56 80 00 00; 00 00 80 needs no escaping.
    expect(toHex(buildTimestampSei(1_700_000_000_000))).toBe(`060518${UUID}4278bcfe5680000080`);
  });

  it('golden bytes: emulation prevention inside the float (H.264 §7.4.1)', () => {
    // 5e-324 = 00 00 00 00 00 00 00 01 -> 00 00 03 00 00 03 00 00 03 00 01
    const nal = buildTimestampSei(5e-324);
    expect(toHex(nal)).toBe(`060518${UUID}00000300000300000300 0180`.replace(' ', ''));
    expect(readTimestampSei(nal)).toBe(5e-324);
  });

  it('reads a hand-written SEI (known vector, other message first)', () => {
    // payloadType 1 (pic_timing) size 2 first, then ours.
    const nal = hex(`06 01 02 aabb 05 18 ${UUID} 4278bcfe56800000 80`);
    expect(readTimestampSei(nal)).toBe(1_700_000_000_000);
    expect(readTimestampSei(hex(`06 05 18 ${UUID.replace('31', '32')} 4278bcfe56800000 80`))).toBeUndefined();
    expect(readTimestampSei(hex('65 88 84'))).toBeUndefined();
  });

  it('escape/unescape round-trips any RBSP and never leaves 00 00 00|01|02', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }).map((a) => a.map((b) => (b % 5 === 0 ? 0 : b))), (rbsp) => {
        const esc = addEmulationPrevention(rbsp);
        expect(Array.from(removeEmulationPrevention(esc))).toEqual(Array.from(rbsp));
        for (let i = 0; i + 2 < esc.length; i++) {
          if (esc[i] === 0 && esc[i + 1] === 0) expect(esc[i + 2]).toBeGreaterThanOrEqual(3);
        }
      }),
      { numRuns: runs },
    );
  });

  it('round-trips any send time', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (t) => {
        expect(Object.is(readTimestampSei(buildTimestampSei(t)), t)).toBe(true);
      }),
      { numRuns: runs },
    );
  });
});

describe('SEI insertion into AVCC access units', () => {
  const aud = hex('09f0');
  const sps = hex('6742c01e');
  const pps = hex('68ce3c80');
  const idr = hex('65888400ff');
  const slice = hex('419a0011');

  it('goes after AUD/SPS/PPS and before the first slice', () => {
    const out = insertSeiIntoAvcc(avcc(aud, sps, pps, idr, slice), 4, buildTimestampSei(1234.5));
    expect(nalTypes(out)).toEqual([9, 7, 8, 6, 5, 1]);
    expect(findTimestampInAvcc(out, 4)).toBe(1234.5);
  });

  it('goes first when the unit starts with a slice, and keeps the slice bytes intact', () => {
    const frame = avcc(slice);
    const out = insertSeiIntoAvcc(frame, 4, buildTimestampSei(1));
    expect(nalTypes(out)).toEqual([6, 1]);
    expect(toHex(out.subarray(out.length - frame.length))).toBe(toHex(frame));
  });

  it('works with 2-byte NAL lengths', () => {
    const frame = hex('0004 419a0011');
    const out = insertSeiIntoAvcc(frame, 2, buildTimestampSei(42));
    expect(findTimestampInAvcc(out, 2)).toBe(42);
    expect(toHex(out.subarray(0, 3))).toBe(`00${(buildTimestampSei(42).length).toString(16)}06`);
  });

  it('a frame without our SEI gives undefined; truncated input throws only GatewayError', () => {
    expect(findTimestampInAvcc(avcc(idr), 4)).toBeUndefined();
    expect(() => insertSeiIntoAvcc(hex('000000ff41'), 4, buildTimestampSei(1))).toThrow(GatewayError);
  });

  it('finds stamps in Annex B byte streams', () => {
    const sei = buildTimestampSei(99.25);
    const stream = Uint8Array.from([0, 0, 0, 1, ...aud, 0, 0, 0, 1, ...sei, 0, 0, 1, ...idr, 0, 0, 0, 1, ...buildTimestampSei(100)]);
    expect(findTimestampsInAnnexB(stream)).toEqual([99.25, 100]);
  });

  it('fuzz: random and mutated input never throws anything but GatewayError', () => {
    const good = insertSeiIntoAvcc(avcc(aud, sps, pps, idr), 4, buildTimestampSei(5e-324));
    const mutated = fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, b]) => {
      const copy = good.slice();
      copy[i] = b;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated), (bytes) => {
        for (const f of [() => findTimestampInAvcc(bytes, 4), () => findTimestampsInAnnexB(bytes), () => readTimestampSei(bytes), () => insertSeiIntoAvcc(bytes, 4, buildTimestampSei(1))]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(GatewayError);
          }
        }
      }),
      { numRuns: runs },
    );
  });
});
