/**
 * What the packagers know about one track of one rendition: its init segments, the segments of
 * the live window (bytes pinned here, never evictable), the parts of the segment in progress,
 * and measured bitrates. Protocol-neutral: HLS and DASH both render from it.
 */
import { EventEmitter } from 'node:events';
import { concatBytes } from '../core/bytes.js';
import type { Frame, Track, TrackKind } from '../core/media.js';
import { captionServicesOf, mergeServices, NO_CAPTIONS, type CaptionServices } from '../codec/captions.js';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { CmafPart, CmafSegment, InitSegment, SegmentSink } from '../mux/fmp4/cmaf.js';
import type { MediaClock } from './media-clock.js';

export interface PartInfo {
  readonly index: number;
  readonly duration: number;
  readonly independent: boolean;
  readonly byteLength: number;
}

export interface SegmentInfo {
  readonly sequence: number;
  readonly startTime: number;
  readonly timescale: number;
  /** Exact duration in ticks (DASH SegmentTimeline) and in seconds (EXTINF). */
  readonly durationTicks: number;
  readonly duration: number;
  readonly initId: number;
  readonly discontinuity: boolean;
  readonly byteLength: number;
  /** Wall clock of the first sample, from the stream's media clock. */
  readonly programDateTime: number;
  readonly parts: readonly PartInfo[];
  /** No media for this number (a transcoder restart): EXT-X-GAP; the file is not served. */
  readonly gap?: boolean;
}

export interface TrackOutputOptions {
  /** Segments listed in the live window. */
  readonly window: number;
  readonly cache: SegmentCache;
  /** Cache key prefix: `app/key/rendition`. */
  readonly cacheKey: string;
  readonly clock: MediaClock;
  /** Per-publish session id carried in media file names, so a republished key never reuses a URL. */
  readonly session: string;
  /** Segments kept listed beyond the window for the DASH time-shift buffer and late requests. */
  readonly extraSegments?: number;
}

/**
 * Most segments kept in TrackOutput.history: one hour of 2 s segments. A GStreamer `playbin`
 * viewer of CMAF HLS joining a stream older than that starts late (see http/client-quirks.ts).
 */
export const HISTORY_LIMIT = 1800;

const NO_FRAMES: readonly Frame[] = Object.freeze([]);

let nextSerial = 0;

export function initFileName(session: string, id: number): string {
  return `init-${session}-${id}.mp4`;
}
export function segmentFileName(session: string, sequence: number): string {
  return `seg-${session}-${sequence}.m4s`;
}
export function partFileName(session: string, sequence: number, index: number): string {
  return `part-${session}-${sequence}.${index}.m4s`;
}

export const MIME = {
  init: 'video/mp4',
  audioInit: 'audio/mp4',
  videoSegment: 'video/iso.segment',
  audioSegment: 'audio/mp4',
} as const;

export interface TrackOutputEvents {
  /** Anything changed (init, part, segment, end): blocking requests re-check. */
  update: [];
  /** A part was produced (with its frames, for muxers of other formats). */
  part: [CmafPart];
  /** A segment completed. */
  segment: [CmafSegment];
  /** A new init segment (configuration). */
  init: [InitSegment];
  end: [];
}

export class TrackOutput extends EventEmitter<TrackOutputEvents> implements SegmentSink {
  readonly id: string;
  readonly kind: TrackKind;
  readonly session: string;
  track: Track | undefined;
  /** The language of the track's audio, ISO 639-2 (`eng`), when the ingest told it (set by StreamOutput). */
  language: string | undefined;
  currentInitId = -1;
  ended = false;
  /** Segments of the live window, oldest first. */
  readonly segments: SegmentInfo[] = [];
  /** Parts of the segment in progress. */
  readonly openParts: PartInfo[] = [];
  /** Media sequence of the segment in progress (the next to complete). */
  openSequence: number | undefined;
  /** Where the segment in progress starts (its first part's media time, in its timescale). */
  openStartTime: number | undefined;
  openTimescale = 1;
  /** Whether the segment in progress follows a discontinuity, and the init it needs. */
  openDiscontinuity = false;
  openInitId = -1;
  /** Peak and average bits per second over the segments produced so far. */
  peakBitrate = 0;
  private totalBits = 0;
  private totalSeconds = 0;
  private readonly inits = new Map<number, Uint8Array>();
  /** The track configuration each init was made from (kept after the stream ends, for its listing). */
  private readonly initTracks = new Map<number, Track>();
  /**
   * Caption services (CEA-608/708 in the video SEI) of each init, decided by its first segment:
   * a declaration that appeared later would change an AdaptationSet dash.js already plays.
   */
  private readonly initCaptions = new Map<number, CaptionServices>();
  private captionScan: { initId: number; found: CaptionServices } | undefined;
  private readonly liveSegments = new Map<number, CmafSegment>();
  private readonly openPartBytes: Uint8Array[] = [];
  private readonly options: TrackOutputOptions;
  /** Longest segment seen, seconds: EXT-X-TARGETDURATION and DASH maxSegmentDuration. */
  maxSegmentDuration = 0;
  maxPartDuration = 0;
  /** Discontinuities among segments no longer listed (EXT-X-DISCONTINUITY-SEQUENCE). */
  droppedDiscontinuities = 0;
  /**
   * The first segment this track produced, kept after it leaves the window: a live DASH timeline
   * starts with it so that it begins at presentation time 0 (see packager/dash/mpd.ts, timelineHead).
   */
  firstSegment: SegmentInfo | undefined;
  /**
   * Segments that left `segments`, oldest first, without their parts, up to HISTORY_LIMIT: with
   * `segments` they list the stream from its first segment for players that need it
   * (packager/hls/playlists.ts, fromStart). Discontinuities among entries dropped from its front
   * are counted in historyDroppedDiscontinuities.
   */
  readonly history: SegmentInfo[] = [];
  historyDroppedDiscontinuities = 0;

  constructor(id: string, kind: TrackKind, options: TrackOutputOptions) {
    super();
    this.setMaxListeners(0);
    this.id = id;
    this.kind = kind;
    this.options = options;
    this.session = options.session;
  }

  /**
   * Counts every change a playlist or MPD could show (init, part, segment, gap, end): rendered
   * text is reused while it stays the same (see StreamOutput.contentVersion).
   */
  version = 0;

  /**
   * Tells this TrackOutput from any other, for versions (StreamOutput.mediaPlaylistVersion): a
   * rendition removed and added again is a new one whose `version` counts from 0 again.
   */
  readonly serial = nextSerial++;

  /**
   * Counts the changes an MPD could show: `version` without the parts. A part's only trace in an
   * MPD is the segment in progress (its start and predicted length), which `openListingKey` names.
   */
  listingVersion = 0;

  private changed(listing = true): void {
    this.version++;
    if (listing) this.listingVersion++;
    this.emit('update');
  }

  /**
   * What of the segment in progress an LL-DASH MPD shows (packager/dash/mpd.ts openSegmentSpan,
   * firstOpenSegment): its number, init and start once a part exists, and the parts' total only
   * once it nears the target (before, the predicted S@d is the target, whatever the parts hold).
   */
  openListingKey(segmentDuration: number, partDuration: number): string {
    if (this.openParts.length === 0) return `${this.openSequence ?? ''}`;
    let held = 0;
    for (const p of this.openParts) held += p.duration;
    const late = held + partDuration > segmentDuration + 1e-6;
    return `${this.openSequence}.${this.openInitId}.${this.openStartTime}.${this.openTimescale}${late ? `.${held}` : ''}`;
  }

  get averageBitrate(): number {
    return this.totalSeconds > 0 ? this.totalBits / this.totalSeconds : 0;
  }

  get initContentType(): string {
    return this.kind === 'video' ? MIME.init : MIME.audioInit;
  }

  get contentType(): string {
    return this.kind === 'video' ? MIME.videoSegment : MIME.audioSegment;
  }

  onInit(init: InitSegment): void {
    this.track = init.track;
    this.currentInitId = init.id;
    this.inits.set(init.id, init.bytes);
    this.initTracks.set(init.id, init.track);
    this.emit('init', init);
    this.changed();
  }

  onPart(part: CmafPart): void {
    this.fillSkipped(part.segment, part.startTime, part.timescale);
    if (this.openSequence !== part.segment || this.openParts.length === 0) {
      this.openSequence = part.segment;
      this.openParts.length = 0;
      this.openPartBytes.length = 0;
      this.openStartTime = part.startTime;
      this.openTimescale = part.timescale;
    }
    this.openDiscontinuity = part.discontinuity;
    this.openInitId = part.initId;
    this.options.clock.anchor(part.startTime, part.timescale, part.wallclock);
    const duration = part.duration / part.timescale;
    if (duration > this.maxPartDuration) this.maxPartDuration = duration;
    this.openParts.push({ index: part.index, duration, independent: part.independent, byteLength: part.bytes.byteLength });
    this.openPartBytes.push(part.bytes);
    if (this.kind === 'video' && !this.initCaptions.has(part.initId)) this.scanCaptions(part.initId, part.frames);
    // Waiting requests first (they answer synchronously), then other muxers (TS, metrics).
    this.changed(false);
    this.emit('part', part);
  }

  onSegment(segment: CmafSegment): void {
    if (this.kind === 'video' && !this.initCaptions.has(segment.initId)) {
      this.initCaptions.set(segment.initId, this.captionScan?.initId === segment.initId ? this.captionScan.found : NO_CAPTIONS);
      this.captionScan = undefined;
    }
    this.fillSkipped(segment.sequence, segment.startTime, segment.timescale);
    const duration = segment.duration / segment.timescale;
    const info: SegmentInfo = {
      sequence: segment.sequence,
      startTime: segment.startTime,
      timescale: segment.timescale,
      durationTicks: segment.duration,
      duration,
      initId: segment.initId,
      discontinuity: segment.discontinuity,
      byteLength: segment.byteLength,
      programDateTime: this.options.clock.wallclockAt(segment.startTime, segment.timescale),
      parts: segment.parts.map((p) => ({
        index: p.index,
        duration: p.duration / p.timescale,
        independent: p.independent,
        byteLength: p.bytes.byteLength,
      })),
    };
    if (duration > this.maxSegmentDuration) this.maxSegmentDuration = duration;
    if (duration > 0) {
      const bits = segment.byteLength * 8;
      // A very short segment (a stream's last) would inflate the peak: measure over >= half a target.
      if (duration >= 0.5) this.peakBitrate = Math.max(this.peakBitrate, bits / duration);
      this.totalBits += bits;
      this.totalSeconds += duration;
      if (this.peakBitrate === 0) this.peakBitrate = bits / duration;
    }
    this.segments.push(info);
    this.firstSegment ??= info;
    // Bytes only from here on: the frames the parts were muxed from (views that keep ingest
    // buffers alive) are let go once the part listeners (TS) had them.
    this.liveSegments.set(segment.sequence, { ...segment, parts: segment.parts.map((p) => (p.frames.length === 0 ? p : { ...p, frames: NO_FRAMES })) });
    this.openSequence = segment.sequence + 1;
    this.openParts.length = 0;
    this.openPartBytes.length = 0;
    this.trimWindow();
    this.changed();
    this.emit('segment', segment);
  }

  /**
   * Lists segment `sequence` as missing (RFC 8216bis §4.4.4.7 EXT-X-GAP): a rendition that lost
   * media (its transcoder restarted) keeps the same numbers as the others instead of renumbering.
   */
  addGap(sequence: number, startTime: number, durationTicks: number, timescale: number): void {
    this.segments.push({
      sequence,
      startTime,
      timescale,
      durationTicks,
      duration: durationTicks / timescale,
      initId: this.currentInitId,
      discontinuity: false,
      byteLength: 0,
      programDateTime: this.options.clock.wallclockAt(startTime, timescale),
      parts: [],
      gap: true,
    });
    this.openSequence = sequence + 1;
    this.openParts.length = 0;
    this.openPartBytes.length = 0;
    this.trimWindow();
    this.changed();
  }

  /**
   * Where the span of a number this track skipped comes from: the other track of the same
   * rendition (set by StreamOutput), which did produce that segment.
   */
  siblingSegment: ((sequence: number) => SegmentInfo | undefined) | undefined;

  /**
   * Media sequence numbers must run on without a hole (RFC 8216bis §6.2.2: a client counts
   * segments from EXT-X-MEDIA-SEQUENCE, and a delta update's SKIPPED-SEGMENTS too). A track that
   * jumps ahead to stay aligned with its sibling (audio announced after video began, or a
   * reconnect that numbers on from the other track's last segment) lists the numbers it skipped
   * as gaps, spanning what the sibling's segments of those numbers span.
   */
  private fillSkipped(sequence: number, startTime: number, timescale: number): void {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || sequence <= last.sequence + 1) return;
    const own = this.track?.timescale ?? timescale;
    let cursor = Math.round(((last.startTime + last.durationTicks) * own) / last.timescale);
    const until = Math.round((startTime * own) / timescale);
    for (let n = last.sequence + 1; n < sequence; n++) {
      const twin = this.siblingSegment?.(n);
      const start = twin ? Math.round((twin.startTime * own) / twin.timescale) : cursor;
      const duration = twin ? Math.round((twin.durationTicks * own) / twin.timescale) : Math.max(0, Math.round((until - cursor) / (sequence - n)));
      this.addGap(n, start, duration, own);
      cursor = start + duration;
    }
  }

  private readonly eventBoxes: Uint8Array[] = [];

  /** An `emsg` box for the next chunk of this track (timed metadata, StreamOutput.addTimedEvent). */
  queueEventBox(box: Uint8Array): void {
    // Bounded: a track whose chunks stopped does not hoard them.
    if (this.eventBoxes.length >= 16) this.eventBoxes.shift();
    this.eventBoxes.push(box);
  }

  takeEventBoxes(): Uint8Array | undefined {
    if (this.eventBoxes.length === 0) return undefined;
    return concatBytes(this.eventBoxes.splice(0));
  }

  /** The stream ended: the window's bytes move to the LRU cache, the listing stays. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.openParts.length = 0;
    this.openPartBytes.length = 0;
    for (const [sequence, segment] of this.liveSegments) this.moveToCache(sequence, segment);
    this.liveSegments.clear();
    for (const [id, bytes] of this.inits) {
      this.options.cache.set(`${this.options.cacheKey}/${initFileName(this.options.session, id)}`, { chunks: [bytes], byteLength: bytes.byteLength, contentType: this.initContentType });
    }
    this.inits.clear();
    this.emit('end');
    this.changed();
  }

  /** Media bytes pinned here: the live window's segments, the open segment's parts, init segments. */
  get pinnedBytes(): number {
    let bytes = 0;
    for (const segment of this.liveSegments.values()) bytes += segment.byteLength;
    for (const part of this.openPartBytes) bytes += part.byteLength;
    for (const init of this.inits.values()) bytes += init.byteLength;
    return bytes;
  }

  init(id: number): Uint8Array | undefined {
    return this.inits.get(id);
  }

  /** Caption services in the video of init `id` (decided by its first segment). */
  captionsOf(id: number): CaptionServices {
    return this.initCaptions.get(id) ?? NO_CAPTIONS;
  }

  private scanCaptions(initId: number, frames: readonly Frame[]): void {
    const media = this.trackOf(initId);
    if (media?.kind !== 'video' || (media.codec !== 'avc' && media.codec !== 'hevc')) return;
    if (this.captionScan?.initId !== initId) this.captionScan = { initId, found: NO_CAPTIONS };
    let found = this.captionScan.found;
    for (const f of frames) {
      try {
        found = mergeServices(found, captionServicesOf(f.data, media.nalLengthSize, media.codec));
      } catch {
        // A malformed access unit declares nothing; the muxers report it.
      }
    }
    this.captionScan.found = found;
  }

  /**
   * The configuration (codec string, picture size, channels) of init `id`: what a listing of the
   * segments made with that init must declare, not the current track's (a DASH Period before a
   * reconnect or the slate keeps its own CODECS).
   */
  trackOf(id: number): Track | undefined {
    return this.initTracks.get(id) ?? (id === this.currentInitId ? this.track : undefined);
  }

  segment(sequence: number): CmafSegment | undefined {
    return this.liveSegments.get(sequence);
  }

  /**
   * The bytes of init `id` and the first part of segment `sequence` (the whole segment once it left
   * the window): live or from the cache, e.g. for a thumbnail of a stream that has ended.
   */
  keyframeMedia(sequence: number, initId: number): { init: readonly Uint8Array[]; media: readonly Uint8Array[] } | undefined {
    const live = this.liveSegments.get(sequence);
    const initBytes = this.inits.get(initId);
    const init = initBytes ? [initBytes] : this.options.cache.get(`${this.options.cacheKey}/${initFileName(this.options.session, initId)}`)?.chunks;
    const media = live?.parts[0] ? [live.parts[0].bytes] : this.options.cache.get(`${this.options.cacheKey}/${segmentFileName(this.options.session, sequence)}`)?.chunks;
    return init && media ? { init, media } : undefined;
  }

  /** Bytes of part `index` of segment `sequence`, whether complete or in progress. */
  part(sequence: number, index: number): Uint8Array | undefined {
    if (sequence === this.openSequence) return this.openPartBytes[index];
    const segment = this.liveSegments.get(sequence);
    return segment?.parts[index]?.bytes;
  }

  /**
   * Part `index` of segment `sequence`, or, when that segment completed with exactly `index` parts,
   * the first part of the next one under the same init. A preload hint (RFC 8216bis 4.4.5.3) names
   * the part after the last one before the server knows a keyframe will close the segment there;
   * the bytes that follow are the next segment's first part, so the hinted name is answered with
   * them instead of a 404 (Shaka Player treats a 404 on a hinted part as fatal).
   */
  hintedPart(sequence: number, index: number): Uint8Array | undefined {
    const own = this.part(sequence, index);
    if (own) return own;
    const segment = this.liveSegments.get(sequence);
    if (!segment || segment.parts.length !== index) return undefined;
    const next = sequence + 1;
    if (next === this.openSequence) return this.openInitId === segment.initId && !this.openDiscontinuity ? this.openPartBytes[0] : undefined;
    const following = this.liveSegments.get(next);
    return following && following.initId === segment.initId && !following.discontinuity ? following.parts[0]?.bytes : undefined;
  }

  /** The segment listed last (most recent complete one). */
  get lastSegment(): SegmentInfo | undefined {
    return this.segments[this.segments.length - 1];
  }

  private trimWindow(): void {
    const keep = this.options.window + (this.options.extraSegments ?? 2);
    while (this.segments.length > keep) {
      const old = this.segments.shift()!;
      if (old.discontinuity) this.droppedDiscontinuities++;
      this.history.push({ ...old, parts: [] });
      if (this.history.length > HISTORY_LIMIT && this.history.shift()!.discontinuity) this.historyDroppedDiscontinuities++;
      const segment = this.liveSegments.get(old.sequence);
      if (segment) {
        this.liveSegments.delete(old.sequence);
        this.moveToCache(old.sequence, segment);
      }
    }
    // Init segments no longer referenced by any listed segment go to the cache too.
    const referenced = new Set(this.segments.map((s) => s.initId));
    referenced.add(this.currentInitId);
    for (const [id, bytes] of this.inits) {
      if (!referenced.has(id)) {
        this.options.cache.set(`${this.options.cacheKey}/${initFileName(this.options.session, id)}`, { chunks: [bytes], byteLength: bytes.byteLength, contentType: this.initContentType });
        this.inits.delete(id);
        this.initTracks.delete(id);
        this.initCaptions.delete(id);
      }
    }
  }

  private moveToCache(sequence: number, segment: CmafSegment): void {
    this.options.cache.set(`${this.options.cacheKey}/${segmentFileName(this.options.session, sequence)}`, {
      chunks: segment.chunks,
      byteLength: segment.byteLength,
      contentType: this.contentType,
    });
  }
}
