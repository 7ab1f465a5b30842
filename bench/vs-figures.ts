/**
 * From what the publisher wrote and what the viewer saw listed, the delay from the source frame
 * that closes each segment (or LL-HLS part) to the playlist that first lists it.
 *
 * Servers do not say which source frame a segment starts at, so the segment timeline is
 * rebuilt: the first segment listed starts at the first source keyframe; each segment ends at
 * the source keyframe nearest to its start + EXTINF (its closing keyframe), which is also where
 * the next segment starts. Snapping to the keyframe at every step keeps EXTINF rounding (3
 * decimals, or a server's own timestamp shifts) from accumulating. A segment whose end is not
 * within KEYFRAME_TOLERANCE_MS of any keyframe is counted as unmatched and not used.
 * Parts are laid out the same way inside their segment by DURATION; a part's closing frame is the
 * first source frame at or after its end.
 */
import type { ListedPart, ListedSegment, PublishedStream, SentFrame } from './vs-types.js';

/** Half the GOP would be ambiguous; a server's segment end is within a frame or two of the keyframe. */
const KEYFRAME_TOLERANCE_MS = 300;
/** DURATION has 3 decimals and source dts are whole ms: an end may round up to 1-2 ms past its frame. */
const PART_ROUNDING_MS = 3;
/** A part end further than this from the next frame means the layout went wrong: not used. */
const PART_TOLERANCE_MS = 100;

/** The first index whose value is >= x in ascending `values`. */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Frames in dts order with their dts as a separate array for binary search. */
interface FrameIndex {
  readonly frames: SentFrame[];
  readonly dts: number[];
}

function index(frames: SentFrame[]): FrameIndex {
  const sorted = [...frames].sort((a, b) => a[0] - b[0]);
  return { frames: sorted, dts: sorted.map((f) => f[0]) };
}

function nearest(ix: FrameIndex, x: number): SentFrame | undefined {
  const i = lowerBound(ix.dts, x);
  const candidates = [ix.frames[i - 1], ix.frames[i]].filter((f): f is SentFrame => f !== undefined);
  return candidates.sort((a, b) => Math.abs(a[0] - x) - Math.abs(b[0] - x))[0];
}

export interface SegmentTimeline {
  /** Source dts (ms) each segment index starts at. */
  readonly starts: Map<number, number>;
  /** The source keyframe that closes each segment index. */
  readonly closing: Map<number, SentFrame>;
  /** Segments whose end matched no source keyframe. */
  readonly unmatched: number;
}

/** Lays the server's segments (index -> EXTINF s, from every playlist seen) over the source keyframes. */
export function segmentTimeline(published: PublishedStream, durations: ReadonlyMap<number, number>): SegmentTimeline {
  const starts = new Map<number, number>();
  const closing = new Map<number, SentFrame>();
  const keyframes = index(published.frames.filter((f) => f[2] === 1));
  let unmatched = 0;
  const first = Math.min(...durations.keys());
  let start = keyframes.frames[0]?.[0];
  for (let i = first; start !== undefined && durations.has(i); i++) {
    starts.set(i, start);
    const end = start + durations.get(i)! * 1000;
    const k = nearest(keyframes, end);
    if (k && Math.abs(k[0] - end) <= KEYFRAME_TOLERANCE_MS) {
      closing.set(i, k);
      start = k[0];
    } else {
      unmatched++;
      start = end;
    }
  }
  return { starts, closing, unmatched };
}

/** Every segment duration any client saw (the HLS poller and the LL-HLS client list the same segments). */
export function segmentDurations(...lists: ListedSegment[][]): Map<number, number> {
  const out = new Map<number, number>();
  for (const list of lists) for (const s of list) if (Number.isFinite(s.duration)) out.set(s.index, s.duration);
  return out;
}

/** listedAt - sent instant of the closing keyframe, for every segment listed at a known instant. */
export function segmentDelays(timeline: SegmentTimeline, listed: readonly ListedSegment[]): number[] {
  const out: number[] = [];
  for (const s of listed) {
    const k = timeline.closing.get(s.index);
    if (k && s.listedAt !== null) out.push(s.listedAt - k[1]);
  }
  return out;
}

/** listedAt - sent instant of each part's closing frame (the first source frame at or after its end). */
export function partDelays(published: PublishedStream, timeline: SegmentTimeline, parts: readonly ListedPart[]): number[] {
  const frames = index(published.frames);
  const bySegment = new Map<number, ListedPart[]>();
  for (const p of parts) {
    const list = bySegment.get(p.msn);
    if (list) list.push(p);
    else bySegment.set(p.msn, [p]);
  }
  const out: number[] = [];
  for (const [msn, list] of bySegment) {
    let end = timeline.starts.get(msn);
    list.sort((a, b) => a.part - b.part);
    // Parts are laid end to end from the segment's start: all of them from part 0 are needed.
    for (let i = 0; end !== undefined && i < list.length && list[i]!.part === i; i++) {
      const p = list[i]!;
      const target = end + p.duration * 1000;
      const f = frames.frames[lowerBound(frames.dts, target - PART_ROUNDING_MS)];
      if (!f || f[0] - target > PART_TOLERANCE_MS) break;
      if (p.listedAt !== null) out.push(p.listedAt - f[1]);
      end = f[0];
    }
  }
  return out;
}
