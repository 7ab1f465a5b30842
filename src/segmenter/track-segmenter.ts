/**
 * Chunking for one track: decides where parts and segments are cut and hands the frames of each
 * part, format-neutral, to its ChunkSink (core/chunks.ts): the CMAF muxer, the TS muxer. One rule
 * for every rendition (Shaka Packager's consistent chunking): a segment
 * starts at the first keyframe whose `floor(dts / segmentTicks)` differs from the current
 * segment's; a part starts at the first frame whose `floor(dts / partTicks)` differs from the
 * current part's. Renditions with keyframes at the same instants are therefore cut identically
 * without talking to each other.
 *
 * A *follower* track (audio beside video) does not decide anything: it is cut at the times the
 * leading track chose, so segment N spans the same media time in every track.
 */
import type { ChunkSink } from '../core/chunks.js';
import type { Frame, Track, TrackKind } from '../core/media.js';

export interface TrackSegmenterOptions {
  /** Segment target in seconds. */
  readonly segmentDuration: number;
  /** Part target in seconds. */
  readonly partDuration: number;
  /** Media sequence number of the first segment. */
  readonly firstSequence?: number;
  /** Id of the first init segment (a resumed stream continues the numbering). */
  readonly firstInitId?: number;
  /** The first segment follows a gap (a publisher that reconnected): EXT-X-DISCONTINUITY. */
  readonly startsWithDiscontinuity?: boolean;
}

/**
 * Cuts a follower holds while it waits for its frames past them. One whose frames stopped (an
 * audio stream that went quiet) applies the oldest beyond this as if those frames had come, so
 * it neither hoards cuts nor loses count of the leader's segments: 60 s of 0.2 s parts.
 */
const MAX_PENDING_CUTS = 300;

/**
 * How far from its own end a track's end may be moved so that the rendition's tracks end
 * together (StreamSegmenter.onEnd): covers the interleaving skew of a dropped publisher; a track
 * that stopped long before (an audio dropout) keeps its own end.
 */
export const MAX_END_ADJUST_SECONDS = 1;

/** A cut requested by the leading track, in seconds of media time (exact rational via ticks). */
interface PendingCut {
  /** The instant in this track's ticks. */
  readonly at: number;
  readonly segment: boolean;
}

export class TrackSegmenter {
  readonly kind: TrackKind;
  private readonly sink: ChunkSink;
  private readonly segmentSeconds: number;
  private readonly partSeconds: number;
  private track: Track | undefined;
  private initId = -1;
  private timescale = 1;
  private segmentTicks = 1;
  private partTicks = 1;

  private sequence: number;
  /** Frames of the part being collected. */
  private pending: Frame[] = [];
  /** Parts emitted in the open segment. */
  private partCount = 0;
  private segmentStarted = false;
  private segmentStart = 0;
  private segmentWallclock = 0;
  private partStart = 0;
  private discontinuity = false;
  /** Frames pushed since the last setTrack. */
  private framesSinceTrack = 0;
  private lastDts = -1;
  private readonly cuts: PendingCut[] = [];
  /** Follower mode: where the leader's first segment starts, in this track's ticks. */
  private leaderStart: number | undefined;
  /** Sum of durations of the parts already emitted in the open segment. */
  private segmentDurationSoFar = 0;

  constructor(kind: TrackKind, sink: ChunkSink, options: TrackSegmenterOptions) {
    this.kind = kind;
    this.sink = sink;
    this.segmentSeconds = options.segmentDuration;
    this.partSeconds = options.partDuration;
    this.sequence = options.firstSequence ?? 0;
    this.initId = (options.firstInitId ?? 0) - 1;
    this.discontinuity = options.startsWithDiscontinuity ?? false;
  }

  get currentTrack(): Track | undefined {
    return this.track;
  }

  /** Decode time of the first frame of the open segment, if one is open. */
  get openSegmentStart(): number | undefined {
    return this.segmentStarted ? this.segmentStart : undefined;
  }

  /** The sequence number the next completed segment will carry. */
  get nextSequence(): number {
    return this.sequence;
  }

  /** A new (or first) configuration: a new init segment; media after it starts a new segment. */
  setTrack(track: Track): void {
    // A configuration replaced before any frame used the previous one (an E-RTMP colorInfo
    // Metadata packet right after the SequenceStart, as OBS sends it) is no discontinuity.
    if (this.track && this.framesSinceTrack > 0) {
      this.closeSegment(undefined);
      this.discontinuity = true;
    }
    this.framesSinceTrack = 0;
    this.track = track;
    this.timescale = track.timescale;
    this.segmentTicks = Math.max(1, Math.round(this.segmentSeconds * track.timescale));
    this.partTicks = Math.max(1, Math.round(this.partSeconds * track.timescale));
    this.initId++;
    this.sink.onConfig({ kind: this.kind, id: this.initId, track });
  }

  /** Whether a segment is open (the first sync sample, or the leader's start, was seen). */
  get started(): boolean {
    return this.segmentStarted;
  }

  /**
   * Leader mode: this track decides its own cuts (video, or audio when there is no video).
   * Returns what the frame did, so followers can be cut at the same instant.
   */
  pushLeading(frame: Frame): 'start' | 'segment' | 'part' | null {
    if (!this.track) return null;
    this.framesSinceTrack++;
    let cut: 'start' | 'segment' | 'part' | null = null;
    if (!this.segmentStarted) {
      if (!frame.key) return null; // a segment must start with a sync sample
      this.openSegment(frame);
      cut = 'start';
    } else if (frame.key && Math.floor(frame.dts / this.segmentTicks) !== Math.floor(this.segmentStart / this.segmentTicks)) {
      this.closeSegment(frame.dts);
      this.openSegment(frame);
      cut = 'segment';
    } else if (Math.floor(frame.dts / this.partTicks) !== Math.floor(this.partStart / this.partTicks)) {
      this.closePart(frame.dts);
      this.partStart = frame.dts;
      cut = 'part';
    }
    this.pending.push(frame);
    this.lastDts = frame.dts;
    return cut;
  }

  /** Follower mode: frames are collected and cut where the leader's `cutAt` calls say. */
  pushFollowing(frame: Frame): void {
    if (!this.track) return;
    this.framesSinceTrack++;
    this.lastDts = frame.dts;
    if (!this.segmentStarted) {
      if (this.leaderStart === undefined) {
        // Before the leader starts: keep a short preroll, the leader decides where we begin.
        this.pending.push(frame);
        while (this.pending.length > 1 && frame.dts - this.pending[0]!.dts > this.segmentTicks) this.pending.shift();
        return;
      }
      if (frame.dts < this.leaderStart) return;
      this.openSegment(frame);
    }
    this.pending.push(frame);
    this.applyCuts();
  }

  /** Follower mode: the leader opened its first segment (or a new one after a gap) at this instant. */
  leaderStartedAt(ticks: number, timescale: number): void {
    if (!this.track) return;
    const at = this.toOwnTicks(ticks, timescale);
    if (this.segmentStarted) {
      this.cutAt(ticks, timescale, true);
      return;
    }
    this.leaderStart = at;
    const kept = this.pending.filter((f) => f.dts >= at);
    this.pending = [];
    if (kept.length > 0) {
      this.openSegment(kept[0]!);
      this.pending = kept;
    }
  }

  /**
   * Follower mode, for a track announced after the leader began (MPEG-TS carries its first audio
   * PES after the first video frames; some RTMP encoders send the AAC header late): this track
   * joins the leader's open segment `sequence`, which began at `ticks` of `timescale`, so that
   * segment N spans the same media time in both tracks from here on.
   */
  joinLeader(sequence: number, ticks: number, timescale: number): void {
    if (!this.track || this.segmentStarted || this.leaderStart !== undefined) return;
    this.sequence = Math.max(this.sequence, sequence);
    this.leaderStartedAt(ticks, timescale);
  }

  /**
   * Follower mode: the leader cut a part (or segment) at `ticks` of `timescale`. Frames of this
   * track decoding before that instant close the current part; the cut is applied as soon as this
   * track is known to have every frame before the instant.
   */
  cutAt(ticks: number, timescale: number, segment: boolean): void {
    if (!this.track || this.leaderStart === undefined) return;
    this.cuts.push({ at: this.toOwnTicks(ticks, timescale), segment });
    this.applyCuts(Math.max(0, this.cuts.length - MAX_PENDING_CUTS));
  }

  /**
   * A follower whose leader never started becomes a leader: its held frames are replayed
   * through the leading rule so they are not lost.
   */
  leadFromBacklog(): void {
    const held = this.pending;
    this.pending = [];
    this.cuts.length = 0;
    this.leaderStart = undefined;
    if (this.segmentStarted) {
      this.segmentStarted = false;
      this.partCount = 0;
      this.segmentDurationSoFar = 0;
    }
    for (const frame of held) this.pushLeading(frame);
  }

  /**
   * Seconds of media this follower holds without a cut from its leader: a leader that stops
   * sending (a video track with no frames) must not make the follower hold frames forever.
   */
  backlogSeconds(): number {
    if (this.pending.length === 0) return 0;
    return (this.lastDts - this.pending[0]!.dts) / this.timescale;
  }

  /**
   * Where this track's media ends now, in seconds of the stream's clock: its waiting frames' end
   * (the last one's timestamp plus its estimated duration), which `end()` can still move
   * (`adjustable`), or with none waiting, the end of the parts it already emitted. Undefined
   * without an open segment.
   */
  endSeconds(): { seconds: number; adjustable: boolean } | undefined {
    if (!this.segmentStarted) return undefined;
    if (this.pending.length > 0) {
      return { seconds: (this.pending[this.pending.length - 1]!.dts + this.lastSampleDuration(this.pending)) / this.timescale, adjustable: true };
    }
    if (this.partCount === 0) return undefined;
    return { seconds: (this.segmentStart + this.segmentDurationSoFar) / this.timescale, adjustable: false };
  }

  /**
   * Flushes everything: the last part and segment close with the last frame's estimated duration,
   * or at `atSeconds` (the rendition's common end, StreamSegmenter.onEnd) when that lies within
   * MAX_END_ADJUST_SECONDS of this track's own end: the last frame lasts until then, and frames
   * starting at or after it are left out (a tail in decode order: no frame kept refers to them).
   */
  end(atSeconds?: number): void {
    this.cuts.length = 0;
    const own = this.endSeconds();
    let endTime: number | undefined;
    if (atSeconds !== undefined && own?.adjustable && Math.abs(atSeconds - own.seconds) <= MAX_END_ADJUST_SECONDS) {
      endTime = Math.round(atSeconds * this.timescale);
      while (this.pending.length > 0 && this.pending[this.pending.length - 1]!.dts >= endTime) this.pending.pop();
    }
    this.closeSegment(endTime);
  }

  private toOwnTicks(ticks: number, timescale: number): number {
    return timescale === this.timescale ? ticks : Math.round((ticks * this.timescale) / timescale);
  }

  /** Applies the leader's cuts this track has every frame before; the first `force` in any case. */
  private applyCuts(force = 0): void {
    while (this.cuts.length > 0) {
      const cut = this.cuts[0]!;
      const forced = force > 0;
      if (!this.segmentStarted) {
        if (!forced) return;
        // No frame of this track since the previous cut: the leader's segment passes without it.
        force--;
        this.cuts.shift();
        if (cut.segment) this.sequence++;
        continue;
      }
      const last = this.pending[this.pending.length - 1];
      // Every frame before the cut has arrived once the newest one ends at or past it.
      if (!forced && (last === undefined || last.dts + (last.duration ?? this.frameDurationHint()) < cut.at)) return;
      if (forced) force--;
      this.cuts.shift();
      const before = this.pending.filter((f) => f.dts < cut.at);
      const after = this.pending.filter((f) => f.dts >= cut.at);
      const next = after[0];
      this.pending = before;
      if (cut.segment) {
        const empty = this.partCount === 0 && before.length === 0;
        this.closeSegment(next?.dts);
        // The leader's segment held nothing of this track (its media started later, or had a
        // hole): its number is passed over all the same, so segment N stays the leader's N
        // (TrackOutput lists a number skipped between two segments as a gap).
        if (empty) this.sequence++;
        this.pending = after;
        if (next) this.openSegment(next);
      } else {
        if (before.length > 0) this.closePart(next?.dts);
        this.pending = after;
        if (next) this.partStart = next.dts;
      }
    }
  }

  private frameDurationHint(): number {
    if (this.track?.kind === 'audio') return this.track.samplesPerFrame;
    if (this.track?.kind === 'video' && this.track.fps) return Math.round(this.timescale / this.track.fps);
    return Math.round(this.timescale / 30);
  }

  private openSegment(first: Frame): void {
    this.segmentStarted = true;
    this.segmentStart = first.dts;
    this.partStart = first.dts;
    this.segmentWallclock = first.wallclock;
    this.partCount = 0;
    this.segmentDurationSoFar = 0;
  }

  /** Emits the pending frames as a part; `endTime` is where the next frame starts, if known. */
  private closePart(endTime: number | undefined): void {
    const frames = this.pending;
    if (frames.length === 0 || !this.track) return;
    this.pending = [];
    const durations: number[] = new Array(frames.length);
    let duration = 0;
    for (let i = 0; i < frames.length; i++) {
      const next = i + 1 < frames.length ? frames[i + 1]!.dts : endTime;
      let d = next !== undefined ? next - frames[i]!.dts : this.lastSampleDuration(frames);
      if (d <= 0) d = 1;
      durations[i] = d;
      duration += d;
    }
    this.sink.onGroup({
      kind: this.kind,
      segment: this.sequence,
      index: this.partCount++,
      startTime: frames[0]!.dts,
      duration,
      timescale: this.timescale,
      independent: frames[0]!.key,
      discontinuity: this.discontinuity,
      configId: this.initId,
      wallclock: frames[0]!.wallclock,
      frames,
      durations,
    });
    this.segmentDurationSoFar += duration;
  }

  private lastSampleDuration(frames: readonly Frame[]): number {
    // Opus, FLAC, E-AC-3 frames say how long they last (core/media.ts Frame.duration).
    if (this.track?.kind === 'audio') return frames[frames.length - 1]?.duration ?? this.track.samplesPerFrame;
    if (frames.length >= 2) return frames[frames.length - 1]!.dts - frames[frames.length - 2]!.dts;
    if (this.track?.kind === 'video' && this.track.fps) return Math.round(this.timescale / this.track.fps);
    return this.frameDurationHint();
  }

  private closeSegment(endTime: number | undefined): void {
    if (!this.segmentStarted) {
      this.pending = [];
      return;
    }
    this.closePart(endTime);
    this.segmentStarted = false;
    if (this.partCount === 0) return;
    this.sink.onSegmentEnd({
      kind: this.kind,
      sequence: this.sequence,
      startTime: this.segmentStart,
      duration: this.segmentDurationSoFar,
      timescale: this.timescale,
      configId: this.initId,
      discontinuity: this.discontinuity,
      wallclock: this.segmentWallclock,
    });
    this.discontinuity = false;
    this.sequence++;
    this.partCount = 0;
    this.segmentDurationSoFar = 0;
  }
}
