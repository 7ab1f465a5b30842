/** The CMAF store's units (init segments, chunks, segments), as the CMAF muxer writes them. */
import type { Frame, Track, TrackKind } from '../../core/media.js';

/** A CMAF header (init segment) as produced for one track configuration. */
export interface InitSegment {
  readonly kind: TrackKind;
  /** Increments when the track configuration changes mid-stream (new sequence header). */
  readonly id: number;
  readonly track: Track;
  readonly bytes: Uint8Array;
}

/** One CMAF chunk (moof + mdat): an LL-HLS part, an LL-DASH chunk. */
export interface CmafPart {
  readonly kind: TrackKind;
  /** Media sequence number of the segment the part belongs to. */
  readonly segment: number;
  /** Index of the part inside its segment, from 0. */
  readonly index: number;
  /** Decode time of the first sample, track timescale. */
  readonly startTime: number;
  /** Sum of sample durations, track timescale. */
  readonly duration: number;
  readonly timescale: number;
  /** Starts with a sync sample (EXT-X-PART INDEPENDENT=YES). */
  readonly independent: boolean;
  /** The segment this part opens follows a configuration change or a gap (EXT-X-DISCONTINUITY). */
  readonly discontinuity: boolean;
  /** Init segment the part needs. */
  readonly initId: number;
  readonly bytes: Uint8Array;
  /** Wall clock (ms) when the part's first frame arrived. */
  readonly wallclock: number;
  /** The frames muxed into the part (for other muxers; not retained by packagers). */
  readonly frames: readonly Frame[];
}

/** A complete CMAF segment: `styp` followed by its parts, kept as separate pieces (no copy). */
export interface CmafSegment {
  readonly kind: TrackKind;
  readonly sequence: number;
  readonly startTime: number;
  readonly duration: number;
  readonly timescale: number;
  /** The init segment the media needs (EXT-X-MAP). */
  readonly initId: number;
  /** True when this segment follows a configuration change or a gap (EXT-X-DISCONTINUITY). */
  readonly discontinuity: boolean;
  /** `styp`, then every part's bytes in order. */
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  readonly parts: readonly CmafPart[];
  readonly wallclock: number;
}

export interface SegmentSink {
  onInit(init: InitSegment): void;
  onPart(part: CmafPart): void;
  onSegment(segment: CmafSegment): void;
}
