/**
 * Which ffmpeg binary the gateway runs: `FFMPEG_PATH`, else a system `ffmpeg` on PATH, else the
 * one bundled by `@ffmpeg-installer/ffmpeg` (so `npm ci` alone is enough).
 */
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, pathEnv = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

export function bundledFfmpegPath(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@ffmpeg-installer/ffmpeg') as { path?: string };
    return mod.path && executable(mod.path) ? mod.path : undefined;
  } catch {
    return undefined;
  }
}

export function resolveFfmpegPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env['FFMPEG_PATH'];
  if (explicit && executable(explicit)) return explicit;
  return findOnPath('ffmpeg', env['PATH']) ?? bundledFfmpegPath();
}
