import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { AudioTrack } from '../../../src/core/media.js';
import { buildFragment, buildSegmentHeader } from '../../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import { findBox, listBoxes, listChildren, type BoxInfo } from '../../../src/mux/fmp4/inspect.js';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'dinf', 'stbl', 'mvex', 'moof', 'traf']);

/** Walks every container level; the depth bound keeps mutated input from recursing forever. */
function walk(bytes: Uint8Array, boxes: BoxInfo[], depth = 0): number {
  if (depth > 8) throw new GatewayError('mux.fmp4', 'too deep', { depth });
  let n = boxes.length;
  for (const b of boxes) if (CONTAINERS.has(b.type)) n += walk(bytes, listChildren(bytes, b), depth + 1);
  return n;
}

const track: AudioTrack = {
  kind: 'audio', codec: 'aac', timescale: 48_000, sampleRate: 48_000, channels: 2, objectType: 2,
  codecString: 'mp4a.40.2', config: unhex('1190'), samplesPerFrame: 1024,
};
const sample = { duration: 1024, key: true, compositionOffset: 0, data: unhex('21 10 04 60 8c 1c') };
const realFile = new Uint8Array([
  ...buildInitSegment(track),
  ...buildSegmentHeader(),
  ...buildFragment({ kind: 'audio', sequenceNumber: 1, baseMediaDecodeTime: 0, samples: [sample, sample] }),
]);

describe('listBoxes', () => {
  it('lists top-level boxes with offsets and sizes', () => {
    const bytes = unhex('00000008 66726565 0000000c 736b6970 aabbccdd');
    expect(listBoxes(bytes)).toEqual([
      { type: 'free', offset: 0, size: 8, headerSize: 8 },
      { type: 'skip', offset: 8, size: 12, headerSize: 8 },
    ]);
  });

  it('reads a 64-bit largesize and a to-the-end size 0', () => {
    const large = unhex('00000001 6d646174 00000000 00000012 0102');
    expect(listBoxes(large)).toEqual([{ type: 'mdat', offset: 0, size: 18, headerSize: 16 }]);
    const toEnd = unhex('00000000 6d646174 010203');
    expect(listBoxes(toEnd)).toEqual([{ type: 'mdat', offset: 0, size: 11, headerSize: 8 }]);
  });

  it('walks our init + segment', () => {
    expect(listBoxes(realFile).map((b) => b.type)).toEqual(['ftyp', 'moov', 'styp', 'moof', 'mdat']);
    expect(walk(realFile, listBoxes(realFile))).toBeGreaterThan(20);
    expect(findBox(realFile, ['moof', 'traf', 'tfdt'])?.size).toBe(20);
    expect(findBox(realFile, ['moof', 'nope'])).toBeUndefined();
  });

  it('throws GatewayError with the offset on malformed input', () => {
    const cases = [
      unhex('000000'), // truncated header
      unhex('00000004 66726565'), // smaller than its header
      unhex('00000010 66726565 00'), // runs past the end
      unhex('00000001 6d646174 0000'), // truncated largesize
      unhex('00000001 6d646174 00000000 00000004'), // largesize below 16
    ];
    for (const c of cases) {
      expect(() => listBoxes(c)).toThrow(GatewayError);
    }
    const error = (() => {
      try {
        listBoxes(unhex('00000008 66726565 00000010 66726565'));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).context).toMatchObject({ offset: 8, type: 'free' });
    expect(listBoxes(new Uint8Array(80), { maxBoxes: 1 })).toHaveLength(1); // size 0: one box to the end
    expect(() => listBoxes(unhex('00000008 66726565'.repeat(3)), { maxBoxes: 2 })).toThrow(/too many boxes/);
    expect(() => listBoxes(realFile, { start: 5, end: 2 })).toThrow(GatewayError);
  });

  it('fuzz: random bytes never throw anything but GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          walk(bytes, listBoxes(bytes));
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('fuzz: mutated real output never throws anything but GatewayError', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(realFile.length - 1), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.nat(realFile.length),
        (edits, cut) => {
          const bytes = realFile.slice(0, Math.max(cut, 1));
          for (const { at, value } of edits) if (at < bytes.length) bytes[at] = value;
          try {
            walk(bytes, listBoxes(bytes));
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
