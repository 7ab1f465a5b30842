/**
 * Third-party clients the tests drive (GStreamer, VLC, rtmpdump): found on PATH. Under CI
 * (REQUIRE_BROWSER=1) a missing client is a failure, not a skip; elsewhere the test skips loudly.
 */
import { findOnPath } from '../../src/ladder/ffmpeg-path.js';

export function clientTool(name: string): string | undefined {
  const path = findOnPath(name);
  if (path) return path;
  if (process.env['REQUIRE_BROWSER'] === '1') {
    throw new Error(`REQUIRE_BROWSER=1 but ${name} is not installed (.ci/run installs it with apt-get)`);
  }
  console.warn(`\n!!! ${name} not found: its client tests are SKIPPED !!!\n`);
  return undefined;
}
