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
import { VIDEO_TIMESCALE, type AudioTrack, type Frame, type VideoTrack } from '../core/media.js';

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
  | { kind: 'ignored'; reason: string }
  /** A codec the gateway does not carry: legacy CodecID number or enhanced FourCC. */
  | { kind: 'unsupported'; codecId: number | string };

export type AudioTagBody =
  | { kind: 'sequence-header'; codec: 'aac'; config: Uint8Array }
  | { kind: 'frame'; codec: 'aac'; data: Uint8Array }
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
      return { kind: 'ignored', reason: 'video metadata packet' };
    case VideoPacketType.MPEG2TSSequenceStart:
      return { kind: 'ignored', reason: 'MPEG-2 TS sequence start' };
    default:
      return { kind: 'ignored', reason: `unknown VideoPacketType ${packetType}` };
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
  let off = prelude.offset;
  if (packetType === AudioPacketType.Multitrack) return { kind: 'ignored', reason: 'multitrack audio' };
  if (off + 4 > p.byteLength) throw truncated('enhanced audio FourCC', off, p.byteLength);
  const fourcc = fourCc(p, off);
  off += 4;
  if (fourcc !== 'mp4a') return { kind: 'unsupported', soundFormat: fourcc };
  switch (packetType) {
    case AudioPacketType.SequenceStart:
      return { kind: 'sequence-header', codec: 'aac', config: p.subarray(off) };
    case AudioPacketType.CodedFrames:
      return { kind: 'frame', codec: 'aac', data: p.subarray(off) };
    case AudioPacketType.SequenceEnd:
      return { kind: 'ignored', reason: 'audio sequence end' };
    case AudioPacketType.MultichannelConfig:
      return { kind: 'ignored', reason: 'audio multichannel config' };
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

export function audioSequenceHeaderBody(track: AudioTrack): Uint8Array {
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

export function audioFrameHead(): Uint8Array {
  return AAC_RAW_HEAD;
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

export function audioFrameBody(frame: Frame): Uint8Array {
  return joined(AAC_RAW_HEAD, frame.data);
}

/** Frame timestamp as the RTMP/FLV millisecond clock (32-bit, wraps). */
export function frameMs(frame: Frame, timescale: number): number {
  return Math.floor((frame.dts * 1000) / timescale) >>> 0;
}
