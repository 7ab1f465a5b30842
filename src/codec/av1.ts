/**
 * AV1 for the pipeline: OBUs (AV1 Bitstream & Decoding Process Specification §5.3), the sequence
 * header fields we need (§5.5: profile, level, tier, the maximum frame size), the
 * AV1CodecConfigurationRecord (`av1C`, AV1 Codec ISO Media File Format Binding §2.3), and the
 * codec string (`av01.P.LLT.DD`, the same binding's "Codecs Parameter String" section).
 * Pure: bytes in, values out.
 */
import { GatewayError } from '../core/errors.js';
import { BitReader } from './bitreader.js';

export const OBU_SEQUENCE_HEADER = 1;
export const OBU_TEMPORAL_DELIMITER = 2;
export const OBU_PADDING = 15;

export interface Obu {
  readonly type: number;
  /** The whole OBU (header, size field and payload), a view into the input. */
  readonly bytes: Uint8Array;
  /** The payload, a view into the input. */
  readonly payload: Uint8Array;
}

function fail(message: string, context: Record<string, unknown> = {}): GatewayError {
  return new GatewayError('codec.av1', message, context);
}

/** leb128() (§4.10.5): the value and its byte length. */
function readLeb128(bytes: Uint8Array, at: number): { value: number; length: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (at + i >= bytes.byteLength) throw fail('leb128 truncated', { offset: at });
    const b = bytes[at + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, length: i + 1 };
  }
  throw fail('leb128 longer than 8 bytes', { offset: at });
}

/**
 * Splits a low-overhead bitstream (§5.2: OBUs with obu_has_size_field = 1, what E-RTMP, av1C's
 * configOBUs and ISOBMFF samples carry). An OBU without a size field must be the last one.
 */
export function splitObus(bytes: Uint8Array): Obu[] {
  const obus: Obu[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const header = bytes[at]!;
    if (header & 0x80) throw fail('OBU forbidden bit set', { offset: at });
    const type = (header >> 3) & 0x0f;
    const hasExtension = (header & 0x04) !== 0;
    const hasSize = (header & 0x02) !== 0;
    let payloadStart = at + 1 + (hasExtension ? 1 : 0);
    let payloadEnd: number;
    if (hasSize) {
      const size = readLeb128(bytes, payloadStart);
      payloadStart += size.length;
      payloadEnd = payloadStart + size.value;
    } else {
      payloadEnd = bytes.byteLength;
    }
    if (payloadStart > bytes.byteLength || payloadEnd > bytes.byteLength) throw fail('OBU truncated', { offset: at, type });
    obus.push({ type, bytes: bytes.subarray(at, payloadEnd), payload: bytes.subarray(payloadStart, payloadEnd) });
    at = payloadEnd;
  }
  return obus;
}

/**
 * A temporal unit as an ISOBMFF sample (AV1-ISOBMFF §2.4): without Temporal Delimiter and Padding
 * OBUs. Returns the input itself when there is nothing to drop (the usual case for RTMP, whose
 * encoders already leave them out).
 */
export function av1SampleData(temporalUnit: Uint8Array): Uint8Array {
  const obus = splitObus(temporalUnit);
  const kept = obus.filter((o) => o.type !== OBU_TEMPORAL_DELIMITER && o.type !== OBU_PADDING);
  if (kept.length === obus.length) return temporalUnit;
  const out = new Uint8Array(kept.reduce((n, o) => n + o.bytes.byteLength, 0));
  let at = 0;
  for (const o of kept) {
    out.set(o.bytes, at);
    at += o.bytes.byteLength;
  }
  return out;
}

export interface Av1SequenceHeader {
  readonly seqProfile: number;
  readonly stillPicture: boolean;
  /** seq_level_idx and seq_tier of operating point 0 (what av1C and the codec string carry). */
  readonly seqLevelIdx: number;
  readonly seqTier: number;
  readonly maxFrameWidth: number;
  readonly maxFrameHeight: number;
  /** From the timing info, when present. */
  readonly fps?: number;
}

function uvlc(r: BitReader): number {
  let leadingZeros = 0;
  while (r.u(1) === 0) {
    leadingZeros++;
    if (leadingZeros >= 32) return 2 ** 32 - 1;
  }
  return leadingZeros === 0 ? 0 : r.u(leadingZeros) + 2 ** leadingZeros - 1;
}

/** sequence_header_obu() (§5.5.1) up to the maximum frame size. `payload` is the OBU payload. */
export function parseAv1SequenceHeader(payload: Uint8Array): Av1SequenceHeader {
  const r = new BitReader(payload, 'codec.av1');
  try {
    const seqProfile = r.u(3);
    const stillPicture = r.u(1) === 1;
    const reducedStillPictureHeader = r.u(1) === 1;
    let seqLevelIdx = 0;
    let seqTier = 0;
    let fps: number | undefined;
    if (reducedStillPictureHeader) {
      seqLevelIdx = r.u(5);
    } else {
      let decoderModelInfoPresent = false;
      let bufferDelayLength = 0;
      if (r.u(1) === 1) {
        // timing_info() §5.5.3
        const numUnitsInDisplayTick = r.u(32);
        const timeScale = r.u(32);
        if (r.u(1) === 1) uvlc(r);
        if (numUnitsInDisplayTick > 0 && timeScale > 0) fps = timeScale / numUnitsInDisplayTick;
        decoderModelInfoPresent = r.u(1) === 1;
        if (decoderModelInfoPresent) {
          // decoder_model_info() §5.5.4
          bufferDelayLength = r.u(5) + 1;
          r.u(32);
          r.u(5);
          r.u(5);
        }
      }
      const initialDisplayDelayPresent = r.u(1) === 1;
      const operatingPoints = r.u(5) + 1;
      for (let i = 0; i < operatingPoints; i++) {
        r.u(12); // operating_point_idc
        const level = r.u(5);
        const tier = level > 7 ? r.u(1) : 0;
        if (i === 0) {
          seqLevelIdx = level;
          seqTier = tier;
        }
        if (decoderModelInfoPresent && r.u(1) === 1) {
          // operating_parameters_info() §5.5.5
          r.u(bufferDelayLength);
          r.u(bufferDelayLength);
          r.u(1);
        }
        if (initialDisplayDelayPresent && r.u(1) === 1) r.u(4);
      }
    }
    const widthBits = r.u(4) + 1;
    const heightBits = r.u(4) + 1;
    const maxFrameWidth = r.u(widthBits) + 1;
    const maxFrameHeight = r.u(heightBits) + 1;
    return { seqProfile, stillPicture, seqLevelIdx, seqTier, maxFrameWidth, maxFrameHeight, fps };
  } catch (err) {
    if (err instanceof GatewayError) throw fail(`sequence header unreadable: ${err.message}`);
    throw err;
  }
}

export interface Av1ConfigurationRecord {
  readonly seqProfile: number;
  readonly seqLevelIdx: number;
  readonly seqTier: number;
  readonly highBitdepth: boolean;
  readonly twelveBit: boolean;
  readonly monochrome: boolean;
  readonly chromaSubsamplingX: number;
  readonly chromaSubsamplingY: number;
  readonly chromaSamplePosition: number;
  /** The OBUs after the 4 fixed bytes (a Sequence Header OBU, possibly Metadata OBUs). */
  readonly configObus: Uint8Array;
}

/** AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3). */
export function parseAv1ConfigurationRecord(bytes: Uint8Array): Av1ConfigurationRecord {
  if (bytes.byteLength < 4) throw fail('av1C shorter than 4 bytes', { length: bytes.byteLength });
  const b0 = bytes[0]!;
  if ((b0 & 0x80) === 0 || (b0 & 0x7f) !== 1) throw fail('av1C marker/version is not 1/1', { byte: b0 });
  const b1 = bytes[1]!;
  const b2 = bytes[2]!;
  return {
    seqProfile: b1 >> 5,
    seqLevelIdx: b1 & 0x1f,
    seqTier: b2 >> 7,
    highBitdepth: (b2 & 0x40) !== 0,
    twelveBit: (b2 & 0x20) !== 0,
    monochrome: (b2 & 0x10) !== 0,
    chromaSubsamplingX: (b2 >> 3) & 1,
    chromaSubsamplingY: (b2 >> 2) & 1,
    chromaSamplePosition: b2 & 3,
    configObus: bytes.subarray(4),
  };
}

/** The sequence header OBU among `obus`, if any. */
export function findSequenceHeader(obus: Uint8Array): Obu | undefined {
  return splitObus(obus).find((o) => o.type === OBU_SEQUENCE_HEADER);
}

/** Bit depth from av1C's flags (§2.3.4: high_bitdepth, twelve_bit). */
export function av1BitDepth(record: Pick<Av1ConfigurationRecord, 'highBitdepth' | 'twelveBit'>): number {
  return record.highBitdepth ? (record.twelveBit ? 12 : 10) : 8;
}

/** `av01.P.LLT.DD` (AV1-ISOBMFF "Codecs Parameter String"), e.g. `av01.0.08M.08`. */
export function av1CodecString(record: Pick<Av1ConfigurationRecord, 'seqProfile' | 'seqLevelIdx' | 'seqTier' | 'highBitdepth' | 'twelveBit'>): string {
  const level = String(record.seqLevelIdx).padStart(2, '0');
  return `av01.${record.seqProfile}.${level}${record.seqTier ? 'H' : 'M'}.${String(av1BitDepth(record)).padStart(2, '0')}`;
}
