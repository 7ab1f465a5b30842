import { defineConfig } from 'vitest/config';

/**
 * Two projects, run one after the other by `npm test`:
 *  - `main`: unit, fuzz and integration tests, two files at a time;
 *  - `heavy`: tests that decode/encode video or drive Chromium while measuring stalls and
 *    latency, and bench/vs.ts end to end (it starts servers, publishers and viewers as processes);
 *    one file at a time so they do not starve each other of the 2 cores.
 */
const HEAVY = ['test/browser/**/*.test.ts', 'test/web/**/*.browser.test.ts', 'test/e2e/ladder*.test.ts', 'test/e2e/reconnect.test.ts', 'test/e2e/clients.test.ts', 'test/e2e/dash-reconnect.test.ts', 'test/hostile/**/*.test.ts', 'test/latency/latency.test.ts', 'test/bench/vs.test.ts', 'test/bench/fanout.test.ts', 'test/bench/floor.test.ts', 'test/e2e/edge.test.ts', 'test/e2e/push.test.ts', 'test/e2e/pull.test.ts', 'test/e2e/slate.test.ts', 'test/e2e/tls.test.ts', 'test/e2e/srt.test.ts', 'test/e2e/ertmp-codecs.test.ts', 'test/e2e/multitrack.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: HEAVY, maxWorkers: 2 },
      },
      {
        extends: true,
        test: { name: 'heavy', include: HEAVY, fileParallelism: false, maxWorkers: 1 },
      },
    ],
  },
});
