/**
 * Playlists and MPD of a recording, built from the segments that are on disk (never from the live
 * window): every listed file has been renamed into place, so what a manifest names is complete.
 * Pure: recorded state in, HLS/DASH models and text out.
 *
 * Layout under DIR/APP/KEY/SESSION/ (URIs relative, the same file names the live side serves):
 *
 *   index.m3u8                  multivariant
 *   index.mpd                   static MPD
 *   REND/index.m3u8             media playlist (EVENT while recording, VOD + ENDLIST when done)
 *   REND/init-S-N.mp4           CMAF header N
 *   REND/seg-S-N.m4s            CMAF segment N
 */
import type { Track } from '../core/media.js';
import type { HlsSegment, HlsVariant, MediaPlaylist, MultivariantPlaylist } from '../packager/hls/model.js';
import { serializeMediaPlaylist } from '../packager/hls/serialize.js';
import {
  PROFILE_CMAF,
  PROFILE_ISOFF_LIVE,
  type AdaptationSet,
  type Mpd,
  type Period,
  type Representation,
} from '../packager/dash/model.js';
import { UNMEASURED_AUDIO_BANDWIDTH, UNMEASURED_VIDEO_BANDWIDTH, audioAdaptationSet, representationFor, videoAdaptationSet, timelineOf } from '../packager/dash/mpd.js';
import { initFileName, segmentFileName } from '../packager/track-output.js';

/**
 * RFC 8216bis §8: EXT-X-MAP for fMP4 media needs version 6; 7 is what Apple's authoring spec asks
 * for fMP4. Nothing of versions 8/9 (variables, LL-HLS) is written for a recording.
 */
export const RECORDING_HLS_VERSION = 7;
export const PLAYLIST_NAME = 'index.m3u8';
export const MPD_NAME = 'index.mpd';

/** One segment as it lies on disk. */
export interface RecordedSegment {
  readonly sequence: number;
  /** Decode time of the first sample, track timescale. */
  readonly startTime: number;
  readonly timescale: number;
  readonly durationTicks: number;
  readonly initId: number;
  readonly discontinuity: boolean;
  readonly byteLength: number;
  /** ms since epoch of the first sample (EXT-X-PROGRAM-DATE-TIME). */
  readonly programDateTime: number;
}

/** One rendition of a recording: what it is and what of it is on disk, oldest first. */
export interface RecordedTrack {
  /** Rendition id: the directory name (`src`, `720p`, `audio`). */
  readonly id: string;
  readonly session: string;
  readonly media: Track;
  readonly segments: readonly RecordedSegment[];
}

export type RecordingPlaylistType = 'EVENT' | 'VOD';

function seconds(s: RecordedSegment): number {
  return s.durationTicks / s.timescale;
}

/** RFC 8216bis §4.4.3.1: every EXTINF rounded to the nearest integer must not exceed it. */
export function recordedTargetDuration(track: RecordedTrack, segmentDuration: number): number {
  let longest = 0;
  for (const s of track.segments) longest = Math.max(longest, seconds(s));
  return Math.max(1, Math.ceil(segmentDuration), Math.round(longest));
}

export function buildRecordedMediaPlaylist(track: RecordedTrack, options: { segmentDuration: number; ended: boolean }): MediaPlaylist {
  const segments: HlsSegment[] = [];
  let previousInit: number | undefined;
  track.segments.forEach((s, i) => {
    segments.push({
      sequence: s.sequence,
      duration: seconds(s),
      uri: segmentFileName(track.session, s.sequence),
      map: s.initId !== previousInit ? initFileName(track.session, s.initId) : undefined,
      // A new init (sequence header change) or a publisher reconnect: RFC 8216bis §4.4.4.3.
      discontinuity: i > 0 && (s.discontinuity || s.initId !== previousInit),
      programDateTime: s.programDateTime,
    });
    previousInit = s.initId;
  });
  return {
    version: RECORDING_HLS_VERSION,
    targetDuration: recordedTargetDuration(track, options.segmentDuration),
    mediaSequence: track.segments[0]?.sequence ?? 0,
    discontinuitySequence: 0,
    independentSegments: true,
    segments,
    endList: options.ended,
  };
}

/**
 * Media playlist text with EXT-X-PLAYLIST-TYPE (RFC 8216bis §4.4.3.5), which the shared model does
 * not carry: the line goes right after EXT-X-VERSION. EVENT lets players seek back to the start
 * while recording; VOD tells them nothing will change.
 */
export function serializeRecordedMediaPlaylist(playlist: MediaPlaylist, type: RecordingPlaylistType): string {
  const lines = serializeMediaPlaylist(playlist).split('\n');
  const version = lines.findIndex((l) => l.startsWith('#EXT-X-VERSION:'));
  lines.splice(version + 1, 0, `#EXT-X-PLAYLIST-TYPE:${type}`);
  return lines.join('\n');
}

/** Bits per second over a rendition's segments: [peak, average]. Short tails (< 0.5 s) don't set the peak. */
export function recordedBitrates(track: RecordedTrack): { peak: number; average: number } {
  let peak = 0;
  let bits = 0;
  let total = 0;
  for (const s of track.segments) {
    const d = seconds(s);
    if (d <= 0) continue;
    const b = s.byteLength * 8;
    if (d >= 0.5) peak = Math.max(peak, b / d);
    bits += b;
    total += d;
  }
  const average = total > 0 ? bits / total : 0;
  return { peak: peak || average, average };
}

/** Variants: every recorded video rendition (with the audio group when audio was recorded), or audio alone. */
export function buildRecordedMultivariant(tracks: readonly RecordedTrack[]): MultivariantPlaylist {
  const listed = tracks.filter((t) => t.segments.length > 0);
  const audio = listed.find((t) => t.media.kind === 'audio');
  const audioMedia = audio?.media.kind === 'audio' ? audio.media : undefined;
  const audioRate = audio ? recordedBitrates(audio) : { peak: 0, average: 0 };
  const variants: HlsVariant[] = [];
  for (const t of listed) {
    if (t.media.kind !== 'video') continue;
    const rate = recordedBitrates(t);
    const average = rate.average + audioRate.average;
    variants.push({
      uri: `${t.id}/${PLAYLIST_NAME}`,
      bandwidth: (rate.peak || UNMEASURED_VIDEO_BANDWIDTH) + audioRate.peak,
      averageBandwidth: average > 0 ? average : undefined,
      codecs: audioMedia ? `${t.media.codecString},${audioMedia.codecString}` : t.media.codecString,
      resolution: { width: t.media.width, height: t.media.height },
      frameRate: t.media.fps,
      audioGroup: audio ? 'audio' : undefined,
    });
  }
  if (variants.length === 0 && audio && audioMedia) {
    variants.push({
      uri: `${audio.id}/${PLAYLIST_NAME}`,
      bandwidth: audioRate.peak || UNMEASURED_AUDIO_BANDWIDTH,
      averageBandwidth: audioRate.average > 0 ? audioRate.average : undefined,
      codecs: audioMedia.codecString,
    });
    return { version: RECORDING_HLS_VERSION, independentSegments: true, audio: [], variants };
  }
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  return {
    version: RECORDING_HLS_VERSION,
    independentSegments: true,
    audio: audio && audioMedia ? [{ groupId: 'audio', name: 'audio', uri: `${audio.id}/${PLAYLIST_NAME}`, isDefault: true, channels: audioMedia.channels }] : [],
    variants,
  };
}

/**
 * Sequence numbers where a new Period starts: a rendition's init changes or a discontinuity
 * (publisher reconnect). Renditions share sequence numbers (one chunking rule), so one cut list
 * serves them all. A SegmentTemplate names one init, hence one Period per init run
 * (ISO/IEC 23009-1 §5.3.2: a new Period for a change of Initialization Segment).
 */
export function periodBoundaries(tracks: readonly RecordedTrack[]): number[] {
  const cuts = new Set<number>();
  for (const t of tracks) {
    for (let i = 1; i < t.segments.length; i++) {
      const s = t.segments[i]!;
      if (s.discontinuity || s.initId !== t.segments[i - 1]!.initId) cuts.add(s.sequence);
    }
  }
  return [...cuts].sort((a, b) => a - b);
}

function startSeconds(s: RecordedSegment): number {
  return s.startTime / s.timescale;
}

function endSeconds(s: RecordedSegment): number {
  return (s.startTime + s.durationTicks) / s.timescale;
}

function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function representationOf(track: RecordedTrack, segments: readonly RecordedSegment[], periodMediaStart: number): Representation {
  const first = segments[0]!;
  const rate = recordedBitrates({ ...track, segments });
  const segmentTemplate = {
    timescale: first.timescale,
    media: `$RepresentationID$/seg-${track.session}-$Number$.m4s`,
    initialization: `$RepresentationID$/${initFileName(track.session, first.initId)}`,
    startNumber: first.sequence,
    // §5.3.9.2: the media time that maps to the start of the Period.
    presentationTimeOffset: Math.round(periodMediaStart * first.timescale),
    timeline: timelineOf(segments.map((s) => ({ start: s.startTime, duration: s.durationTicks }))),
  };
  return representationFor(track.id, track.media, rate.peak, segmentTemplate);
}

/** A static MPD (§5.3.1.2 type="static") over everything recorded: playable while and after recording. */
export function buildRecordedMpd(tracks: readonly RecordedTrack[], options: { segmentDuration: number; now: number }): Mpd {
  const listed = tracks.filter((t) => t.segments.length > 0);
  const all = listed.flatMap((t) => t.segments);
  const presentationStart = all.length > 0 ? Math.min(...all.map(startSeconds)) : 0;
  const presentationEnd = all.length > 0 ? Math.max(...all.map(endSeconds)) : 0;
  const longest = all.length > 0 ? Math.max(...all.map(seconds)) : 0;

  const cuts = periodBoundaries(listed);
  const ranges: { from: number; to: number }[] = [];
  let from = -Infinity;
  for (const c of cuts) {
    ranges.push({ from, to: c });
    from = c;
  }
  ranges.push({ from, to: Infinity });

  const periods: Period[] = [];
  for (const range of ranges) {
    const slices = listed
      .map((t) => ({ track: t, segments: t.segments.filter((s) => s.sequence >= range.from && s.sequence < range.to) }))
      .filter((x) => x.segments.length > 0);
    if (slices.length === 0) continue;
    const periodMediaStart = Math.min(...slices.map((x) => startSeconds(x.segments[0]!)));
    const videos = slices.filter((x) => x.track.media.kind === 'video');
    const audio = slices.find((x) => x.track.media.kind === 'audio');
    const adaptationSets: AdaptationSet[] = [];
    if (videos.length > 0) {
      adaptationSets.push(videoAdaptationSet(videos.map((x) => representationOf(x.track, x.segments, periodMediaStart))));
    }
    if (audio && audio.track.media.kind === 'audio') {
      adaptationSets.push(audioAdaptationSet(audio.track.media.channels, representationOf(audio.track, audio.segments, periodMediaStart)));
    }
    periods.push({ id: String(periods.length), start: roundMs(periodMediaStart - presentationStart), adaptationSets });
  }

  return {
    type: 'static',
    profiles: [PROFILE_ISOFF_LIVE, PROFILE_CMAF],
    publishTime: options.now,
    maxSegmentDuration: Math.ceil(Math.max(options.segmentDuration, longest) * 1000 - 1e-6) / 1000,
    minBufferTime: options.segmentDuration,
    mediaPresentationDuration: roundMs(Math.max(0, presentationEnd - presentationStart)),
    periods,
  };
}
