/**
 * Stage contract between chunking and muxing: the segmenter decides where segments and parts are
 * cut (segmenter/) and hands each muxer the same format-neutral groups of frames; the CMAF muxer
 * (mux/fmp4/cmaf-muxer.ts) and the MPEG-TS muxer write them as equals. Nothing here knows a
 * container format.
 *
 *   onConfig(c1) ▸ onGroup(seg 0, part 0) ▸ onGroup(seg 0, part 1) ▸ … ▸ onSegmentEnd(seg 0)
 *                ▸ onGroup(seg 1, part 0) ▸ … ▸ onConfig(c2) ▸ onSegmentEnd(seg 1) ▸ …
 */
import type { Frame, Track, TrackKind } from './media.js';

/** A track configuration starts (or changes mid-stream): media after it needs a new decoder setup. */
export interface TrackConfig {
  readonly kind: TrackKind;
  /** Increments with every configuration of the track (CMAF: the init segment id). */
  readonly id: number;
  readonly track: Track;
}

/** One part's frames (an LL-HLS part, a CMAF chunk), cut by the one rule for every rendition. */
export interface FrameGroup {
  readonly kind: TrackKind;
  /** Media sequence number of the segment the group belongs to. */
  readonly segment: number;
  /** Index of the group inside its segment, from 0. */
  readonly index: number;
  /** Decode time of the first frame, track timescale. */
  readonly startTime: number;
  /** Sum of the frame durations, track timescale. */
  readonly duration: number;
  readonly timescale: number;
  /** Starts with a sync sample. */
  readonly independent: boolean;
  /** The segment this group belongs to follows a configuration change or a gap. */
  readonly discontinuity: boolean;
  /** The TrackConfig the frames need. */
  readonly configId: number;
  /** Wall clock (ms) when the first frame arrived. */
  readonly wallclock: number;
  readonly frames: readonly Frame[];
  /** Each frame's duration (decode time to the next frame's), track timescale. */
  readonly durations: readonly number[];
}

/** The segment's last group was emitted: the segment is complete. */
export interface SegmentEnd {
  readonly kind: TrackKind;
  readonly sequence: number;
  readonly startTime: number;
  readonly duration: number;
  readonly timescale: number;
  readonly configId: number;
  readonly discontinuity: boolean;
  readonly wallclock: number;
}

/** What a muxer implements to be fed by the segmenter. */
export interface ChunkSink {
  onConfig(config: TrackConfig): void;
  onGroup(group: FrameGroup): void;
  onSegmentEnd(segment: SegmentEnd): void;
}
