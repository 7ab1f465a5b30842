/**
 * H.265 / HEVC: the HEVCDecoderConfigurationRecord (hvcC, ISO/IEC 14496-15 §8.3.3.1), its RFC 6381
 * codec string (ISO/IEC 14496-15 Annex E.3) and the picture size from the SPS (H.265 §7.3.2.2).
 */
import { readU16, readU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';
import { BitReader, nalToRbsp } from './bitreader.js';
import { hevcNalType } from './annexb.js';

export const HEVC_NAL_VPS = 32;
export const HEVC_NAL_SPS = 33;
export const HEVC_NAL_PPS = 34;

export interface HevcDecoderConfigurationRecord {
  generalProfileSpace: number;
  generalTierFlag: number;
  generalProfileIdc: number;
  /** general_profile_compatibility_flags as an unsigned 32-bit number (flag 0 is the MSB). */
  generalProfileCompatibilityFlags: number;
  /** The 6 bytes of general_constraint_indicator_flags (a view). */
  generalConstraintIndicatorFlags: Uint8Array;
  generalLevelIdc: number;
  chromaFormat: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** 1, 2 or 4. */
  nalLengthSize: number;
  /** Views into the record bytes, by NAL type. */
  vps: Uint8Array[];
  sps: Uint8Array[];
  pps: Uint8Array[];
  /** Prefix/suffix SEI arrays and anything else, kept as [nalType, nal]. */
  other: Array<{ nalType: number; nal: Uint8Array }>;
}

/** Fixed part of the record before the NAL arrays. */
const HVCC_HEADER_LENGTH = 23;

/**
 * ```
 *  0 configurationVersion=1
 *  1 general_profile_space(2) general_tier_flag(1) general_profile_idc(5)
 *  2 general_profile_compatibility_flags(32)
 *  6 general_constraint_indicator_flags(48)
 * 12 general_level_idc(8)
 * 13 '1111' min_spatial_segmentation_idc(12)   15 '111111' parallelismType(2)
 * 16 '111111' chromaFormat(2)  17 '11111' bitDepthLumaMinus8(3)  18 '11111' bitDepthChromaMinus8(3)
 * 19 avgFrameRate(16)  21 constantFrameRate(2) numTemporalLayers(3) temporalIdNested(1) lengthSizeMinusOne(2)
 * 22 numOfArrays { array_completeness(1) '0' NAL_unit_type(6) numNalus(16) { len(16) NAL }* }*
 * ```
 */
export function parseHevcDecoderConfigurationRecord(bytes: Uint8Array): HevcDecoderConfigurationRecord {
  if (bytes.byteLength < HVCC_HEADER_LENGTH) {
    throw new GatewayError('codec.hevc', 'hvcC truncated', { offset: 0, length: bytes.byteLength });
  }
  if (bytes[0] !== 1) {
    throw new GatewayError('codec.hevc', `unsupported hvcC configurationVersion ${bytes[0]}`, { offset: 0 });
  }
  const nalLengthSize = (bytes[21]! & 0x03) + 1;
  if (nalLengthSize === 3) throw new GatewayError('codec.hevc', 'hvcC NAL length size 3 is not allowed', { offset: 21 });
  const record: HevcDecoderConfigurationRecord = {
    generalProfileSpace: bytes[1]! >>> 6,
    generalTierFlag: (bytes[1]! >>> 5) & 1,
    generalProfileIdc: bytes[1]! & 0x1f,
    generalProfileCompatibilityFlags: readU32(bytes, 2),
    generalConstraintIndicatorFlags: bytes.subarray(6, 12),
    generalLevelIdc: bytes[12]!,
    chromaFormat: bytes[16]! & 0x03,
    bitDepthLuma: (bytes[17]! & 0x07) + 8,
    bitDepthChroma: (bytes[18]! & 0x07) + 8,
    nalLengthSize,
    vps: [],
    sps: [],
    pps: [],
    other: [],
  };
  const numArrays = bytes[22]!;
  let off = HVCC_HEADER_LENGTH;
  for (let a = 0; a < numArrays; a++) {
    if (off + 3 > bytes.byteLength) throw new GatewayError('codec.hevc', 'hvcC truncated in NAL array header', { offset: off, array: a });
    const type = bytes[off]! & 0x3f;
    const count = readU16(bytes, off + 1);
    off += 3;
    for (let i = 0; i < count; i++) {
      if (off + 2 > bytes.byteLength) throw new GatewayError('codec.hevc', 'hvcC truncated in NAL length', { offset: off, type });
      const len = readU16(bytes, off);
      off += 2;
      if (off + len > bytes.byteLength) throw new GatewayError('codec.hevc', 'hvcC NAL overruns record', { offset: off, length: len, type });
      const nal = bytes.subarray(off, off + len);
      off += len;
      if (type === HEVC_NAL_VPS) record.vps.push(nal);
      else if (type === HEVC_NAL_SPS) record.sps.push(nal);
      else if (type === HEVC_NAL_PPS) record.pps.push(nal);
      else record.other.push({ nalType: type, nal });
    }
  }
  return record;
}

/** The profile_tier_level fields that the codec string is made of. */
export type HevcCodecFields = Pick<
  HevcDecoderConfigurationRecord,
  'generalProfileSpace' | 'generalTierFlag' | 'generalProfileIdc' | 'generalProfileCompatibilityFlags' | 'generalConstraintIndicatorFlags' | 'generalLevelIdc'
>;

/**
 * ISO/IEC 14496-15 Annex E.3, e.g. `hvc1.1.6.L93.B0`:
 * sample entry . [A|B|C]profile_idc . compatibility flags bit-reversed in hex . L|H level_idc
 * . constraint bytes in hex with trailing zero bytes omitted.
 */
export function hevcCodecString(fields: HevcCodecFields, sampleEntry: 'hvc1' | 'hev1' = 'hvc1'): string {
  const space = ['', 'A', 'B', 'C'][fields.generalProfileSpace & 3]!;
  let reversed = 0;
  for (let i = 0; i < 32; i++) {
    if ((fields.generalProfileCompatibilityFlags >>> i) & 1) reversed |= 1 << (31 - i);
  }
  const compat = (reversed >>> 0).toString(16);
  const tier = fields.generalTierFlag ? 'H' : 'L';
  const constraints = Array.from(fields.generalConstraintIndicatorFlags);
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const parts = [sampleEntry, `${space}${fields.generalProfileIdc}`, compat, `${tier}${fields.generalLevelIdc}`];
  for (const b of constraints) parts.push(b.toString(16).toUpperCase());
  return parts.join('.');
}

export interface HevcSpsInfo {
  profileSpace: number;
  tierFlag: number;
  profileIdc: number;
  levelIdc: number;
  /** general_profile_compatibility_flags as an unsigned 32-bit number (flag 0 is the MSB). */
  profileCompatibilityFlags: number;
  /** The 48 bits of general constraint indicator flags (progressive_source_flag first), 6 bytes. */
  constraintIndicatorFlags: Uint8Array;
  /** sps_max_sub_layers_minus1 + 1. */
  maxSubLayers: number;
  temporalIdNesting: boolean;
  spsId: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** pic_width/height_in_luma_samples. */
  codedWidth: number;
  codedHeight: number;
  /** After the conformance window. */
  width: number;
  height: number;
}

/** Level 6.2 allows 35,651,584 luma samples; 16888 per side (sqrt(8 * MaxLumaPs)) bounds any level. */
const MAX_LUMA_SAMPLES_PER_SIDE = 16888;

/**
 * Parses an HEVC SPS NAL unit (2-byte header included) up to the bit depths: enough for the
 * display size. Frame rate would need the full st_ref_pic_set walk to reach the VUI; not done.
 */
export function parseHevcSps(nal: Uint8Array): HevcSpsInfo {
  if (nal.byteLength < 3) throw new GatewayError('codec.hevc', 'SPS truncated', { offset: 0, length: nal.byteLength });
  const type = (nal[0]! >>> 1) & 0x3f;
  if (type !== HEVC_NAL_SPS) throw new GatewayError('codec.hevc', `not an SPS NAL unit (type ${type})`, { offset: 0 });
  const r = new BitReader(nalToRbsp(nal.subarray(2)), 'codec.hevc');
  r.skipBits(4, 'sps_video_parameter_set_id');
  const maxSubLayersMinus1 = r.u(3, 'sps_max_sub_layers_minus1');
  const temporalIdNesting = r.flag('sps_temporal_id_nesting_flag');
  // §7.3.3 profile_tier_level(1, sps_max_sub_layers_minus1)
  const profileSpace = r.u(2, 'general_profile_space');
  const tierFlag = r.u(1, 'general_tier_flag');
  const profileIdc = r.u(5, 'general_profile_idc');
  const profileCompatibilityFlags = r.u(32, 'general_profile_compatibility_flags');
  const constraintIndicatorFlags = new Uint8Array(6);
  for (let i = 0; i < 6; i++) constraintIndicatorFlags[i] = r.u(8, 'general constraint flags');
  const levelIdc = r.u(8, 'general_level_idc');
  const subProfilePresent: boolean[] = [];
  const subLevelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    subProfilePresent.push(r.flag('sub_layer_profile_present_flag'));
    subLevelPresent.push(r.flag('sub_layer_level_present_flag'));
  }
  if (maxSubLayersMinus1 > 0) r.skipBits(2 * (8 - maxSubLayersMinus1), 'reserved_zero_2bits');
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (subProfilePresent[i]) r.skipBits(88, 'sub_layer profile');
    if (subLevelPresent[i]) r.skipBits(8, 'sub_layer_level_idc');
  }
  const spsId = r.ue('sps_seq_parameter_set_id');
  if (spsId > 15) throw new GatewayError('codec.hevc', `sps_seq_parameter_set_id ${spsId} out of range`, {});
  const chromaFormatIdc = r.ue('chroma_format_idc');
  if (chromaFormatIdc > 3) throw new GatewayError('codec.hevc', `chroma_format_idc ${chromaFormatIdc} out of range`, {});
  const separateColourPlane = chromaFormatIdc === 3 ? r.flag('separate_colour_plane_flag') : false;
  const codedWidth = r.ue('pic_width_in_luma_samples');
  const codedHeight = r.ue('pic_height_in_luma_samples');
  if (codedWidth === 0 || codedHeight === 0 || codedWidth > MAX_LUMA_SAMPLES_PER_SIDE || codedHeight > MAX_LUMA_SAMPLES_PER_SIDE) {
    throw new GatewayError('codec.hevc', `picture size ${codedWidth}x${codedHeight} out of range`, {});
  }
  let width = codedWidth;
  let height = codedHeight;
  if (r.flag('conformance_window_flag')) {
    const left = r.ue('conf_win_left_offset');
    const right = r.ue('conf_win_right_offset');
    const top = r.ue('conf_win_top_offset');
    const bottom = r.ue('conf_win_bottom_offset');
    // §7.4.3.2.1: offsets are in chroma sample units (SubWidthC, SubHeightC from Table 6-1).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    width = codedWidth - subWidthC * (left + right);
    height = codedHeight - subHeightC * (top + bottom);
    if (width <= 0 || height <= 0) {
      throw new GatewayError('codec.hevc', `conformance window leaves no picture (${width}x${height})`, { left, right, top, bottom });
    }
  }
  const bitDepthLuma = r.ue('bit_depth_luma_minus8') + 8;
  const bitDepthChroma = r.ue('bit_depth_chroma_minus8') + 8;
  if (bitDepthLuma > 16 || bitDepthChroma > 16) throw new GatewayError('codec.hevc', 'bit depth out of range', {});
  return {
    profileSpace,
    tierFlag,
    profileIdc,
    levelIdc,
    profileCompatibilityFlags,
    constraintIndicatorFlags,
    maxSubLayers: maxSubLayersMinus1 + 1,
    temporalIdNesting,
    spsId,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    codedWidth,
    codedHeight,
    width,
    height,
  };
}

/**
 * Builds an hvcC (ISO/IEC 14496-15 §8.3.3.1) from raw VPS/SPS/PPS NAL units (2-byte NAL header
 * included, no start codes, no length prefix), for Annex B sources such as MPEG-TS.
 *
 * General profile/tier/level, compatibility and constraint flags, chroma format and bit depths
 * come from the first SPS's profile_tier_level; numTemporalLayers and temporalIdNested from its
 * header. Not derived (the VUI is not parsed): min_spatial_segmentation_idc 0, parallelismType 0
 * (unknown), avgFrameRate 0 and constantFrameRate 0 (unspecified), all allowed values.
 * One array per NAL type (VPS, SPS, PPS), each with array_completeness 1: the parameter sets
 * live in the sample entry only ('hvc1'), never in the samples.
 */
export function buildHevcDecoderConfigurationRecord(
  vps: readonly Uint8Array[],
  sps: readonly Uint8Array[],
  pps: readonly Uint8Array[],
  nalLengthSize = 4,
): Uint8Array {
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError('codec.hevc', `invalid NAL length size ${nalLengthSize}`, {});
  }
  const arrays: Array<[number, readonly Uint8Array[]]> = [
    [HEVC_NAL_VPS, vps],
    [HEVC_NAL_SPS, sps],
    [HEVC_NAL_PPS, pps],
  ];
  let size = HVCC_HEADER_LENGTH;
  for (const [type, nals] of arrays) {
    if (nals.length < 1 || nals.length > 0xffff) {
      throw new GatewayError('codec.hevc', `hvcC needs 1..65535 NAL units of type ${type}, got ${nals.length}`, {});
    }
    for (const nal of nals) {
      if (nal.byteLength < 2 || nal.byteLength > 0xffff) {
        throw new GatewayError('codec.hevc', `parameter set of ${nal.byteLength} bytes does not fit hvcC`, { type });
      }
      const actual = hevcNalType(nal);
      if (actual !== type) throw new GatewayError('codec.hevc', `NAL unit of type ${actual} in the hvcC array of type ${type}`, {});
      size += 2 + nal.byteLength;
    }
    size += 3;
  }
  const info = parseHevcSps(sps[0]!);
  const out = new Uint8Array(size);
  out[0] = 1; // configurationVersion
  out[1] = ((info.profileSpace & 3) << 6) | ((info.tierFlag & 1) << 5) | (info.profileIdc & 0x1f);
  out[2] = info.profileCompatibilityFlags >>> 24;
  out[3] = (info.profileCompatibilityFlags >>> 16) & 0xff;
  out[4] = (info.profileCompatibilityFlags >>> 8) & 0xff;
  out[5] = info.profileCompatibilityFlags & 0xff;
  out.set(info.constraintIndicatorFlags, 6);
  out[12] = info.levelIdc;
  out[13] = 0xf0; // reserved '1111' + min_spatial_segmentation_idc 0 (12 bits)
  out[14] = 0x00;
  out[15] = 0xfc; // reserved '111111' + parallelismType 0
  out[16] = 0xfc | (info.chromaFormatIdc & 3);
  out[17] = 0xf8 | ((info.bitDepthLuma - 8) & 7);
  out[18] = 0xf8 | ((info.bitDepthChroma - 8) & 7);
  out[19] = 0; // avgFrameRate 0: unspecified
  out[20] = 0;
  out[21] = ((info.maxSubLayers & 7) << 3) | (info.temporalIdNesting ? 0x04 : 0) | (nalLengthSize - 1); // constantFrameRate 0
  out[22] = arrays.length;
  let off = HVCC_HEADER_LENGTH;
  for (const [type, nals] of arrays) {
    out[off] = 0x80 | type; // array_completeness 1, reserved 0
    out[off + 1] = nals.length >>> 8;
    out[off + 2] = nals.length & 0xff;
    off += 3;
    for (const nal of nals) {
      out[off] = nal.byteLength >>> 8;
      out[off + 1] = nal.byteLength & 0xff;
      out.set(nal, off + 2);
      off += 2 + nal.byteLength;
    }
  }
  return out;
}
