/**
 * MPEG-TS segments for classic HLS players, derived from the CMAF pipeline: one
 * TsRenditionOutput per video rendition (plus the shared audio) listens to the TrackOutputs'
 * parts (which carry their frames), and when segment N of every track with media is complete it
 * muxes TS segment N. Cut points and sequence numbers are therefore the CMAF ones.
 *
 * Like TrackOutput, the live window's bytes are pinned here and never evictable; segments that
 * leave it (and everything once the stream ends) move to the SegmentCache under
 * `APP/KEY/REND/ts-SESSION-N.ts`.
 */
import { EventEmitter } from 'node:events';
import { GatewayError } from '../../core/errors.js';
import type { AudioTrack, Frame, Track, TrackKind, VideoTrack } from '../../core/media.js';
import type { SegmentCache } from '../../cache/segment-cache.js';
import { TsSegmentMuxer, type TsMuxerOptions } from '../../mux/ts/muxer.js';
import type { CmafPart, CmafSegment } from '../../mux/fmp4/cmaf.js';
import { SOURCE_RENDITION, type SiblingOutput, type StreamOutput } from '../stream-output.js';
import { buildId3Tag } from '../../metadata/id3.js';
import type { TimedEvent } from '../../metadata/timed-event.js';
import type { TrackOutput } from '../track-output.js';

export const TS_CONTENT_TYPE = 'video/mp2t';

export function tsSegmentFileName(session: string, sequence: number): string {
  return `ts-${session}-${sequence}.ts`;
}

export interface TsSegmentInfo {
  /** The CMAF media sequence number the segment was cut as (its file name carries it). */
  readonly sequence: number;
  /**
   * Position in this playlist's own numbering: equal to `sequence` unless a CMAF segment could
   * not be muxed, so EXT-X-MEDIA-SEQUENCE stays consistent (RFC 8216bis §6.2.2) across a gap.
   */
  readonly mediaSequence: number;
  /** Seconds (EXTINF): the video segment's duration, or the audio one's without video. */
  readonly duration: number;
  readonly discontinuity: boolean;
  /** ms since epoch (EXT-X-PROGRAM-DATE-TIME). */
  readonly programDateTime: number;
  readonly byteLength: number;
}

export interface TsRenditionOutputOptions {
  /** Segments a playlist lists. */
  readonly window: number;
  readonly cache: SegmentCache;
  /** Cache key prefix: `app/key/rendition`. */
  readonly cacheKey: string;
  readonly session: string;
  /** Segments kept pinned beyond the window for late requests (default 2, as TrackOutput). */
  readonly extraSegments?: number;
  /** Segments collected without completing before the oldest is muxed with what it has (default 4). */
  readonly maxPendingSegments?: number;
  readonly muxer?: TsMuxerOptions;
  /** The stream's timed metadata (StreamOutput.timedEvents): ID3 events go into the segments. */
  readonly events?: () => readonly TimedEvent[];
}

export interface TsRenditionOutputEvents {
  update: [];
  segment: [TsSegmentInfo];
  end: [];
}

/** What one track contributed to one pending segment. */
interface PendingTrack {
  /** Part 0 was seen: the frames are complete from the segment's start. */
  started: boolean;
  /** Frame runs of the parts, in order (the parts' own arrays, not copied). */
  readonly runs: (readonly Frame[])[];
  track: Track | undefined;
  /** `start` and `duration` in seconds of media time. */
  done: { readonly start: number; readonly duration: number; readonly discontinuity: boolean; readonly programDateTime: number } | undefined;
  /** Completed without us seeing its start (attached mid-segment): not muxable. */
  missing: boolean;
}

interface PendingSegment {
  readonly video: PendingTrack;
  readonly audio: PendingTrack;
}

function pendingTrack(): PendingTrack {
  return { started: false, runs: [], track: undefined, done: undefined, missing: false };
}

export class TsRenditionOutput extends EventEmitter<TsRenditionOutputEvents> {
  readonly id: string;
  readonly session: string;
  /** Segments listed or pinned, oldest first. */
  readonly segments: TsSegmentInfo[] = [];
  ended = false;
  maxSegmentDuration = 0;
  peakBitrate = 0;
  /** Discontinuities among segments no longer listed (EXT-X-DISCONTINUITY-SEQUENCE). */
  droppedDiscontinuities = 0;
  /** Segments that could not be muxed (a GatewayError from the muxer); the next one is a discontinuity. */
  muxErrors = 0;
  lastError: GatewayError | undefined;

  private readonly video: TrackOutput;
  private readonly audio: TrackOutput | undefined;
  private readonly options: TsRenditionOutputOptions;
  private readonly muxer: TsSegmentMuxer;
  private readonly pending = new Map<number, PendingSegment>();
  private readonly live = new Map<number, Uint8Array>();
  /** Sequences below this were muxed or given up: late parts of them are ignored. */
  private nextSequence = 0;
  private nextMediaSequence: number | undefined;
  private discontinuityAfterGap = false;
  private videoEnded: boolean;
  private audioEnded: boolean;
  private totalBits = 0;
  private totalSeconds = 0;
  private readonly detachers: (() => void)[] = [];

  constructor(id: string, video: TrackOutput, audio: TrackOutput | undefined, options: TsRenditionOutputOptions) {
    super();
    this.setMaxListeners(0);
    this.id = id;
    this.session = options.session;
    this.video = video;
    this.audio = audio;
    this.options = options;
    this.muxer = new TsSegmentMuxer(options.muxer);
    this.videoEnded = video.ended;
    this.audioEnded = audio?.ended ?? true;
    this.listen(video, 'video');
    if (audio) this.listen(audio, 'audio');
    if (this.videoEnded && this.audioEnded) this.finish();
  }

  get averageBitrate(): number {
    return this.totalSeconds > 0 ? this.totalBits / this.totalSeconds : 0;
  }

  get lastSegment(): TsSegmentInfo | undefined {
    return this.segments[this.segments.length - 1];
  }

  /** The video track of the rendition, when it has one. */
  get videoTrack(): VideoTrack | undefined {
    return this.video.track?.kind === 'video' ? this.video.track : undefined;
  }

  get audioTrack(): AudioTrack | undefined {
    return this.audio?.track?.kind === 'audio' ? this.audio.track : undefined;
  }

  /** Whether the rendition carries media at all (a video track, or audio in an audio-only stream). */
  get hasMedia(): boolean {
    return this.videoTrack !== undefined || this.audioTrack !== undefined;
  }

  /** Bytes of the TS segments pinned here (the live window). */
  get pinnedBytes(): number {
    let bytes = 0;
    for (const segment of this.live.values()) bytes += segment.byteLength;
    return bytes;
  }

  /** Bytes of segment `sequence` while it is pinned (the live window), else undefined. */
  segment(sequence: number): Uint8Array | undefined {
    return this.live.get(sequence);
  }

  /** Stops listening (the stream output is being dropped). */
  detach(): void {
    for (const d of this.detachers.splice(0)) d();
  }

  private listen(output: TrackOutput, kind: TrackKind): void {
    const onPart = (part: CmafPart): void => this.collect(kind, output, part);
    const onSegment = (segment: CmafSegment): void => this.complete(kind, output, segment);
    const onEnd = (): void => {
      if (kind === 'video') this.videoEnded = true;
      else this.audioEnded = true;
      if (this.videoEnded && this.audioEnded) this.finish();
      else this.drain(false);
    };
    output.on('part', onPart);
    output.on('segment', onSegment);
    output.on('end', onEnd);
    this.detachers.push(() => {
      output.off('part', onPart);
      output.off('segment', onSegment);
      output.off('end', onEnd);
    });
  }

  private entry(sequence: number): PendingSegment {
    let e = this.pending.get(sequence);
    if (!e) {
      e = { video: pendingTrack(), audio: pendingTrack() };
      this.pending.set(sequence, e);
    }
    return e;
  }

  private collect(kind: TrackKind, output: TrackOutput, part: CmafPart): void {
    if (this.ended || part.segment < this.nextSequence) return;
    const side = this.entry(part.segment)[kind];
    if (part.index === 0) side.started = true;
    // Parts of a segment whose start we did not see (attached mid-segment) cannot make a TS segment.
    if (!side.started) return;
    side.runs.push(part.frames);
    side.track = output.track;
  }

  private complete(kind: TrackKind, output: TrackOutput, segment: CmafSegment): void {
    if (this.ended || segment.sequence < this.nextSequence) return;
    const side = this.entry(segment.sequence)[kind];
    const info = output.lastSegment;
    if (!side.started) side.missing = true;
    else {
      side.done = {
        start: segment.startTime / segment.timescale,
        duration: segment.duration / segment.timescale,
        discontinuity: segment.discontinuity,
        programDateTime: info && info.sequence === segment.sequence ? info.programDateTime : segment.wallclock,
      };
    }
    this.drain(false);
  }

  /** Whether a track still owes segment `sequence`: it has media, has not ended, has not delivered. */
  private owes(kind: TrackKind, side: PendingTrack): boolean {
    const output = kind === 'video' ? this.video : this.audio;
    const ended = kind === 'video' ? this.videoEnded : this.audioEnded;
    return output !== undefined && output.track !== undefined && !ended && side.done === undefined && !side.missing;
  }

  /**
   * Muxes pending segments in sequence order. The oldest waits for every track that owes it,
   * unless a later segment already completed in some track (the missing one will not come: audio
   * follows video's cuts, so it never completes N+1 before video completes N), too many pile up,
   * or `force` (the stream ended).
   */
  private drain(force: boolean): void {
    const maxPending = this.options.maxPendingSegments ?? 4;
    while (this.pending.size > 0) {
      let oldest = Infinity;
      for (const s of this.pending.keys()) if (s < oldest) oldest = s;
      const entry = this.pending.get(oldest)!;
      const waiting = this.owes('video', entry.video) || this.owes('audio', entry.audio);
      if (waiting && !force && this.pending.size <= maxPending && !this.laterCompleted(oldest)) return;
      if (!waiting && !force && entry.video.done === undefined && entry.audio.done === undefined && !entry.video.missing && !entry.audio.missing) {
        // Nothing owes it, yet nothing completed it: parts still arriving for a track with no media yet.
        if (this.pending.size <= maxPending && !this.laterCompleted(oldest)) return;
      }
      this.pending.delete(oldest);
      this.nextSequence = oldest + 1;
      this.produce(oldest, entry);
    }
  }

  /** Once the stream has had an ID3 event its TS program declares the ID3 stream (the PMT stays put). */
  private carriesId3 = false;

  /** The ID3 events of [start, end) (media seconds) as tags at their 90 kHz PTS; undefined before any. */
  private id3Of(start: number, end: number): { tags: { pts: number; tag: Uint8Array }[] } | undefined {
    const events = this.options.events?.() ?? [];
    if (!this.carriesId3 && !events.some((e) => e.kind === 'id3')) return undefined;
    this.carriesId3 = true;
    const tags: { pts: number; tag: Uint8Array }[] = [];
    for (const e of events) {
      if (e.kind === 'id3' && e.time >= start && e.time < end) tags.push({ pts: Math.round(e.time * 90_000), tag: buildId3Tag(e.frames) });
    }
    tags.sort((a, b) => a.pts - b.pts);
    return { tags };
  }

  private laterCompleted(sequence: number): boolean {
    for (const [s, e] of this.pending) {
      if (s > sequence && (e.video.done !== undefined || e.audio.done !== undefined)) return true;
    }
    return false;
  }

  private produce(sequence: number, entry: PendingSegment): void {
    const videoTrack = entry.video.track?.kind === 'video' ? entry.video.track : undefined;
    const audioTrack = entry.audio.track?.kind === 'audio' ? entry.audio.track : undefined;
    const useVideo = entry.video.done !== undefined && videoTrack !== undefined;
    const useAudio = entry.audio.done !== undefined && audioTrack !== undefined;
    const lead = useVideo ? entry.video.done! : useAudio ? entry.audio.done! : undefined;
    // A rendition with video never gets an audio-only segment (one whose video start we missed):
    // players would see the program change under them.
    if (!lead || (!useVideo && this.video.track !== undefined)) {
      this.gap();
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.muxer.mux({
        video: useVideo ? { track: videoTrack, frames: entry.video.runs.flat() } : undefined,
        audio: useAudio ? { track: audioTrack, frames: entry.audio.runs.flat() } : undefined,
        id3: this.id3Of(lead.start, lead.start + lead.duration),
      });
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.muxErrors++;
      this.lastError = e;
      this.gap();
      return;
    }
    const info: TsSegmentInfo = {
      sequence,
      mediaSequence: this.nextMediaSequence ?? sequence,
      duration: lead.duration,
      discontinuity: this.discontinuityAfterGap || (useVideo && entry.video.done!.discontinuity) || (useAudio && entry.audio.done!.discontinuity),
      programDateTime: lead.programDateTime,
      byteLength: bytes.byteLength,
    };
    this.nextMediaSequence = info.mediaSequence + 1;
    this.discontinuityAfterGap = false;
    this.measure(info);
    this.segments.push(info);
    this.live.set(sequence, bytes);
    this.trimWindow();
    this.emit('segment', info);
    this.emit('update');
  }

  /** A CMAF segment with no TS counterpart: what follows is marked discontinuous. */
  private gap(): void {
    if (this.segments.length > 0) this.discontinuityAfterGap = true;
  }

  private measure(info: TsSegmentInfo): void {
    if (info.duration > this.maxSegmentDuration) this.maxSegmentDuration = info.duration;
    if (info.duration <= 0) return;
    const bits = info.byteLength * 8;
    // A very short segment (a stream's last) would inflate the peak: measure over >= half a second.
    if (info.duration >= 0.5) this.peakBitrate = Math.max(this.peakBitrate, bits / info.duration);
    if (this.peakBitrate === 0) this.peakBitrate = bits / info.duration;
    this.totalBits += bits;
    this.totalSeconds += info.duration;
  }

  private trimWindow(): void {
    const keep = this.options.window + (this.options.extraSegments ?? 2);
    while (this.segments.length > keep) {
      const old = this.segments.shift()!;
      if (old.discontinuity) this.droppedDiscontinuities++;
      this.moveToCache(old.sequence);
    }
  }

  private moveToCache(sequence: number): void {
    const bytes = this.live.get(sequence);
    if (!bytes) return;
    this.live.delete(sequence);
    this.options.cache.set(`${this.options.cacheKey}/${tsSegmentFileName(this.session, sequence)}`, {
      chunks: [bytes],
      byteLength: bytes.byteLength,
      contentType: TS_CONTENT_TYPE,
    });
  }

  /** Every track ended: flush what is pending, move the window to the cache, keep the listing (ENDLIST). */
  private finish(): void {
    if (this.ended) return;
    this.drain(true);
    this.ended = true;
    for (const sequence of [...this.live.keys()]) this.moveToCache(sequence);
    this.detach();
    this.emit('end');
    this.emit('update');
  }
}

// ---------------------------------------------------------------------------------------------
// One stream's TS renditions

export interface TsOutputOptions {
  readonly cache: SegmentCache;
  readonly muxer?: TsMuxerOptions;
}

/**
 * The TS renditions of one StreamOutput, by video rendition id (the source is `src`): a sibling
 * output of the CMAF store, muxed from the same frames at the same cut points.
 */
export class TsStreamOutput implements SiblingOutput {
  readonly output: StreamOutput;
  private readonly renditions = new Map<string, TsRenditionOutput>();
  private readonly options: TsOutputOptions;

  constructor(output: StreamOutput, options: TsOutputOptions) {
    this.output = output;
    this.options = options;
    this.sync();
  }

  renditionsChanged(): void {
    this.sync();
  }

  /** Attaches to video renditions added since (ladder rungs), lets go of removed ones; cheap, called on every lookup. */
  sync(): void {
    for (const [id, r] of this.renditions) {
      if (this.output.videos.has(id)) continue;
      r.detach();
      this.renditions.delete(id);
    }
    for (const [id, video] of this.output.videos) {
      if (this.renditions.has(id)) continue;
      this.renditions.set(
        id,
        new TsRenditionOutput(id, video, this.output.audio, {
          window: this.output.config.playlistWindow,
          cache: this.options.cache,
          cacheKey: `${this.output.path}/${id}`,
          session: this.output.session,
          muxer: this.options.muxer,
          events: () => this.output.timedEvents,
        }),
      );
    }
  }

  rendition(id: string): TsRenditionOutput | undefined {
    this.sync();
    return this.renditions.get(id);
  }

  /** Every rendition, the source first. */
  list(): TsRenditionOutput[] {
    this.sync();
    return [...this.renditions.values()];
  }

  /** Renditions that carry media: those with video, or the source alone in an audio-only stream. */
  withMedia(): TsRenditionOutput[] {
    const all = this.list();
    const video = all.filter((r) => r.videoTrack !== undefined);
    if (video.length > 0) return video;
    const source = this.renditions.get(SOURCE_RENDITION);
    return source && source.audioTrack ? [source] : [];
  }

  /** Ready to be listed: every rendition with media has a TS segment. */
  get ready(): boolean {
    const media = this.withMedia();
    return media.length > 0 && media.every((r) => r.segments.length > 0);
  }

  get ended(): boolean {
    return this.list().every((r) => r.ended);
  }

  detach(): void {
    for (const r of this.renditions.values()) r.detach();
  }
}

/**
 * Gives a StreamOutput its TS renditions (idempotent). Call it as soon as the StreamOutput
 * exists so the first segment is caught; a later call starts from the next segment.
 */
export function attachTsOutputs(output: StreamOutput, options: TsOutputOptions): TsStreamOutput {
  return output.attachOutput(TsStreamOutput, () => new TsStreamOutput(output, options));
}

/** The TS renditions attached to a StreamOutput, if any. */
export function tsOutputOf(output: StreamOutput): TsStreamOutput | undefined {
  return output.outputOf(TsStreamOutput);
}
