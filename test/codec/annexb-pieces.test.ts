import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import { appendAnnexBPieces } from '../../src/codec/annexb.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const join = (pieces: Uint8Array[]): string => Buffer.concat(pieces).toString('hex');

const SPS = hex('6742c01e');
const PPS = hex('68ce3c80');

describe('AVCC to Annex B pieces', () => {
  it('IDR: AUD, then SPS/PPS from the track, then the slices', () => {
    const pieces: Uint8Array[] = [];
    const au = hex('00000002 6588  00000003 06 0501');
    const n = appendAnnexBPieces(au, { codec: 'avc', nalLengthSize: 4, key: true, parameterSets: [SPS, PPS] }, pieces);
    expect(join(pieces)).toBe('0000000109f0' + '000000016742c01e' + '0000000168ce3c80' + '000000016588' + '00000001060501');
    expect(n).toBe(join(pieces).length / 2);
  });

  it('non-IDR without parameter sets; an input AUD is replaced by ours; 2-byte lengths', () => {
    const pieces: Uint8Array[] = [];
    const au = hex('0002 09f0 0002 4101');
    appendAnnexBPieces(au, { codec: 'avc', nalLengthSize: 2, key: false, parameterSets: [SPS, PPS] }, pieces);
    expect(join(pieces)).toBe('0000000109f0' + '000000014101');
  });

  it('keeps in-band SPS/PPS instead of inserting the track ones', () => {
    const pieces: Uint8Array[] = [];
    const au = hex('04 6764001f 02 68ee 02 6588');
    appendAnnexBPieces(au, { codec: 'avc', nalLengthSize: 1, key: true, parameterSets: [SPS, PPS] }, pieces);
    expect(join(pieces)).toBe('0000000109f0' + '000000016764001f' + '0000000168ee' + '000000016588');
  });

  it('HEVC: its own AUD (type 35) and VPS/SPS/PPS before an IRAP', () => {
    const pieces: Uint8Array[] = [];
    const vps = hex('40010c01'), sps = hex('42010101'), pps = hex('4401c173');
    const au = hex('00000003 2601af');
    appendAnnexBPieces(au, { codec: 'hevc', nalLengthSize: 4, key: true, parameterSets: [vps, sps, pps] }, pieces);
    expect(join(pieces)).toBe('00000001460150' + '0000000140010c01' + '0000000142010101' + '000000014401c173' + '000000012601af');
  });

  it('views the input: no NAL bytes are copied', () => {
    const pieces: Uint8Array[] = [];
    const au = hex('00000002 6588');
    appendAnnexBPieces(au, { codec: 'avc', nalLengthSize: 4, key: false, parameterSets: [] }, pieces);
    expect(pieces[pieces.length - 1]!.buffer).toBe(au.buffer);
  });

  it('rejects lengths past the end and bad length sizes with context', () => {
    expect(() => appendAnnexBPieces(hex('00000009 6588'), { codec: 'avc', nalLengthSize: 4, key: false, parameterSets: [] }, [])).toThrow(/overruns access unit.*offset=0/);
    expect(() => appendAnnexBPieces(hex('0000'), { codec: 'avc', nalLengthSize: 4, key: false, parameterSets: [] }, [])).toThrow(GatewayError);
    expect(() => appendAnnexBPieces(hex('00'), { codec: 'avc', nalLengthSize: 3, key: false, parameterSets: [] }, [])).toThrow(GatewayError);
  });

  it('random and mutated access units: pieces whose lengths add up, or a GatewayError', () => {
    const valid = fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }).map((nals) => {
      const out: number[] = [];
      for (const n of nals) out.push(0, 0, 0, n.length, ...n);
      return new Uint8Array(out);
    });
    const mutated = fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([au, at, v]) => {
      const copy = au.slice();
      if (copy.length > 0) copy[at % copy.length] = v;
      return copy;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), valid, mutated), fc.boolean(), (au, key) => {
        const pieces: Uint8Array[] = [];
        try {
          const n = appendAnnexBPieces(au, { codec: 'avc', nalLengthSize: 4, key, parameterSets: [SPS, PPS] }, pieces);
          expect(pieces.reduce((s, p) => s + p.length, 0)).toBe(n);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
