/**
 * NAL unit framing: Annex B byte streams (H.264 Annex B / H.265 Annex B, start codes) versus the
 * length-prefixed form of ISO/IEC 14496-15 (AVCC/HVCC) that RTMP, FLV and MP4 carry.
 *
 * ```
 * Annex B : 00 00 00 01 | NAL | 00 00 01 | NAL ...
 * AVCC    : len(nalLengthSize bytes, big-endian) | NAL | len | NAL ...
 * ```
 */
import { GatewayError, type ErrorStage } from '../core/errors.js';

export type NalCodec = 'avc' | 'hevc';

/** H.264 §7.3.1: nal_unit_type is the low 5 bits of the first header byte. */
export function nalType(nal: Uint8Array): number {
  return nal.byteLength > 0 ? nal[0]! & 0x1f : -1;
}

/** H.265 §7.3.1.2: nal_unit_type is bits 1..6 of the first header byte. */
export function hevcNalType(nal: Uint8Array): number {
  return nal.byteLength > 0 ? (nal[0]! >>> 1) & 0x3f : -1;
}

/**
 * Splits an Annex B byte stream into NAL unit views (start codes and trailing_zero_8bits
 * removed). Bytes before the first start code are ignored; empty NAL units are skipped.
 */
export function splitAnnexB(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const n = data.byteLength;
  let start = -1;
  let i = 0;
  while (i + 2 < n) {
    // A start code prefix is 00 00 01 (the 4-byte form is a zero_byte plus that).
    if (data[i + 2]! > 1) {
      i += 3;
      continue;
    }
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      if (start >= 0) pushTrimmed(out, data, start, i);
      i += 3;
      start = i;
      continue;
    }
    i++;
  }
  if (start >= 0) pushTrimmed(out, data, start, n);
  return out;
}

function pushTrimmed(out: Uint8Array[], data: Uint8Array, start: number, end: number): void {
  // The zero bytes before a start code belong to it (zero_byte / trailing_zero_8bits, §B.2).
  while (end > start && data[end - 1] === 0) end--;
  if (end > start) out.push(data.subarray(start, end));
}

function readLength(frame: Uint8Array, off: number, size: number): number {
  switch (size) {
    case 1:
      return frame[off]!;
    case 2:
      return (frame[off]! << 8) | frame[off + 1]!;
    case 4:
      return frame[off]! * 0x1000000 + ((frame[off + 1]! << 16) | (frame[off + 2]! << 8) | frame[off + 3]!);
    default:
      return -1;
  }
}

/**
 * Visits each NAL unit of a length-prefixed access unit, as views. Zero-length NAL units are
 * skipped. Return `false` from the callback to stop early. A length that overruns the frame
 * throws a GatewayError with its offset; nothing is ever read out of bounds.
 */
export function forEachNal(
  frame: Uint8Array,
  nalLengthSize: number,
  cb: (nal: Uint8Array, offset: number) => void | boolean,
  stage: ErrorStage = 'codec.avc',
): void {
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError(stage, `invalid NAL length size ${nalLengthSize}`, {});
  }
  let off = 0;
  while (off < frame.byteLength) {
    if (off + nalLengthSize > frame.byteLength) {
      throw new GatewayError(stage, 'NAL length prefix truncated', { offset: off, size: frame.byteLength });
    }
    const len = readLength(frame, off, nalLengthSize);
    const start = off + nalLengthSize;
    if (len > frame.byteLength - start) {
      throw new GatewayError(stage, `NAL length ${len} overruns access unit`, { offset: off, size: frame.byteLength });
    }
    off = start + len;
    if (len === 0) continue;
    if (cb(frame.subarray(start, start + len), start) === false) return;
  }
}

export interface AccessUnitInfo {
  /** AVC: an IDR slice (type 5). HEVC: an IRAP picture (types 16..21). */
  key: boolean;
  /** AVC: SPS present. HEVC: SPS present (VPS is reported separately). */
  sps: boolean;
  pps: boolean;
  vps: boolean;
  aud: boolean;
  sei: boolean;
  nalCount: number;
}

/** What a length-prefixed access unit contains, for keyframe detection and Annex B output. */
export function inspectAccessUnit(frame: Uint8Array, nalLengthSize: number, codec: NalCodec = 'avc'): AccessUnitInfo {
  const info: AccessUnitInfo = { key: false, sps: false, pps: false, vps: false, aud: false, sei: false, nalCount: 0 };
  const stage: ErrorStage = codec === 'avc' ? 'codec.avc' : 'codec.hevc';
  forEachNal(
    frame,
    nalLengthSize,
    (nal) => {
      info.nalCount++;
      if (codec === 'avc') {
        switch (nalType(nal)) {
          case 5: info.key = true; break;
          case 6: info.sei = true; break;
          case 7: info.sps = true; break;
          case 8: info.pps = true; break;
          case 9: info.aud = true; break;
        }
      } else {
        const t = hevcNalType(nal);
        // H.265 Table 7-1: BLA_W_LP..CRA_NUT (16..21) are IRAP pictures; 22/23 are reserved IRAP.
        if (t >= 16 && t <= 21) info.key = true;
        else if (t === 32) info.vps = true;
        else if (t === 33) info.sps = true;
        else if (t === 34) info.pps = true;
        else if (t === 35) info.aud = true;
        else if (t === 39 || t === 40) info.sei = true;
      }
    },
    stage,
  );
  return info;
}

/** H.264 §7.3.2.4: AUD with primary_pic_type 7 (any slice type) and the RBSP stop bit. */
const AVC_AUD = Uint8Array.of(0x09, 0xf0);
/** H.265 §7.3.2.5: AUD (type 35, layer 0, TemporalId 0+1), pic_type 2 (I, P, B) and stop bit. */
const HEVC_AUD = Uint8Array.of(0x46, 0x01, 0x50);

const START_CODE = Uint8Array.of(0, 0, 0, 1);

export interface AnnexBOptions {
  readonly codec: NalCodec;
  readonly nalLengthSize: number;
  /** Sync sample: the parameter sets go in front unless the access unit carries its own. */
  readonly key: boolean;
  /** Raw SPS/PPS (VPS, SPS, PPS for HEVC), inserted before a key access unit that has none. */
  readonly parameterSets: readonly Uint8Array[];
  /** Start with an AUD (MPEG-TS requires one for H.264/HEVC, ISO/IEC 13818-1 §2.14). Default true. */
  readonly aud?: boolean;
}

/**
 * Length-prefixed (AVCC/HVCC) access unit -> Annex B, as pieces: start codes, the AUD, parameter
 * sets and subarray views of the NAL units, which the caller copies once (MPEG-TS packets).
 * Appends to `pieces`, returns their byte length.
 *
 * The one AUD rule: an AUD, when asked for, is ours and first; AUDs in the input are dropped (one
 * elsewhere than first is invalid, H.264 §7.4.1.2.3, and a first one is what we write). Then the
 * parameter sets when the access unit is key and brings no SPS (HEVC: no VPS or SPS) of its own,
 * then the NAL units as sent.
 */
export function appendAnnexBPieces(data: Uint8Array, options: AnnexBOptions, pieces: Uint8Array[]): number {
  const { codec, nalLengthSize } = options;
  const stage: ErrorStage = codec === 'avc' ? 'codec.avc' : 'codec.hevc';
  const typeOf = codec === 'avc' ? nalType : hevcNalType;
  const audType = codec === 'avc' ? 9 : 35;
  // First pass (bounds checked by forEachNal): whether the access unit brings its own parameter sets.
  let inBandParameterSets = false;
  forEachNal(data, nalLengthSize, (nal) => {
    const t = typeOf(nal);
    if (codec === 'avc' ? t === 7 : t === 32 || t === 33) inBandParameterSets = true;
  }, stage);
  let total = 0;
  if (options.aud !== false) {
    pieces.push(START_CODE, codec === 'avc' ? AVC_AUD : HEVC_AUD);
    total += START_CODE.byteLength + (codec === 'avc' ? AVC_AUD : HEVC_AUD).byteLength;
  }
  if (options.key && !inBandParameterSets) {
    for (const ps of options.parameterSets) {
      if (ps.byteLength === 0) continue;
      pieces.push(START_CODE, ps);
      total += START_CODE.byteLength + ps.byteLength;
    }
  }
  forEachNal(data, nalLengthSize, (nal) => {
    if (typeOf(nal) === audType) return;
    pieces.push(START_CODE, nal);
    total += START_CODE.byteLength + nal.byteLength;
  }, stage);
  return total;
}

export interface AvccToAnnexBOptions {
  /** Start the access unit with an AUD (see appendAnnexBPieces). */
  aud: boolean;
  /** Raw SPS/PPS (and VPS) inserted before the picture when a key access unit carries none. */
  parameterSets?: readonly Uint8Array[];
  codec?: NalCodec;
}

/** Length-prefixed access unit -> Annex B in one allocation (appendAnnexBPieces, joined). */
export function avccToAnnexB(frame: Uint8Array, nalLengthSize: number, opts: AvccToAnnexBOptions): Uint8Array {
  const codec = opts.codec ?? 'avc';
  const key = inspectAccessUnit(frame, nalLengthSize, codec).key;
  const pieces: Uint8Array[] = [];
  const size = appendAnnexBPieces(frame, { codec, nalLengthSize, key, parameterSets: opts.parameterSets ?? [], aud: opts.aud }, pieces);
  const out = new Uint8Array(size);
  let off = 0;
  for (const piece of pieces) {
    out.set(piece, off);
    off += piece.byteLength;
  }
  return out;
}

/** NAL units -> one length-prefixed access unit, in a single allocation. */
export function annexBToAvcc(nals: readonly Uint8Array[], nalLengthSize = 4): Uint8Array {
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError('codec.avc', `invalid NAL length size ${nalLengthSize}`, {});
  }
  const max = nalLengthSize === 4 ? 0xffffffff : 2 ** (8 * nalLengthSize) - 1;
  let size = 0;
  for (const nal of nals) {
    if (nal.byteLength > max) {
      throw new GatewayError('codec.avc', `NAL of ${nal.byteLength} bytes does not fit a ${nalLengthSize}-byte length`, {});
    }
    size += nalLengthSize + nal.byteLength;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const nal of nals) {
    const len = nal.byteLength;
    for (let i = nalLengthSize - 1; i >= 0; i--) out[off + nalLengthSize - 1 - i] = Math.floor(len / 2 ** (8 * i)) & 0xff;
    out.set(nal, off + nalLengthSize);
    off += nalLengthSize + len;
  }
  return out;
}
