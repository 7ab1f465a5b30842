/**
 * Asking V8 for a full garbage collection, for the one place that needs it: media bytes dropped
 * from the segment LRU. Those ArrayBuffers belong to old-generation objects, which V8 frees only
 * at a full (mark-compact) GC, and V8 schedules those by the size of its small JS heap (~20 MB
 * here), not by the hundreds of MB of media the buffers hold: at 20 streams about 100 MB of dropped
 * segments waited for a collection (RSS 472 MB for 247 MB held, `npm run bench -- --vs`).
 *
 * `gc` is not exposed without `--expose-gc`; setting that flag at run time and fetching `gc` from
 * a fresh context is V8's documented way to get it when the command line cannot be changed
 * (`npm start`, the `streamgate` bin). Without it, `collectGarbage` is a no-op.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = () => void;

let collect: Collect | undefined | null;

function collector(): Collect | undefined {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('gc');
      collect = typeof gc === 'function' ? (gc as Collect) : null;
    } catch {
      collect = null;
    }
  }
  return collect ?? undefined;
}

/** A full collection now (a few ms for the gateway's heap), when the runtime allows it. */
export function collectGarbage(): void {
  collector()?.();
}
