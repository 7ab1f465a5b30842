import type { Response } from 'express';

/** Anything that says when it changed (TrackOutput). */
export interface UpdateSource {
  on(event: 'update', listener: () => void): unknown;
  off(event: 'update', listener: () => void): unknown;
}

/**
 * Holds a request until `ready()` is true after an 'update' of one of `sources`, the time runs
 * out, or the client goes away (the response closes). No polling: every check runs on a packager event.
 */
export function waitUntil(
  sources: readonly UpdateSource[],
  ready: () => boolean,
  timeoutMs: number,
  res: Response,
): Promise<boolean> {
  if (ready()) return Promise.resolve(true);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const s of sources) s.off('update', check);
      res.off('close', gone);
      resolve(value);
    };
    const check = (): void => {
      if (ready()) finish(true);
    };
    const gone = (): void => finish(false);
    const timer = setTimeout(() => finish(ready()), timeoutMs);
    for (const s of sources) s.on('update', check);
    res.on('close', gone);
  });
}
