/**
 * VP9 for the pipeline: the VPCodecConfigurationRecord (`vpcC`, "VP Codec ISO Media File Format
 * Binding" §2.2/§2.3), the codec string (`vp09.PP.LL.DD.CC.cp.tc.mc.FF`, same document "Codecs
 * Parameter String"), and the frame size from a key frame's uncompressed header (VP9 Bitstream
 * Specification §6.2, the record carries none). Pure: bytes in, values out.
 */
import { GatewayError } from '../core/errors.js';
import { BitReader } from './bitreader.js';

export interface VpcRecord {
  readonly profile: number;
  readonly level: number;
  readonly bitDepth: number;
  readonly chromaSubsampling: number;
  readonly videoFullRangeFlag: number;
  readonly colourPrimaries: number;
  readonly transferCharacteristics: number;
  readonly matrixCoefficients: number;
}

/** The record as Enhanced RTMP's `vp09` SequenceStart carries it (the vpcC box payload after version/flags). */
export function parseVpcRecord(bytes: Uint8Array): VpcRecord {
  if (bytes.byteLength < 8) throw new GatewayError('codec.vp9', 'VPCodecConfigurationRecord shorter than 8 bytes', { length: bytes.byteLength });
  const b2 = bytes[2]!;
  return {
    profile: bytes[0]!,
    level: bytes[1]!,
    bitDepth: b2 >> 4,
    chromaSubsampling: (b2 >> 1) & 0x07,
    videoFullRangeFlag: b2 & 1,
    colourPrimaries: bytes[3]!,
    transferCharacteristics: bytes[4]!,
    matrixCoefficients: bytes[5]!,
  };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** `vp09.PP.LL.DD.CC.cp.tc.mc.FF`, e.g. `vp09.00.21.08.01.02.02.02.00`. */
export function vp9CodecString(r: VpcRecord): string {
  return `vp09.${two(r.profile)}.${two(r.level)}.${two(r.bitDepth)}.${two(r.chromaSubsampling)}.${two(r.colourPrimaries)}.${two(r.transferCharacteristics)}.${two(r.matrixCoefficients)}.${two(r.videoFullRangeFlag)}`;
}

const SYNC_CODE = 0x498342;
const CS_RGB = 7;

/**
 * The frame size of a VP9 key frame (uncompressed_header, §6.2): undefined for inter frames and
 * show_existing_frame. A superframe (§B.3) starts with its first frame, so its header is first.
 */
export function vp9KeyFrameSize(frame: Uint8Array): { width: number; height: number } | undefined {
  const r = new BitReader(frame, 'codec.vp9');
  try {
    if (r.u(2) !== 2) throw new GatewayError('codec.vp9', 'frame_marker is not 2', {});
    const profile = r.u(1) | (r.u(1) << 1);
    if (profile === 3) r.u(1);
    if (r.u(1) === 1) return undefined; // show_existing_frame
    const frameType = r.u(1);
    if (frameType !== 0) return undefined; // not a KEY_FRAME
    r.u(1); // show_frame
    r.u(1); // error_resilient_mode
    if (r.u(24) !== SYNC_CODE) throw new GatewayError('codec.vp9', 'key frame without the sync code', {});
    // color_config (§6.2.2)
    if (profile >= 2) r.u(1);
    const colorSpace = r.u(3);
    if (colorSpace !== CS_RGB) {
      r.u(1);
      if (profile === 1 || profile === 3) r.u(3);
    } else if (profile === 1 || profile === 3) {
      r.u(1);
    }
    const width = r.u(16) + 1;
    const height = r.u(16) + 1;
    return { width, height };
  } catch (err) {
    if (err instanceof GatewayError) throw new GatewayError('codec.vp9', `key frame header unreadable: ${err.message}`, {});
    throw err;
  }
}
