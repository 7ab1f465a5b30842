import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Three projects, run one after the other by `npm test`:
 *  - `main`: unit, fuzz and integration tests, two files at a time;
 *  - `paced`: end-to-end files that mostly wait on real-time publishers and players (each uses
 *    0.2 to 0.6 of one core when run alone, by /usr/bin/time and /proc/stat) and assert no
 *    wall-clock latency: two files at a time, beside each other rather than beside the CPU-bound
 *    unit tests;
 *  - `heavy`: tests that encode video (the ladder) or measure stalls, latency and CPU, and
 *    bench/vs.ts end to end (it starts servers, publishers and viewers as processes); one file at
 *    a time so they do not starve each other of the 2 cores.
 */
/** Longest first (seconds on 2 cores in the comment), the order `PacedFirst` starts them in. */
const PACED = [
  'test/e2e/ertmp-codecs.test.ts', // 87
  'test/e2e/ladder-sources.test.ts', // 71
  'test/e2e/clients.test.ts', // 68
  'test/e2e/push.test.ts', // 49
  'test/e2e/srt.test.ts', // 46
  'test/e2e/slate.test.ts', // 34
  'test/e2e/pull.test.ts', // 32
  'test/e2e/multitrack.test.ts', // 16
  'test/e2e/dash-reconnect.test.ts', // 14
  'test/e2e/tls.test.ts', // 10
];
const HEAVY = ['test/browser/**/*.test.ts', 'test/web/**/*.browser.test.ts', 'test/e2e/ladder.test.ts', 'test/e2e/ladder-1080p.test.ts', 'test/e2e/ladder-tuning.test.ts', 'test/e2e/reconnect.test.ts', 'test/hostile/**/*.test.ts', 'test/latency/latency.test.ts', 'test/bench/vs.test.ts', 'test/bench/fanout.test.ts', 'test/bench/floor.test.ts', 'test/e2e/edge.test.ts'];

/**
 * Vitest starts files it has no timings for (every file of a fresh clone, as in CI) largest
 * first; the paced files are started longest first instead, so the two workers finish together.
 */
class PacedFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => PACED.findIndex((p) => f.moduleId.endsWith(p));
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: PacedFirst },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...PACED, ...HEAVY], maxWorkers: 2 },
      },
      {
        extends: true,
        test: { name: 'paced', include: PACED, maxWorkers: 2 },
      },
      {
        extends: true,
        test: { name: 'heavy', include: HEAVY, fileParallelism: false, maxWorkers: 1 },
      },
    ],
  },
});
