/**
 * Builds the MPD model for a stream from the packager state: the very same CMAF files the HLS
 * playlists name, nothing muxed twice. URLs are relative to the MPD at /APP/KEY/index.mpd:
 *
 *   $RepresentationID$/init-S-N.mp4    CMAF header N of publish session S (RepresentationID = rendition)
 *   $RepresentationID$/seg-S-$Number$.m4s
 *
 * Timing model (ISO/IEC 23009-1 §5.3.9.6, DASH-IF IOP "SegmentTimeline"): one Period starting
 * at 0, presentationTimeOffset 0, availabilityStartTime = wall clock of media time 0 (the
 * stream's MediaClock), so a segment's `t` is its decode time in the track timescale and
 * presentation time == media time. Each Representation carries its own SegmentTemplate because
 * renditions have their own init ids and (for audio) their own timescale.
 *
 * Configuration changes: when a track's init id changes inside the window, only the newest run
 * of segments sharing one init is listed (no multi-Period output); the older ones leave the MPD
 * early but stay fetchable for the HLS side and late requests.
 *
 * Low latency (LL-DASH, DASH-IF IOP LL "Segment Timeline mode"): the segment still being written
 * is announced as the last S element with a *predicted* duration (never shorter than the last
 * segment, the target, or what it already holds: a long guess only delays its announced
 * availability, a short one would make players re-request it). `availabilityTimeOffset` =
 * segment - part duration makes it available once its first chunk exists; the HTTP side then
 * streams it with chunked transfer (http/dash-routes.ts). The next MPD update carries the exact d.
 */
import type { Track } from '../../core/media.js';
import type { StreamOutput } from '../stream-output.js';
import { initFileName, type SegmentInfo, type TrackOutput } from '../track-output.js';
import {
  CICP_CHANNEL_CONFIGURATION,
  DASH_CHANNEL_COUNT,
  PROFILE_CMAF,
  PROFILE_ISOFF_LIVE,
  ROLE_SCHEME,
  UTC_HTTP_ISO,
  type AdaptationSet,
  type Descriptor,
  type Mpd,
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
}

/** Guesses for @bandwidth before a segment has been measured. */
export const UNMEASURED_VIDEO_BANDWIDTH = 1_000_000;
export const UNMEASURED_AUDIO_BANDWIDTH = 128_000;

const PLAYBACK_RATE = { min: 0.96, max: 1.04 } as const;
const SEGMENT_TEMPLATE_MEDIA = (session: string): string => `$RepresentationID$/seg-${session}-$Number$.m4s`;

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

/** ISO/IEC 23001-8 ChannelConfiguration for AAC channel counts; a plain count where CICP has none. */
export function channelConfigurationOf(channels: number): Descriptor {
  // CICP 1..6 equal the channel count for mono .. 5.1; 7.1 (8 channels) is index 12.
  if (channels >= 1 && channels <= 6) return { schemeIdUri: CICP_CHANNEL_CONFIGURATION, value: String(channels) };
  if (channels === 8) return { schemeIdUri: CICP_CHANNEL_CONFIGURATION, value: '12' };
  return { schemeIdUri: DASH_CHANNEL_COUNT, value: String(channels) };
}

/** LL-DASH latency envelope (Annex K.4), ms: a few chunks behind the live edge, at least 1.5 s. */
export function latencyTargets(segmentDuration: number, partDuration: number): { target: number; min: number; max: number } {
  const target = Math.max(1500, Math.round(partDuration * 6 * 1000));
  const min = Math.max(Math.round(partDuration * 2 * 1000), Math.round(target / 2));
  const max = target + Math.round(segmentDuration * 2 * 1000);
  return { target, min, max };
}

/** The last `window` segments, then only the newest run that shares one init (see module doc). */
export function listedSegments(track: TrackOutput, window: number): SegmentInfo[] {
  const all = track.segments;
  const listed = all.slice(Math.max(0, all.length - window));
  const last = listed[listed.length - 1];
  if (!last) return listed;
  let from = listed.length - 1;
  while (from > 0 && listed[from - 1]!.initId === last.initId) from--;
  return listed.slice(from);
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

interface TrackPlan {
  readonly track: TrackOutput;
  readonly segments: SegmentInfo[];
  readonly open: TimeSpan | undefined;
}

function planTrack(track: TrackOutput, options: MpdOptions, live: boolean): TrackPlan | undefined {
  if (!track.track) return undefined;
  const segments = listedSegments(track, options.window);
  const last = segments[segments.length - 1];
  if (!last) return undefined;
  const open = live && options.lowLatency ? openSegmentSpan(track, last, options.segmentDuration, options.partDuration) : undefined;
  return { track, segments, open };
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
  const { track, segments, open } = plan;
  const first = segments[0]!;
  const media = track.track!;
  const spans: TimeSpan[] = segments.map((s) => ({ start: s.startTime, duration: s.durationTicks }));
  if (open) spans.push(open);
  const segmentTemplate = {
    timescale: first.timescale,
    media: SEGMENT_TEMPLATE_MEDIA(track.session),
    initialization: `$RepresentationID$/${initFileName(track.session, first.initId)}`,
    startNumber: first.sequence,
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

export function buildMpd(output: StreamOutput, options: MpdOptions): Mpd {
  const now = options.now ?? Date.now();
  const allTracks = [...output.videos.values(), output.audio].filter((t) => t.track !== undefined);
  const live = !output.ended && !(allTracks.length > 0 && allTracks.every((t) => t.ended));
  const ll = live && options.lowLatency;

  const videoPlans: TrackPlan[] = [];
  for (const v of output.videos.values()) {
    if (v.track?.kind !== 'video') continue;
    const plan = planTrack(v, options, live);
    if (plan) videoPlans.push(plan);
  }
  const audioPlan = output.audio.track?.kind === 'audio' ? planTrack(output.audio, options, live) : undefined;
  const plans = audioPlan ? [...videoPlans, audioPlan] : videoPlans;

  // Static (ended): the presentation starts at the earliest listed segment, so Period@start 0 and
  // each presentationTimeOffset point there (§5.3.9.2); dynamic keeps the media-time mapping.
  let presentationStart = 0;
  let presentationEnd = 0;
  if (plans.length > 0) {
    presentationStart = Math.min(...plans.map((p) => p.segments[0]!.startTime / p.segments[0]!.timescale));
    presentationEnd = Math.max(
      ...plans.map((p) => {
        const l = p.segments[p.segments.length - 1]!;
        return (l.startTime + l.durationTicks) / l.timescale;
      }),
    );
  }
  const pto = live ? 0 : presentationStart;

  const utcTiming: Descriptor = { schemeIdUri: UTC_HTTP_ISO, value: options.utcTimingUrl };
  const adaptationSets: AdaptationSet[] = [];
  if (videoPlans.length > 0) {
    const representations = videoPlans.map((p) => representationOf(p, pto, ll, options));
    const maxWidth = Math.max(...representations.map((r) => r.width ?? 0));
    const maxHeight = Math.max(...representations.map((r) => r.height ?? 0));
    adaptationSets.push({
      id: 0,
      contentType: 'video',
      mimeType: 'video/mp4',
      segmentAlignment: true,
      startWithSap: 1,
      maxWidth,
      maxHeight,
      par: aspectRatio(maxWidth, maxHeight),
      roles: [{ schemeIdUri: ROLE_SCHEME, value: 'main' }],
      representations,
    });
  }
  if (audioPlan) {
    const media = audioPlan.track.track;
    const channels = media?.kind === 'audio' ? media.channels : 2;
    adaptationSets.push({
      id: 1,
      contentType: 'audio',
      mimeType: 'audio/mp4',
      lang: 'und',
      segmentAlignment: true,
      startWithSap: 1,
      audioChannelConfiguration: [channelConfigurationOf(channels)],
      roles: [{ schemeIdUri: ROLE_SCHEME, value: 'main' }],
      representations: [representationOf(audioPlan, pto, ll, options)],
    });
  }

  let serviceDescriptions: ServiceDescription[] | undefined;
  let suggestedPresentationDelay = 3 * options.segmentDuration;
  let minBufferTime = options.segmentDuration;
  if (ll && adaptationSets.length > 0) {
    const latency = latencyTargets(options.segmentDuration, options.partDuration);
    serviceDescriptions = [{ id: 0, latency: { ...latency, referenceId: 0 }, playbackRate: PLAYBACK_RATE }];
    suggestedPresentationDelay = latency.target / 1000;
    minBufferTime = Math.min(options.segmentDuration, latency.target / 1000);
    // §5.12: ties the first AdaptationSet's media time to the wall clock frames arrived at.
    const anchor = (videoPlans[0] ?? audioPlan)!.segments[0]!;
    const prft: ProducerReferenceTime = {
      id: 0,
      type: 'encoder',
      wallClockTime: output.clock.wallclockAt(anchor.startTime, anchor.timescale),
      presentationTime: anchor.startTime,
      utcTiming,
    };
    adaptationSets[0] = { ...adaptationSets[0]!, producerReferenceTimes: [prft] };
  }

  const maxSegmentDuration = ceilMs(Math.max(options.segmentDuration, ...plans.map((p) => p.track.maxSegmentDuration), ...plans.map((p) => (p.open ? p.open.duration / p.segments[0]!.timescale : 0))));
  const period = { id: '0', start: 0, adaptationSets };
  const profiles = [PROFILE_ISOFF_LIVE, PROFILE_CMAF];

  if (!live) {
    return {
      type: 'static',
      profiles,
      publishTime: now,
      maxSegmentDuration,
      minBufferTime,
      mediaPresentationDuration: roundMs(Math.max(0, presentationEnd - presentationStart)),
      periods: [period],
    };
  }
  return {
    type: 'dynamic',
    profiles,
    availabilityStartTime: output.clock.epochMs,
    publishTime: now,
    minimumUpdatePeriod: options.segmentDuration,
    timeShiftBufferDepth: options.window * options.segmentDuration,
    suggestedPresentationDelay,
    maxSegmentDuration,
    minBufferTime,
    serviceDescriptions,
    periods: [period],
    utcTimings: [utcTiming],
  };
}
