/**
 * Closed captions carried in the video itself, as OBS, hardware encoders and broadcast chains
 * insert them: ATSC A/53 Part 4 `cc_data()` in an SEI message of type 4
 * (user_data_registered_itu_t_t35, ITU-T T.35 country 0xB5, provider 0x0031, user identifier
 * `GA94`, user_data_type_code 3), in H.264 SEI NAL units (type 6, H.264 §7.3.2.3) or HEVC
 * prefix SEI (type 39, H.265 §7.3.2.4). Each cc_data triplet says whether it carries CEA-608
 * (CTA-608-E: cc_type 0 = field 1, CC1/CC2; 1 = field 2, CC3/CC4) or CEA-708 DTVCC data
 * (cc_type 2/3), and whether it is valid.
 *
 * The media passes through untouched; this only finds out which caption services a stream has,
 * so playlists and manifests can declare them (HLS CLOSED-CAPTIONS with INSTREAM-ID, DASH
 * `urn:scte:dash:cc:cea-608:2015` Accessibility). Pure: bytes in, flags out.
 */
import { forEachNal } from './annexb.js';
import { nalToRbsp } from './bitreader.js';

export interface CaptionServices {
  /** CEA-608 field 1 data (CC1, CC2). */
  readonly field1: boolean;
  /** CEA-608 field 2 data (CC3, CC4). */
  readonly field2: boolean;
  /** CEA-708 DTVCC packets. */
  readonly dtvcc: boolean;
}

export const NO_CAPTIONS: CaptionServices = Object.freeze({ field1: false, field2: false, dtvcc: false });

const AVC_NAL_SEI = 6;
const HEVC_NAL_PREFIX_SEI = 39;
const SEI_USER_DATA_REGISTERED = 4;
const GA94 = 0x47413934;
const CC_DATA = 3;

/** Caption services in one length-prefixed access unit (AVCC/HVCC), or NO_CAPTIONS. */
export function captionServicesOf(frame: Uint8Array, nalLengthSize: number, codec: 'avc' | 'hevc'): CaptionServices {
  let found: CaptionServices = NO_CAPTIONS;
  forEachNal(
    frame,
    nalLengthSize,
    (nal) => {
      const type = codec === 'avc' ? nal[0]! & 0x1f : (nal[0]! >> 1) & 0x3f;
      if (type !== (codec === 'avc' ? AVC_NAL_SEI : HEVC_NAL_PREFIX_SEI)) return;
      found = mergeServices(found, captionsInSei(nalToRbsp(nal.subarray(codec === 'avc' ? 1 : 2))));
    },
    codec === 'avc' ? 'codec.avc' : 'codec.hevc',
  );
  return found;
}

export function mergeServices(a: CaptionServices, b: CaptionServices): CaptionServices {
  if (b === NO_CAPTIONS) return a;
  if (a === NO_CAPTIONS) return b;
  return { field1: a.field1 || b.field1, field2: a.field2 || b.field2, dtvcc: a.dtvcc || b.dtvcc };
}

export function hasCaptions(s: CaptionServices): boolean {
  return s.field1 || s.field2 || s.dtvcc;
}

/** The SEI messages of an RBSP (after the NAL header): `cc_data` of every A/53 message in it. */
function captionsInSei(rbsp: Uint8Array): CaptionServices {
  let found: CaptionServices = NO_CAPTIONS;
  let off = 0;
  // sei_message() until rbsp_trailing_bits (0x80 and zero padding).
  while (off < rbsp.byteLength && !(rbsp[off] === 0x80 && off === rbsp.byteLength - 1)) {
    let payloadType = 0;
    while (off < rbsp.byteLength && rbsp[off] === 0xff) payloadType += rbsp[off++]!;
    if (off >= rbsp.byteLength) break;
    payloadType += rbsp[off++]!;
    let payloadSize = 0;
    while (off < rbsp.byteLength && rbsp[off] === 0xff) payloadSize += rbsp[off++]!;
    if (off >= rbsp.byteLength) break;
    payloadSize += rbsp[off++]!;
    if (payloadSize > rbsp.byteLength - off) break; // truncated: what was read stands
    if (payloadType === SEI_USER_DATA_REGISTERED) found = mergeServices(found, captionsInT35(rbsp.subarray(off, off + payloadSize)));
    off += payloadSize;
  }
  return found;
}

/** A/53 Part 4 §6.2.3 (via SCTE 128-1 §8.1): user_data_registered_itu_t_t35 carrying cc_data(). */
function captionsInT35(p: Uint8Array): CaptionServices {
  // itu_t_t35_country_code 0xB5 (USA), itu_t_t35_provider_code 0x0031 (ATSC), user_identifier.
  if (p.byteLength < 10 || p[0] !== 0xb5 || p[1] !== 0x00 || p[2] !== 0x31) return NO_CAPTIONS;
  const identifier = ((p[3]! << 24) | (p[4]! << 16) | (p[5]! << 8) | p[6]!) >>> 0;
  if (identifier !== GA94 || p[7] !== CC_DATA) return NO_CAPTIONS;
  // cc_data(): reserved(1) process_cc_data_flag(1) zero_bit(1) cc_count(5), em_data(8).
  const flags = p[8]!;
  if ((flags & 0x40) === 0) return NO_CAPTIONS;
  const count = flags & 0x1f;
  let field1 = false;
  let field2 = false;
  let dtvcc = false;
  for (let i = 0; i < count; i++) {
    const at = 10 + i * 3;
    if (at + 3 > p.byteLength) break;
    // marker_bits(5) cc_valid(1) cc_type(2), cc_data_1, cc_data_2.
    const head = p[at]!;
    if ((head & 0x04) === 0) continue;
    const type = head & 0x03;
    const data = (p[at + 1]! & 0x7f) | (p[at + 2]! & 0x7f);
    if (type === 0 && data !== 0) field1 = true;
    else if (type === 1 && data !== 0) field2 = true;
    else if (type >= 2) dtvcc = true;
  }
  return field1 || field2 || dtvcc ? { field1, field2, dtvcc } : NO_CAPTIONS;
}
