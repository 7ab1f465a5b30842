/**
 * Restart back-off for a crashing transcoder: 1 s, 2 s, 4 s, ... capped (30 s by default), so a
 * broken input or a missing codec cannot turn into a fork bomb, and a one-off crash heals fast.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 30_000 };

/** Delay before restart number `failures` (1 = the first failure in a row). */
export function restartDelayMs(failures: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 1) return Math.min(opts.initialMs, opts.maxMs);
  // 2^n overflows to Infinity long before it matters; min() keeps the cap.
  return Math.min(opts.initialMs * 2 ** (failures - 1), opts.maxMs);
}
