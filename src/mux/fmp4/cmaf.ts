/** The CMAF store's units (init segments, chunks, segments), as the CMAF muxer writes them. */
import type { FrameGroup } from '../../core/chunks.js';
import type { Track, TrackKind } from '../../core/media.js';

/** A CMAF header (init segment) as produced for one track configuration. */
export interface InitSegment {
  readonly kind: TrackKind;
  /** Increments when the track configuration changes mid-stream (new sequence header). */
  readonly id: number;
  readonly track: Track;
  readonly bytes: Uint8Array;
}

/**
 * One CMAF chunk (moof + mdat): an LL-HLS part, an LL-DASH chunk. The frame group it was muxed
 * from (core/chunks.ts), with its bytes; `initId` is the group's `configId`. The frames are for
 * other muxers (TS) and are not retained by the CMAF store.
 */
export type CmafPart = Omit<FrameGroup, 'configId' | 'durations'> & {
  /** Init segment the part needs. */
  readonly initId: number;
  readonly bytes: Uint8Array;
};

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
  /** Event message boxes (`emsg`) to write ahead of the next chunk's `moof` (CMAF §7.4.5), if any. */
  takeEventBoxes?(): Uint8Array | undefined;
}
