/**
 * Builds the HLS models for a stream from the packager state. URIs are relative:
 *   /APP/KEY/index.m3u8                 multivariant
 *   /APP/KEY/REND/index.m3u8            media playlist (REND = src, 720p, ..., audio, audio-fra, ...)
 *   /APP/KEY/REND/init-S-N.mp4          CMAF header N of publish session S
 *   /APP/KEY/REND/seg-S-N.m4s           CMAF segment N
 *   /APP/KEY/REND/part-S-N.I.m4s        LL-HLS part I of segment N
 */
import { GatewayError } from '../../core/errors.js';
import { dateRangeAttributes, type TimedEvent } from '../../metadata/timed-event.js';
import { videoRangeOf } from '../../codec/colour.js';
import { SUBTITLES_GROUP_ID, SUBTITLES_RENDITION, vttFileName } from './subtitles.js';
import { listedWindow, targetDurationOf } from './window.js';
import { psshSystemId, uuidOf, type CencProtection } from '../../mux/fmp4/cenc.js';
import type { HlsClosedCaptionsMedia, HlsSampleAesKey, HlsSubtitlesMedia, HlsKey, HlsPart, HlsSegment, MediaPlaylist, MultivariantPlaylist, HlsVariant, HlsRenditionReport } from './model.js';
import { audioGroupOf, languageName, languageTagOf } from '../audio-group.js';
import type { StreamOutput } from '../stream-output.js';
import { initFileName, partFileName, segmentFileName, type PartInfo, type SegmentInfo, type TrackOutput } from '../track-output.js';

/** RFC 8216bis §8: EXT-X-MAP in a playlist needs version 6; LL-HLS delta updates need 9. */
const HLS_VERSION = 9;
/** Parts are listed for this many complete segments before the live edge. */
const SEGMENTS_WITH_PARTS = 3;

/**
 * What a media playlist names its media: the rendition's CMAF files, or (the subtitles rendition)
 * one WebVTT file per segment and per part of the source video, with no EXT-X-MAP.
 */
export interface PlaylistFiles {
  readonly segment: (session: string, sequence: number) => string;
  readonly part: (session: string, sequence: number, index: number) => string;
  readonly init: ((session: string, initId: number) => string) | undefined;
}

export const CMAF_FILES: PlaylistFiles = { segment: segmentFileName, part: partFileName, init: initFileName };
export const WEBVTT_FILES: PlaylistFiles = { segment: (session, sequence) => vttFileName(session, sequence), part: vttFileName, init: undefined };

/** The models made for one naming (CMAF or WebVTT files), kept by what they were made from. */
function perNaming<K extends object, V>(caches: WeakMap<PlaylistFiles, WeakMap<K, V>>, files: PlaylistFiles): WeakMap<K, V> {
  let cache = caches.get(files);
  if (!cache) {
    cache = new WeakMap();
    caches.set(files, cache);
  }
  return cache;
}

/**
 * The EXT-X-PART model of each part, made once per naming: a live playlist lists ~70 parts and
 * is rendered for every part that lands (ten a second per track), and a part's line never
 * changes. Kept by the track's own PartInfo, so it goes when the part leaves the window.
 */
const hlsParts = new WeakMap<PlaylistFiles, WeakMap<PartInfo, HlsPart>>();

function hlsPartOf(files: PlaylistFiles, session: string, sequence: number, p: PartInfo): HlsPart {
  const byPart = perNaming(hlsParts, files);
  let part = byPart.get(p);
  if (!part) {
    part = { duration: p.duration, uri: files.part(session, sequence, p.index), independent: p.independent };
    byPart.set(p, part);
  }
  return part;
}

/**
 * The playlist model of each listed segment, reused while its lines stay the same (the
 * serializer writes a model's lines once, serialize.ts): a segment is listed in a few forms over
 * its life (with its parts near the live edge, then without; with EXT-X-MAP when it is the first
 * listed), so a handful per segment. Only EXT-X-MAP, the discontinuity and the parts vary between
 * forms; the rest is the segment's own, its URI too (the track's session, which a TrackOutput
 * keeps for life, and its number). Segments with an AES-128 key are modelled afresh each time.
 */
const hlsSegments = new WeakMap<PlaylistFiles, WeakMap<SegmentInfo, HlsSegment[]>>();
const FORMS_PER_SEGMENT = 4;

function listedForm(files: PlaylistFiles, s: SegmentInfo, map: string | undefined, discontinuity: boolean, withParts: boolean): HlsSegment | undefined {
  return perNaming(hlsSegments, files)
    .get(s)
    ?.find((f) => f.map === map && f.discontinuity === discontinuity && (f.parts !== undefined) === withParts);
}

function keepForm(files: PlaylistFiles, s: SegmentInfo, model: HlsSegment): void {
  const bySegment = perNaming(hlsSegments, files);
  const forms = bySegment.get(s);
  if (!forms) bySegment.set(s, [model]);
  else if (forms.length < FORMS_PER_SEGMENT) forms.push(model);
}

/** Guess for BANDWIDTH before a segment has been measured. */
const UNMEASURED_BANDWIDTH = 1_000_000;

export interface MediaPlaylistOptions {
  readonly window: number;
  readonly segmentDuration: number;
  readonly partDuration: number;
  readonly lowLatency: boolean;
  /** `_HLS_skip=YES`: a delta update omitting old segments. */
  readonly skip?: boolean;
  /**
   * False while the publisher is gone (reconnect grace): no preload hint, since the next part
   * may come from a new publish after a discontinuity that players cannot foresee.
   */
  readonly publisherPresent?: boolean;
  /**
   * List every segment since the stream's first (TrackOutput.history + the window), not just the
   * window: for GStreamer's legacy hlsdemux (`playbin`), which starts its timeline at 0 at the
   * first listed segment while qtdemux stamps samples from tfdt; with the first segment listed
   * the two agree (http/client-quirks.ts). A valid playlist for anyone, only bigger.
   */
  readonly fromStart?: boolean;
  /**
   * The stream's timed metadata (StreamOutput.timedEvents) and the wall clock of a media time:
   * those within the listed window become EXT-X-DATERANGE tags (RFC 8216bis §4.4.5.1; not
   * skippable in delta updates, as CAN-SKIP-DATERANGES is not offered).
   */
  readonly events?: readonly TimedEvent[];
  readonly wallclockAt?: (mediaSeconds: number) => number;
  /** AES-128: the key URI and IV of segment `sequence` (auth/media-keys.ts); unset: clear. */
  readonly keyOf?: (sequence: number) => HlsKey;
  /** Common Encryption: the SAMPLE-AES key tags (sampleAesKeysOf). */
  readonly sampleAesKeys?: readonly HlsSampleAesKey[];
  /** What the playlist names its media (default CMAF_FILES). */
  readonly files?: PlaylistFiles;
}

/** EXT-X-DATERANGE attribute lists for the events that start in, or last into, the window. */
export function dateRangesOf(events: readonly TimedEvent[], windowStart: number, wallclockAt: (mediaSeconds: number) => number): string[] {
  const lines: string[] = [];
  const outs = new Map<string, TimedEvent>();
  for (const event of events) {
    // §4.4.5.1.1: the SCTE35-IN of a splice repeats its OUT's ID and START-DATE, with the DURATION.
    const out = event.kind === 'scte35' && event.cue === 'in' ? outs.get(event.id) : undefined;
    if (event.kind === 'scte35' && event.cue === 'out') outs.set(event.id, event);
    const start = out ? out.time : event.time;
    const end = start + (out ? event.time - out.time : (event.duration ?? event.plannedDuration ?? 0));
    if (end < windowStart - 0.001) continue;
    const listed = out ? { ...event, time: out.time, duration: Math.max(0, event.time - out.time) } : event;
    try {
      const attrs = dateRangeAttributes(listed, wallclockAt(start));
      lines.push(Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(','));
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      // An event that cannot be written (a value a quoted-string cannot hold) is left out.
    }
  }
  return lines;
}


export { targetDurationOf } from './window.js';

/** PART-TARGET: the configured part duration, or the longest part seen when a frame rate made it longer. */
export function partTargetOf(track: TrackOutput, partDuration: number): number {
  return Math.max(partDuration, Math.ceil(track.maxPartDuration * 1000) / 1000);
}

export function buildMediaPlaylist(track: TrackOutput, options: MediaPlaylistOptions, others: readonly TrackOutput[] = []): MediaPlaylist {
  // From the very first playlist on, so MEDIA-SEQUENCE never goes back when history begins.
  const fromStart = options.fromStart === true;
  const all = fromStart ? [...track.history, ...track.segments] : track.segments;
  const { listed, discontinuitySequence } = listedWindow(all, fromStart ? Infinity : options.window, fromStart ? track.historyDroppedDiscontinuities : track.droppedDiscontinuities);
  const targetDuration = targetDurationOf(track, options.segmentDuration);
  const ll = options.lowLatency && !track.ended;
  const partTarget = partTargetOf(track, options.partDuration);
  const canSkipUntil = targetDuration * 6;
  const files = options.files ?? CMAF_FILES;
  const initOf = (initId: number): string | undefined => files.init?.(track.session, initId);

  const skipped = ll && options.skip ? skippableCount(listed, canSkipUntil) : 0;

  const segments: HlsSegment[] = [];
  let previousInit: number | undefined;
  for (let i = 0; i < listed.length; i++) {
    const s = listed[i]!;
    const withParts = ll && i >= listed.length - SEGMENTS_WITH_PARTS;
    if (i < skipped) {
      previousInit = s.initId;
      continue;
    }
    const key = options.keyOf && !s.gap ? options.keyOf(s.sequence) : undefined;
    const map = s.initId !== previousInit ? initOf(s.initId) : undefined;
    const discontinuity = s.discontinuity && i > 0;
    const known = key ? undefined : listedForm(files, s, map, discontinuity, withParts);
    if (known) {
      segments.push(known);
    } else {
      const model: HlsSegment = {
        sequence: s.sequence,
        duration: s.duration,
        uri: files.segment(track.session, s.sequence),
        map,
        discontinuity,
        gap: s.gap,
        programDateTime: s.programDateTime,
        parts: withParts ? s.parts.map((p) => hlsPartOf(files, track.session, s.sequence, p)) : undefined,
        key,
      };
      if (!key) keepForm(files, s, model);
      segments.push(model);
    }
    previousInit = s.initId;
  }

  let openParts: HlsPart[] | undefined;
  let openDiscontinuity = false;
  let openMap: string | undefined;
  let openKey: HlsKey | undefined;
  let preloadHintUri: string | undefined;
  let renditionReports: HlsRenditionReport[] | undefined;
  if (ll && track.openSequence !== undefined) {
    const open = track.openSequence;
    openParts = track.openParts.map((p) => hlsPartOf(files, track.session, open, p));
    if (openParts.length > 0) {
      openDiscontinuity = track.openDiscontinuity && segments.length > 0;
      if (track.openInitId !== previousInit) openMap = initOf(track.openInitId);
      openKey = options.keyOf?.(open);
    }
    if (options.publisherPresent !== false) preloadHintUri = files.part(track.session, open, track.openParts.length);
    renditionReports = others
      .filter((o) => o !== track && o.lastSegment !== undefined)
      .map((o) => ({ uri: `../${o.id}/index.m3u8`, ...lastPartOf(o) }));
  }

  return {
    version: HLS_VERSION,
    targetDuration,
    mediaSequence: listed.length > 0 ? listed[0]!.sequence : (track.openSequence ?? 0),
    discontinuitySequence,
    independentSegments: true,
    partTarget: ll ? partTarget : undefined,
    serverControl: ll
      ? { canBlockReload: true, partHoldBack: 3 * partTarget, holdBack: 3 * targetDuration, canSkipUntil }
      : undefined,
    skippedSegments: skipped > 0 ? skipped : undefined,
    sampleAesKeys: options.sampleAesKeys,
    dateRanges:
      options.events && options.events.length > 0 && options.wallclockAt && listed.length > 0
        ? dateRangesOf(options.events, listed[0]!.startTime / listed[0]!.timescale, options.wallclockAt)
        : undefined,
    segments,
    openParts,
    openDiscontinuity,
    openMap,
    openKey,
    preloadHintUri,
    renditionReports,
    endList: track.ended,
  };
}

/**
 * The subtitles media playlist: one WebVTT file per segment of the source video track (same
 * numbers, durations, discontinuities and dates), so players align it with the media
 * (RFC 8216bis §6.2.1), and while live one per part of it, with the same blocking reload and
 * preload hint: an LL-HLS player's playhead sits inside the segment in progress, past the last
 * whole one, and loads subtitles only for where it plays (hls.js subtitle-stream-controller).
 */
export function buildSubtitlesPlaylist(video: TrackOutput, options: Pick<MediaPlaylistOptions, 'window' | 'segmentDuration' | 'partDuration' | 'lowLatency' | 'skip' | 'publisherPresent'>): MediaPlaylist {
  return buildMediaPlaylist(video, { ...options, files: WEBVTT_FILES });
}

/** Delta update (RFC 8216bis §6.2.5.1): how many of the oldest segments lie beyond CAN-SKIP-UNTIL from the edge. */
function skippableCount(listed: readonly SegmentInfo[], canSkipUntil: number): number {
  let fromEdge = 0;
  for (let i = listed.length - 1; i >= 0; i--) {
    fromEdge += listed[i]!.duration;
    if (fromEdge > canSkipUntil) return i + 1;
  }
  return 0;
}

/** LAST-MSN / LAST-PART of a track's live edge (RFC 8216bis §4.4.5.4). */
export function lastPartOf(track: TrackOutput): { lastMsn: number; lastPart?: number } {
  if (track.openSequence !== undefined && track.openParts.length > 0) {
    return { lastMsn: track.openSequence, lastPart: track.openParts.length - 1 };
  }
  const last = track.lastSegment;
  if (!last) return { lastMsn: 0 };
  return { lastMsn: last.sequence, lastPart: last.parts.length > 0 ? last.parts.length - 1 : undefined };
}

/** The one audio group every video variant refers to (RFC 8216bis §4.4.6.1.1). */
const AUDIO_GROUP_ID = 'audio';

/**
 * Variants: every video rendition, each referring to the audio group, which lists the stream's
 * audio and its alternative audio renditions (RFC 8216bis §4.4.6.1: the first is DEFAULT=YES).
 * A stream without video has its (first) audio playlist as the one variant.
 */
/** GROUP-ID of the in-band closed captions (CEA-608 in the video SEI, codec/captions.ts). */
const CC_GROUP_ID = 'cc';

/**
 * The text renditions of a stream for a multivariant playlist (CMAF or MPEG-TS): in-band
 * CEA-608 captions (CLOSED-CAPTIONS; a variant whose video lost them, e.g. a transcoded rung,
 * does not claim them, and NONE is not an option while another variant has some, §4.4.6.2) and
 * the onTextData subtitles (SUBTITLES).
 */
export function textRenditionsOf(output: StreamOutput): {
  readonly closedCaptions: HlsClosedCaptionsMedia[];
  readonly subtitles: HlsSubtitlesMedia[] | undefined;
  /** The CLOSED-CAPTIONS and SUBTITLES attributes of the variant of video rendition `id`. */
  readonly groupsOf: (id: string) => Pick<HlsVariant, 'closedCaptions' | 'subtitles'>;
} {
  let field1 = false;
  let field2 = false;
  const withCaptions = new Set<string>();
  for (const video of output.videos.values()) {
    const cc = video.captionsOf(video.currentInitId);
    field1 ||= cc.field1;
    field2 ||= cc.field2;
    if (cc.field1 || cc.field2) withCaptions.add(video.id);
  }
  const language = output.textLanguage;
  return {
    // DEFAULT=NO: captions stay off until the viewer (or their accessibility settings, via
    // AUTOSELECT) turns them on.
    closedCaptions: [
      ...(field1 ? [{ groupId: CC_GROUP_ID, name: 'CC1', instreamId: 'CC1', isDefault: false }] : []),
      ...(field2 ? [{ groupId: CC_GROUP_ID, name: 'CC3', instreamId: 'CC3', isDefault: false }] : []),
    ],
    subtitles:
      language !== undefined
        ? [{ groupId: SUBTITLES_GROUP_ID, name: language === 'und' ? 'Text' : languageName(language), language: languageTagOf(language), uri: `${SUBTITLES_RENDITION}/index.m3u8`, isDefault: false }]
        : undefined,
    groupsOf: (id) => ({
      closedCaptions: withCaptions.has(id) ? CC_GROUP_ID : undefined,
      subtitles: language !== undefined ? SUBTITLES_GROUP_ID : undefined,
    }),
  };
}

/**
 * The SAMPLE-AES key tags of a Common Encryption stream: ClearKey's (KEYFORMAT
 * "org.w3.clearkey", the KID as a data URI, as hls.js reads it) and one per DRM system whose
 * pssh the key provider gave (KEYFORMAT "urn:uuid:SYSTEM", the pssh as a data URI).
 */
export function sampleAesKeysOf(protection: CencProtection | undefined): HlsSampleAesKey[] | undefined {
  if (!protection) return undefined;
  const dataUri = (bytes: Uint8Array): string => `data:text/plain;base64,${Buffer.from(bytes).toString('base64')}`;
  const keyId = `0x${Buffer.from(protection.kid).toString('hex')}`;
  const keys: HlsSampleAesKey[] = [{ uri: dataUri(protection.kid), keyId, keyFormat: 'org.w3.clearkey', keyFormatVersions: '1' }];
  for (const box of protection.psshBoxes ?? []) {
    keys.push({ uri: dataUri(box), keyId, keyFormat: `urn:uuid:${uuidOf(psshSystemId(box))}`, keyFormatVersions: '1' });
  }
  return keys;
}

export function buildMultivariantPlaylist(output: StreamOutput): MultivariantPlaylist {
  const group = audioGroupOf(output);
  // §4.4.6.2: BANDWIDTH covers the variant with whichever rendition of its group plays, and
  // CODECS names every format any of them has.
  const audioPeak = Math.max(0, ...group.map((a) => a.output.peakBitrate));
  const audioAverage = Math.max(0, ...group.map((a) => a.output.averageBitrate));
  const audioCodecs = [...new Set(group.map((a) => a.track.codecString))];
  const variants: HlsVariant[] = [];
  const text = textRenditionsOf(output);
  for (const video of output.videos.values()) {
    const vt = video.track;
    if (!vt || vt.kind !== 'video') continue;
    const peak = (video.peakBitrate || UNMEASURED_BANDWIDTH) + audioPeak;
    const average = video.averageBitrate + audioAverage;
    variants.push({
      uri: `${video.id}/index.m3u8`,
      bandwidth: peak,
      averageBandwidth: average > 0 ? average : undefined,
      codecs: [vt.codecString, ...audioCodecs].join(','),
      resolution: { width: vt.width, height: vt.height },
      frameRate: vt.fps,
      videoRange: videoRangeOf(vt.colour),
      audioGroup: group.length > 0 ? AUDIO_GROUP_ID : undefined,
      ...text.groupsOf(video.id),
    });
  }
  const first = group[0];
  if (variants.length === 0 && first) {
    // Audio-only stream: the first audio playlist is the one variant.
    const audio = first.output;
    variants.push({
      uri: `${audio.id}/index.m3u8`,
      bandwidth: audio.peakBitrate || 128_000,
      averageBandwidth: audio.averageBitrate > 0 ? audio.averageBitrate : undefined,
      codecs: first.track.codecString,
    });
    return { version: HLS_VERSION, independentSegments: true, audio: [], variants };
  }
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  return {
    version: HLS_VERSION,
    independentSegments: true,
    subtitles: text.subtitles,
    closedCaptions: text.closedCaptions,
    sessionKeys: sampleAesKeysOf(output.protection),
    audio: group.map((a) => ({
      groupId: AUDIO_GROUP_ID,
      name: a.name,
      language: a.languageTag,
      uri: `${a.output.id}/index.m3u8`,
      isDefault: a.isDefault,
      channels: a.track.channels,
    })),
    variants,
  };
}
