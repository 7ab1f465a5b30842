/**
 * CMAF header (init segment) for one track: ftyp + moov (ISO/IEC 23000-19 §7.3: one track per
 * CMAF track file, no samples in moov, mvex present).
 *
 *   ftyp
 *   moov
 *   ├─ mvhd
 *   ├─ trak
 *   │  ├─ tkhd
 *   │  └─ mdia ─ mdhd, hdlr, minf
 *   │             minf ─ vmhd|smhd, dinf>dref>url , stbl(stsd>avc1|hvc1|av01|vp09|mp4a|Opus|fLaC|ac-3|ec-3,
 *                                                  stts, stsc, stsz, stco[, sgpd, sbgp (Opus)])
 *   │  (Opus: edts>elst between tkhd and mdia, for the pre-skip)
 *   ├─ mvex ─ trex
 *   └─ [pssh …]      protected tracks (cenc.ts): the sample entry is encv/enca > … sinf
 */
import { GatewayError } from '../../core/errors.js';
import type { Track, VideoTrack } from '../../core/media.js';
import {
  brandBox,
  containerBox,
  dinf,
  hdlr,
  mdhd,
  mvhd,
  rawBox,
  smhd,
  stbl,
  tkhd,
  trex,
  visualSampleEntry,
  vmhd,
} from './boxes.js';
import { audioEntryOf } from './audio-entry.js';
import { colourBoxes } from './colour-boxes.js';
import { CLEARKEY_SYSTEM_ID, canProtect, patternOf, protectSampleEntry, pssh, type CencProtection } from './cenc.js';

export interface InitSegmentOptions {
  /** track_ID of the single track; fragments must use the same id. Default 1. */
  readonly trackId?: number;
  /** Common Encryption 'cbcs' of the track (cenc.ts): a protected sample entry and the pssh boxes. */
  readonly protection?: CencProtection;
}

/** Movie timescale: irrelevant for a fragmented live movie (durations are 0), ms by convention. */
const MOVIE_TIMESCALE = 1000;

/**
 * ftyp: 'iso6' covers tfdt v1 and trun v1 (signed offsets); 'cmfc' marks a CMAF track file
 * (ISO/IEC 23000-19 §7.2); 'dash' and 'mp41' keep older DASH clients and MP4 tools content.
 */
export function buildFileType(extraBrands: readonly string[] = []): Uint8Array {
  return brandBox('ftyp', 'iso6', 0, ['iso6', 'cmfc', 'dash', 'mp41', ...extraBrands]);
}

function videoSampleEntry(track: VideoTrack): Uint8Array {
  // Colour boxes follow the configuration box (14496-12 §12.1.3: colr, then the HDR boxes).
  const colour = colourBoxes(track.colour);
  // ISO/IEC 14496-15 §5.4.2.1 (avc1 > avcC) and §8.4.1 (hvc1 > hvcC): the record bytes are
  // the box payload verbatim.
  // AV1-ISOBMFF §2.2/§2.3: av01 > av1C, the record verbatim.
  if (track.codec === 'av1') return visualSampleEntry('av01', track.width, track.height, [rawBox('av1C', track.config), ...colour]);
  // VP Codec ISO Media File Format Binding §2.2: vp09 > vpcC, a FullBox of version 1.
  if (track.codec === 'vp9') return visualSampleEntry('vp09', track.width, track.height, [rawBox('vpcC', Uint8Array.of(1, 0, 0, 0, ...track.config)), ...colour]);
  return track.codec === 'avc'
    ? visualSampleEntry('avc1', track.width, track.height, [rawBox('avcC', track.config), ...colour])
    : visualSampleEntry('hvc1', track.width, track.height, [rawBox('hvcC', track.config), ...colour]);
}

function checkTrack(track: Track, trackId: number): void {
  const bad = (message: string, context: Record<string, unknown>): never => {
    throw new GatewayError('mux.fmp4', message, { kind: track.kind, ...context });
  };
  if (!Number.isInteger(trackId) || trackId < 1 || trackId > 0xffff_fffe) bad('trackId must be in 1..2^32-2', { trackId });
  if (!Number.isInteger(track.timescale) || track.timescale < 1 || track.timescale > 0xffff_ffff) {
    bad('timescale must be a positive 32-bit integer', { timescale: track.timescale });
  }
  if (track.config.length === 0) bad('decoder configuration is empty', {});
  // The Track type already narrows the codec; this guards untyped callers (config, tests).
  const codec: string = track.codec;
  const supported = track.kind === 'video' ? codec === 'avc' || codec === 'hevc' || codec === 'av1' || codec === 'vp9' : ['aac', 'opus', 'flac', 'ac3', 'eac3'].includes(codec);
  if (!supported) bad('unsupported codec', { codec });
}

/** Builds the init segment (ftyp + moov) for a single track. */
export function buildInitSegment(track: Track, opts: InitSegmentOptions = {}): Uint8Array {
  const trackId = opts.trackId ?? 1;
  checkTrack(track, trackId);
  const isVideo = track.kind === 'video';

  const audio = track.kind === 'audio' ? audioEntryOf(track) : undefined;
  const protection = opts.protection;
  if (protection && !canProtect(track)) throw new GatewayError('mux.fmp4', 'codec cannot be protected with cbcs here', { codec: track.codec });
  const clearEntry = track.kind === 'video' ? videoSampleEntry(track) : audio!.sampleEntry;
  const sampleEntry = protection ? protectSampleEntry(clearEntry, track.kind, protection, patternOf(track)) : clearEntry;
  const minf = containerBox('minf', [isVideo ? vmhd() : smhd(), dinf(), stbl(sampleEntry, audio?.sampleGroups)]);
  const mdia = containerBox('mdia', [
    mdhd(track.timescale, 'und'),
    isVideo ? hdlr('vide', 'VideoHandler') : hdlr('soun', 'SoundHandler'),
    minf,
  ]);
  const trackHeader =
    track.kind === 'video'
      ? tkhd(trackId, { width: track.width, height: track.height, volume: 0 })
      : tkhd(trackId, { width: 0, height: 0, volume: 0x0100 });
  // An edit list only where the codec's binding asks for one (Opus: the pre-skip, audio-entry.ts).
  const trak = containerBox('trak', audio?.edit ? [trackHeader, audio.edit, mdia] : [trackHeader, mdia]);
  // ClearKey's pssh lists the KID (W3C Common PSSH, v1), then whatever the key provider gave.
  const psshBoxes = protection ? [pssh(CLEARKEY_SYSTEM_ID, [protection.kid]), ...(protection.psshBoxes ?? [])] : [];
  const moov = containerBox('moov', [mvhd(MOVIE_TIMESCALE, trackId + 1), trak, containerBox('mvex', [trex(trackId)]), ...psshBoxes]);

  const ftyp = buildFileType(audio?.brands);
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp, 0);
  out.set(moov, ftyp.length);
  return out;
}
