/** AC-3 / E-AC-3: syncframe headers (ETSI TS 102 366 §4.4, Annex E), samples, dac3 / dec3 (Annex F). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dolbyConfigOf, parseAc3Frame, splitAc3Frames } from '../../src/codec/ac3.js';
import { buildDolbyTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** ffmpeg 5.1's ac3 encoder, 48 kHz 5.1 at 192 kbit/s: the first syncframe's first 16 bytes (768 in all). */
const AC3_HEAD = unhex('0b7751591440ebf8403efe007f0f0f08');
/** ffmpeg 5.1's eac3 encoder, 48 kHz stereo at 192 kbit/s. */
const EAC3_HEAD = unhex('0b77017f3487c0002084010036008c06');
/** The dac3 and dec3 ffmpeg writes for those streams. */
const FFMPEG_DAC3 = '103d40';
const FFMPEG_DEC3 = '0600200400';

function whole(head: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(head);
  return out;
}

/** An E-AC-3 syncframe (§E.1.2.2) up to chanmap, padded to `bytes`. */
function eac3Frame(opts: { strmtyp?: number; substreamid?: number; bytes?: number; numblkscod?: number; acmod?: number; lfeon?: number; chanmap?: number }): Uint8Array {
  const bytes = opts.bytes ?? 256;
  const w = new BitWriter();
  w.u(16, 0x0b77).u(2, opts.strmtyp ?? 0).u(3, opts.substreamid ?? 0).u(11, bytes / 2 - 1).u(2, 0).u(2, opts.numblkscod ?? 3);
  w.u(3, opts.acmod ?? 2).u(1, opts.lfeon ?? 0).u(5, 16).u(5, 27).u(1, 0); // bsid 16, dialnorm, compre 0
  if ((opts.acmod ?? 2) === 0) w.u(5, 27).u(1, 0);
  if ((opts.strmtyp ?? 0) === 1) {
    if (opts.chanmap !== undefined) w.u(1, 1).u(16, opts.chanmap);
    else w.u(1, 0);
  }
  return whole(w.u(8, 0).align().bytes(), bytes);
}

describe('syncframe headers', () => {
  it('reads ffmpeg\'s AC-3 5.1 frame', () => {
    expect(parseAc3Frame(AC3_HEAD)).toEqual({
      codec: 'ac3', frameSize: 768, fscod: 0, sampleRate: 48_000, bsid: 8, bsmod: 0, acmod: 7, lfeon: 1, channels: 6,
      blocks: 6, bitRateCode: 10, streamType: 0, substreamId: 0, chanmap: 0,
    });
  });

  it('reads ffmpeg\'s E-AC-3 stereo frame', () => {
    expect(parseAc3Frame(EAC3_HEAD)).toMatchObject({ codec: 'eac3', frameSize: 768, sampleRate: 48_000, bsid: 16, acmod: 2, lfeon: 0, channels: 2, blocks: 6, streamType: 0, substreamId: 0 });
  });

  it('sizes 44.1 kHz AC-3 frames by Table 4.13 (one more word for odd frmsizecod)', () => {
    const at441 = (frmsizecod: number): number => {
      const h = AC3_HEAD.slice();
      h[4] = (1 << 6) | frmsizecod;
      return parseAc3Frame(h).frameSize;
    };
    expect([at441(0), at441(1), at441(20), at441(21), at441(37)]).toEqual([138, 140, 834, 836, 2788]);
  });

  it('refuses what is no syncframe or uses reserved values, saying where', () => {
    expect(() => parseAc3Frame(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0))).toThrow(/syncword/);
    const reservedRate = AC3_HEAD.slice();
    reservedRate[4] = 0xc0 | 20;
    expect(() => parseAc3Frame(reservedRate)).toThrow(/reserved fscod 3/);
    const badCode = AC3_HEAD.slice();
    badCode[4] = 38;
    expect(() => parseAc3Frame(badCode)).toThrow(/frmsizecod/);
    const bsid10 = AC3_HEAD.slice();
    bsid10[5] = (10 << 3) | (bsid10[5]! & 7);
    expect(() => parseAc3Frame(bsid10)).toThrow(/bsid/);
    expect(() => parseAc3Frame(eac3Frame({ strmtyp: 3 }))).toThrow(/strmtyp 3/);
    expect(() => parseAc3Frame(AC3_HEAD.subarray(0, 7))).toThrow(/truncated/);
    expect(() => parseAc3Frame(AC3_HEAD, 4)).toThrow(/offset=4/);
  });
});

describe('samples and configuration boxes', () => {
  it('one AC-3 syncframe per sample; dac3 as ffmpeg writes it', () => {
    const body = Uint8Array.of(...whole(AC3_HEAD, 768), ...whole(AC3_HEAD, 768));
    const units = splitAc3Frames(body);
    expect(units.map((u) => [u.data.byteLength, u.samples])).toEqual([[768, 1536], [768, 1536]]);
    const config = dolbyConfigOf(units[0]!);
    expect(hex(config.box)).toBe(FFMPEG_DAC3);
    expect(buildDolbyTrack(config)).toMatchObject({ codec: 'ac3', codecString: 'ac-3', sampleRate: 48_000, channels: 6, samplesPerFrame: 1536 });
  });

  it('dec3 as ffmpeg writes it (data_rate 192 kbit/s from the frame size)', () => {
    const units = splitAc3Frames(whole(EAC3_HEAD, 768));
    const config = dolbyConfigOf(units[0]!);
    expect(hex(config.box)).toBe(FFMPEG_DEC3);
    expect(buildDolbyTrack(config)).toMatchObject({ codec: 'eac3', codecString: 'ec-3', channels: 2 });
  });

  it('groups E-AC-3 frames of fewer blocks into 1536-sample units, dependent substreams with their parent', () => {
    // numblkscod 1: two blocks a frame; a 7.1 dependent substream (Lrs/Rrs, chanmap bit 6) after each.
    const main = eac3Frame({ numblkscod: 1, acmod: 7, lfeon: 1 });
    const dep = eac3Frame({ strmtyp: 1, numblkscod: 1, acmod: 2, chanmap: 1 << (15 - 6) });
    const body = Uint8Array.of(...main, ...dep, ...main, ...dep, ...main, ...dep, ...main);
    const units = splitAc3Frames(body);
    expect(units.map((u) => [u.frames.length, u.samples])).toEqual([[6, 1536], [1, 512]]);
    const config = dolbyConfigOf(units[0]!);
    // num_ind_sub 0; substream: fscod 0, bsid 16, bsmod 0, acmod 7, lfeon 1, num_dep_sub 1, chan_loc Lrs/Rrs (bit 1).
    expect(config.box[1]! & 7).toBe(0);
    expect(hex(config.box.subarray(2))).toBe('200f0202');
    expect(config.channels).toBe(8);
  });

  it('refuses bodies that are not whole syncframes', () => {
    expect(() => splitAc3Frames(new Uint8Array(0))).toThrow(/empty/);
    expect(() => splitAc3Frames(whole(AC3_HEAD, 700))).toThrow(/syncframe truncated/);
    expect(() => splitAc3Frames(eac3Frame({ strmtyp: 1 }))).toThrow(/does not start with independent substream 0/);
  });

  it('random and mutated bodies throw only GatewayError; what splits covers the body', () => {
    const seeds = [whole(AC3_HEAD, 768), whole(EAC3_HEAD, 768), Uint8Array.of(...eac3Frame({ numblkscod: 0, bytes: 64 }), ...eac3Frame({ strmtyp: 1, bytes: 64, chanmap: 0xffff }))];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([s, edits, cut]) => {
            const m = s.slice();
            for (const [p, v] of edits) m[p] = v;
            return m.subarray(0, m.byteLength - (cut % 3 === 0 ? 0 : cut % 100));
          }),
        ),
        (bytes) => {
          try {
            const units = splitAc3Frames(bytes);
            expect(units.reduce((n, u) => n + u.data.byteLength, 0)).toBe(bytes.byteLength);
            dolbyConfigOf(units[0]!);
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('a new E-AC-3 configuration is told by its layout, not its data rate', () => {
  it('frames of other sizes keep the layout; another acmod changes it', () => {
    const at = (opts: Parameters<typeof eac3Frame>[0]): string => dolbyConfigOf(splitAc3Frames(eac3Frame(opts))[0]!).layout;
    expect(at({ bytes: 256 })).toBe(at({ bytes: 258 }));
    expect(at({ bytes: 256 })).not.toBe(at({ bytes: 256, acmod: 7 }));
  });
});
