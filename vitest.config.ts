import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start gateways and ffmpeg processes: two workers on a 2-core box.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
