/**
 * `npm run bench -- --vs nginx-rtmp` end to end, small: 2 streams, 10 s, one repeat. Checks that
 * every row was produced with finite numbers for the gateway and (when installed) nginx-rtmp;
 * no timing thresholds (the machine's load decides those). Under REQUIRE_BROWSER=1 (CI, where
 * .ci/run installs it) a missing nginx-rtmp is a failure; elsewhere the peer part is skipped.
 */
import { describe, expect, it } from 'vitest';
import { benchVs, formatVs } from '../../bench/vs.js';
import { peerMissing } from '../../bench/vs-servers.js';

/** Figures nginx-rtmp has no counterpart for (it makes no LL-HLS; it holds its media in files). */
const GATEWAY_ONLY = /LL-HLS|media held|RSS budget/;

describe('bench --vs nginx-rtmp', () => {
  it('measures the gateway and nginx-rtmp, every row finite', { timeout: 300_000 }, async () => {
    const missing = peerMissing('nginx-rtmp');
    if (missing && process.env['REQUIRE_BROWSER'] === '1') throw new Error(`REQUIRE_BROWSER=1 but ${missing}`);
    if (missing) console.warn(`\n!!! ${missing}: the nginx-rtmp half of this test is SKIPPED !!!\n`);
    const result = await benchVs({ peer: 'nginx-rtmp', counts: [2], seconds: 10, repeats: 1, log: () => undefined });
    const table = formatVs(result);
    expect(result.rows.length).toBeGreaterThanOrEqual(12);
    for (const row of result.rows) {
      expect(row.streams).toBe(2);
      expect(row.gateway.values, `gateway: ${row.figure}\n${table}`).toHaveLength(1);
      expect(Number.isFinite(row.gateway.median), `gateway: ${row.figure}\n${table}`).toBe(true);
      if (missing) {
        expect(row.peer).toBeUndefined();
        continue;
      }
      if (GATEWAY_ONLY.test(row.figure)) {
        expect(row.peer, row.figure).toBeUndefined();
        continue;
      }
      expect(row.peer?.values, `nginx-rtmp: ${row.figure}\n${table}`).toHaveLength(1);
      expect(Number.isFinite(row.peer!.median), `nginx-rtmp: ${row.figure}\n${table}`).toBe(true);
    }
    const figure = (name: RegExp) => result.rows.find((r) => name.test(r.figure))!;
    // Sanity, not speed: the servers ran, segments were served and fetched, nothing failed.
    expect(figure(/CPU/).gateway.median).toBeGreaterThan(0);
    expect(figure(/RSS/).gateway.median).toBeGreaterThan(0);
    expect(figure(/segments fetched/).gateway.median).toBeGreaterThan(0);
    expect(figure(/media held/).gateway.median).toBeGreaterThan(0);
    expect(figure(/HTTP errors/).gateway.median).toBe(0);
    if (!missing) {
      expect(figure(/segments fetched/).peer!.median).toBeGreaterThan(0);
      expect(figure(/HTTP errors/).peer!.median).toBe(0);
      expect(table).toContain('nginx-rtmp');
    }
  });
});
