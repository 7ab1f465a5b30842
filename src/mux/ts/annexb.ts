/**
 * Length-prefixed (AVCC/HVCC) access units to Annex B byte-stream form for MPEG-TS
 * (ISO/IEC 14496-10 Annex B; ISO/IEC 13818-1 §2.14 requires an access unit delimiter first).
 *
 * Nothing is copied: the result is a list of pieces (start codes, the AUD, parameter sets and
 * subarray views of the NAL units) that the packetizer copies once into transport packets.
 * (Private to the TS muxer: `src/codec/annexb.ts` did not exist when this was written.)
 */
import { GatewayError } from '../../core/errors.js';
import type { VideoCodec } from '../../core/media.js';

export const START_CODE = new Uint8Array([0, 0, 0, 1]);
/** H.264 access_unit_delimiter_rbsp (§7.3.2.4): nal_unit_type 9, primary_pic_type 7 (any slice type). */
export const AVC_AUD = new Uint8Array([0, 0, 0, 1, 0x09, 0xf0]);
/** H.265 AUD (§7.3.2.5): nal_unit_type 35, layer 0, tid 1, pic_type 2 (I, P or B) + stop bit. */
export const HEVC_AUD = new Uint8Array([0, 0, 0, 1, 0x46, 0x01, 0x50]);

const AVC_NAL_AUD = 9;
const AVC_NAL_SPS = 7;
const HEVC_NAL_AUD = 35;
const HEVC_NAL_VPS = 32;
const HEVC_NAL_SPS = 33;

function nalType(codec: VideoCodec, firstByte: number): number {
  return codec === 'avc' ? firstByte & 0x1f : (firstByte >> 1) & 0x3f;
}

function readLength(data: Uint8Array, at: number, size: number): number {
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + data[at + i]!;
  return n;
}

export interface AnnexBOptions {
  readonly codec: VideoCodec;
  readonly nalLengthSize: number;
  /** Sync sample: parameter sets go in front unless the access unit carries its own. */
  readonly key: boolean;
  readonly parameterSets: readonly Uint8Array[];
}

/**
 * Appends the Annex B pieces of one access unit to `pieces` and returns their byte length.
 * Order (H.264 §7.4.1.2.3): AUD, [SPS, PPS (VPS first for HEVC)], then the NAL units as sent,
 * any AUD of the input dropped so ours stays the only and first one.
 */
export function appendAnnexBPieces(data: Uint8Array, options: AnnexBOptions, pieces: Uint8Array[]): number {
  const { codec, nalLengthSize } = options;
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError('mux.ts', 'unsupported NAL length size', { nalLengthSize });
  }
  // First pass: bounds and whether the access unit brings its own parameter sets.
  let inBandParameterSets = false;
  let at = 0;
  while (at < data.length) {
    if (at + nalLengthSize > data.length) {
      throw new GatewayError('mux.ts', 'truncated NAL length prefix', { offset: at, size: data.length });
    }
    const length = readLength(data, at, nalLengthSize);
    at += nalLengthSize;
    if (length > data.length - at) {
      throw new GatewayError('mux.ts', 'NAL unit length exceeds access unit', { offset: at - nalLengthSize, length, size: data.length });
    }
    if (length > 0) {
      const type = nalType(codec, data[at]!);
      if (codec === 'avc' ? type === AVC_NAL_SPS : type === HEVC_NAL_VPS || type === HEVC_NAL_SPS) inBandParameterSets = true;
    }
    at += length;
  }

  const aud = codec === 'avc' ? AVC_AUD : HEVC_AUD;
  pieces.push(aud);
  let total = aud.length;
  if (options.key && !inBandParameterSets) {
    for (const ps of options.parameterSets) {
      if (ps.length === 0) continue;
      pieces.push(START_CODE, ps);
      total += START_CODE.length + ps.length;
    }
  }
  const audType = codec === 'avc' ? AVC_NAL_AUD : HEVC_NAL_AUD;
  at = 0;
  while (at < data.length) {
    const length = readLength(data, at, nalLengthSize);
    at += nalLengthSize;
    if (length > 0 && nalType(codec, data[at]!) !== audType) {
      pieces.push(START_CODE, data.subarray(at, at + length));
      total += START_CODE.length + length;
    }
    at += length;
  }
  return total;
}
