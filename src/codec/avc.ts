/**
 * H.264 / AVC: the AVCDecoderConfigurationRecord (avcC, ISO/IEC 14496-15 §5.3.3.1) and the
 * sequence parameter set (ITU-T H.264 §7.3.2.1.1) as far as a packager needs it: profile,
 * level, display size, sample aspect ratio and frame rate.
 */
import { readU16 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';
import { BitReader, nalToRbsp } from './bitreader.js';

export const AVC_NAL_SLICE = 1;
export const AVC_NAL_IDR = 5;
export const AVC_NAL_SEI = 6;
export const AVC_NAL_SPS = 7;
export const AVC_NAL_PPS = 8;
export const AVC_NAL_AUD = 9;
export const AVC_NAL_SPS_EXT = 13;

export interface AvcDecoderConfigurationRecord {
  profile: number;
  compatibility: number;
  level: number;
  /** 1, 2 or 4. */
  nalLengthSize: number;
  /** Views into the record bytes. */
  sps: Uint8Array[];
  pps: Uint8Array[];
  /** Present only for the High profiles when the optional trailer is there and well formed. */
  chromaFormat?: number;
  bitDepthLuma?: number;
  bitDepthChroma?: number;
  spsExt?: Uint8Array[];
}

/**
 * ```
 * configurationVersion(8)=1 AVCProfileIndication(8) profile_compatibility(8) AVCLevelIndication(8)
 * '111111' lengthSizeMinusOne(2)  '111' numOfSequenceParameterSets(5)
 * { sequenceParameterSetLength(16) sequenceParameterSetNALUnit }*
 * numOfPictureParameterSets(8) { pictureParameterSetLength(16) pictureParameterSetNALUnit }*
 * [profile 100/110/122/144: '111111' chroma_format(2) '11111' bit_depth_luma_minus8(3)
 *  '11111' bit_depth_chroma_minus8(3) numOfSequenceParameterSetExt(8) { len(16) NAL }*]
 * ```
 */
export function parseAvcDecoderConfigurationRecord(bytes: Uint8Array): AvcDecoderConfigurationRecord {
  if (bytes.byteLength < 7) {
    throw new GatewayError('codec.avc', 'avcC truncated', { offset: 0, length: bytes.byteLength });
  }
  if (bytes[0] !== 1) {
    throw new GatewayError('codec.avc', `unsupported avcC configurationVersion ${bytes[0]}`, { offset: 0 });
  }
  const nalLengthSize = (bytes[4]! & 0x03) + 1;
  if (nalLengthSize === 3) {
    // §5.3.3.1.2: lengthSizeMinusOne "shall be one of 0, 1, or 3".
    throw new GatewayError('codec.avc', 'avcC NAL length size 3 is not allowed', { offset: 4 });
  }
  let off = 5;
  const readNals = (count: number, what: string): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (off + 2 > bytes.byteLength) throw new GatewayError('codec.avc', `avcC truncated in ${what} length`, { offset: off, index: i });
      const len = readU16(bytes, off);
      off += 2;
      if (off + len > bytes.byteLength) throw new GatewayError('codec.avc', `avcC ${what} overruns record`, { offset: off, length: len });
      out.push(bytes.subarray(off, off + len));
      off += len;
    }
    return out;
  };
  const sps = readNals(bytes[off++]! & 0x1f, 'SPS');
  if (off >= bytes.byteLength) throw new GatewayError('codec.avc', 'avcC truncated before PPS count', { offset: off });
  const pps = readNals(bytes[off++]!, 'PPS');
  const record: AvcDecoderConfigurationRecord = {
    profile: bytes[1]!,
    compatibility: bytes[2]!,
    level: bytes[3]!,
    nalLengthSize,
    sps,
    pps,
  };
  // The High-profile trailer is often missing or wrong in the wild (old muxers wrote none), so
  // it is read leniently: anything malformed just leaves the optional fields out.
  if (HIGH_PROFILES_WITH_AVCC_TRAILER.has(record.profile) && off + 4 <= bytes.byteLength) {
    try {
      const chromaFormat = bytes[off]! & 0x03;
      const bitDepthLuma = (bytes[off + 1]! & 0x07) + 8;
      const bitDepthChroma = (bytes[off + 2]! & 0x07) + 8;
      off += 3;
      const spsExt = readNals(bytes[off++]!, 'SPS extension');
      Object.assign(record, { chromaFormat, bitDepthLuma, bitDepthChroma, spsExt });
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  }
  return record;
}

const HIGH_PROFILES_WITH_AVCC_TRAILER = new Set([100, 110, 122, 144]);

/** H.264 §7.3.2.1.1: profiles whose SPS carries chroma_format_idc, bit depths and scaling lists. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** H.264 Table E-1, aspect_ratio_idc 1..16. */
const SAR_TABLE: ReadonlyArray<readonly [number, number]> = [
  [0, 0], [1, 1], [12, 11], [10, 11], [16, 11], [40, 33], [24, 11], [20, 11], [32, 11],
  [80, 33], [18, 11], [15, 11], [64, 33], [160, 99], [4, 3], [3, 2], [2, 1],
];

/** Extended_SAR, H.264 Table E-1. */
const EXTENDED_SAR = 255;

/** Bound on pic_width_in_mbs / pic_height_in_map_units: 2048 MBs = 32768 samples, beyond any level. */
const MAX_MBS_PER_DIMENSION = 2048;

export interface AvcSpsInfo {
  profileIdc: number;
  /** constraint_set0..5 flags and the 2 reserved bits, as the byte that follows profile_idc. */
  constraintFlags: number;
  levelIdc: number;
  spsId: number;
  chromaFormatIdc: number;
  bitDepthLuma: number;
  bitDepthChroma: number;
  /** Display size after frame cropping. */
  width: number;
  height: number;
  /** Size in whole macroblocks before cropping. */
  codedWidth: number;
  codedHeight: number;
  sarNum: number;
  sarDen: number;
  /** time_scale / (2 * num_units_in_tick) when VUI timing is present and plausible. */
  fps?: number;
  frameMbsOnly: boolean;
}

/** Parses an SPS NAL unit (with its 1-byte NAL header, emulation prevention still in). */
export function parseSps(nal: Uint8Array): AvcSpsInfo {
  if (nal.byteLength < 4) throw new GatewayError('codec.avc', 'SPS truncated', { offset: 0, length: nal.byteLength });
  const nalType = nal[0]! & 0x1f;
  if (nalType !== AVC_NAL_SPS || (nal[0]! & 0x80) !== 0) {
    throw new GatewayError('codec.avc', `not an SPS NAL unit (header 0x${nal[0]!.toString(16)})`, { offset: 0 });
  }
  const r = new BitReader(nalToRbsp(nal.subarray(1)), 'codec.avc');
  const profileIdc = r.u(8, 'profile_idc');
  const constraintFlags = r.u(8, 'constraint flags');
  const levelIdc = r.u(8, 'level_idc');
  const spsId = r.ue('seq_parameter_set_id');
  if (spsId > 31) throw new GatewayError('codec.avc', `seq_parameter_set_id ${spsId} out of range`, { offset: 4 });

  const { chromaFormatIdc, separateColourPlane, bitDepthLuma, bitDepthChroma } = readChromaFormat(r, profileIdc);

  skipFrameNumAndPoc(r);
  r.ue('max_num_ref_frames');
  r.skipBits(1, 'gaps_in_frame_num_value_allowed_flag');
  const widthMbs = r.ue('pic_width_in_mbs_minus1') + 1;
  const heightMapUnits = r.ue('pic_height_in_map_units_minus1') + 1;
  if (widthMbs > MAX_MBS_PER_DIMENSION || heightMapUnits > MAX_MBS_PER_DIMENSION) {
    throw new GatewayError('codec.avc', `picture size ${widthMbs}x${heightMapUnits} macroblocks exceeds limit`, {});
  }
  const frameMbsOnly = r.flag('frame_mbs_only_flag');
  if (!frameMbsOnly) r.skipBits(1, 'mb_adaptive_frame_field_flag');
  r.skipBits(1, 'direct_8x8_inference_flag');

  // §7.4.2.1.1 frame_crop_*_offset, in units of CropUnitX / CropUnitY (equations 7-19..7-22).
  const codedWidth = widthMbs * 16;
  const codedHeight = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
  let width = codedWidth;
  let height = codedHeight;
  if (r.flag('frame_cropping_flag')) {
    const left = r.ue('frame_crop_left_offset');
    const right = r.ue('frame_crop_right_offset');
    const top = r.ue('frame_crop_top_offset');
    const bottom = r.ue('frame_crop_bottom_offset');
    const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
    const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subHeightC = chromaArrayType === 1 ? 2 : 1;
    const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
    const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
    width = codedWidth - cropUnitX * (left + right);
    height = codedHeight - cropUnitY * (top + bottom);
    if (width <= 0 || height <= 0) {
      throw new GatewayError('codec.avc', `frame cropping leaves no picture (${width}x${height})`, { left, right, top, bottom });
    }
  }

  const info: AvcSpsInfo = {
    profileIdc,
    constraintFlags,
    levelIdc,
    spsId,
    chromaFormatIdc,
    bitDepthLuma,
    bitDepthChroma,
    width,
    height,
    codedWidth,
    codedHeight,
    sarNum: 1,
    sarDen: 1,
    frameMbsOnly,
  };
  if (r.bitsLeft > 0 && r.flag('vui_parameters_present_flag')) {
    // Truncated or odd VUIs are common (some encoders cut the HRD part); what was read before
    // the overrun is kept and the rest is left at its defaults rather than rejecting the stream.
    try {
      readVui(r, info);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  }
  return info;
}

/** §7.3.2.1.1: chroma format and bit depths, present in the High profiles only (defaults otherwise). */
function readChromaFormat(r: BitReader, profileIdc: number): { chromaFormatIdc: number; separateColourPlane: boolean; bitDepthLuma: number; bitDepthChroma: number } {
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLuma = 8;
  let bitDepthChroma = 8;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue('chroma_format_idc');
    if (chromaFormatIdc > 3) throw new GatewayError('codec.avc', `chroma_format_idc ${chromaFormatIdc} out of range`, {});
    if (chromaFormatIdc === 3) separateColourPlane = r.flag('separate_colour_plane_flag');
    bitDepthLuma = r.ue('bit_depth_luma_minus8') + 8;
    bitDepthChroma = r.ue('bit_depth_chroma_minus8') + 8;
    if (bitDepthLuma > 14 || bitDepthChroma > 14) {
      throw new GatewayError('codec.avc', `bit depth ${bitDepthLuma}/${bitDepthChroma} out of range`, {});
    }
    r.skipBits(1, 'qpprime_y_zero_transform_bypass_flag');
    if (r.flag('seq_scaling_matrix_present_flag')) {
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) {
        if (r.flag('seq_scaling_list_present_flag')) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  return { chromaFormatIdc, separateColourPlane, bitDepthLuma, bitDepthChroma };
}

/** §7.3.2.1.1: log2_max_frame_num and the picture order count fields, checked and skipped. */
function skipFrameNumAndPoc(r: BitReader): void {
  const log2MaxFrameNumMinus4 = r.ue('log2_max_frame_num_minus4');
  if (log2MaxFrameNumMinus4 > 12) throw new GatewayError('codec.avc', 'log2_max_frame_num_minus4 out of range', {});
  const pocType = r.ue('pic_order_cnt_type');
  if (pocType === 0) {
    if (r.ue('log2_max_pic_order_cnt_lsb_minus4') > 12) throw new GatewayError('codec.avc', 'log2_max_pic_order_cnt_lsb_minus4 out of range', {});
  } else if (pocType === 1) {
    r.skipBits(1, 'delta_pic_order_always_zero_flag');
    r.se('offset_for_non_ref_pic');
    r.se('offset_for_top_to_bottom_field');
    const cycle = r.ue('num_ref_frames_in_pic_order_cnt_cycle');
    if (cycle > 255) throw new GatewayError('codec.avc', 'num_ref_frames_in_pic_order_cnt_cycle out of range', {});
    for (let i = 0; i < cycle; i++) r.se('offset_for_ref_frame');
  } else if (pocType !== 2) {
    throw new GatewayError('codec.avc', `pic_order_cnt_type ${pocType} out of range`, {});
  }
}

/** H.264 §7.3.2.1.1.1 scaling_list(): only skipped, the values do not matter to a packager. */
function skipScalingList(r: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) {
      const delta = r.se('delta_scale');
      if (delta < -128 || delta > 127) throw new GatewayError('codec.avc', `delta_scale ${delta} out of range`, {});
      nextScale = (lastScale + delta + 256) % 256;
    }
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** H.264 §E.1.1 vui_parameters(), up to timing_info (HRD and bitstream restriction are not needed). */
function readVui(r: BitReader, info: AvcSpsInfo): void {
  if (r.flag('aspect_ratio_info_present_flag')) {
    const idc = r.u(8, 'aspect_ratio_idc');
    if (idc === EXTENDED_SAR) {
      const num = r.u(16, 'sar_width');
      const den = r.u(16, 'sar_height');
      if (num > 0 && den > 0) {
        info.sarNum = num;
        info.sarDen = den;
      }
    } else if (idc > 0 && idc < SAR_TABLE.length) {
      info.sarNum = SAR_TABLE[idc]![0];
      info.sarDen = SAR_TABLE[idc]![1];
    }
  }
  if (r.flag('overscan_info_present_flag')) r.skipBits(1, 'overscan_appropriate_flag');
  if (r.flag('video_signal_type_present_flag')) {
    r.skipBits(4, 'video_format, video_full_range_flag');
    if (r.flag('colour_description_present_flag')) r.skipBits(24, 'colour description');
  }
  if (r.flag('chroma_loc_info_present_flag')) {
    r.ue('chroma_sample_loc_type_top_field');
    r.ue('chroma_sample_loc_type_bottom_field');
  }
  if (r.flag('timing_info_present_flag')) {
    const numUnitsInTick = r.u(32, 'num_units_in_tick');
    const timeScale = r.u(32, 'time_scale');
    // §E.2.1: one frame is two field ticks, hence the factor 2. Values outside 1..300 fps are
    // nonsense some encoders write (e.g. 1/1), better unknown than wrong.
    if (numUnitsInTick > 0 && timeScale > 0) {
      const fps = timeScale / (2 * numUnitsInTick);
      if (fps >= 1 && fps <= 300) info.fps = fps;
    }
  }
}

/** RFC 6381 §3.3: `avc1.PPCCLL`, profile_idc, constraint byte and level_idc as hex. */
export function avcCodecString(sps: Pick<AvcSpsInfo, 'profileIdc' | 'constraintFlags' | 'levelIdc'>): string {
  const hex = (v: number): string => (v & 0xff).toString(16).padStart(2, '0');
  return `avc1.${hex(sps.profileIdc)}${hex(sps.constraintFlags)}${hex(sps.levelIdc)}`;
}

/**
 * Builds an avcC from raw SPS/PPS NAL units (no start codes, no length prefix), for Annex B
 * sources. Profile, compatibility and level are copied from the first SPS as §5.3.3.1.2 requires.
 */
export function buildAvcDecoderConfigurationRecord(sps: Uint8Array[], pps: Uint8Array[], nalLengthSize = 4): Uint8Array {
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError('codec.avc', `invalid NAL length size ${nalLengthSize}`, {});
  }
  if (sps.length < 1 || sps.length > 31) throw new GatewayError('codec.avc', `avcC needs 1..31 SPS, got ${sps.length}`, {});
  if (pps.length > 255) throw new GatewayError('codec.avc', `avcC holds at most 255 PPS, got ${pps.length}`, {});
  for (const nal of [...sps, ...pps]) {
    if (nal.byteLength === 0 || nal.byteLength > 0xffff) {
      throw new GatewayError('codec.avc', `parameter set of ${nal.byteLength} bytes does not fit avcC`, {});
    }
  }
  const first = parseSps(sps[0]!);
  const trailer = HIGH_PROFILES_WITH_AVCC_TRAILER.has(first.profileIdc);
  let size = 7 + (trailer ? 4 : 0);
  for (const nal of sps) size += 2 + nal.byteLength;
  for (const nal of pps) size += 2 + nal.byteLength;
  const out = new Uint8Array(size);
  out[0] = 1;
  out[1] = first.profileIdc;
  out[2] = first.constraintFlags;
  out[3] = first.levelIdc;
  out[4] = 0xfc | (nalLengthSize - 1);
  out[5] = 0xe0 | sps.length;
  let off = 6;
  const put = (nal: Uint8Array): void => {
    out[off] = nal.byteLength >>> 8;
    out[off + 1] = nal.byteLength & 0xff;
    out.set(nal, off + 2);
    off += 2 + nal.byteLength;
  };
  sps.forEach(put);
  out[off++] = pps.length;
  pps.forEach(put);
  if (trailer) {
    out[off++] = 0xfc | first.chromaFormatIdc;
    out[off++] = 0xf8 | (first.bitDepthLuma - 8);
    out[off++] = 0xf8 | (first.bitDepthChroma - 8);
    out[off++] = 0; // numOfSequenceParameterSetExt
  }
  return out;
}
