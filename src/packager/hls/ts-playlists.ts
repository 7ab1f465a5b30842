/**
 * HLS models for the MPEG-TS renditions (classic HLS for players without fMP4 support):
 *   /APP/KEY/ts.m3u8                 multivariant, muxed variants (video + audio in one TS)
 *   /APP/KEY/REND/ts.m3u8            media playlist
 *   /APP/KEY/REND/ts-S-N.ts          TS segment N of publish session S
 * No LL-HLS tags and no EXT-X-MAP, so protocol version 3 suffices (RFC 8216bis §8: decimal
 * EXTINF needs 3). Serialized by the shared `serialize.ts`.
 */
import type { HlsKey, HlsSegment, HlsVariant, MediaPlaylist, MultivariantPlaylist } from './model.js';
import type { StreamOutput } from '../stream-output.js';
import { textRenditionsOf } from './playlists.js';
import { listedWindow, targetDurationOf } from './window.js';
import { tsSegmentFileName, type TsRenditionOutput, type TsStreamOutput } from './ts-output.js';

export const TS_HLS_VERSION = 3;
export const TS_PLAYLIST_NAME = 'ts.m3u8';
/** Guess for BANDWIDTH before a TS segment has been measured. */
const UNMEASURED_BANDWIDTH = 1_000_000;

export interface TsMediaPlaylistOptions {
  readonly window: number;
  readonly segmentDuration: number;
  /** AES-128: the key URI and IV of the segment cut as CMAF sequence `sequence` (its file name's). */
  readonly keyOf?: (sequence: number) => HlsKey;
}

export function buildTsMediaPlaylist(ts: TsRenditionOutput, options: TsMediaPlaylistOptions): MediaPlaylist {
  const { listed, discontinuitySequence } = listedWindow(ts.segments, options.window, ts.droppedDiscontinuities);
  const segments: HlsSegment[] = listed.map((s, i) => ({
    sequence: s.mediaSequence,
    duration: s.duration,
    uri: tsSegmentFileName(ts.session, s.sequence),
    discontinuity: s.discontinuity && i > 0,
    programDateTime: s.programDateTime,
    key: options.keyOf?.(s.sequence),
  }));
  return {
    version: TS_HLS_VERSION,
    targetDuration: targetDurationOf(ts, options.segmentDuration),
    mediaSequence: listed.length > 0 ? listed[0]!.mediaSequence : 0,
    discontinuitySequence,
    // Each TS segment starts with PAT, PMT and an IDR with its parameter sets.
    independentSegments: true,
    segments,
    endList: ts.ended,
  };
}

/** Muxed variants: CODECS names video and audio together (RFC 8216bis §4.4.6.2). */
export function buildTsMultivariantPlaylist(output: StreamOutput, ts: TsStreamOutput): MultivariantPlaylist {
  const audioTrack = output.audio.track?.kind === 'audio' ? output.audio.track : undefined;
  const variants: HlsVariant[] = [];
  // Captions travel in the video's SEI in TS as well; the subtitles playlist is shared.
  const text = textRenditionsOf(output);
  for (const r of ts.withMedia()) {
    const vt = r.videoTrack;
    const codecs = [vt?.codecString, audioTrack?.codecString].filter((c): c is string => c !== undefined).join(',');
    variants.push({
      uri: `${r.id}/${TS_PLAYLIST_NAME}`,
      bandwidth: r.peakBitrate || (vt ? UNMEASURED_BANDWIDTH : 128_000),
      averageBandwidth: r.averageBitrate > 0 ? r.averageBitrate : undefined,
      codecs,
      resolution: vt ? { width: vt.width, height: vt.height } : undefined,
      frameRate: vt?.fps,
      ...text.groupsOf(r.id),
    });
  }
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  return { version: TS_HLS_VERSION, independentSegments: true, audio: [], closedCaptions: text.closedCaptions, subtitles: text.subtitles, variants };
}
