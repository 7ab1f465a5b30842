/**
 * Whether a stream's ladder keeps up with its source, judged segment by segment: at every new
 * source segment, is every rung at most one segment behind? Resolves once that held for
 * `keptUpSegments` source segments in a row, or after `maxSourceSegments` (then `keptUp` says
 * how far it got); `history` lists each rung's newest segment per source segment.
 */
import type { StreamOutput } from '../../src/packager/stream-output.js';
import { untilUpdate } from './events.js';

export async function untilRungsKeepUp(output: StreamOutput, keptUpSegments: number, maxSourceSegments: number): Promise<{ keptUp: number; history: string }> {
  const src = output.videos.get('src')!;
  const firstSeq = src.lastSegment?.sequence ?? 0;
  let judged = firstSeq;
  let keptUp = 0;
  const history: string[] = [];
  await untilUpdate(src, () => {
    const last = src.lastSegment?.sequence ?? 0;
    if (last === judged) return false; // a part, not a new segment
    judged = last;
    const rungs = [...output.videos.values()].filter((v) => v.id !== 'src');
    const behind = rungs.filter((r) => (r.lastSegment?.sequence ?? -1) < last - 1);
    keptUp = rungs.length > 0 && behind.length === 0 ? keptUp + 1 : 0;
    history.push(`#${last}:${rungs.map((r) => `${r.id}=${r.lastSegment?.sequence ?? '-'}`).join(',')}`);
    return keptUp >= keptUpSegments || last - firstSeq >= maxSourceSegments;
  });
  return { keptUp, history: history.join(' ') };
}
