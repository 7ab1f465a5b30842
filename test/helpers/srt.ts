/**
 * What SRT tests need: the libsrt relay built (scripts/build-native.mjs, run here when the binary
 * is missing: `npm test` does not build) and an ffmpeg that speaks SRT (Debian's has libsrt).
 * Under CI (REQUIRE_BROWSER=1 or CI set) a missing piece is a failure; elsewhere a loud skip.
 */
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findOnPath } from '../../src/ladder/ffmpeg-path.js';
import { SrtRelay } from '../../src/srt/srt-relay.js';
import { run } from './process.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const REQUIRED = process.env['REQUIRE_BROWSER'] === '1' || Boolean(process.env['CI']);

async function prerequisites(): Promise<string | undefined> {
  if (!SrtRelay.binaryPath()) {
    const built = await run(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], 120_000);
    if (!SrtRelay.binaryPath()) return `dist/native/srt-relay could not be built: ${(built.stdout + built.stderr).trim()}`;
  }
  const ffmpeg = findOnPath('ffmpeg');
  if (!ffmpeg) return 'no ffmpeg on PATH (apt-get install -y ffmpeg)';
  const protocols = await run(ffmpeg, ['-hide_banner', '-protocols'], 20_000);
  if (!/^\s*srt\s*$/m.test(protocols.stdout)) return `${ffmpeg} has no srt protocol (Debian's ffmpeg is built with libsrt)`;
  return undefined;
}

/** A UDP port nobody is bound to right now on 127.0.0.1. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Undefined when SRT tests can run; else why not (and the throw under CI). */
export async function srtMissing(what: string): Promise<string | undefined> {
  const missing = await prerequisites();
  if (missing && REQUIRED) throw new Error(`CI (REQUIRE_BROWSER=1 or CI set): ${missing}`);
  if (missing) console.warn(`\n!!! ${missing}: ${what} are SKIPPED !!!\n`);
  return missing;
}
