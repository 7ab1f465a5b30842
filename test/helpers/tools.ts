import { createRequire } from 'node:module';
import { accessSync, constants } from 'node:fs';
import { resolveFfmpegPath, findOnPath } from '../../src/ladder/ffmpeg-path.js';

function executable(path: string | undefined): path is string {
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function ffmpegPath(): string {
  const p = resolveFfmpegPath();
  if (!p) throw new Error('no ffmpeg: install it or run npm ci (bundled @ffmpeg-installer/ffmpeg)');
  return p;
}

export function ffprobePath(): string {
  const env = process.env['FFPROBE_PATH'];
  if (executable(env)) return env;
  const system = findOnPath('ffprobe');
  if (system) return system;
  const require = createRequire(import.meta.url);
  const mod = require('@ffprobe-installer/ffprobe') as { path: string };
  return mod.path;
}

/**
 * Third-party players driven by test/e2e/clients.test.ts, found on PATH: GStreamer's gst-launch-1.0
 * and VLC's cvlc (Debian: gstreamer1.0-tools/-plugins-good/-bad/-libav, vlc-bin, vlc-plugin-base).
 */
export function gstLaunchPath(): string | undefined {
  return findOnPath('gst-launch-1.0');
}

export function cvlcPath(): string | undefined {
  return findOnPath('cvlc');
}

/**
 * The command prefix that runs VLC: Debian's vlc refuses to run as root ("VLC is not supposed to
 * be run as root"), so as root it runs as nobody through util-linux setpriv (or runuser).
 * Undefined when VLC cannot be run at all.
 */
export function vlcCommand(): string[] | undefined {
  const cvlc = cvlcPath();
  if (!cvlc) return undefined;
  if (process.getuid?.() !== 0) return [cvlc];
  const setpriv = findOnPath('setpriv');
  if (setpriv) return [setpriv, '--reuid=nobody', '--regid=nogroup', '--clear-groups', cvlc];
  const runuser = findOnPath('runuser');
  if (runuser) return [runuser, '-u', 'nobody', '--', cvlc];
  return undefined;
}

/**
 * Names of the player tools that are missing. Under REQUIRE_BROWSER=1 (CI) the caller fails on a
 * non-empty list (like test/helpers/browser.ts for chromium); elsewhere it skips loudly.
 */
export function missingPlayerTools(): string[] {
  const missing: string[] = [];
  if (!gstLaunchPath()) missing.push('gst-launch-1.0 (apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav)');
  if (!vlcCommand()) missing.push('cvlc (apt-get install vlc-bin vlc-plugin-base; as root also setpriv or runuser)');
  return missing;
}

/**
 * Any other third-party client on PATH (rtmpdump, gst-launch-1.0 as a publisher). Under CI
 * (REQUIRE_BROWSER=1) a missing client is a failure, not a skip; elsewhere the test skips loudly.
 */
export function clientTool(name: string): string | undefined {
  const path = findOnPath(name);
  if (path) return path;
  if (process.env['REQUIRE_BROWSER'] === '1') {
    throw new Error(`REQUIRE_BROWSER=1 but ${name} is not installed (.ci/run installs it with apt-get)`);
  }
  console.warn(`\n!!! ${name} not found: its client tests are SKIPPED !!!\n`);
  return undefined;
}
