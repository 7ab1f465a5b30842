/**
 * Everything the packagers serve for one stream: a segmenter per rendition feeding one
 * TrackOutput per track, a shared audio track, and one media clock. Alternative audio renditions
 * (further audio tracks of the publish, core/audio-renditions.ts) follow the source's cuts beside
 * the shared audio track, each into a TrackOutput of its own.
 */
import { numericEventId, type Id3TimedEvent, type TimedEvent } from '../metadata/timed-event.js';
import { buildId3Tag } from '../metadata/id3.js';
import { buildEmsg, EVENT_DURATION_UNKNOWN, ID3_SCHEME, ID3_SCHEME_VALUE } from '../mux/fmp4/emsg.js';
import { MAIN_AUDIO_RENDITION } from '../core/audio-renditions.js';
import type { LiveStream } from '../core/stream.js';
import type { SegmentCache } from '../cache/segment-cache.js';
import { StreamSegmenter } from '../segmenter/stream-segmenter.js';
import { RenditionJoin, type SourceView } from './rendition-join.js';
import { CmafMuxer } from '../mux/fmp4/cmaf-muxer.js';
import { canProtect, type CencProtection } from '../mux/fmp4/cenc.js';
import type { StreamSink } from '../core/stream.js';
import { MediaClock } from './media-clock.js';
import { TrackOutput, type SegmentInfo } from './track-output.js';
import { isTextEvent, textCuesOf } from './hls/subtitles.js';

export const SOURCE_RENDITION = 'src';
export const AUDIO_RENDITION = MAIN_AUDIO_RENDITION;

/**
 * Where a DASH Period begins. `start`: media time (seconds of the stream's media clock) the
 * publish session's media continues from. `offset`: presentation time - media time in it, seconds:
 * a reconnect continues the media timeline where it stopped (LiveStream.continueAfter) but the
 * wall clock went on while the publisher was away, so the MPD places the new Period that much
 * later (availabilityStartTime + presentation time stays the wall clock media was produced at).
 */
export interface PeriodMark {
  readonly id: string;
  readonly start: number;
  offset: number;
}

/** The packaging settings every output of a stream shares (config.ts has the flags). */
export interface PackagerConfig {
  /** Target segment duration, seconds. */
  readonly segmentDuration: number;
  /** LL-HLS part / CMAF chunk target, seconds. */
  readonly partDuration: number;
  /** Segments listed in a live playlist. */
  readonly playlistWindow: number;
}

/**
 * An output of a stream beside its CMAF store, which every HLS and DASH response reads: the
 * MPEG-TS renditions, the recorder, and whatever comes next. One contract, attached once per
 * StreamOutput (`attachOutput`), found by its class (`outputOf`), no registry of its own.
 */
export interface SiblingOutput {
  /** Renditions joined (a ladder rung, a sibling key): start on the new TrackOutputs. */
  renditionsChanged(): void;
  /** The StreamOutput is replaced or forgotten: release what is held. */
  detach(): void;
}

/** The `emsg` (version 1, 90 kHz) of an ID3 event: the tag as its message data. */
function emsgOf(event: Id3TimedEvent): Uint8Array {
  return buildEmsg({
    schemeIdUri: ID3_SCHEME,
    value: ID3_SCHEME_VALUE,
    timescale: 90_000,
    presentationTime: Math.round(event.time * 90_000),
    eventDuration: event.duration !== undefined ? Math.min(EVENT_DURATION_UNKNOWN - 1, Math.round(event.duration * 90_000)) : EVENT_DURATION_UNKNOWN,
    id: numericEventId(event),
    messageData: buildId3Tag(event.frames),
  });
}

/** Timed events a stream keeps (the newest). */
const MAX_TIMED_EVENTS = 64;

export class StreamOutput {
  readonly app: string;
  readonly key: string;
  readonly path: string;
  readonly clock = new MediaClock();
  readonly config: PackagerConfig;
  /** Video renditions by id, the source first. */
  readonly videos = new Map<string, TrackOutput>();
  readonly audio: TrackOutput;
  /**
   * Alternative audio renditions by id (`audio-fra`, …), in the order they first appeared: cut
   * with the source's instants and numbers, listed beside `audio` in the HLS audio group and as
   * audio AdaptationSets of their own. They outlive a publish session like every TrackOutput.
   */
  readonly audioRenditions = new Map<string, TrackOutput>();
  readonly startedAt: number;
  /** The publish feeding the output now (a reconnecting publisher replaces it). */
  stream: LiveStream;
  /** Short id of this publish, carried in media file names (see TrackOutput). */
  readonly session: string;
  endedAt: number | undefined;
  /** Set while the publisher is gone but may come back within the grace window. */
  suspendedAt: number | undefined;
  /**
   * DASH Periods, oldest first: one per publish session feeding this output. A reconnect starts
   * a new one at the media time the new session continues from (the end of the old media), so
   * the Periods are contiguous on the media timeline (see packager/dash/mpd.ts).
   */
  readonly periodMarks: PeriodMark[] = [{ id: '0', start: 0, offset: 0 }];
  private nextPeriodId = 1;
  private readonly cache: SegmentCache;
  private unsubscribe: () => void = () => undefined;
  /**
   * Start time (90 kHz) -> sequence and arrival time of the source's recent segments, so renditions
   * join with the same numbers.
   */
  private readonly sourceSegmentStarts = new Map<number, { sequence: number; wallclock: number }>();
  /** Per joined rendition id: lets go of its source (several for an id a reconnect rejoined). */
  private readonly renditionUnsubscribes = new Map<string, (() => void)[]>();
  /** Renditions waiting to line up with the source, re-checked on every source video frame. */
  private readonly sourceWatchers = new Set<() => void>();
  private latestSourceVideoDts = -1;
  /** Sibling outputs by their class (see SiblingOutput). */
  private readonly siblingOutputs = new Map<abstract new (...args: never[]) => SiblingOutput, SiblingOutput>();
  /** Renditions that could not be aligned with the source (e.g. a sibling key with other keyframes). */
  readonly renditionProblems = new Map<string, string>();
  /** Told when a rendition cannot be aligned (logged by the registry). */
  onRenditionProblem: (id: string, problem: string) => void = () => undefined;
  /** Called when the publisher leaves; decides between finishing now and waiting for a reconnect. */
  onPublisherGone: (output: StreamOutput) => void = (output) => output.finish();

  /**
   * Common Encryption ('cbcs') of every CMAF track of the stream, when the config asks for it:
   * one key for the output's life (a reconnect keeps it), so HLS and DASH serve one encrypted store.
   */
  readonly protection: CencProtection | undefined;

  constructor(stream: LiveStream, config: PackagerConfig, cache: SegmentCache, protectionOf?: (app: string, key: string, session: string) => CencProtection | undefined) {
    this.stream = stream;
    this.app = stream.app;
    this.key = stream.key;
    this.path = stream.path;
    this.config = config;
    this.cache = cache;
    this.startedAt = stream.startedAt;
    this.session = stream.startedAt.toString(36);
    this.protection = protectionOf?.(this.app, this.key, this.session);
    const source = this.createTrackOutput(SOURCE_RENDITION, 'video');
    this.audio = this.createTrackOutput(AUDIO_RENDITION, 'audio');
    this.videos.set(SOURCE_RENDITION, source);
    // Segment N spans the same media time in both: a number one skipped takes the other's span.
    source.siblingSegment = (n) => findSegment(this.audio, n);
    this.audio.siblingSegment = (n) => findSegment(source, n);
    this.attach(stream, false);
  }

  /**
   * Changes whenever anything a playlist or MPD of this stream shows may have changed: track
   * content (versions only grow, so their sum does too), renditions, periods, suspension, end.
   */
  get contentVersion(): string {
    let tracks = 0;
    for (const t of this.trackOutputs()) tracks += t.version;
    return `${tracks}/${this.streamVersion()}`;
  }

  /**
   * As contentVersion, for an MPD: it changes with segments, inits, gaps and the end, but with
   * parts (ten a second per track) only where the MPD shows them (TrackOutput.openListingKey),
   * so a polled MPD is rendered about once a segment instead of once a part.
   */
  mpdVersion(segmentDuration: number, partDuration: number): string {
    let tracks = 0;
    let open = '';
    for (const t of this.trackOutputs()) {
      tracks += t.listingVersion;
      open += `,${t.openListingKey(segmentDuration, partDuration)}`;
    }
    return `${tracks}/${this.streamVersion()}${open}`;
  }

  /**
   * As contentVersion, for one track's media playlist: its own content and the stream-wide
   * state, and which other tracks have a rendition report yet, but not the other tracks' parts.
   * A playlist is then rendered once per part of its own track instead of once per part of
   * every track (about twice as often with audio beside video): its EXT-X-RENDITION-REPORTs
   * give the other renditions as they stood when its own newest part was listed, which is what
   * they are for (RFC 8216bis §4.4.5.4, §6.2.5.2: a client switching renditions asks for the
   * next part after the reported one and is answered at once if that is already there).
   */
  mediaPlaylistVersion(track: TrackOutput): string {
    let reported = 0;
    for (const t of this.trackOutputs()) if (t !== track && t.lastSegment !== undefined) reported++;
    return `${track.serial}:${track.version}.${reported}/${this.streamVersion()}`;
  }

  /** The stream-wide part of contentVersion: renditions, periods, suspension, end, events. */
  private streamVersion(): string {
    const period = this.periodMarks[this.periodMarks.length - 1]!;
    return `${this.videos.size}+${this.audioRenditions.size}/${this.periodMarks.length}:${period.offset}/${this.suspendedAt ?? ''}/${this.ended ? 1 : 0}/e${this.eventsVersion}`;
  }

  /**
   * Timed metadata of the stream (cue points, captions text, SCTE-35, the metadata API), oldest
   * first, the newest MAX_TIMED_EVENTS: the playlists list those within their window
   * (EXT-X-DATERANGE).
   */
  readonly timedEvents: TimedEvent[] = [];
  private eventsVersion = 0;

  /**
   * The language of the publisher's `onTextData` text, once there was some: from then on the
   * stream has a subtitles rendition (packager/hls/subtitles.ts); `und` when it names none.
   */
  textLanguage: string | undefined;

  /** Adds a timed event (from the publisher, or POST /api/streams/APP/KEY/metadata). */
  addTimedEvent(event: TimedEvent): void {
    if (this.ended) return;
    if (this.textLanguage === undefined && isTextEvent(event)) this.textLanguage = textCuesOf([event])[0]?.language ?? 'und';
    this.timedEvents.push(event);
    if (this.timedEvents.length > MAX_TIMED_EVENTS) this.timedEvents.splice(0, this.timedEvents.length - MAX_TIMED_EVENTS);
    this.eventsVersion++;
    const source = this.videos.get(SOURCE_RENDITION);
    // ID3 events also go into the source's next CMAF chunk as an `emsg` (AOM ID3 in CMAF), where
    // hls.js and Safari read them as ID3 metadata (the MPD carries them as an EventStream).
    if (event.kind === 'id3' && source?.track?.kind === 'video') source.queueEventBox(emsgOf(event));
    // Blocking playlist requests re-check on any track update: the source's carries it.
    source?.emit('update');
  }

  /** Media time (seconds) of the newest source frame: where an event inserted now belongs. */
  get liveMediaSeconds(): number {
    return Math.max(0, this.latestSourceVideoDts) / 90_000;
  }

  /** Every TrackOutput of the stream, with media or not yet: video renditions, the audio, the alternative audio renditions. */
  trackOutputs(): TrackOutput[] {
    return [...this.videos.values(), this.audio, ...this.audioRenditions.values()];
  }

  /** Segments `stream` into the outputs, numbering on from where they are. */
  private attach(stream: LiveStream, resumed: boolean, period?: { mark: PeriodMark; floor: number }): void {
    const source = this.videos.get(SOURCE_RENDITION)!;
    const firstSequence = Math.max(source.openSequence ?? 0, this.audio.openSequence ?? 0);
    const segmenter = new StreamSegmenter(
      // Chunking apart from muxing: the segmenter cuts, the CMAF muxer writes into each store.
      { video: new CmafMuxer('video', source, this.protection), audio: new CmafMuxer('audio', this.audio, this.protection) },
      {
        segmentDuration: this.config.segmentDuration,
        partDuration: this.config.partDuration,
        expectVideo: () => stream.metadata['videocodecid'] !== undefined || stream.video !== undefined,
        firstSequence,
        startsWithDiscontinuity: resumed,
      },
      { video: source.currentInitId + 1, audio: this.audio.currentInitId + 1 },
    );
    const unsubscribeStream = stream.subscribe({
      onTrack: (track) => {
        if (track.kind === 'audio') this.audio.language = stream.language;
        segmenter.onTrack(track);
      },
      onFrame: (frame) => {
        if (period) {
          // The new Period's media starts (on the wall clock) when its first frame arrived.
          const timescale = frame.kind === 'video' ? (stream.video?.timescale ?? 90_000) : (stream.audio?.timescale ?? 48_000);
          period.mark.offset = Math.max(period.floor, (frame.wallclock - this.clock.epochMs) / 1000 - frame.dts / timescale);
          period = undefined;
        }
        segmenter.onFrame(frame);
        if (frame.kind !== 'video') return;
        this.latestSourceVideoDts = frame.dts;
        // Remember where recent source segments start (and their numbers) for renditions that join.
        if (frame.key && segmenter.video.openSegmentStart === frame.dts) {
          this.sourceSegmentStarts.set(frame.dts, { sequence: segmenter.video.nextSequence, wallclock: frame.wallclock });
          if (this.sourceSegmentStarts.size > 8) this.sourceSegmentStarts.delete(this.sourceSegmentStarts.keys().next().value!);
        }
        for (const watch of this.sourceWatchers) watch();
      },
      onEnd: () => {
        segmenter.onEnd();
        this.unsubscribe();
        this.onPublisherGone(this);
      },
    });
    const followers: (() => void)[] = [];
    const unsubscribeAudio = stream.onAudioRendition((id, rendition) => followers.push(this.followAudio(id, rendition, segmenter)));
    const unsubscribeEvents = stream.onTimedEvent((event) => this.addTimedEvent(event));
    this.unsubscribe = () => {
      unsubscribeStream();
      unsubscribeAudio();
      unsubscribeEvents();
      for (const u of followers.splice(0)) u();
    };
  }

  /**
   * An alternative audio rendition of the publish: cut by `segmenter` (the source's cuts and
   * numbers) into its TrackOutput, made on first sight and continued by a reconnected publish.
   */
  private followAudio(id: string, rendition: LiveStream, segmenter: StreamSegmenter): () => void {
    let output = this.audioRenditions.get(id);
    const added = output === undefined;
    if (!output) {
      output = this.createTrackOutput(id, 'audio');
      const source = this.videos.get(SOURCE_RENDITION)!;
      output.siblingSegment = (n) => findSegment(source, n) ?? findSegment(this.audio, n);
      this.audioRenditions.set(id, output);
    }
    const target = output;
    const follower = segmenter.addFollower(new CmafMuxer('audio', target, this.protection), target.currentInitId + 1);
    // Common Encryption covers AAC: another codec in an alternative rendition of a protected
    // stream leaves that rendition out (never clear), not the whole publish.
    let refused = false;
    const unsubscribe = rendition.subscribe({
      onTrack: (track) => {
        refused = this.protection !== undefined && !canProtect(track);
        if (refused) {
          this.onRenditionProblem(id, `not listed: ${track.codec} cannot be encrypted with cbcs here`);
          return;
        }
        target.language = rendition.language;
        follower.onTrack(track);
      },
      onFrame: (frame) => {
        if (!refused) follower.onFrame(frame);
      },
      onEnd: () => follower.onEnd(),
    });
    if (added) for (const o of this.siblingOutputs.values()) o.renditionsChanged();
    return unsubscribe;
  }

  /** The publisher left: keep everything listed (no ENDLIST) while it may reconnect. */
  suspend(): void {
    if (this.ended) return;
    this.suspendedAt = Date.now();
  }

  /**
   * The same key is published again within the grace window: media sequence numbers and init ids
   * continue, the first new segment is a discontinuity. The new stream's timestamps must already
   * be rebased past the old ones (LiveStream.continueAfter).
   */
  resume(stream: LiveStream): void {
    if (this.ended) return;
    this.suspendedAt = undefined;
    this.stream = stream;
    const start = this.mediaEndSeconds();
    const previous = this.periodMarks[this.periodMarks.length - 1]!;
    let mark: PeriodMark | undefined;
    if (start > previous.start) {
      // A first estimate of the time away; the first frame of the new session refines it.
      mark = { id: String(this.nextPeriodId++), start, offset: Math.max(previous.offset, (Date.now() - this.clock.epochMs) / 1000 - start) };
      this.periodMarks.push(mark);
      // Bounded: a Period whose media left the window is never listed again.
      if (this.periodMarks.length > 32) this.periodMarks.shift();
    }
    this.attach(stream, true, mark && { mark, floor: previous.offset });
  }

  /** End of the last media pushed, in seconds of the stream's media clock (for rebasing a reconnect). */
  mediaEndSeconds(): number {
    let end = 0;
    for (const t of this.trackOutputs()) {
      const last = t.lastSegment;
      if (last) end = Math.max(end, (last.startTime + last.durationTicks) / last.timescale);
    }
    return end;
  }

  createTrackOutput(id: string, kind: 'video' | 'audio'): TrackOutput {
    return new TrackOutput(id, kind, {
      window: this.config.playlistWindow,
      cache: this.cache,
      cacheKey: `${this.path}/${id}`,
      clock: this.clock,
      session: this.session,
    });
  }

  /**
   * Adds a video rendition fed by `source` (a transcoded rung, a sibling key), joined to the
   * source's numbering (packager/rendition-join.ts). A rendition id that exists (a reconnected
   * publisher's new transcoder) continues its output.
   */
  addVideoRendition(id: string, source: { subscribe(sink: StreamSink): () => void }): TrackOutput {
    const output = this.videos.get(id) ?? this.createTrackOutput(id, 'video');
    const resumed = this.videos.has(id);
    this.videos.set(id, output);
    const view = this.sourceView();
    const join = new RenditionJoin(output, view, this.config, resumed, (problem) => {
      if (problem === undefined) {
        this.renditionProblems.delete(id);
        return;
      }
      this.renditionProblems.set(id, problem);
      this.onRenditionProblem(id, problem);
    }, this.protection);
    const watch = (): void => join.sourceMoved();
    this.sourceWatchers.add(watch);
    const unsubscribe = source.subscribe(join);
    const unsubscribes = this.renditionUnsubscribes.get(id) ?? [];
    unsubscribes.push(() => {
      unsubscribe();
      this.sourceWatchers.delete(watch);
    });
    this.renditionUnsubscribes.set(id, unsubscribes);
    if (!resumed) for (const o of this.siblingOutputs.values()) o.renditionsChanged();
    return output;
  }

  /**
   * A joined rendition is no longer made (the ladder dropped a rung to keep real time): it leaves
   * the multivariant playlist, the MPD and the MPEG-TS outputs; its own playlist ends.
   */
  removeVideoRendition(id: string): void {
    const output = this.videos.get(id);
    if (id === SOURCE_RENDITION || !output) return;
    for (const u of this.renditionUnsubscribes.get(id) ?? []) u();
    this.renditionUnsubscribes.delete(id);
    this.renditionProblems.delete(id);
    this.videos.delete(id);
    output.end();
    for (const o of this.siblingOutputs.values()) o.renditionsChanged();
  }

  /** What a joining rendition sees of the source (packager/rendition-join.ts). */
  private sourceView(): SourceView {
    const source = this.videos.get(SOURCE_RENDITION)!;
    return {
      segmentStartingAt: (dts) => this.sourceSegmentStarts.get(dts),
      latestVideoDts: () => this.latestSourceVideoDts,
      segments: () => source.segments,
    };
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  /** Attaches the sibling output of class `kind`, made by `make` unless it is attached already. */
  attachOutput<T extends SiblingOutput>(kind: abstract new (...args: never[]) => T, make: () => T): T {
    const existing = this.outputOf(kind);
    if (existing) return existing;
    const made = make();
    this.siblingOutputs.set(kind, made);
    return made;
  }

  /** The sibling output of class `kind`, if attached. */
  outputOf<T extends SiblingOutput>(kind: abstract new (...args: never[]) => T): T | undefined {
    const found = this.siblingOutputs.get(kind);
    return found instanceof kind ? found : undefined;
  }

  /** Every sibling output lets go (the StreamOutput is replaced or forgotten). */
  detachOutputs(): void {
    for (const o of this.siblingOutputs.values()) o.detach();
  }

  /** Every track that carries media, video renditions first, then the audio and its alternatives. */
  tracks(): TrackOutput[] {
    return this.trackOutputs().filter((t) => t.track !== undefined);
  }

  rendition(id: string): TrackOutput | undefined {
    if (id === AUDIO_RENDITION) return this.audio;
    return this.videos.get(id) ?? this.audioRenditions.get(id);
  }

  /**
   * Ready to be listed: every track with media has completed a segment. An alternative audio
   * rendition is waited for too (players read the multivariant playlist once), but not beyond
   * the others' second segment: one that is that late does not hold the stream back.
   */
  get ready(): boolean {
    const main = [...this.videos.values(), this.audio].filter((t) => t.track !== undefined);
    if (main.length === 0 || !main.every((t) => t.segments.length > 0)) return false;
    const alternatives = [...this.audioRenditions.values()].filter((t) => t.track !== undefined);
    return alternatives.every((t) => t.segments.length > 0) || main.some((t) => t.segments.length >= 2);
  }

  /** The stream is over: playlists get ENDLIST, the window's bytes move to the cache. */
  finish(): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = Date.now();
    this.suspendedAt = undefined;
    this.unsubscribe();
    for (const list of this.renditionUnsubscribes.values()) for (const u of list) u();
    for (const t of this.videos.values()) t.end();
    this.audio.end();
    for (const t of this.audioRenditions.values()) t.end();
  }

  /** Ends the stream's output now (publisher gone, or gateway stopping). */
  close(): void {
    this.stream.end();
    this.finish();
  }
}

function findSegment(track: TrackOutput, sequence: number): SegmentInfo | undefined {
  for (let i = track.segments.length - 1; i >= 0; i--) {
    const s = track.segments[i]!;
    if (s.sequence === sequence) return s;
    if (s.sequence < sequence) return undefined;
  }
  return undefined;
}
