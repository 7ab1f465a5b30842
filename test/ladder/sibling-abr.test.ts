import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKeyframeAlignment, groupSiblingKeys } from '../../src/ladder/sibling-abr.js';

describe('groupSiblingKeys', () => {
  it('groups KEY, KEY_720p, KEY_480p; tallest first; singletons are not groups', () => {
    expect(groupSiblingKeys(['show_480p', 'show', 'show_720p', 'news', 'solo_360p', 'a_b_1080p', 'a_b_720p'])).toEqual([
      { base: 'a_b', members: [{ key: 'a_b_1080p', label: '1080p', height: 1080 }, { key: 'a_b_720p', label: '720p', height: 720 }] },
      {
        base: 'show',
        members: [
          { key: 'show', label: 'src' },
          { key: 'show_720p', label: '720p', height: 720 },
          { key: 'show_480p', label: '480p', height: 480 },
        ],
      },
    ]);
  });

  it('takes a custom pattern', () => {
    expect(groupSiblingKeys(['cam-hd', 'cam-sd', 'cam'], /^(.*)-(hd|sd)$/g)).toEqual([
      { base: 'cam', members: [{ key: 'cam', label: 'src' }, { key: 'cam-hd', label: 'hd' }, { key: 'cam-sd', label: 'sd' }] },
    ]);
  });
});

describe('checkKeyframeAlignment', () => {
  const gop = (start: number, n: number, step = 180_000): number[] => Array.from({ length: n }, (_, i) => start + i * step);

  it('identical and within-one-frame lists are aligned', () => {
    expect(checkKeyframeAlignment(gop(0, 5), gop(0, 5))).toEqual({ aligned: true, compared: 10, misaligned: [] });
    expect(checkKeyframeAlignment(gop(0, 5), gop(3000, 5)).aligned).toBe(true);
  });

  it('only the overlap counts: a sibling that joined later is fine', () => {
    expect(checkKeyframeAlignment(gop(0, 10), gop(900_000, 3)).aligned).toBe(true);
  });

  it('reports keyframes off by more than a frame, on both sides', () => {
    const r = checkKeyframeAlignment([0, 180_000, 360_000], [0, 186_000, 360_000]);
    expect(r.aligned).toBe(false);
    expect(r.misaligned).toEqual([
      { side: 'a', dts: 180_000, nearest: 186_000, delta: 6_000 },
      { side: 'b', dts: 186_000, nearest: 180_000, delta: 6_000 },
    ]);
    // An extra keyframe in one stream only is misalignment too (a cut the other cannot make).
    expect(checkKeyframeAlignment(gop(0, 3), [0, 90_000, 180_000, 360_000]).misaligned).toEqual([{ side: 'b', dts: 90_000, nearest: 0, delta: 90_000 }]);
  });

  it('is symmetric and never throws', () => {
    const sorted = fc.array(fc.integer({ min: 0, max: 1e7 }), { maxLength: 40 }).map((a) => [...new Set(a)].sort((x, y) => x - y));
    fc.assert(
      fc.property(sorted, sorted, (a, b) => {
        const ab = checkKeyframeAlignment(a, b);
        const ba = checkKeyframeAlignment(b, a);
        expect(ab.aligned).toBe(ba.aligned);
        expect(ab.misaligned.length).toBe(ba.misaligned.length);
        expect(checkKeyframeAlignment(a, a).aligned).toBe(true);
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) },
    );
  });
});
