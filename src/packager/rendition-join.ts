/**
 * How a video rendition made elsewhere (a transcoded rung, a sibling key) joins a stream's
 * numbering: it is cut by the same rule as the source; its first segment starts at its first
 * keyframe that starts a source segment and takes that segment's sequence number, so every
 * rendition has the same numbers and spans. A rendition that lost media (its transcoder
 * restarted) rejoins at the source segment its keyframe starts, the numbers it missed listed as
 * gaps. One that never lines up is reported.
 */
import type { Frame, Track } from '../core/media.js';
import type { StreamSink } from '../core/stream.js';
import type { CencProtection } from '../mux/fmp4/cenc.js';
import { CmafMuxer } from '../mux/fmp4/cmaf-muxer.js';
import { TrackSegmenter } from '../segmenter/track-segmenter.js';
import type { PackagerConfig } from './stream-output.js';
import type { SegmentInfo, TrackOutput } from './track-output.js';

/** How far apart (wall clock) a rendition's keyframe may arrive from the source's same keyframe. */
export const RENDITION_JOIN_WINDOW_MS = 4000;
/** Frames held while waiting for the source to reach a keyframe: past it they are let go. */
const MAX_HELD_FRAMES = 600;
/** Keyframes that start no source segment before the rendition is reported misaligned. */
const UNMATCHED_BEFORE_PROBLEM = 3;

/** What the joining rendition needs to know about the source. */
export interface SourceView {
  /** The source segment starting at this dts (90 kHz): its number and arrival time. */
  segmentStartingAt(dts: number): { sequence: number; wallclock: number } | undefined;
  /** Decode time of the newest source video frame. */
  latestVideoDts(): number;
  /** The source's listed segments (for the spans of gaps). */
  segments(): readonly SegmentInfo[];
}

export class RenditionJoin implements StreamSink {
  private segmenter: TrackSegmenter | undefined;
  private pendingTrack: Track | undefined;
  /** Frames from a keyframe the source has not reached yet (another socket may lag a little). */
  private held: Frame[] = [];
  private unmatchedKeyframes = 0;

  constructor(
    private readonly output: TrackOutput,
    private readonly source: SourceView,
    private readonly config: PackagerConfig,
    /** The rendition id existed before (a reconnected publisher's new transcoder). */
    private readonly resumed: boolean,
    private readonly report: (problem: string | undefined) => void,
    /** The stream's Common Encryption, applied to this rendition as to every other. */
    private readonly protection?: CencProtection,
  ) {}

  onTrack(track: Track): void {
    if (track.kind !== 'video') return;
    if (this.segmenter) this.segmenter.setTrack(track);
    else this.pendingTrack = track;
  }

  onFrame(frame: Frame): void {
    if (frame.kind !== 'video') return;
    if (this.segmenter) {
      if (frame.key) this.realign(frame);
      this.segmenter.pushLeading(frame);
      return;
    }
    if (frame.key) {
      if (this.held.length > 0) this.unmatched();
      this.held = [frame];
      this.sourceMoved();
    } else if (this.held.length > 0) {
      this.held.push(frame);
      if (this.held.length > MAX_HELD_FRAMES) this.unmatched();
    }
  }

  /** The rung's TrackOutput ends with the stream output, not with one transcoder run. */
  onEnd(): void {
    this.segmenter?.end();
  }

  /** Re-checked whenever the source moves on: the held keyframe starts a source segment, or never will. */
  sourceMoved(): void {
    const head = this.held[0];
    if (!head || this.segmenter) return;
    const twin = this.source.segmentStartingAt(head.dts);
    // The same media time must also be the same moment: an encoder started later can reuse
    // timestamps the source had seconds ago. A transcoder rung lags by at most its lag bound.
    if (twin && Math.abs(head.wallclock - twin.wallclock) <= RENDITION_JOIN_WINDOW_MS) {
      if (this.pendingTrack) this.start(twin.sequence, this.pendingTrack);
    } else if (twin || this.source.latestVideoDts() >= head.dts) this.unmatched();
  }

  private newSegmenter(firstSequence: number, discontinuity: boolean): TrackSegmenter {
    return new TrackSegmenter('video', new CmafMuxer('video', this.output, this.protection), {
      segmentDuration: this.config.segmentDuration,
      partDuration: this.config.partDuration,
      firstSequence,
      firstInitId: this.output.currentInitId + 1,
      startsWithDiscontinuity: discontinuity,
    });
  }

  private start(sequence: number, track: Track): void {
    this.report(undefined);
    const segmenter = this.newSegmenter(sequence, this.resumed);
    this.segmenter = segmenter;
    segmenter.setTrack(track);
    const frames = this.held;
    this.held = [];
    for (const f of frames) segmenter.pushLeading(f);
  }

  /** A keyframe that starts a later source segment than expected: rejoin there, the rest are gaps. */
  private realign(frame: Frame): void {
    const segmenter = this.segmenter;
    const twin = this.source.segmentStartingAt(frame.dts);
    if (!segmenter || !twin || Math.abs(frame.wallclock - twin.wallclock) > RENDITION_JOIN_WINDOW_MS) return;
    const expected = segmenter.nextSequence + (segmenter.started ? 1 : 0);
    if (twin.sequence <= expected) return;
    const track = segmenter.currentTrack;
    segmenter.end();
    for (let n = segmenter.nextSequence; n < twin.sequence; n++) {
      const src = this.source.segments().find((x) => x.sequence === n);
      if (src) this.output.addGap(n, src.startTime, src.durationTicks, src.timescale);
      else this.output.addGap(n, frame.dts, Math.round(this.config.segmentDuration * 90_000), 90_000);
    }
    this.segmenter = this.newSegmenter(twin.sequence, true);
    if (track) this.segmenter.setTrack(track);
  }

  private unmatched(): void {
    this.held = [];
    if (++this.unmatchedKeyframes === UNMATCHED_BEFORE_PROBLEM) this.report('keyframes do not line up with the source rendition: not listed');
  }
}
