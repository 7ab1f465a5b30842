import { describe, expect, it } from 'vitest';
import { PlaylistRateLimiter } from '../../src/http/rate-limit.js';

describe('PlaylistRateLimiter', () => {
  it('allows a burst, then the sustained rate, per client', () => {
    let t = 0;
    const limiter = new PlaylistRateLimiter({ perSecond: 10, burst: 5, now: () => t });
    for (let i = 0; i < 5; i++) expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    expect(limiter.take('b')).toBe(true); // another client has its own bucket
    t += 100; // 0.1 s refills one token at 10/s
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('a')).toBe(false);
    expect(limiter.limited).toBe(2);
  });

  it('is off at 0 and bounded in clients', () => {
    const off = new PlaylistRateLimiter({ perSecond: 0, burst: 0 });
    for (let i = 0; i < 100; i++) expect(off.take('x')).toBe(true);
    const small = new PlaylistRateLimiter({ perSecond: 1, burst: 1, maxClients: 3, now: () => 0 });
    for (let i = 0; i < 10; i++) small.take(`c${i}`);
    expect((small as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(3);
  });
});
