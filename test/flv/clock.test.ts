import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RtmpClock } from '../../src/flv/clock.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const WRAP = 2 ** 32;

describe('RtmpClock', () => {
  it('unwraps the 32-bit millisecond counter, including interleaved streams straddling the wrap', () => {
    const c = new RtmpClock(10_000);
    const ms = [WRAP - 40, WRAP - 20, 5, WRAP - 7, 26, 60].map((t) => c.read(t).ms);
    expect(ms).toEqual([WRAP - 40, WRAP - 20, WRAP + 5, WRAP - 7, WRAP + 26, WRAP + 60]);
  });

  it("unwraps ffmpeg's 31-bit clock (its FLV muxer masks timestamps to 31 bits)", () => {
    const c = new RtmpClock(10_000);
    const half = 2 ** 31;
    const ms = [half - 66, half - 33, half - 40, 1, 34, 20].map((t) => c.read(t));
    expect(ms.map((r) => r.ms)).toEqual([half - 66, half - 33, half - 40, half + 1, half + 34, half + 20]);
    expect(ms.every((r) => r.discontinuityMs === undefined)).toBe(true);
    // A message from just before the wrap arriving just after it steps back across it.
    const c2 = new RtmpClock(10_000);
    const steps = [half - 40, 10, half - 20, 40].map((t) => c2.read(t));
    expect(steps.map((r) => r.ms)).toEqual([half - 40, half + 10, half - 20, half + 40]);
    expect(steps.every((r) => r.discontinuityMs === undefined)).toBe(true);
  });

  it('re-bases on a jump larger than the limit, either way, and reports it', () => {
    const c = new RtmpClock(10_000);
    c.read(1000);
    expect(c.read(2000).ms).toBe(2000);
    const jump = c.read(3_602_000);
    expect(jump).toEqual({ ms: 2000, discontinuityMs: 3_600_000 });
    expect(c.read(3_602_040).ms).toBe(2040);
    const back = c.read(50);
    expect(back.ms).toBe(2040);
    expect(back.discontinuityMs).toBe(50 - 3_602_040);
    expect(c.read(90).ms).toBe(2080);
  });

  it('accepts 32-bit values given as negative int32 and never returns negatives', () => {
    const c = new RtmpClock(10_000);
    expect(c.read(-1).ms).toBe(WRAP - 1);
    const d = new RtmpClock(10_000);
    d.read(3);
    expect(d.read(WRAP - 5).ms).toBe(0); // -5 before the first reading: clamped at 0
  });

  it('small steps between readings are preserved exactly across any number of wraps', () => {
    fc.assert(
      fc.property(fc.nat({ max: WRAP - 1 }), fc.array(fc.integer({ min: -5000, max: 9000 }), { maxLength: 50 }), (start, steps) => {
        const c = new RtmpClock(10_000);
        let expected = start;
        let ts = start;
        c.read(ts);
        for (const s of steps) {
          ts = (ts + s + WRAP) % WRAP;
          expected += s;
          expect(c.read(ts).ms).toBe(Math.max(0, expected));
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
