/**
 * Builds the MPD model for a stream from the packager state: the very same CMAF files the HLS
 * playlists name, nothing muxed twice. URLs are relative to the MPD at /APP/KEY/index.mpd:
 *
 *   $RepresentationID$/init-S-N.mp4    CMAF header N of publish session S (RepresentationID = rendition)
 *   $RepresentationID$/seg-S-$Number$.m4s
 *
 * Timing model (ISO/IEC 23009-1 §5.3.9.6, DASH-IF IOP "SegmentTimeline"): availabilityStartTime
 * = wall clock of media time 0 (the stream's MediaClock); a segment's `t` is its decode time in
 * the track timescale. In the first Period presentation time == media time (Period@start 0,
 * presentationTimeOffset 0). Each Representation carries its own SegmentTemplate because
 * renditions have their own init ids and (for audio) their own timescale.
 *
 * Periods (§5.3.2, DASH-IF IOP 4.3 §4.5 multi-Period live): one per publish session of the output
 * (StreamOutput.periodMarks). A publisher that reconnects within the grace window continues the
 * media timeline (LiveStream.continueAfter: media time resumes where the old media ended) with a
 * new init segment, so a new Period starts: its own @id, its own SegmentTemplate@initialization,
 * the same AdaptationSet ids, and presentationTimeOffset = the media time its Period@start maps
 * to. Period@start is where the old Period's media ended plus the wall-clock time the publisher
 * was away (PeriodMark.offset): availabilityStartTime + presentation time must stay the wall
 * clock the media exists at. Were the new Period placed right at the old media's end, every later
 * segment would be announced as available seconds before it is produced, and a player that keeps
 * a wall-clock latency target (dash.js with the LL ServiceDescription) reads the outage as latency
 * forever after: it speeds up into an empty buffer, stalls again and again, and seeks past media
 * (measured: latency 1.9 s before the join, 4.3 - 5.6 s after it, with a 2 s skip). The time away
 * is a gap at the end of the old Period, which players jump. Where an AdaptationSet truly
 * continues (no time away, same init bytes, media ending and starting on the same tick) it
 * carries the period-continuity SupplementalProperty. A new Period is listed once each of its tracks has a complete segment (so
 * players never see an AdaptationSet appear in a Period they already play), and a Period leaves
 * the MPD when its last segment leaves the window.
 *
 * Inside a Period, when a track's init id changes (a codec change mid-stream, a transcoder
 * restart) only the newest run of segments sharing one init is listed; the older ones leave the
 * MPD early but stay fetchable for the HLS side and late requests.
 *
 * Gaps (TrackOutput.addGap, EXT-X-GAP in HLS) are never listed: the timeline has a hole there and
 * the next S carries an explicit @t. $Number$ addressing counts S entries, not sequence numbers,
 * so a Representation whose listed numbers skip one is addressed by $Time$ instead
 * (`seg-S-t$Time$.m4s`, resolved to the numbered file by http/dash-routes.ts).
 *
 * Low latency (LL-DASH, DASH-IF IOP LL "Segment Timeline mode"): the segment still being written
 * is announced as the last S element with a *predicted* duration (never shorter than the last
 * segment, the target, or what it already holds: a long guess only delays its announced
 * availability, a short one would make players re-request it). `availabilityTimeOffset` =
 * segment - part duration makes it available once its first chunk exists; the HTTP side then
 * streams it with chunked transfer (http/dash-routes.ts). The next MPD update carries the exact d.
 */
import { numericEventId, type TimedEvent } from '../../metadata/timed-event.js';
import { buildId3Tag } from '../../metadata/id3.js';
import { ID3_SCHEME, ID3_SCHEME_VALUE } from '../../mux/fmp4/emsg.js';
import { sameColour } from '../../codec/colour.js';
import type { Track } from '../../core/media.js';
import { audioGroupOf, languageTagOf, type AudioGroupEntry } from '../audio-group.js';
import { psshSystemId, uuidOf } from '../../mux/fmp4/cenc.js';
import { SUBTITLES_RENDITION, wvttInitFileName, wvttSegmentTemplate } from '../hls/subtitles.js';
import type { StreamOutput } from '../stream-output.js';
import { initFileName, type SegmentInfo, type TrackOutput } from '../track-output.js';
import {
  CEA608_SCHEME,
  CICP_CHANNEL_CONFIGURATION,
  DASH_CHANNEL_COUNT,
  PERIOD_CONTINUITY,
  PROFILE_CMAF,
  PROFILE_ISOFF_LIVE,
  ROLE_SCHEME,
  SCTE35_XML_BIN_SCHEME,
  UTC_HTTP_ISO,
  type AdaptationSet,
  type ContentProtection,
  CLEARKEY_SCHEME,
  MP4_PROTECTION_SCHEME,
  type Descriptor,
  type EventStream,
  type Mpd,
  type MpdEvent,
  type Period,
  type ProducerReferenceTime,
  type Representation,
  type SegmentTemplate,
  type ServiceDescription,
  type TimelineEntry,
} from './model.js';

export interface MpdOptions {
  /** Target segment duration, seconds. */
  readonly segmentDuration: number;
  /** Target part (CMAF chunk) duration, seconds. */
  readonly partDuration: number;
  /** Segments listed per Representation (same as the HLS window). */
  readonly window: number;
  /** Wall clock, ms since epoch (publishTime); defaults to Date.now(). */
  readonly now?: number;
  /** Absolute URL of the gateway's ISO time endpoint (/api/time). */
  readonly utcTimingUrl: string;
  readonly lowLatency: boolean;
  /** List each live timeline from the track's first segment (timelineHead): GStreamer clients. */
  readonly timelineFromZero?: boolean;
  /** Where players get the licence of a protected stream (its ClearKey route, or the DRM's). */
  readonly licenseUrl?: string;
}

/** Guesses for @bandwidth before a segment has been measured. */
export const UNMEASURED_VIDEO_BANDWIDTH = 1_000_000;
export const UNMEASURED_AUDIO_BANDWIDTH = 128_000;

const PLAYBACK_RATE = { min: 0.9, max: 1.1 } as const;
const SEGMENT_TEMPLATE_MEDIA = (session: string): string => `$RepresentationID$/seg-${session}-$Number$.m4s`;
/** Time-addressed form of the same files, for timelines with holes in their numbering (see module doc). */
const SEGMENT_TEMPLATE_MEDIA_BY_TIME = (session: string): string => `$RepresentationID$/seg-${session}-t$Time$.m4s`;
/** Media file name of `$Time$` addressing: `seg-SESSION-tTIME.m4s`. */
export const TIME_ADDRESSED_SEGMENT = /^seg-([0-9a-z]{1,16})-t(\d{1,16})\.m4s$/;
/** Tolerance when placing segments in Periods: rebasing rounds to a tick. */
const PERIOD_EPSILON = 0.001;

export interface TimeSpan {
  readonly start: number;
  readonly duration: number;
}

/**
 * Run-length form of a list of segments (§5.3.9.6.1): `t` on the first S and wherever the
 * timeline is not contiguous (a gap after a discontinuity); `r` counts further equal, contiguous d.
 */
export function timelineOf(spans: readonly TimeSpan[]): TimelineEntry[] {
  const out: { t?: number; d: number; r: number }[] = [];
  let end: number | undefined;
  for (const s of spans) {
    const last = out[out.length - 1];
    const contiguous = end === s.start;
    if (last && contiguous && last.d === s.duration) last.r++;
    else out.push({ t: contiguous ? undefined : s.start, d: s.duration, r: 0 });
    end = s.start + s.duration;
  }
  return out.map((e) => (e.t === undefined ? { d: e.d, r: e.r } : { t: e.t, d: e.d, r: e.r }));
}

/** FrameRateType (§5.3.12.2): integer, or N/1001 for NTSC rates, else a ms-precision fraction. */
export function frameRateOf(fps: number | undefined): string | undefined {
  if (fps === undefined || !Number.isFinite(fps) || fps <= 0) return undefined;
  if (Math.abs(fps - Math.round(fps)) < 1e-6) return String(Math.round(fps));
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs(fps - (ntsc * 1000) / 1001) < 1e-3) return `${ntsc * 1000}/1001`;
  const milli = Math.round(fps * 1000);
  const g = gcd(milli, 1000);
  return `${milli / g}/${1000 / g}`;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The one video AdaptationSet (every rendition), live or recorded: sizes from its largest rendition. */
export function videoAdaptationSet(representations: Representation[]): AdaptationSet {
  return {
    id: 0,
    contentType: 'video',
    mimeType: 'video/mp4',
    segmentAlignment: true,
    startWithSap: 1,
    maxWidth: Math.max(...representations.map((r) => r.width ?? 0)),
    maxHeight: Math.max(...representations.map((r) => r.height ?? 0)),
    roles: [{ schemeIdUri: ROLE_SCHEME, value: 'main' }],
    representations,
  };
}

/** AdaptationSet@id of the stream's audio; its alternative audio renditions take the ids after it. */
export const AUDIO_ADAPTATION_SET_ID = 1;

/** How one audio AdaptationSet is told apart from the others of its Period. */
export interface AudioSetIdentity {
  readonly id: number;
  /** §5.3.3.2 @lang: the audio's language (ISO 639-2 here), `und` when not known. */
  readonly lang: string;
  /** §5.8.5.5 Role: `main` for the stream's audio, `alternate` for its alternative renditions (DASH-IF IOP §6.6). */
  readonly role: 'main' | 'alternate';
}

/**
 * An audio AdaptationSet of live MPDs and recordings: every video rendition plays with it. The
 * stream's audio is id 1, language `und`, Role main, unless `identity` says otherwise.
 */
export function audioAdaptationSet(channels: number, representation: Representation, identity?: AudioSetIdentity): AdaptationSet {
  return {
    id: identity?.id ?? AUDIO_ADAPTATION_SET_ID,
    contentType: 'audio',
    mimeType: 'audio/mp4',
    lang: identity?.lang ?? 'und',
    segmentAlignment: true,
    startWithSap: 1,
    audioChannelConfiguration: [channelConfigurationOf(channels)],
    roles: [{ schemeIdUri: ROLE_SCHEME, value: identity?.role ?? 'main' }],
    representations: [representation],
  };
}

/** ISO/IEC 23001-8 ChannelConfiguration for AAC channel counts; a plain count where CICP has none. */
export function channelConfigurationOf(channels: number): Descriptor {
  // CICP 1..6 equal the channel count for mono .. 5.1; 7.1 (8 channels) is index 12.
  if (channels >= 1 && channels <= 6) return { schemeIdUri: CICP_CHANNEL_CONFIGURATION, value: String(channels) };
  if (channels === 8) return { schemeIdUri: CICP_CHANNEL_CONFIGURATION, value: '12' };
  return { schemeIdUri: DASH_CHANNEL_COUNT, value: String(channels) };
}

/**
 * LL-DASH latency envelope (ISO/IEC 23009-1 Annex K.4, DASH-IF IOP LL), ms: five chunks behind the
 * live edge, at least 1 s: what dash.js's low-latency mode plays at when the player sets nothing.
 */
export function latencyTargets(segmentDuration: number, partDuration: number): { target: number; min: number; max: number } {
  const target = Math.max(1000, Math.round(partDuration * 5 * 1000));
  const min = Math.max(Math.round(partDuration * 2 * 1000), Math.round(target / 2));
  const max = target + Math.round(segmentDuration * 2 * 1000);
  return { target, min, max };
}

/**
 * The segments of `track` listed for one Period: among the last `window`, those starting in
 * [from, to) seconds, gaps left out, then only the newest run that shares one init (module doc).
 */
export function listedSegments(track: TrackOutput, window: number, from = -Infinity, to = Infinity): SegmentInfo[] {
  const all = track.segments;
  const listed = all.slice(Math.max(0, all.length - window)).filter((s) => {
    const start = s.startTime / s.timescale;
    return !s.gap && start >= from - PERIOD_EPSILON && start < to - PERIOD_EPSILON;
  });
  const last = listed[listed.length - 1];
  if (!last) return listed;
  let runStart = listed.length - 1;
  while (runStart > 0 && listed[runStart - 1]!.initId === last.initId) runStart--;
  return listed.slice(runStart);
}

/** Whether the listed numbers skip one (a gap): then $Number$ cannot address them. */
export function hasNumberingHole(segments: readonly SegmentInfo[]): boolean {
  for (let i = 1; i < segments.length; i++) if (segments[i]!.sequence !== segments[i - 1]!.sequence + 1) return true;
  return false;
}

/** The in-progress segment's S element for LL-DASH, or undefined when it cannot be announced. */
export function openSegmentSpan(track: TrackOutput, last: SegmentInfo, segmentDuration: number, partDuration: number): TimeSpan | undefined {
  if (track.ended || track.openSequence !== last.sequence + 1 || track.currentInitId !== last.initId) return undefined;
  const ts = last.timescale;
  let held = 0;
  for (const p of track.openParts) held += p.duration;
  const predicted = Math.max(last.durationTicks, Math.round(segmentDuration * ts), Math.round((held + partDuration) * ts));
  return { start: last.startTime + last.durationTicks, duration: predicted };
}

/**
 * Live, MpdOptions.timelineFromZero only: the track's first segment when the window no longer
 * starts with it, listed ahead of the window so that the timeline begins at presentation time ~0,
 * then jumps with an explicit @t to the window. Listing a segment older than the time-shift buffer
 * is allowed (§5.3.9.5.3: it is simply no longer available; no client asks for it).
 *
 * GStreamer's DASH demuxers (dashdemux and dashdemux2, 1.22 and the upstream sources as of this
 * writing) need it: gst_mpd_client_stream_seek() picks the live-edge segment of a SegmentTimeline as
 *   repeat = ((now - S.start) + first_S.start) / S.d
 * adding the start of the first listed S, so with a sliding window starting at media time T they
 * ask for a segment T seconds in the future and wait for it: 0 buffers, forever. With the first S
 * at ~0 that term vanishes. The head, the hole and the window are not consecutive numbers, so
 * such a Representation is addressed by $Time$ (http/dash-routes.ts resolves it to the same
 * files). Only for those clients (http/client-quirks.ts, by User-Agent): everyone else keeps $Number$
 * URLs shared with the HLS playlists.
 */
export function timelineHead(track: TrackOutput, listed: readonly SegmentInfo[], from = -Infinity, to = Infinity): SegmentInfo | undefined {
  const head = track.firstSegment;
  const first = listed[0];
  if (!head || !first || head.gap || head.sequence >= first.sequence) return undefined;
  if (head.initId !== first.initId || head.timescale !== first.timescale) return undefined;
  const start = head.startTime / head.timescale;
  if (start < from - PERIOD_EPSILON || start >= to - PERIOD_EPSILON) return undefined;
  return head;
}

/** Where a Representation's listing begins: its first listed segment, or (LL) the open one. */
interface PlanAnchor {
  readonly startTime: number;
  readonly timescale: number;
  readonly initId: number;
  readonly sequence: number;
}

interface TrackPlan {
  readonly track: TrackOutput;
  /** Complete segments listed; none for a new Period listed from its first parts (LL). */
  readonly segments: SegmentInfo[];
  readonly open: TimeSpan | undefined;
  readonly anchor: PlanAnchor;
  /** Live: the first segment listed ahead of the window (timelineHead). */
  readonly head?: SegmentInfo | undefined;
}

function planTrack(track: TrackOutput, options: MpdOptions, live: boolean, from: number, to: number, suspended = false): TrackPlan | undefined {
  if (!track.track) return undefined;
  const segments = listedSegments(track, options.window, from, to);
  const last = segments[segments.length - 1];
  // Only the newest Period can hold the segment in progress, and only while a publisher feeds it:
  // while it is away, the next segment would be the reconnected session's (another init, another
  // Period), so nothing is announced (as HLS drops its preload hint then).
  const newest = live && options.lowLatency && to === Infinity && !suspended;
  if (!last) {
    // LL: a new Period (a publisher back, the slate standing in) is listed from its first parts,
    // as the segment in progress always is, instead of a whole segment later: a player at the
    // live edge would otherwise stall at the join for up to a segment.
    const first = newest ? firstOpenSegment(track, from, options.segmentDuration, options.partDuration) : undefined;
    return first ? { track, segments, open: first.span, anchor: first.anchor } : undefined;
  }
  const open = newest ? openSegmentSpan(track, last, options.segmentDuration, options.partDuration) : undefined;
  const head = live && options.timelineFromZero ? timelineHead(track, segments, from, to) : undefined;
  return { track, segments, open, head, anchor: segments[0]! };
}

/** A track's segment in progress when it is the first of its Period (it starts at or after `from`). */
function firstOpenSegment(track: TrackOutput, from: number, segmentDuration: number, partDuration: number): { span: TimeSpan; anchor: PlanAnchor } | undefined {
  const start = track.openStartTime;
  const sequence = track.openSequence;
  if (track.ended || start === undefined || sequence === undefined || track.openParts.length === 0 || track.openInitId !== track.currentInitId) return undefined;
  const ts = track.openTimescale;
  if (start / ts < from - PERIOD_EPSILON) return undefined;
  let held = 0;
  for (const p of track.openParts) held += p.duration;
  const predicted = Math.max(Math.round(segmentDuration * ts), Math.round((held + partDuration) * ts));
  return { span: { start, duration: predicted }, anchor: { startTime: start, timescale: ts, initId: track.openInitId, sequence } };
}

/**
 * A Representation of one track: identity and codec attributes from the track, bandwidth from
 * the measured peak (a guess until a segment was measured). Live MPDs and recordings share it.
 */
export function representationFor(id: string, media: Track, peakBitrate: number, segmentTemplate: SegmentTemplate): Representation {
  if (media.kind === 'video') {
    return {
      id,
      bandwidth: Math.round(peakBitrate) || UNMEASURED_VIDEO_BANDWIDTH,
      codecs: media.codecString,
      width: media.width,
      height: media.height,
      frameRate: frameRateOf(media.fps),
      sar: '1:1',
      segmentTemplate,
    };
  }
  return {
    id,
    bandwidth: Math.round(peakBitrate) || UNMEASURED_AUDIO_BANDWIDTH,
    codecs: media.codecString,
    audioSamplingRate: media.sampleRate,
    segmentTemplate,
  };
}

function representationOf(plan: TrackPlan, presentationStart: number, ll: boolean, options: MpdOptions): Representation {
  const { track, segments, open, head } = plan;
  const first = plan.anchor;
  // The Period's own configuration: after a reconnect the current track may have other CODECS,
  // and dash.js stops updating a Representation whose AdaptationSet changed codecs (it then
  // never sees the Period end and stalls until its gap handler jumps).
  const media = track.trackOf(first.initId) ?? track.track!;
  const listed = head ? [head, ...segments] : segments;
  const spans: TimeSpan[] = listed.map((s) => ({ start: s.startTime, duration: s.durationTicks }));
  if (open) spans.push(open);
  const segmentTemplate = {
    timescale: first.timescale,
    media: hasNumberingHole(listed) ? SEGMENT_TEMPLATE_MEDIA_BY_TIME(track.session) : SEGMENT_TEMPLATE_MEDIA(track.session),
    initialization: `$RepresentationID$/${initFileName(track.session, first.initId)}`,
    startNumber: listed[0]?.sequence ?? first.sequence,
    presentationTimeOffset: Math.round(presentationStart * first.timescale),
    availabilityTimeOffset: ll ? roundMs(Math.max(0, options.segmentDuration - options.partDuration)) : undefined,
    availabilityTimeComplete: ll ? false : undefined,
    timeline: timelineOf(spans),
  };
  return representationFor(track.id, media, track.peakBitrate, segmentTemplate);
}

function roundMs(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

function ceilMs(seconds: number): number {
  return Math.ceil(seconds * 1000 - 1e-6) / 1000;
}

function aspectRatio(width: number, height: number): string | undefined {
  if (width <= 0 || height <= 0) return undefined;
  const g = gcd(width, height);
  return `${width / g}:${height / g}`;
}

/** An audio track's plan and the AdaptationSet it is alone in. */
interface AudioPlan extends TrackPlan {
  readonly set: AudioSetIdentity;
}

interface PeriodPlan {
  readonly id: string;
  /** Media time (seconds) the Period begins at. */
  readonly start: number;
  /** Presentation time - media time in this Period, seconds (PeriodMark.offset). */
  readonly offset: number;
  readonly videoPlans: TrackPlan[];
  /** The stream's audio, then its alternative audio renditions (packager/audio-group.ts). */
  readonly audioPlans: AudioPlan[];
}

function plansOf(p: PeriodPlan): TrackPlan[] {
  return [...p.videoPlans, ...p.audioPlans];
}

/**
 * Each audio track's AdaptationSet: the stream's audio is id 1, an alternative rendition 2, 3, …
 * in the order it first appeared (the same ids in every Period and every MPD update).
 */
function audioSetOf(output: StreamOutput, entry: AudioGroupEntry): AudioSetIdentity {
  const alternatives = [...output.audioRenditions.values()];
  const id = entry.output === output.audio ? AUDIO_ADAPTATION_SET_ID : AUDIO_ADAPTATION_SET_ID + 1 + alternatives.indexOf(entry.output);
  return { id, lang: entry.languageTag, role: entry.isDefault ? 'main' : 'alternate' };
}

/**
 * The Periods with something to list, oldest first. A Period after the first is held back until
 * every track listed in the Period before it has a segment in it too (or one of its tracks has
 * two: the missing track is not coming), so no AdaptationSet appears in a Period late.
 */
function planPeriods(output: StreamOutput, options: MpdOptions, live: boolean): PeriodPlan[] {
  const marks = output.periodMarks.length > 0 ? output.periodMarks : [{ id: '0', start: 0, offset: 0 }];
  const group = audioGroupOf(output);
  const out: PeriodPlan[] = [];
  for (let k = 0; k < marks.length; k++) {
    const from = k === 0 ? -Infinity : marks[k]!.start;
    const to = k + 1 < marks.length ? marks[k + 1]!.start : Infinity;
    const videoPlans: TrackPlan[] = [];
    for (const v of output.videos.values()) {
      if (v.track?.kind !== 'video') continue;
      const plan = planTrack(v, options, live, from, to, output.suspendedAt !== undefined);
      if (plan) videoPlans.push(plan);
    }
    const audioPlans: AudioPlan[] = [];
    for (const entry of group) {
      const plan = planTrack(entry.output, options, live, from, to, output.suspendedAt !== undefined);
      if (plan) audioPlans.push({ ...plan, set: audioSetOf(output, entry) });
    }
    const period: PeriodPlan = { id: marks[k]!.id, start: marks[k]!.start, offset: marks[k]!.offset, videoPlans, audioPlans };
    const plans = plansOf(period);
    if (plans.length === 0) continue;
    const previous = out[out.length - 1];
    if (previous && live) {
      const complete = plansOf(previous).every((p) => plans.some((q) => q.track === p.track)) || plans.some((p) => p.segments.length >= 2);
      if (!complete) break;
    }
    out.push(period);
  }
  return out;
}

function floorMs(seconds: number): number {
  return Math.floor(seconds * 1000 + 1e-6) / 1000;
}

/**
 * §5.3.2.4 period continuity of the AdaptationSet made of `plans` with the one made of `before`
 * in the previous Period: the same Representations, each with byte-identical init segments and
 * media that ends in the previous Period on the very tick it starts in this one, at its start,
 * with no time away in between (the same presentation - media offset).
 */
function periodContinuous(previous: PeriodPlan, before: readonly TrackPlan[], current: PeriodPlan, plans: readonly TrackPlan[], startTicksOf: (timescale: number) => number): boolean {
  if (before.length === 0 || before.length !== plans.length) return false;
  if (plans.some((p) => Math.abs(current.offset - previous.offset) * p.anchor.timescale > 1)) return false;
  for (const plan of plans) {
    const prior = before.find((b) => b.track === plan.track);
    if (!prior) return false;
    const last = prior.segments[prior.segments.length - 1];
    const first = plan.anchor;
    if (!last) return false;
    if (last.timescale !== first.timescale) return false;
    const end = last.startTime + last.durationTicks;
    const ptoTicks = startTicksOf(first.timescale);
    if (Math.abs(end - first.startTime) > 1 || first.startTime < ptoTicks || first.startTime - ptoTicks >= first.timescale / 1000) return false;
    const a = plan.track.init(last.initId);
    const b = plan.track.init(first.initId);
    if (!a || !b || a.byteLength !== b.byteLength || !a.every((x, i) => x === b[i])) return false;
  }
  return true;
}

export function buildMpd(output: StreamOutput, options: MpdOptions): Mpd {
  const now = options.now ?? Date.now();
  const allTracks = output.tracks();
  const live = !output.ended && !(allTracks.length > 0 && allTracks.every((t) => t.ended));
  const ll = live && options.lowLatency;

  const periodPlans = planPeriods(output, options, live);
  const plans = periodPlans.flatMap(plansOf);

  // Static (ended): the presentation starts at the earliest listed segment, so the first Period
  // starts at 0 and each presentationTimeOffset points there (§5.3.9.2); dynamic keeps the
  // mapping to availabilityStartTime (presentation time = media time + the Period's offset).
  const { presentationStart, presentationEnd } = presentationSpan(periodPlans);
  const origin = live ? 0 : presentationStart;

  const utcTiming: Descriptor = { schemeIdUri: UTC_HTTP_ISO, value: options.utcTimingUrl };
  const latency = ll ? latencyTargets(options.segmentDuration, options.partDuration) : undefined;
  const periods: Period[] = [];
  let previous: PeriodPlan | undefined;
  for (const pp of periodPlans) {
    // Period@start to the ms (its xs:duration precision), never after a segment of it; the media
    // time at that instant is what presentationTimeOffset names.
    const presentationAt = pp.start + pp.offset - origin;
    const start = periods.length === 0 ? Math.max(0, floorMs(presentationAt)) : Math.max(periods[periods.length - 1]!.start, floorMs(presentationAt));
    const periodMediaStart = start + origin - pp.offset;
    const adaptationSets = adaptationSetsOf(output, pp, previous, periodMediaStart, ll, options, utcTiming);
    const eventStreams = eventStreamsOf(output.timedEvents, pp, periodMediaStart);
    periods.push({ id: pp.id, start, ...(eventStreams.length > 0 ? { eventStreams } : {}), adaptationSets });
    previous = pp;
  }

  let serviceDescriptions: ServiceDescription[] | undefined;
  let suggestedPresentationDelay = 3 * options.segmentDuration;
  let minBufferTime = options.segmentDuration;
  if (latency && periods.length > 0) {
    serviceDescriptions = [{ id: 0, latency: { ...latency, referenceId: 0 }, playbackRate: PLAYBACK_RATE }];
    suggestedPresentationDelay = latency.target / 1000;
    minBufferTime = Math.min(options.segmentDuration, latency.target / 1000);
  }

  const maxSegmentDuration = ceilMs(Math.max(options.segmentDuration, ...plans.map((p) => p.track.maxSegmentDuration), ...plans.map((p) => (p.open ? p.open.duration / p.anchor.timescale : 0))));
  if (periods.length === 0) periods.push({ id: '0', start: 0, adaptationSets: [] });
  const profiles = [PROFILE_ISOFF_LIVE, PROFILE_CMAF];

  if (!live) {
    return {
      type: 'static',
      profiles,
      publishTime: now,
      maxSegmentDuration,
      minBufferTime,
      mediaPresentationDuration: roundMs(Math.max(0, presentationEnd - presentationStart)),
      periods,
    };
  }
  return {
    type: 'dynamic',
    profiles,
    availabilityStartTime: output.clock.epochMs,
    publishTime: now,
    // Low latency: the segment after the one in progress is only listed once that one is done,
    // so a player must see each new MPD within a chunk or two of it, not a segment later (with
    // PT2S dash.js ran out of announced segments at every boundary and stalled at its 1 s target).
    minimumUpdatePeriod: ll ? roundMs(Math.max(options.partDuration * 2, 0.2)) : options.segmentDuration,
    timeShiftBufferDepth: options.window * options.segmentDuration,
    suggestedPresentationDelay,
    maxSegmentDuration,
    minBufferTime,
    serviceDescriptions,
    periods,
    utcTimings: [utcTiming],
  };
}

/** Presentation times (s, with each Period's offset) of the first listed media and the end of the last. */
function presentationSpan(periodPlans: readonly PeriodPlan[]): { presentationStart: number; presentationEnd: number } {
  const withOffsets = periodPlans.flatMap((pp) => plansOf(pp).map((p) => ({ p, offset: pp.offset })));
  if (withOffsets.length === 0) return { presentationStart: 0, presentationEnd: 0 };
  const presentationStart = Math.min(...withOffsets.map(({ p, offset }) => p.anchor.startTime / p.anchor.timescale + offset));
  const presentationEnd = Math.max(
    ...withOffsets.map(({ p, offset }) => {
      const l = p.segments[p.segments.length - 1];
      return l ? (l.startTime + l.durationTicks) / l.timescale + offset : p.anchor.startTime / p.anchor.timescale + offset;
    }),
  );
  return { presentationStart, presentationEnd };
}

/**
 * The colour description every video Representation of the set shares (E-RTMP colorInfo), as
 * the CICP descriptors of ISO/IEC 23001-8 that DASH-IF IOP §6.2.5 uses to signal HDR10 and HLG
 * (ColourPrimaries 9, TransferCharacteristics 16 or 18, MatrixCoefficients 9). Supplemental, so a
 * player that does not know them still plays the set.
 */
function colourProperties(plans: readonly TrackPlan[]): Descriptor[] {
  const colours = plans.map((p) => {
    const media = p.track.trackOf(p.anchor.initId) ?? p.track.track;
    return media?.kind === 'video' ? media.colour : undefined;
  });
  const first = colours[0];
  if (!first || !colours.every((c) => sameColour(c, first))) return [];
  return [
    { schemeIdUri: 'urn:mpeg:mpegB:cicp:ColourPrimaries', value: String(first.colourPrimaries) },
    { schemeIdUri: 'urn:mpeg:mpegB:cicp:TransferCharacteristics', value: String(first.transferCharacteristics) },
    { schemeIdUri: 'urn:mpeg:mpegB:cicp:MatrixCoefficients', value: String(first.matrixCoefficients) },
  ];
}

/** AdaptationSet@id of the subtitles (after the audio sets' ids). */
export const SUBTITLES_ADAPTATION_SET_ID = 100;

/**
 * The publisher's onTextData as a WebVTT-in-CMAF text track (`wvtt`, ISO/IEC 14496-30; what
 * dash.js and Shaka read in live DASH), once the stream has text (packager/hls/subtitles.ts): its
 * segments are the source video's, same numbers, timescale and times, so it needs no timeline of
 * its own; only complete segments are listed (the text of one in progress is not known yet).
 */
function subtitlesAdaptationSet(output: StreamOutput, pp: PeriodPlan, periodMediaStart: number): AdaptationSet | undefined {
  const plan = pp.videoPlans.find((p) => p.track.id === 'src');
  const language = output.textLanguage;
  if (!plan || language === undefined || plan.segments.length === 0 || hasNumberingHole(plan.segments)) return undefined;
  const ts = plan.anchor.timescale;
  const session = plan.track.session;
  return {
    id: SUBTITLES_ADAPTATION_SET_ID,
    contentType: 'text',
    mimeType: 'application/mp4',
    lang: language === 'und' ? undefined : languageTagOf(language),
    segmentAlignment: true,
    startWithSap: 1,
    roles: [{ schemeIdUri: ROLE_SCHEME, value: 'subtitle' }],
    representations: [
      {
        id: SUBTITLES_RENDITION,
        bandwidth: 1000,
        codecs: 'wvtt',
        segmentTemplate: {
          timescale: ts,
          media: `$RepresentationID$/${wvttSegmentTemplate(session)}`,
          initialization: `$RepresentationID$/${wvttInitFileName(session, ts)}`,
          startNumber: plan.segments[0]!.sequence,
          presentationTimeOffset: Math.round(periodMediaStart * ts),
          timeline: timelineOf(plan.segments.map((s) => ({ start: s.startTime, duration: s.durationTicks }))),
        },
      },
    ],
  };
}

/**
 * CEA-608 captions every video Representation of the set carries in its SEI (codec/captions.ts),
 * as the SCTE 214-1 Accessibility descriptor dash.js and Shaka read: `CC1=lang;CC3=lang` (the
 * language is not known from the stream: `und`). Field 1 is CC1, field 2 CC3.
 */
function captionAccessibility(plans: readonly TrackPlan[]): Descriptor[] | undefined {
  const services = plans.map((p) => p.track.captionsOf(p.anchor.initId));
  const channels = [...(services.every((s) => s.field1) ? ['CC1=und'] : []), ...(services.every((s) => s.field2) ? ['CC3=und'] : [])];
  return services.length > 0 && channels.length > 0 ? [{ schemeIdUri: CEA608_SCHEME, value: channels.join(';') }] : undefined;
}

/** EventStream timescale: milliseconds. */
const EVENT_TIMESCALE = 1000;

/**
 * The Period's timed metadata (StreamOutput.timedEvents within what it lists) as EventStreams
 * (§5.10.2): ID3 events under the AOM ID3 scheme with the ID3 tag as base64 messageData, SCTE-35
 * cues under SCTE 214-1's `urn:scte:scte35:2014:xml+bin`. Presentation times are from the Period's
 * start (its media start is `periodMediaStart`).
 */
function eventStreamsOf(events: readonly TimedEvent[], pp: PeriodPlan, periodMediaStart: number): EventStream[] {
  const plans = plansOf(pp);
  if (events.length === 0 || plans.length === 0) return [];
  const from = Math.min(...plans.map((p) => p.anchor.startTime / p.anchor.timescale));
  const to = Math.max(...plans.map((p) => {
    const l = p.segments[p.segments.length - 1];
    const end = l ? (l.startTime + l.durationTicks) / l.timescale : p.anchor.startTime / p.anchor.timescale;
    return p.open ? Math.max(end, (p.open.start + p.open.duration) / p.anchor.timescale) : end;
  }));
  const id3: MpdEvent[] = [];
  const scte35: MpdEvent[] = [];
  for (const e of events) {
    if (e.time < from - PERIOD_EPSILON || e.time >= to) continue;
    const presentationTime = Math.max(0, Math.round((e.time - periodMediaStart) * EVENT_TIMESCALE));
    const seconds = e.duration ?? e.plannedDuration;
    const duration = seconds !== undefined ? Math.round(seconds * EVENT_TIMESCALE) : undefined;
    const id = numericEventId(e);
    if (e.kind === 'scte35') scte35.push({ id, presentationTime, ...(duration !== undefined ? { duration } : {}), scte35Binary: Buffer.from(e.splice.section).toString('base64') });
    else id3.push({ id, presentationTime, ...(duration !== undefined ? { duration } : {}), messageData: Buffer.from(buildId3Tag(e.frames)).toString('base64') });
  }
  const streams: EventStream[] = [];
  if (id3.length > 0) streams.push({ schemeIdUri: ID3_SCHEME, value: ID3_SCHEME_VALUE, timescale: EVENT_TIMESCALE, events: id3 });
  if (scte35.length > 0) streams.push({ schemeIdUri: SCTE35_XML_BIN_SCHEME, timescale: EVENT_TIMESCALE, events: scte35 });
  return streams;
}

/** The AdaptationSets of one Period: video (every rendition), audio, and LL's ProducerReferenceTime. */
/**
 * The ContentProtection of a Common Encryption stream's media AdaptationSets (DASH-IF IOP
 * §7.7.1): the 'cbcs' scheme with the default KID; ClearKey with the gateway's licence route when
 * no DRM issues the licences; and one descriptor per DRM system the key provider gave a pssh for
 * (`urn:uuid:SYSTEM`, its `cenc:pssh`, its licence URL).
 */
function contentProtectionsOf(output: StreamOutput, options: MpdOptions): ContentProtection[] | undefined {
  const protection = output.protection;
  if (!protection) return undefined;
  const out: ContentProtection[] = [{ schemeIdUri: MP4_PROTECTION_SCHEME, value: 'cbcs', defaultKid: uuidOf(protection.kid) }];
  // No cenc:pssh for ClearKey: dash.js takes it as ClearKey's init data and fails to create the
  // session; it builds its `keyids` request from the default KID, and the inits carry the pssh.
  if (!protection.licenseUrl) out.push({ schemeIdUri: CLEARKEY_SCHEME, value: 'ClearKey1.0', laUrl: options.licenseUrl });
  for (const box of protection.psshBoxes ?? []) {
    out.push({ schemeIdUri: `urn:uuid:${uuidOf(psshSystemId(box))}`, pssh: Buffer.from(box).toString('base64'), laUrl: protection.licenseUrl });
  }
  return out;
}

function adaptationSetsOf(
  output: StreamOutput,
  pp: PeriodPlan,
  previous: PeriodPlan | undefined,
  periodMediaStart: number,
  ll: boolean,
  options: MpdOptions,
  utcTiming: Descriptor,
): AdaptationSet[] {
  const startTicksOf = (timescale: number): number => Math.round(periodMediaStart * timescale);
  const adaptationSets: AdaptationSet[] = [];
  const protections = contentProtectionsOf(output, options);
  if (pp.videoPlans.length > 0) {
    const video = videoAdaptationSet(pp.videoPlans.map((p) => representationOf(p, periodMediaStart, ll, options)));
    const continuous = previous !== undefined && periodContinuous(previous, previous.videoPlans, pp, pp.videoPlans, startTicksOf);
    const properties = [...(continuous ? [{ schemeIdUri: PERIOD_CONTINUITY, value: previous!.id }] : []), ...colourProperties(pp.videoPlans)];
    const captions = captionAccessibility(pp.videoPlans);
    adaptationSets.push({
      ...video,
      par: aspectRatio(video.maxWidth ?? 0, video.maxHeight ?? 0),
      contentProtections: protections,
      supplementalProperties: properties.length > 0 ? properties : undefined,
      accessibilities: captions,
    });
  }
  for (const audioPlan of pp.audioPlans) {
    const media = audioPlan.track.trackOf(audioPlan.anchor.initId) ?? audioPlan.track.track;
    const channels = media?.kind === 'audio' ? media.channels : 2;
    const before = previous?.audioPlans.find((p) => p.track === audioPlan.track);
    const continuous = before !== undefined && periodContinuous(previous!, [before], pp, [audioPlan], startTicksOf);
    adaptationSets.push({
      ...audioAdaptationSet(channels, representationOf(audioPlan, periodMediaStart, ll, options), audioPlan.set),
      contentProtections: protections,
      supplementalProperties: continuous ? [{ schemeIdUri: PERIOD_CONTINUITY, value: previous!.id }] : undefined,
    });
  }
  const subtitles = subtitlesAdaptationSet(output, pp, periodMediaStart);
  if (subtitles) adaptationSets.push(subtitles);
  if (ll && adaptationSets.length > 0) {
    // §5.12: ties the first AdaptationSet's media time to the wall clock frames arrived at.
    const anchor = (pp.videoPlans[0] ?? pp.audioPlans[0])!.anchor;
    const prft: ProducerReferenceTime = {
      id: 0,
      type: 'encoder',
      wallClockTime: output.clock.epochMs + (anchor.startTime / anchor.timescale + pp.offset) * 1000,
      presentationTime: anchor.startTime,
      utcTiming,
    };
    adaptationSets[0] = { ...adaptationSets[0]!, producerReferenceTimes: [prft] };
  }
  return adaptationSets;
}
