import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { annexBToAvcc, avccToAnnexB, forEachNal, hevcNalType, inspectAccessUnit, nalType, splitAnnexB } from '../../src/codec/annexb.js';
import { GatewayError } from '../../src/core/errors.js';
import { hex, toHex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const SPS = hex('6742c01fda014016ec0440000003004000000f03c60ca8');
const PPS = hex('68ce0fc8');
const SEI = hex('0605ff');
const IDR = hex('65888401');
const SLICE = hex('419a2233');

describe('splitAnnexB', () => {
  it('splits on 3- and 4-byte start codes, drops trailing zeros and leading junk, returns views', () => {
    const data = hex('ff 00 00 00 01 67 aa 00 00 01 68 bb 00 00 00 00 01 65 cc dd 00');
    const nals = splitAnnexB(data);
    expect(nals.map(toHex)).toEqual(['67aa', '68bb', '65ccdd']);
    expect(nals[0]!.buffer).toBe(data.buffer);
  });

  it('skips empty NAL units and handles no start code at all', () => {
    expect(splitAnnexB(hex('00 00 01 00 00 01 09 f0'))).toHaveLength(1);
    expect(splitAnnexB(hex('12 34 56'))).toEqual([]);
    expect(splitAnnexB(new Uint8Array(0))).toEqual([]);
  });
});

describe('forEachNal / inspectAccessUnit', () => {
  it('walks length-prefixed NAL units of every length size', () => {
    for (const size of [1, 2, 4]) {
      const au = annexBToAvcc([SEI, IDR], size);
      const seen: string[] = [];
      forEachNal(au, size, (nal) => void seen.push(toHex(nal)));
      expect(seen).toEqual([toHex(SEI), toHex(IDR)]);
    }
  });

  it('detects IDR / SPS / PPS / AUD / SEI', () => {
    const au = annexBToAvcc([hex('09f0'), SPS, PPS, SEI, IDR]);
    expect(inspectAccessUnit(au, 4)).toEqual({ key: true, sps: true, pps: true, vps: false, aud: true, sei: true, nalCount: 5 });
    expect(inspectAccessUnit(annexBToAvcc([SLICE]), 4).key).toBe(false);
    expect(nalType(IDR)).toBe(5);
  });

  it('detects HEVC IRAP pictures and parameter sets', () => {
    const vps = hex('40010c01'), sps = hex('42010101'), pps = hex('4401c073'), cra = hex('2a01af'), trail = hex('0201d0');
    expect(hevcNalType(cra)).toBe(21);
    const info = inspectAccessUnit(annexBToAvcc([vps, sps, pps, cra]), 4, 'hevc');
    expect(info).toMatchObject({ key: true, vps: true, sps: true, pps: true });
    expect(inspectAccessUnit(annexBToAvcc([trail]), 4, 'hevc').key).toBe(false);
  });

  it('throws GatewayError with the offset on a length that overruns the frame', () => {
    const au = hex('00000002 6588 000000ff 41');
    expect(() => forEachNal(au, 4, () => undefined)).toThrow(GatewayError);
    try {
      forEachNal(au, 4, () => undefined);
    } catch (e) {
      expect((e as GatewayError).context.offset).toBe(6);
    }
    expect(() => forEachNal(hex('0000'), 4, () => undefined)).toThrow(/truncated/);
    expect(() => forEachNal(au, 3, () => undefined)).toThrow(GatewayError);
  });

  it('never throws anything but GatewayError on random frames', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(1, 2, 4), (frame, size) => {
        try {
          inspectAccessUnit(frame, size);
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('avccToAnnexB', () => {
  it('adds an AUD and inserts parameter sets before an IDR that has none (golden bytes)', () => {
    const au = annexBToAvcc([SEI, IDR]);
    const out = avccToAnnexB(au, 4, { aud: true, parameterSets: [SPS, PPS] });
    expect(toHex(out)).toBe(
      `0000000109f0 00000001${toHex(SPS)} 00000001${toHex(PPS)} 00000001${toHex(SEI)} 00000001${toHex(IDR)}`.replace(/ /g, ''),
    );
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(out.byteLength); // sized exactly once
  });

  it('one AUD rule: ours first, the input AUD dropped; no parameter sets into non-IDR or AUs that carry them', () => {
    const withAud = annexBToAvcc([hex('09f0'), SLICE]);
    expect(toHex(avccToAnnexB(withAud, 4, { aud: true, parameterSets: [SPS, PPS] }))).toBe(`0000000109f000000001${toHex(SLICE)}`);
    const inBand = annexBToAvcc([SPS, PPS, IDR], 2);
    expect(splitAnnexB(avccToAnnexB(inBand, 2, { aud: false, parameterSets: [SPS, PPS] })).map(toHex)).toEqual([SPS, PPS, IDR].map(toHex));
  });

  it('uses the HEVC AUD for hevc', () => {
    const au = annexBToAvcc([hex('2601af')]);
    expect(toHex(avccToAnnexB(au, 4, { aud: true, codec: 'hevc' }))).toBe('00000001460150000000012601af');
  });

  it('round-trips with splitAnnexB / annexBToAvcc', () => {
    const nalArb = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((b) => {
      // Real NAL units never contain a start code and never end in a zero byte.
      const c = b.map((x) => (x <= 1 ? x + 2 : x));
      c[0] = 0x41;
      return c;
    });
    fc.assert(
      fc.property(fc.array(nalArb, { minLength: 1, maxLength: 6 }), fc.constantFrom(1, 2, 4), (nals, size) => {
        const avcc = annexBToAvcc(nals, size);
        const annexB = avccToAnnexB(avcc, size, { aud: false });
        expect(splitAnnexB(annexB).map(toHex)).toEqual(nals.map(toHex));
        expect(toHex(annexBToAvcc(splitAnnexB(annexB), size))).toBe(toHex(avcc));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('annexBToAvcc', () => {
  it('writes big-endian lengths of the requested size (golden bytes)', () => {
    expect(toHex(annexBToAvcc([IDR, PPS], 4))).toBe(`00000004${toHex(IDR)}00000004${toHex(PPS)}`);
    expect(toHex(annexBToAvcc([IDR], 2))).toBe(`0004${toHex(IDR)}`);
    expect(() => annexBToAvcc([new Uint8Array(256)], 1)).toThrow(GatewayError);
  });
});
