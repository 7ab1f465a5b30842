/**
 * `npm run bench -- --only=floor` end to end, small: one rate, one repeat of 2 s. Checks that both
 * servers answered every poll and were measured (CPU read from /proc, which counts in 10 ms
 * ticks: a short run of nginx may read 0); no timing thresholds. Under REQUIRE_BROWSER=1 (CI, where .ci/run installs nginx) a missing nginx fails.
 */
import { describe, expect, it } from 'vitest';
import { benchFloor, formatFloor } from '../../bench/floor.js';

describe('bench --only=floor', () => {
  it('measures a bare node:http server and nginx answering the same polls', { timeout: 60_000 }, async () => {
    const result = await benchFloor({ seconds: 2, repeats: 1, rates: [300] });
    if (result.nginxMissing && process.env['REQUIRE_BROWSER'] === '1') throw new Error(`REQUIRE_BROWSER=1 but ${result.nginxMissing}`);
    expect(result.bodyBytes).toBeGreaterThan(2500);
    expect(result.runs).toHaveLength(1);
    const run = result.runs[0]!;
    const servers = result.nginxMissing ? [run.node] : [run.node, run.nginx];
    for (const samples of servers) {
      expect(samples).toHaveLength(1);
      // Three pollers at 100/s for 2 s, less the time the answers take.
      expect(samples[0]!.requests).toBeGreaterThan(300);
      expect(samples[0]!.cpuPercent).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(samples[0]!.usPerRequest)).toBe(true);
    }
    expect(run.node[0]!.cpuPercent).toBeGreaterThan(0);
    expect(formatFloor(result)).toMatch(/\| 300 \| [\d.]+ \[/);
  });
});
