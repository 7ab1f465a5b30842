/**
 * A short soak (bench/soak.ts): 5 looping publishers and 40 HLS viewers for a quarter minute, zero
 * errors and no file descriptor growth. `npm run soak -- --minutes N` is the long version.
 */
import { describe, expect, it } from 'vitest';
import { formatSoak, leastSquaresSlope, readMediaPlaylist, runSoak } from '../../bench/soak.js';

/** Open descriptors the run may gain between its first and last sample. */
const FD_GROWTH_BOUND = 20;

describe('soak helpers', () => {
  it('least-squares slope of a known line and of noise around it', () => {
    expect(leastSquaresSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2);
    expect(leastSquaresSlope([{ x: 0, y: 0 }, { x: 1, y: 1 }, { x: 2, y: 0 }, { x: 3, y: 1 }])).toBeCloseTo(0.2);
    expect(leastSquaresSlope([{ x: 1, y: 5 }])).toBe(0);
    expect(leastSquaresSlope([{ x: 1, y: 5 }, { x: 1, y: 7 }])).toBe(0);
  });

  it('reads target duration, init and newest segment from an LL-HLS media playlist', () => {
    const text = [
      '#EXTM3U',
      '#EXT-X-TARGETDURATION:2',
      '#EXT-X-MAP:URI="init-abc-0.mp4"',
      '#EXTINF:2.0,',
      'seg-abc-7.m4s',
      '#EXT-X-PART:DURATION=0.2,URI="part-abc-8.0.m4s"',
      '#EXTINF:2.0,',
      'seg-abc-8.m4s',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-abc-9.0.m4s"',
      '',
    ].join('\n');
    expect(readMediaPlaylist(text)).toEqual({ targetSeconds: 2, init: 'init-abc-0.mp4', newest: 'seg-abc-8.m4s' });
  });
});

describe('soak', () => {
  it('5 streams, 40 viewers, 0.25 minute: zero errors, bounded fd growth', async () => {
    const result = await runSoak({ minutes: 0.25, streams: 5, viewers: 40, maxFdGrowth: FD_GROWTH_BOUND });
    console.log(formatSoak(result));
    expect(result.errorKinds).toEqual({});
    expect(result.errors).toBe(0);
    expect(result.segmentsFetched).toBeGreaterThan(40 * 5);
    expect(result.fds.growth).toBeLessThanOrEqual(FD_GROWTH_BOUND);
    expect(result.ok).toBe(true);
  }, 150_000);
});
