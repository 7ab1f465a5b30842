/**
 * FLV tag bodies = RTMP audio (type 8) and video (type 9) message payloads, legacy and enhanced:
 * Adobe FLV spec v10.1 §E.4.2.1 (AUDIODATA / AACAUDIODATA), §E.4.3.1 (VIDEODATA / AVCVIDEOPACKET),
 * and Enhanced RTMP v1/v2 (veovera/enhanced-rtmp: ExVideoTagHeader, ExAudioTagHeader).
 *
 * Legacy video:   FrameType(4) CodecID(4) | AVCPacketType(8) CompositionTime(SI24) | data
 * Enhanced video: IsExHeader(1)=1 FrameType(3) PacketType(4) | [ModEx...] | FourCC(32)
 *                 | [CompositionTime(SI24) for CodedFrames] | data
 * Legacy audio:   SoundFormat(4) SoundRate(2) SoundSize(1) SoundType(1) | AACPacketType(8) | data
 * Enhanced audio: SoundFormat(4)=9 PacketType(4) | [ModEx...] | FourCC(32) | data
 */
import { readI24, readU16, readU24, writeU24 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';
import { colorInfoFromMetadataValues, type ColourInfo } from '../codec/colour.js';
import { decodeAmf0, encodeAmf0, type Amf0Object } from './amf0.js';
import { VIDEO_TIMESCALE, type AudioCodec, type AudioTrack, type Frame, type VideoTrack } from '../core/media.js';

export type FlvVideoCodec = 'avc' | 'hevc' | 'av1' | 'vp9';

/** One track's packet of a multitrack video message (E-RTMP v2): track 0 is the main track. */
export interface VideoTrackPacket {
  readonly trackId: number;
  readonly body: SingleVideoTagBody;
}

export type VideoTagBody = SingleVideoTagBody | { kind: 'multitrack'; tracks: VideoTrackPacket[] };

export type SingleVideoTagBody =
  | { kind: 'sequence-header'; codec: FlvVideoCodec; config: Uint8Array }
  | {
      kind: 'frame';
      codec: FlvVideoCodec;
      /** FrameType 1 (keyframe). Callers should also look at the NAL types. */
      key: boolean;
      /** Milliseconds, signed 24-bit; 0 for CodedFramesX. */
      compositionTime: number;
      data: Uint8Array;
    }
  | { kind: 'end-of-sequence'; codec: FlvVideoCodec }
  /** E-RTMP VideoPacketType.Metadata with a colorInfo pair: undefined resets the description. */
  | { kind: 'colour-info'; codec: FlvVideoCodec; colour: ColourInfo | undefined }
  | { kind: 'ignored'; reason: string }
  /** A codec the gateway does not carry: legacy CodecID number or enhanced FourCC. */
  | { kind: 'unsupported'; codecId: number | string };

/** The audio codecs carried: AAC (legacy, or E-RTMP `mp4a`) and the E-RTMP v2 FourCCs `Opus`, `fLaC`, `ac-3`, `ec-3`. */
export type FlvAudioCodec = AudioCodec;

/** One track's packet of a multitrack audio message (E-RTMP v2): track 0 is the default track. */
export interface AudioTrackPacket {
  readonly trackId: number;
  readonly body: SingleAudioTagBody;
}

export type AudioTagBody = SingleAudioTagBody | { kind: 'multitrack'; tracks: AudioTrackPacket[] };

export type SingleAudioTagBody =
  /** AAC: AudioSpecificConfig; Opus: OpusHead (may be empty, E-RTMP v2); FLAC: `fLaC` + STREAMINFO block (or the bare STREAMINFO). */
  | { kind: 'sequence-header'; codec: FlvAudioCodec; config: Uint8Array }
  | { kind: 'frame'; codec: FlvAudioCodec; data: Uint8Array }
  /** E-RTMP v2 AudioPacketType.MultichannelConfig: the channel count (the order is not needed). */
  | { kind: 'multichannel-config'; codec: FlvAudioCodec; channels: number }
  | { kind: 'ignored'; reason: string }
  /** SoundFormat (legacy) or FourCC (enhanced) of an audio codec the gateway does not carry. */
  | { kind: 'unsupported'; soundFormat: number | string };

/** FLV §E.4.3.1 FrameType. */
const FRAME_TYPE_KEY = 1;
const FRAME_TYPE_COMMAND = 5;
/** FLV §E.4.3.1 CodecID; 12 is the de facto (non-Adobe) HEVC id used by many Chinese CDNs/OBS forks. */
const CODEC_ID_AVC = 7;
const CODEC_ID_HEVC_LEGACY = 12;
/** AVCPacketType. */
const AVC_SEQUENCE_HEADER = 0;
const AVC_NALU = 1;
const AVC_END_OF_SEQUENCE = 2;

/** Enhanced RTMP VideoPacketType. */
const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  MPEG2TSSequenceStart: 5,
  Multitrack: 6,
  ModEx: 7,
} as const;

/** Enhanced RTMP v2 AvMultitrackType (the high nibble after a Multitrack packet type). */
const AvMultitrackType = { OneTrack: 0, ManyTracks: 1, ManyTracksManyCodecs: 2 } as const;

/** Enhanced RTMP AudioPacketType. */
const AudioPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

/** E-RTMP v2 AudioFourCc: the codecs carried (AudioPacketType bodies as E-RTMP v2 "ExAudioTagBody" defines them). */
const AUDIO_FOURCC: Readonly<Record<string, FlvAudioCodec>> = { mp4a: 'aac', Opus: 'opus', fLaC: 'flac', 'ac-3': 'ac3', 'ec-3': 'eac3' };

const SOUND_FORMAT_AAC = 10;
const SOUND_FORMAT_EX_HEADER = 9;
const AAC_SEQUENCE_HEADER = 0;
const AAC_RAW = 1;

const VIDEO_FOURCC: Readonly<Record<string, FlvVideoCodec>> = { avc1: 'avc', hvc1: 'hevc', av01: 'av1', vp09: 'vp9' };

function truncated(what: string, offset: number, length: number): GatewayError {
  return new GatewayError('flv', `${what} truncated`, { offset, length });
}

function fourCc(p: Uint8Array, off: number): string {
  return String.fromCharCode(p[off]!, p[off + 1]!, p[off + 2]!, p[off + 3]!);
}

/**
 * Enhanced RTMP v2 ModEx prelude: `while (packetType == ModEx) { size = UI8 + 1; if (size == 256)
 * size = UI16 + 1; data[size]; modExType(4) packetType(4) }`. The only defined modifier
 * (TimestampOffsetNano) refines timing below a millisecond, which a 90 kHz clock can ignore.
 * Returns the real packet type and the offset after the prelude.
 */
function skipModEx(p: Uint8Array, off: number, packetType: number, what: string): { packetType: number; offset: number } {
  // ModEx is 7 in both VideoPacketType and AudioPacketType.
  while (packetType === VideoPacketType.ModEx) {
    if (off + 1 > p.byteLength) throw truncated(`${what} ModEx size`, off, p.byteLength);
    let size = p[off]! + 1;
    off += 1;
    if (size === 256) {
      if (off + 2 > p.byteLength) throw truncated(`${what} ModEx size`, off, p.byteLength);
      size = readU16(p, off) + 1;
      off += 2;
    }
    if (off + size + 1 > p.byteLength) throw truncated(`${what} ModEx data`, off, p.byteLength);
    off += size;
    packetType = p[off]! & 0x0f;
    off += 1;
  }
  return { packetType, offset: off };
}

export function parseVideoTagBody(payload: Uint8Array): VideoTagBody {
  if (payload.byteLength < 1) throw truncated('video tag', 0, 0);
  const b0 = payload[0]!;
  if (b0 & 0x80) return parseExVideoTagBody(payload);
  const frameType = b0 >>> 4;
  const codecId = b0 & 0x0f;
  if (frameType === FRAME_TYPE_COMMAND) return { kind: 'ignored', reason: 'video info/command frame' };
  if (codecId !== CODEC_ID_AVC && codecId !== CODEC_ID_HEVC_LEGACY) return { kind: 'unsupported', codecId };
  const codec: FlvVideoCodec = codecId === CODEC_ID_AVC ? 'avc' : 'hevc';
  if (payload.byteLength < 5) throw truncated('AVCVIDEOPACKET header', payload.byteLength, payload.byteLength);
  const packetType = payload[1]!;
  switch (packetType) {
    case AVC_SEQUENCE_HEADER:
      return { kind: 'sequence-header', codec, config: payload.subarray(5) };
    case AVC_NALU:
      return { kind: 'frame', codec, key: frameType === FRAME_TYPE_KEY, compositionTime: readI24(payload, 2), data: payload.subarray(5) };
    case AVC_END_OF_SEQUENCE:
      return { kind: 'end-of-sequence', codec };
    default:
      return { kind: 'ignored', reason: `unknown AVCPacketType ${packetType}` };
  }
}

function parseExVideoTagBody(p: Uint8Array): VideoTagBody {
  const frameType = (p[0]! >>> 4) & 0x07;
  const prelude = skipModEx(p, 1, p[0]! & 0x0f, 'enhanced video');
  const packetType = prelude.packetType;
  let off = prelude.offset;
  if (frameType === FRAME_TYPE_COMMAND && packetType !== VideoPacketType.Metadata) {
    return { kind: 'ignored', reason: 'video command frame' };
  }
  if (packetType === VideoPacketType.Multitrack) return parseMultitrackVideo(p, off, frameType);
  if (off + 4 > p.byteLength) throw truncated('enhanced video FourCC', off, p.byteLength);
  const fourcc = fourCc(p, off);
  return exVideoPacket(p.subarray(off + 4), packetType, frameType, fourcc);
}

/**
 * Enhanced RTMP v2 multitrack video: `AvMultitrackType(4) PacketType(4) [FourCC]` then, per
 * track, `[FourCC (ManyTracksManyCodecs)] TrackId(UI8) [Size(UI24) (not OneTrack)] body`. The
 * frame type of the message applies to every track in it.
 */
function parseMultitrackVideo(p: Uint8Array, off: number, frameType: number): VideoTagBody {
  if (off + 1 > p.byteLength) throw truncated('multitrack video header', off, p.byteLength);
  const multitrackType = p[off]! >> 4;
  const packetType = p[off]! & 0x0f;
  off += 1;
  if (multitrackType > AvMultitrackType.ManyTracksManyCodecs) return { kind: 'ignored', reason: `unknown AvMultitrackType ${multitrackType}` };
  if (packetType === VideoPacketType.Multitrack || packetType === VideoPacketType.ModEx) return { kind: 'ignored', reason: 'nested multitrack video' };
  let fourcc = '';
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) {
    if (off + 4 > p.byteLength) throw truncated('multitrack video FourCC', off, p.byteLength);
    fourcc = fourCc(p, off);
    off += 4;
  }
  const tracks: VideoTrackPacket[] = [];
  while (off < p.byteLength) {
    if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) {
      if (off + 4 > p.byteLength) throw truncated('multitrack video FourCC', off, p.byteLength);
      fourcc = fourCc(p, off);
      off += 4;
    }
    if (off + 1 > p.byteLength) throw truncated('multitrack video track id', off, p.byteLength);
    const trackId = p[off]!;
    off += 1;
    let end = p.byteLength;
    if (multitrackType !== AvMultitrackType.OneTrack) {
      if (off + 3 > p.byteLength) throw truncated('multitrack video track size', off, p.byteLength);
      end = off + 3 + readU24(p, off);
      off += 3;
      if (end > p.byteLength) throw truncated('multitrack video track', off, p.byteLength);
    }
    const body = exVideoPacket(p.subarray(off, end), packetType, frameType, fourcc);
    if (body.kind !== 'ignored') tracks.push({ trackId, body });
    off = end;
    if (multitrackType === AvMultitrackType.OneTrack) break;
  }
  return { kind: 'multitrack', tracks };
}

/** One enhanced video packet body after its FourCC (`p` starts after the FourCC). */
function exVideoPacket(p: Uint8Array, packetType: number, frameType: number, fourcc: string): SingleVideoTagBody {
  let off = 0;
  const codec = VIDEO_FOURCC[fourcc];
  if (codec === undefined) return { kind: 'unsupported', codecId: fourcc };
  switch (packetType) {
    case VideoPacketType.SequenceStart:
      return { kind: 'sequence-header', codec, config: p.subarray(off) };
    case VideoPacketType.CodedFrames: {
      // Only AVC and HEVC carry a composition time with CodedFrames (AV1 and VP9 have none).
      let compositionTime = 0;
      if (codec === 'avc' || codec === 'hevc') {
        if (off + 3 > p.byteLength) throw truncated('enhanced video CompositionTime', off, p.byteLength);
        compositionTime = readI24(p, off);
        off += 3;
      }
      return { kind: 'frame', codec, key: frameType === FRAME_TYPE_KEY, compositionTime, data: p.subarray(off) };
    }
    case VideoPacketType.CodedFramesX:
      return { kind: 'frame', codec, key: frameType === FRAME_TYPE_KEY, compositionTime: 0, data: p.subarray(off) };
    case VideoPacketType.SequenceEnd:
      return { kind: 'end-of-sequence', codec };
    case VideoPacketType.Metadata:
      return videoMetadata(p.subarray(off), codec);
    case VideoPacketType.MPEG2TSSequenceStart:
      return { kind: 'ignored', reason: 'MPEG-2 TS sequence start' };
    default:
      return { kind: 'ignored', reason: `unknown VideoPacketType ${packetType}` };
  }
}

/**
 * VideoPacketType.Metadata: a series of AMF0 [name, value] pairs (encoded like SCRIPTDATA), the
 * only defined one being ["colorInfo", Object] (E-RTMP v2, "Metadata Frame"). A body that cannot
 * be read is ignored with its reason: a bad hint must not end the publish.
 */
function videoMetadata(body: Uint8Array, codec: FlvVideoCodec): SingleVideoTagBody {
  try {
    const found = colorInfoFromMetadataValues(decodeAmf0(body, { maxDepth: 4, maxItems: 256 }));
    if (!found.present) return { kind: 'ignored', reason: 'video metadata without colorInfo' };
    return { kind: 'colour-info', codec, colour: found.colour };
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    return { kind: 'ignored', reason: `unreadable video metadata: ${e.message}` };
  }
}

export function parseAudioTagBody(payload: Uint8Array): AudioTagBody {
  if (payload.byteLength < 1) throw truncated('audio tag', 0, 0);
  const soundFormat = payload[0]! >>> 4;
  if (soundFormat === SOUND_FORMAT_EX_HEADER) return parseExAudioTagBody(payload);
  if (soundFormat !== SOUND_FORMAT_AAC) return { kind: 'unsupported', soundFormat };
  if (payload.byteLength < 2) throw truncated('AACAUDIODATA header', 1, payload.byteLength);
  const packetType = payload[1]!;
  if (packetType === AAC_SEQUENCE_HEADER) return { kind: 'sequence-header', codec: 'aac', config: payload.subarray(2) };
  if (packetType === AAC_RAW) return { kind: 'frame', codec: 'aac', data: payload.subarray(2) };
  return { kind: 'ignored', reason: `unknown AACPacketType ${packetType}` };
}

function parseExAudioTagBody(p: Uint8Array): AudioTagBody {
  const prelude = skipModEx(p, 1, p[0]! & 0x0f, 'enhanced audio');
  const packetType = prelude.packetType;
  const off = prelude.offset;
  if (packetType === AudioPacketType.Multitrack) return parseMultitrackAudio(p, off);
  if (off + 4 > p.byteLength) throw truncated('enhanced audio FourCC', off, p.byteLength);
  const fourcc = fourCc(p, off);
  return exAudioPacket(p.subarray(off + 4), packetType, fourcc, off + 4);
}

/**
 * Enhanced RTMP v2 multitrack audio ("ExAudioTagBody" with AudioPacketType.Multitrack), laid out
 * as multitrack video is: `AvMultitrackType(4) AudioPacketType(4) [FourCC]` then, per track,
 * `[FourCC (ManyTracksManyCodecs)] TrackId(UI8) [Size(UI24) (not OneTrack)] body`. The spec makes
 * track 0 the default track; the packet type applies to every track of the message.
 */
function parseMultitrackAudio(p: Uint8Array, off: number): AudioTagBody {
  if (off + 1 > p.byteLength) throw truncated('multitrack audio header', off, p.byteLength);
  const multitrackType = p[off]! >> 4;
  const packetType = p[off]! & 0x0f;
  off += 1;
  if (multitrackType > AvMultitrackType.ManyTracksManyCodecs) return { kind: 'ignored', reason: `unknown AvMultitrackType ${multitrackType}` };
  // The spec forbids nesting: a Multitrack (or ModEx) packet type inside one is not a body.
  if (packetType === AudioPacketType.Multitrack || packetType === AudioPacketType.ModEx) return { kind: 'ignored', reason: 'nested multitrack audio' };
  let fourcc = '';
  if (multitrackType !== AvMultitrackType.ManyTracksManyCodecs) {
    if (off + 4 > p.byteLength) throw truncated('multitrack audio FourCC', off, p.byteLength);
    fourcc = fourCc(p, off);
    off += 4;
  }
  const tracks: AudioTrackPacket[] = [];
  while (off < p.byteLength) {
    if (multitrackType === AvMultitrackType.ManyTracksManyCodecs) {
      if (off + 4 > p.byteLength) throw truncated('multitrack audio FourCC', off, p.byteLength);
      fourcc = fourCc(p, off);
      off += 4;
    }
    if (off + 1 > p.byteLength) throw truncated('multitrack audio track id', off, p.byteLength);
    const trackId = p[off]!;
    off += 1;
    let end = p.byteLength;
    if (multitrackType !== AvMultitrackType.OneTrack) {
      if (off + 3 > p.byteLength) throw truncated('multitrack audio track size', off, p.byteLength);
      end = off + 3 + readU24(p, off);
      off += 3;
      if (end > p.byteLength) throw truncated(`multitrack audio track ${trackId}`, off, p.byteLength);
    }
    const body = exAudioPacket(p.subarray(off, end), packetType, fourcc, off);
    if (body.kind !== 'ignored') tracks.push({ trackId, body });
    off = end;
    if (multitrackType === AvMultitrackType.OneTrack) break;
  }
  return { kind: 'multitrack', tracks };
}

/** One enhanced audio packet body after its FourCC (`p` starts after the FourCC, at `base` in the message). */
function exAudioPacket(p: Uint8Array, packetType: number, fourcc: string, base: number): SingleAudioTagBody {
  const off = 0;
  const codec = AUDIO_FOURCC[fourcc];
  if (codec === undefined) return { kind: 'unsupported', soundFormat: fourcc };
  switch (packetType) {
    case AudioPacketType.SequenceStart:
      // AC-3 and E-AC-3 define no sequence start: their syncframes describe themselves.
      if (codec === 'ac3' || codec === 'eac3') return { kind: 'ignored', reason: `${fourcc} sequence start (the syncframes carry the configuration)` };
      return { kind: 'sequence-header', codec, config: p.subarray(off) };
    case AudioPacketType.CodedFrames:
      return { kind: 'frame', codec, data: p.subarray(off) };
    case AudioPacketType.SequenceEnd:
      // Not passed on, as the video SequenceEnd (flv/ingest.ts says why).
      return { kind: 'ignored', reason: 'audio sequence end' };
    case AudioPacketType.MultichannelConfig:
      // audioChannelOrder(UI8) channelCount(UI8) [mapping or flags]: only the count is kept.
      if (off + 2 > p.byteLength) throw truncated('audio MultichannelConfig', base + off, base + p.byteLength);
      return { kind: 'multichannel-config', codec, channels: p[off + 1]! };
    default:
      return { kind: 'ignored', reason: `unknown AudioPacketType ${packetType}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Building, beside the parsing above: tag bodies rebuilt from the stage contract for RTMP play,
// HTTP-FLV and the transcoder's input. Built once per frame and shared by every player.
//
//   video (AVC):  [frameType<<4 | 7] [AVCPacketType] [CompositionTime SI24] [data...]
//   audio (AAC):  [10<<4 | 3<<2 | 1<<1 | 1] [AACPacketType] [data...]
//   HEVC and AV1 use the Enhanced RTMP ex-header: [0x80 | frameType<<4 | PacketType] [FourCC] ...
//   (CodedFrames carries a CompositionTime for HEVC, none for AV1).
//   Opus, FLAC, AC-3, E-AC-3 use the Enhanced RTMP ExAudioTagHeader: [9<<4 | PacketType] [FourCC] ...

const AAC_HEADER = (10 << 4) | (3 << 2) | (1 << 1) | 1;

/** The Enhanced RTMP FourCC of each codec carried with the ex-header. */
const EX_FOURCC = { hevc: Uint8Array.of(0x68, 0x76, 0x63, 0x31), av1: Uint8Array.of(0x61, 0x76, 0x30, 0x31), vp9: Uint8Array.of(0x76, 0x70, 0x30, 0x39) } as const;

/** AVCPacketType 0 / Enhanced SequenceStart: the decoder configuration record. */
export function videoSequenceHeaderBody(track: VideoTrack): Uint8Array {
  if (track.codec !== 'avc') {
    const body = new Uint8Array(5 + track.config.byteLength);
    body[0] = 0x80 | (1 << 4) | 0; // ex-header, keyframe, SequenceStart
    body.set(EX_FOURCC[track.codec], 1);
    body.set(track.config, 5);
    return body;
  }
  const body = new Uint8Array(5 + track.config.byteLength);
  body[0] = (1 << 4) | 7;
  body[1] = 0; // AVC sequence header
  body.set(track.config, 5);
  return body;
}

/**
 * An E-RTMP Metadata packet carrying the track's colorInfo (veovera enhanced-rtmp v2, "Metadata
 * Frame"), sent ahead of the sequence start so an enhanced player or recorder gets the HDR
 * description: FrameType 5 (video info/command), PacketType Metadata, then the AMF0 pair.
 * Undefined for a track without one, and for AVC (its legacy header has no packet type for it).
 */
export function videoColourMetadataBody(track: VideoTrack): Uint8Array | undefined {
  const c = track.colour;
  if (!c || track.codec === 'avc') return undefined;
  const info: Amf0Object = {
    colorConfig: { ...(c.bitDepth !== undefined ? { bitDepth: c.bitDepth } : {}), colorPrimaries: c.colourPrimaries, transferCharacteristics: c.transferCharacteristics, matrixCoefficients: c.matrixCoefficients },
  };
  if (c.contentLight) info['hdrCll'] = { maxFall: c.contentLight.maxFall, maxCLL: c.contentLight.maxCll };
  const d = c.masteringDisplay;
  if (d) {
    info['hdrMdcv'] = {
      redX: d.red[0], redY: d.red[1], greenX: d.green[0], greenY: d.green[1], blueX: d.blue[0], blueY: d.blue[1],
      whitePointX: d.whitePoint[0], whitePointY: d.whitePoint[1], maxLuminance: d.maxLuminance, minLuminance: d.minLuminance,
    };
  }
  const amf = encodeAmf0('colorInfo', info);
  const body = new Uint8Array(5 + amf.byteLength);
  body[0] = 0x80 | (FRAME_TYPE_COMMAND << 4) | VideoPacketType.Metadata;
  body.set(EX_FOURCC[track.codec], 1);
  body.set(amf, 5);
  return body;
}

/** The Enhanced RTMP audio FourCC of each codec carried with the ex-header (AAC goes out in legacy tags). */
const AUDIO_EX_FOURCC = {
  opus: Uint8Array.of(0x4f, 0x70, 0x75, 0x73), // 'Opus'
  flac: Uint8Array.of(0x66, 0x4c, 0x61, 0x43), // 'fLaC'
  ac3: Uint8Array.of(0x61, 0x63, 0x2d, 0x33), // 'ac-3'
  eac3: Uint8Array.of(0x65, 0x63, 0x2d, 0x33), // 'ec-3'
} as const;

/**
 * AACPacketType 0 / Enhanced SequenceStart: the configuration as it came in (AudioSpecificConfig,
 * OpusHead, the FLAC STREAMINFO form received). AC-3 and E-AC-3 have none: undefined.
 */
export function audioSequenceHeaderBody(track: AudioTrack): Uint8Array | undefined {
  if (track.codec === 'ac3' || track.codec === 'eac3') return undefined;
  if (track.codec !== 'aac') {
    const body = new Uint8Array(5 + track.config.byteLength);
    body[0] = (SOUND_FORMAT_EX_HEADER << 4) | AudioPacketType.SequenceStart;
    body.set(AUDIO_EX_FOURCC[track.codec], 1);
    body.set(track.config, 5);
    return body;
  }
  const body = new Uint8Array(2 + track.config.byteLength);
  body[0] = AAC_HEADER;
  body[1] = 0;
  body.set(track.config, 2);
  return body;
}

/** Composition time in ms (signed 24-bit) from 90 kHz pts - dts. */
function compositionMs(frame: Frame): number {
  return Math.round((frame.pts - frame.dts) / (VIDEO_TIMESCALE / 1000));
}

/** The FLV video tag header of a coded frame (what precedes the frame's own bytes in the body). */
export function videoFrameHead(frame: Frame, codec: VideoTrack['codec']): Uint8Array {
  if (codec === 'av1' || codec === 'vp9') {
    const head = new Uint8Array(5);
    head[0] = 0x80 | ((frame.key ? 1 : 2) << 4) | 1; // CodedFrames: no CompositionTime for AV1 and VP9
    head.set(EX_FOURCC[codec], 1);
    return head;
  }
  const cts = compositionMs(frame);
  if (codec === 'hevc') {
    const head = new Uint8Array(8);
    head[0] = 0x80 | ((frame.key ? 1 : 2) << 4) | 1; // CodedFrames (with composition time)
    head.set(EX_FOURCC.hevc, 1);
    writeU24(head, 5, cts & 0xffffff); // SI24, two's complement
    return head;
  }
  const head = new Uint8Array(5);
  head[0] = ((frame.key ? 1 : 2) << 4) | 7;
  head[1] = 1;
  writeU24(head, 2, cts & 0xffffff); // SI24, two's complement
  return head;
}

/** AAC raw frame header: the same two bytes for every frame. */
const AAC_RAW_HEAD = Uint8Array.of(AAC_HEADER, 1);

/** The Enhanced RTMP CodedFrames header of each ex-header audio codec: the same five bytes for every frame. */
const AUDIO_EX_FRAME_HEAD = {
  opus: exAudioFrameHead('opus'),
  flac: exAudioFrameHead('flac'),
  ac3: exAudioFrameHead('ac3'),
  eac3: exAudioFrameHead('eac3'),
} as const;

function exAudioFrameHead(codec: keyof typeof AUDIO_EX_FOURCC): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = (SOUND_FORMAT_EX_HEADER << 4) | AudioPacketType.CodedFrames;
  head.set(AUDIO_EX_FOURCC[codec], 1);
  return head;
}

/** What precedes an audio frame's bytes in its tag body: AAC's legacy header, else the ExAudioTagHeader. */
export function audioFrameHead(codec: AudioCodec = 'aac'): Uint8Array {
  return codec === 'aac' ? AAC_RAW_HEAD : AUDIO_EX_FRAME_HEAD[codec];
}

function joined(head: Uint8Array, data: Uint8Array): Uint8Array {
  const body = new Uint8Array(head.byteLength + data.byteLength);
  body.set(head, 0);
  body.set(data, head.byteLength);
  return body;
}

export function videoFrameBody(frame: Frame, codec: VideoTrack['codec']): Uint8Array {
  return joined(videoFrameHead(frame, codec), frame.data);
}

export function audioFrameBody(frame: Frame, codec: AudioCodec = 'aac'): Uint8Array {
  return joined(audioFrameHead(codec), frame.data);
}

/** Frame timestamp as the RTMP/FLV millisecond clock (32-bit, wraps). */
export function frameMs(frame: Frame, timescale: number): number {
  return Math.floor((frame.dts * 1000) / timescale) >>> 0;
}
