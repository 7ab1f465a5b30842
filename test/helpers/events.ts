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
