import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { VideoTrack } from '../../../src/core/media.js';
import { buildFragment, buildPrft, buildSegmentHeader, type FragmentSample } from '../../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import { findBox, listBoxes } from '../../../src/mux/fmp4/inspect.js';
import { chunk, concatBytes, loadAvcAacFixture, parseMp4, withDurations } from './media-fixture.js';

const { video, audio } = loadAvcAacFixture();
const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

/** init + fragments of `perFragment` samples each, every fragment a separate buildFragment call. */
function fragmented(
  samples: FragmentSample[],
  kind: 'video' | 'audio',
  base: number,
  perFragment: number,
  trackId = 1,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let t = base;
  chunk(samples, perFragment).forEach((run, i) => {
    out.push(buildFragment({ kind, trackId, sequenceNumber: i + 1, baseMediaDecodeTime: t, samples: run }));
    t += run.reduce((n, s) => n + s.duration, 0);
  });
  return out;
}

function trunOf(bytes: Uint8Array): { version: number; flags: number; dataOffset: number; moofOffset: number } {
  const moof = findBox(bytes, ['moof'])!;
  const trun = findBox(bytes, ['moof', 'traf', 'trun'])!;
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const vf = v.getUint32(trun.offset + 8);
  return { version: vf >>> 24, flags: vf & 0xffffff, dataOffset: v.getInt32(trun.offset + 16), moofOffset: moof.offset };
}

describe('buildFragment through mp4box', () => {
  it('AVC with B-frames: every sample comes back with dts, cts, duration, size, sync flag and bytes', () => {
    const samples = withDurations(video.samples);
    const init = buildInitSegment(video.track);
    const frags = fragmented(samples, 'video', video.samples[0]!.dts, 10);
    // A segment = styp + fragments; a second segment header between fragments must not matter.
    const file = concatBytes([init, buildSegmentHeader(), frags[0]!, frags[1]!, buildSegmentHeader(), frags[2]!]);
    const { info, samples: got, errors } = parseMp4(file, { withData: true });
    expect(errors).toEqual([]);
    expect(info.tracks[0]!.codec).toBe(video.track.codecString);
    const out = got.get(1)!;
    expect(out).toHaveLength(video.samples.length);
    out.forEach((s, i) => {
      const src = video.samples[i]!;
      expect(s.timescale).toBe(90_000);
      expect(s.dts).toBe(src.dts);
      expect(s.cts).toBe(src.pts);
      expect(s.duration).toBe(samples[i]!.duration);
      expect(s.size).toBe(src.data.length);
      expect(s.is_sync).toBe(src.key);
      expect(s.depends_on).toBe(src.key ? 2 : 1);
      expect(s.data).toEqual(src.data);
    });
    expect(out.some((s) => s.cts !== s.dts)).toBe(true);
    expect(trunOf(frags[0]!).version).toBe(0);
  });

  it('negative composition offsets use trun v1 and read back signed', () => {
    // ffmpeg's "negative_cts_offsets" shape: first pts == first dts, later B-frames precede.
    const shift = video.samples[0]!.pts - video.samples[0]!.dts;
    const samples = withDurations(video.samples).map((s) => ({ ...s, compositionOffset: s.compositionOffset - shift }));
    expect(samples.some((s) => s.compositionOffset < 0)).toBe(true);
    const frag = buildFragment({ kind: 'video', sequenceNumber: 1, baseMediaDecodeTime: 0, samples });
    expect(trunOf(frag).version).toBe(1);
    const { samples: got } = parseMp4(concatBytes([buildInitSegment(video.track), frag]));
    got.get(1)!.forEach((s, i) => expect(s.cts - s.dts).toBe(samples[i]!.compositionOffset));
  });

  it('baseMediaDecodeTime above 2^32 survives (tfdt v1)', () => {
    const base = 3 * 2 ** 32 + 12_345;
    const samples = withDurations(video.samples);
    const file = concatBytes([buildInitSegment(video.track), ...fragmented(samples, 'video', base, 8)]);
    const got = parseMp4(file).samples.get(1)!;
    expect(got[0]!.dts).toBe(base);
    expect(got[24]!.dts).toBe(base + video.samples[24]!.dts - video.samples[0]!.dts);
  });

  it('AAC: all samples sync via tfhd default flags, 1024-tick durations', () => {
    const samples = withDurations(audio.samples);
    const frags = fragmented(samples, 'audio', audio.samples[0]!.dts, 16, 2);
    const file = concatBytes([buildInitSegment(audio.track, { trackId: 2 }), ...frags]);
    const { info, samples: got, errors } = parseMp4(file, { withData: true });
    expect(errors).toEqual([]);
    expect(info.audioTracks[0]!.codec).toBe('mp4a.40.2');
    const out = got.get(2)!;
    expect(out).toHaveLength(audio.samples.length);
    out.forEach((s, i) => {
      expect(s.is_sync).toBe(true);
      expect(s.duration).toBe(1024);
      expect(s.cts).toBe(s.dts);
      expect(s.dts).toBe(audio.samples[i]!.dts);
      expect(s.data).toEqual(audio.samples[i]!.data);
    });
    const trun = trunOf(frags[0]!);
    expect(trun.flags).toBe(0x000301); // data offset, duration, size; no flags, no cto
    const tfhd = findBox(frags[0]!, ['moof', 'traf', 'tfhd'])!;
    expect(new DataView(frags[0]!.buffer).getUint32(tfhd.offset + 8)).toBe(0x020020);
  });

  it('data_offset points at the first mdat payload byte, relative to the moof', () => {
    const samples = withDurations(video.samples.slice(0, 5));
    const frag = buildFragment({ kind: 'video', sequenceNumber: 7, baseMediaDecodeTime: 0, samples });
    expect(listBoxes(frag).map((b) => b.type)).toEqual(['moof', 'mdat']);
    const mdat = findBox(frag, ['mdat'])!;
    const { dataOffset, moofOffset } = trunOf(frag);
    expect(moofOffset + dataOffset).toBe(mdat.offset + 8);
    expect(frag.subarray(mdat.offset + 8, mdat.offset + 8 + samples[0]!.data.length)).toEqual(samples[0]!.data);
    expect(mdat.size).toBe(8 + samples.reduce((n, s) => n + s.data.length, 0));
    const mfhd = findBox(frag, ['moof', 'mfhd'])!;
    expect(new DataView(frag.buffer).getUint32(mfhd.offset + 12)).toBe(7);
  });

  it('prft goes before the moof and does not shift data_offset', () => {
    const samples = withDurations(video.samples.slice(0, 3));
    const plain = buildFragment({ kind: 'video', sequenceNumber: 1, baseMediaDecodeTime: 900, samples });
    const withPrft = buildFragment({
      kind: 'video', sequenceNumber: 1, baseMediaDecodeTime: 900, samples, prft: { ntpMs: 1_700_000_000_123, mediaTime: 900 },
    });
    expect(listBoxes(withPrft).map((b) => b.type)).toEqual(['prft', 'moof', 'mdat']);
    expect(withPrft.subarray(0, 32)).toEqual(buildPrft({ trackId: 1, ntpMs: 1_700_000_000_123, mediaTime: 900 }));
    expect(withPrft.subarray(32)).toEqual(plain);
    const got = parseMp4(concatBytes([buildInitSegment(video.track), withPrft])).samples.get(1)!;
    expect(got.map((s) => s.size)).toEqual(samples.map((s) => s.data.length));
  });

  it('rejects bad input with GatewayError (the 4 GiB check runs before allocating)', () => {
    const one: FragmentSample = { duration: 1024, key: true, compositionOffset: 0, data: new Uint8Array(4) };
    const base = { kind: 'audio' as const, sequenceNumber: 1, baseMediaDecodeTime: 0 };
    expect(() => buildFragment({ ...base, samples: [] })).toThrow(GatewayError);
    expect(() => buildFragment({ ...base, samples: [{ ...one, compositionOffset: 5 }] })).toThrow(/composition offset/);
    expect(() => buildFragment({ ...base, samples: [{ ...one, size: 5 }] })).toThrow(/disagrees/);
    expect(() => buildFragment({ ...base, sequenceNumber: -1, samples: [one] })).toThrow(GatewayError);
    expect(() => buildFragment({ ...base, baseMediaDecodeTime: 1.5, samples: [one] })).toThrow(GatewayError);
    expect(() => buildFragment({ ...base, trackId: 2 ** 32, samples: [one] })).toThrow(GatewayError);
    // 4097 x 1 MiB views of one buffer: > 4 GiB of payload is refused without allocating it.
    const mib = new Uint8Array(1 << 20);
    const huge = Array.from({ length: 4097 }, () => ({ ...one, data: mib }));
    expect(() => buildFragment({ ...base, samples: huge })).toThrow(/exceeds 4 GiB/);
  });

  it('property: random sample runs round-trip through mp4box exactly', () => {
    const track: VideoTrack = video.track;
    const init = buildInitSegment(track);
    const sample = fc.record({
      duration: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      key: fc.boolean(),
      compositionOffset: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      data: fc.uint8Array({ minLength: 0, maxLength: 40 }),
    });
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        (samples, base, seq) => {
          const frag = buildFragment({ kind: 'video', sequenceNumber: seq, baseMediaDecodeTime: base, samples });
          const got = parseMp4(concatBytes([init, frag]), { withData: true }).samples.get(1)!;
          expect(got).toHaveLength(samples.length);
          let dts = base;
          got.forEach((s, i) => {
            const src = samples[i]!;
            expect(s.dts).toBe(dts);
            expect(s.cts - s.dts).toBe(src.compositionOffset);
            expect(s.duration).toBe(src.duration);
            expect(s.size).toBe(src.data.length);
            expect(s.is_sync).toBe(src.key);
            expect(s.data).toEqual(src.data);
            dts += src.duration;
          });
        },
      ),
      { numRuns: Math.min(FUZZ_RUNS, 100) },
    );
  });

  it('fuzz: arbitrary numbers never throw anything but GatewayError', () => {
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 2 ** 32, 2 ** 53, Number.NaN, Infinity));
    fc.assert(
      fc.property(
        fc.array(fc.record({ duration: num, key: fc.boolean(), compositionOffset: num, data: fc.uint8Array({ maxLength: 8 }) }), { maxLength: 4 }),
        num,
        num,
        fc.constantFrom('video' as const, 'audio' as const),
        fc.option(fc.record({ ntpMs: num, mediaTime: num }), { nil: undefined }),
        (samples, base, seq, kind, prft) => {
          try {
            buildFragment({ kind, sequenceNumber: seq, baseMediaDecodeTime: base, samples, ...(prft ? { prft } : {}) });
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
