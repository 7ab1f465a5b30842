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
