import type { RunningGateway } from '../../src/gateway.js';
import type { TrackOutput } from '../../src/packager/track-output.js';

/** Resolves once `ready()` holds, checked now and on every packager update of `track` (no polling). */
export function untilUpdate(track: TrackOutput, ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (ready()) {
        track.off('update', check);
        resolve();
      }
    };
    track.on('update', check);
    check();
  });
}

/** Resolves once the source rendition of a live `app/key` on `gw` has `count` segments (and `also()` holds). */
export function untilSourceSegments(gw: RunningGateway, key: string, count: number, also: () => boolean = () => true, app = 'live'): Promise<void> {
  // The source rendition's TrackOutput exists from the publish on (packager/stream-output.ts).
  const video = gw.outputs.get(app, key)!.videos.get('src')!;
  return untilUpdate(video, () => video.segments.length >= count && also());
}

/**
 * `promise`, or a rejection after `ms` that says what was awaited and the state at that moment
 * (`describe()`), so a wait that never ends fails with a reason instead of the test's timeout.
 */
export function within<T>(promise: Promise<T>, ms: number, describe: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms: ${describe()}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
