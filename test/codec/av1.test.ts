/** AV1 OBUs, sequence header, av1C and the codec string: hand-built vectors and hostile input. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { av1CodecString, av1SampleData, findSequenceHeader, parseAv1ConfigurationRecord, parseAv1SequenceHeader, splitObus } from '../../src/codec/av1.js';
import { buildVideoTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter } from './bit-writer.js';

/** sequence_header_obu() (AV1 §5.5.1) for 1280x720, level index 8, no timing info. */
function sequenceHeaderPayload(opts: { level?: number; timing?: boolean } = {}): Uint8Array {
  const w = new BitWriter();
  w.u(3, 0).u(1, 0).u(1, 0); // seq_profile, still_picture, reduced_still_picture_header
  w.flag(opts.timing ?? false);
  if (opts.timing) {
    w.u(32, 1001).u(32, 60000).u(1, 0); // 59.94 fps, equal_picture_interval 0
    w.u(1, 0); // decoder_model_info_present_flag
  }
  w.u(1, 0); // initial_display_delay_present_flag
  w.u(5, 0); // operating_points_cnt_minus_1
  w.u(12, 0).u(5, opts.level ?? 8);
  if ((opts.level ?? 8) > 7) w.u(1, 0); // seq_tier
  w.u(4, 10).u(4, 9).u(11, 1279).u(10, 719);
  return w.trailing().bytes();
}

function obu(type: number, payload: Uint8Array): Uint8Array {
  return Uint8Array.of((type << 3) | 0x02, payload.byteLength, ...payload);
}

function av1C(configObus: Uint8Array, level = 8): Uint8Array {
  // marker+version, profile 0 | level, tier 0, 8-bit, 4:2:0 (subsampling x and y), no delay.
  return Uint8Array.of(0x81, level, 0x0c, 0x00, ...configObus);
}

describe('AV1', () => {
  it('reads the sequence header: profile, level, tier, maximum frame size, frame rate from timing info', () => {
    expect(parseAv1SequenceHeader(sequenceHeaderPayload())).toEqual({ seqProfile: 0, stillPicture: false, seqLevelIdx: 8, seqTier: 0, maxFrameWidth: 1280, maxFrameHeight: 720, fps: undefined });
    expect(parseAv1SequenceHeader(sequenceHeaderPayload({ timing: true, level: 5 })).fps).toBeCloseTo(59.94, 2);
  });

  it('builds a track from av1C: av01 codec string, size from the sequence header', () => {
    const track = buildVideoTrack('av1', av1C(obu(1, sequenceHeaderPayload())));
    expect(track).toMatchObject({ codec: 'av1', width: 1280, height: 720, codecString: 'av01.0.08M.08', nalLengthSize: 0, parameterSets: [] });
    expect(av1CodecString({ seqProfile: 1, seqLevelIdx: 13, seqTier: 1, highBitdepth: true, twelveBit: false })).toBe('av01.1.13H.10');
    expect(av1CodecString({ seqProfile: 2, seqLevelIdx: 0, seqTier: 0, highBitdepth: true, twelveBit: true })).toBe('av01.2.00M.12');
  });

  it('refuses an av1C without a sequence header, with a bad marker, or truncated', () => {
    expect(() => buildVideoTrack('av1', av1C(new Uint8Array(0)))).toThrow(/no sequence header/);
    expect(() => parseAv1ConfigurationRecord(Uint8Array.of(0x01, 0, 0, 0))).toThrow(GatewayError);
    expect(() => parseAv1ConfigurationRecord(Uint8Array.of(0x81, 0))).toThrow(GatewayError);
    expect(() => findSequenceHeader(Uint8Array.of(0x0a, 0x20, 1, 2))).toThrow(/truncated/);
  });

  it('drops temporal delimiters and padding from a sample, and leaves clean samples untouched', () => {
    const frame = obu(6, Uint8Array.of(1, 2, 3));
    const td = Uint8Array.of(0x12, 0x00);
    const padding = obu(15, Uint8Array.of(0, 0));
    const withTd = Uint8Array.of(...td, ...frame, ...padding);
    expect([...av1SampleData(withTd)]).toEqual([...frame]);
    expect(av1SampleData(frame)).toBe(frame);
    expect(splitObus(Uint8Array.of(...frame, ...frame)).map((o) => o.type)).toEqual([6, 6]);
    // An OBU without a size field runs to the end; an extension byte is skipped.
    expect(splitObus(Uint8Array.of(0x30, 9, 9)).map((o) => [...o.payload])).toEqual([[9, 9]]);
    expect(splitObus(Uint8Array.of(0x36, 0x00, 0x01, 7)).map((o) => [...o.payload])).toEqual([[7]]);
  });

  it('never throws anything but GatewayError on random or mutated input', () => {
    const valid = av1C(obu(1, sequenceHeaderPayload({ timing: true })));
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }).map((flips) => {
        const b = valid.slice();
        for (const [i, v] of flips) b[i] = v;
        return b;
      })), (bytes) => {
        for (const f of [() => buildVideoTrack('av1', bytes), () => av1SampleData(bytes)]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(GatewayError);
          }
        }
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) },
    );
  });
});
