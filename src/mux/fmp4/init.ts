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
 *   │             minf ─ vmhd|smhd, dinf>dref>url , stbl(stsd>avc1|hvc1|mp4a, stts, stsc, stsz, stco)
 *   └─ mvex ─ trex
 */
import { GatewayError } from '../../core/errors.js';
import type { AudioTrack, Track, VideoTrack } from '../../core/media.js';
import {
  brandBox,
  containerBox,
  dinf,
  esds,
  hdlr,
  mdhd,
  mp4aSampleEntry,
  mvhd,
  rawBox,
  smhd,
  stbl,
  tkhd,
  trex,
  visualSampleEntry,
  vmhd,
} from './boxes.js';

export interface InitSegmentOptions {
  /** track_ID of the single track; fragments must use the same id. Default 1. */
  readonly trackId?: number;
}

/** Movie timescale: irrelevant for a fragmented live movie (durations are 0), ms by convention. */
const MOVIE_TIMESCALE = 1000;

/**
 * ftyp: 'iso6' covers tfdt v1 and trun v1 (signed offsets); 'cmfc' marks a CMAF track file
 * (ISO/IEC 23000-19 §7.2); 'dash' and 'mp41' keep older DASH clients and MP4 tools content.
 */
export function buildFileType(): Uint8Array {
  return brandBox('ftyp', 'iso6', 0, ['iso6', 'cmfc', 'dash', 'mp41']);
}

function videoSampleEntry(track: VideoTrack): Uint8Array {
  // ISO/IEC 14496-15 §5.4.2.1 (avc1 > avcC) and §8.4.1 (hvc1 > hvcC): the record bytes are
  // the box payload verbatim.
  // AV1-ISOBMFF §2.2/§2.3: av01 > av1C, the record verbatim.
  if (track.codec === 'av1') return visualSampleEntry('av01', track.width, track.height, [rawBox('av1C', track.config)]);
  // VP Codec ISO Media File Format Binding §2.2: vp09 > vpcC, a FullBox of version 1.
  if (track.codec === 'vp9') return visualSampleEntry('vp09', track.width, track.height, [rawBox('vpcC', Uint8Array.of(1, 0, 0, 0, ...track.config))]);
  return track.codec === 'avc'
    ? visualSampleEntry('avc1', track.width, track.height, [rawBox('avcC', track.config)])
    : visualSampleEntry('hvc1', track.width, track.height, [rawBox('hvcC', track.config)]);
}

function audioSampleEntry(track: AudioTrack): Uint8Array {
  return mp4aSampleEntry(track.channels, track.sampleRate, esds(track.config));
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
  const supported = track.kind === 'video' ? codec === 'avc' || codec === 'hevc' || codec === 'av1' || codec === 'vp9' : codec === 'aac';
  if (!supported) bad('unsupported codec', { codec });
}

/** Builds the init segment (ftyp + moov) for a single track. */
export function buildInitSegment(track: Track, opts: InitSegmentOptions = {}): Uint8Array {
  const trackId = opts.trackId ?? 1;
  checkTrack(track, trackId);
  const isVideo = track.kind === 'video';

  const sampleEntry = track.kind === 'video' ? videoSampleEntry(track) : audioSampleEntry(track);
  const minf = containerBox('minf', [isVideo ? vmhd() : smhd(), dinf(), stbl(sampleEntry)]);
  const mdia = containerBox('mdia', [
    mdhd(track.timescale, 'und'),
    isVideo ? hdlr('vide', 'VideoHandler') : hdlr('soun', 'SoundHandler'),
    minf,
  ]);
  const trackHeader =
    track.kind === 'video'
      ? tkhd(trackId, { width: track.width, height: track.height, volume: 0 })
      : tkhd(trackId, { width: 0, height: 0, volume: 0x0100 });
  const trak = containerBox('trak', [trackHeader, mdia]);
  const moov = containerBox('moov', [mvhd(MOVIE_TIMESCALE, trackId + 1), trak, containerBox('mvex', [trex(trackId)])]);

  const ftyp = buildFileType();
  const out = new Uint8Array(ftyp.length + moov.length);
  out.set(ftyp, 0);
  out.set(moov, ftyp.length);
  return out;
}
