/**
 * Playlists and MPDs are polled far more often than they change (a player reloads every part or
 * every 100 ms; a segment completes every 2 s): the text rendered for a stream is kept with the
 * StreamOutput.contentVersion it was rendered at and reused until that changes.
 */
import type { StreamOutput } from '../packager/stream-output.js';

interface Rendered {
  readonly version: string;
  readonly value: unknown;
}

/** Variants kept per stream (renditions x client quirks x skip): bounds a stream's memo. */
const MAX_VARIANTS = 64;

const memo = new WeakMap<StreamOutput, Map<string, Rendered>>();

/**
 * What `render` makes for `variant` of `output`, rendered again only after a change: of
 * `version` when given (what this rendering depends on), else of the stream's contentVersion.
 */
export function renderedOnce<T>(output: StreamOutput, variant: string, render: () => T, version: string = output.contentVersion): T {
  let byVariant = memo.get(output);
  if (!byVariant) {
    byVariant = new Map();
    memo.set(output, byVariant);
  }
  const hit = byVariant.get(variant);
  // The variant key names what was rendered, so the value has the type its render gave.
  if (hit && hit.version === version) return hit.value as T;
  const value = render();
  if (!hit && byVariant.size >= MAX_VARIANTS) byVariant.clear();
  byVariant.set(variant, { version, value });
  return value;
}
