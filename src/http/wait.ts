import type { Response } from 'express';

/** The response a wait is bound to: it ends the wait when the client goes away. */
export interface ClosableResponse {
  on(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  destroy(): unknown;
}

/** Anything that says when it changed (TrackOutput). */
export interface UpdateSource {
  on(event: 'update', listener: () => void): unknown;
  off(event: 'update', listener: () => void): unknown;
}

/**
 * Like waitUntil, but `done` runs synchronously inside the packager event that made the
 * condition true: a blocked playlist request is answered before slower listeners of the same
 * event (TS muxing of a whole segment) get to run.
 */
export function whenReady(
  sources: readonly UpdateSource[],
  ready: () => boolean,
  timeoutMs: number,
  res: ClosableResponse,
  done: (ok: boolean) => void,
): void {
  if (ready()) {
    done(true);
    return;
  }
  let settled = false;
  const finish = (value: boolean): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    for (const s of sources) s.off('update', check);
    res.off('close', gone);
    // Runs inside the packager's event: a failing response must never reach the publisher's stack.
    try {
      done(value);
    } catch {
      res.destroy();
    }
  };
  const check = (): void => {
    if (ready()) finish(true);
  };
  const gone = (): void => finish(false);
  const timer = setTimeout(() => finish(ready()), timeoutMs);
  for (const s of sources) s.on('update', check);
  res.on('close', gone);
}

/**
 * Holds a request until `ready()` is true after an 'update' of one of `sources`, the time runs
 * out, or the client goes away (the response closes). No polling: every check runs on a
 * packager event.
 */
export function waitUntil(sources: readonly UpdateSource[], ready: () => boolean, timeoutMs: number, res: Response): Promise<boolean> {
  return new Promise((resolve) => whenReady(sources, ready, timeoutMs, res, resolve));
}

/**
 * Holds a first request for a stream's multivariant playlist or MPD until every track has a
 * segment (up to `timeoutMs`); answers 404 itself when it never comes. Resolves to whether the
 * caller may answer.
 */
export async function untilOutputReady(
  output: { readonly ready: boolean; readonly ended: boolean; trackOutputs(): readonly UpdateSource[] },
  timeoutMs: number,
  res: Response,
): Promise<boolean> {
  if (output.ready) return true;
  const sources = output.trackOutputs();
  const ok = await waitUntil(sources, () => output.ready || output.ended, timeoutMs, res);
  if (ok && output.ready) return true;
  if (!res.headersSent && !res.writableEnded) res.status(404).type('text').send('stream has no media yet');
  return false;
}
