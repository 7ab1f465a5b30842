/**
 * ADTS framing (ISO/IEC 14496-3 §1.A.2.2, adts_fixed_header + adts_variable_header), used by
 * MPEG-TS output and by ADTS sources.
 *
 * ```
 * syncword(12)=0xFFF ID(1) layer(2)=0 protection_absent(1)
 * profile(2) sampling_frequency_index(4) private_bit(1) channel_configuration(3)
 * original_copy(1) home(1) copyright_id_bit(1) copyright_id_start(1)
 * aac_frame_length(13, header included) adts_buffer_fullness(11) number_of_raw_data_blocks_in_frame(2)
 * [crc_check(16) when protection_absent = 0]
 * ```
 */
import { GatewayError } from '../core/errors.js';
import type { AudioTrack } from '../core/media.js';
import { AAC_SAMPLE_RATES, parseAudioSpecificConfig } from './aac.js';

export const ADTS_HEADER_LENGTH = 7;
const ADTS_CRC_LENGTH = 2;
const MAX_ADTS_FRAME_LENGTH = 0x1fff;
/** adts_buffer_fullness 0x7FF signals a variable-rate stream. */
const VBR_BUFFER_FULLNESS = 0x7ff;

export interface AdtsHeaderFields {
  /** Core object type (1..4 are representable: profile = objectType - 1). */
  objectType: number;
  samplingFrequencyIndex: number;
  /** channel_configuration 1..7; 0 means a PCE follows in the payload. */
  channelConfiguration: number;
}

/** The most payload one ADTS frame carries: aac_frame_length is 13 bits and includes the header. */
export const ADTS_MAX_PAYLOAD = MAX_ADTS_FRAME_LENGTH - ADTS_HEADER_LENGTH;

/**
 * Writes the 7-byte header (protection_absent = 1, no CRC) of a raw AAC payload of `payloadLength`
 * bytes into `target` at `at`: the one ADTS writer (MPEG-TS output writes every header of a PES
 * into one buffer through it, nothing copied per frame).
 */
export function writeAdtsHeader(target: Uint8Array, at: number, asc: AdtsHeaderFields, payloadLength: number): void {
  if (asc.samplingFrequencyIndex > 12 || asc.samplingFrequencyIndex < 0) {
    throw new GatewayError('codec.aac', `sampling frequency index ${asc.samplingFrequencyIndex} cannot be carried in ADTS`, {});
  }
  if (asc.channelConfiguration < 0 || asc.channelConfiguration > 7) {
    throw new GatewayError('codec.aac', `channel configuration ${asc.channelConfiguration} cannot be carried in ADTS`, {});
  }
  if (asc.objectType < 1 || asc.objectType > 4) {
    // The 2-bit profile field only holds object types 1..4 (Main, LC, SSR, LTP); HE-AAC's core is LC.
    throw new GatewayError('codec.aac', `audio object type ${asc.objectType} cannot be signalled in ADTS`, {});
  }
  const frameLength = ADTS_HEADER_LENGTH + payloadLength;
  if (payloadLength < 0 || frameLength > MAX_ADTS_FRAME_LENGTH) {
    throw new GatewayError('codec.aac', `AAC frame of ${payloadLength} bytes does not fit ADTS`, { payloadLength, max: ADTS_MAX_PAYLOAD });
  }
  const profile = asc.objectType - 1;
  target[at] = 0xff;
  target[at + 1] = 0xf1; // sync low bits, ID 0 (MPEG-4), layer 0, protection_absent 1
  target[at + 2] = (profile << 6) | (asc.samplingFrequencyIndex << 2) | (asc.channelConfiguration >>> 2);
  target[at + 3] = ((asc.channelConfiguration & 3) << 6) | (frameLength >>> 11);
  target[at + 4] = (frameLength >>> 3) & 0xff;
  target[at + 5] = ((frameLength & 7) << 5) | (VBR_BUFFER_FULLNESS >>> 6);
  target[at + 6] = (VBR_BUFFER_FULLNESS & 0x3f) << 2; // number_of_raw_data_blocks_in_frame = 0 (one block)
}

export function buildAdtsHeader(asc: AdtsHeaderFields, payloadLength: number): Uint8Array {
  const h = new Uint8Array(ADTS_HEADER_LENGTH);
  writeAdtsHeader(h, 0, asc, payloadLength);
  return h;
}

/**
 * The ADTS fields of an audio track, from its AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), or
 * its own fields when it has none. For SBR/PS (types 5, 29) with explicit signalling the header
 * describes the AAC core: its object type and sampling index, as decoders expect (implicit SBR).
 */
export function adtsFieldsOf(track: AudioTrack): AdtsHeaderFields {
  if (track.config.byteLength >= 2) {
    const info = parseAudioSpecificConfig(track.config);
    const index = info.samplingFrequencyIndex === 15 ? AAC_SAMPLE_RATES.indexOf(info.sampleRate) : info.samplingFrequencyIndex;
    return checked({ objectType: info.objectType, samplingFrequencyIndex: index, channelConfiguration: info.channelConfiguration });
  }
  return checked({ objectType: track.objectType, samplingFrequencyIndex: AAC_SAMPLE_RATES.indexOf(track.sampleRate), channelConfiguration: track.channels });
}

function checked(fields: AdtsHeaderFields): AdtsHeaderFields {
  // Fail when the track is set up (with the reason), not on its first frame.
  writeAdtsHeader(new Uint8Array(ADTS_HEADER_LENGTH), 0, fields, 0);
  return fields;
}

export interface AdtsHeader {
  objectType: number;
  samplingFrequencyIndex: number;
  sampleRate: number;
  channelConfiguration: number;
  protectionAbsent: boolean;
  /** Whole frame including header (and CRC). */
  frameLength: number;
  /** 7, or 9 with CRC. */
  headerLength: number;
  rawDataBlocks: number;
}

export interface AdtsFrame {
  header: AdtsHeader;
  /** Raw AAC payload (view, header and CRC excluded). */
  payload: Uint8Array;
}

export interface AdtsParseResult {
  frames: AdtsFrame[];
  /** Offset of the first byte not consumed: an incomplete frame starts here (push it again with more data). */
  consumed: number;
  /** Bytes skipped while hunting for a sync word. */
  skipped: number;
}

/** Parses a header at `off`; undefined when the bytes there are not a plausible ADTS header. */
export function parseAdtsHeader(data: Uint8Array, off: number): AdtsHeader | undefined {
  if (off + ADTS_HEADER_LENGTH > data.byteLength) return undefined;
  if (data[off] !== 0xff || (data[off + 1]! & 0xf6) !== 0xf0) return undefined; // sync + layer 0
  const protectionAbsent = (data[off + 1]! & 1) === 1;
  const b2 = data[off + 2]!;
  const samplingFrequencyIndex = (b2 >>> 2) & 0x0f;
  const sampleRate = AAC_SAMPLE_RATES[samplingFrequencyIndex];
  if (sampleRate === undefined) return undefined;
  const frameLength = ((data[off + 3]! & 0x03) << 11) | (data[off + 4]! << 3) | (data[off + 5]! >>> 5);
  const headerLength = protectionAbsent ? ADTS_HEADER_LENGTH : ADTS_HEADER_LENGTH + ADTS_CRC_LENGTH;
  if (frameLength < headerLength) return undefined;
  return {
    objectType: (b2 >>> 6) + 1,
    samplingFrequencyIndex,
    sampleRate,
    channelConfiguration: ((b2 & 1) << 2) | (data[off + 3]! >>> 6),
    protectionAbsent,
    frameLength,
    headerLength,
    rawDataBlocks: (data[off + 6]! & 3) + 1,
  };
}

/**
 * Splits every complete ADTS frame out of `data`. Push-friendly: an incomplete trailing frame is
 * left at `consumed` for the caller to prepend to the next chunk. Junk between frames is skipped
 * byte by byte until a plausible header is found.
 */
export function parseAdtsFrames(data: Uint8Array): AdtsParseResult {
  const frames: AdtsFrame[] = [];
  let off = 0;
  let skipped = 0;
  while (off + ADTS_HEADER_LENGTH <= data.byteLength) {
    const header = parseAdtsHeader(data, off);
    if (!header) {
      off++;
      skipped++;
      continue;
    }
    if (off + header.frameLength > data.byteLength) break;
    frames.push({ header, payload: data.subarray(off + header.headerLength, off + header.frameLength) });
    off += header.frameLength;
  }
  return { frames, consumed: off, skipped };
}

/** Two-byte AudioSpecificConfig (§1.6.2.1) equivalent to an ADTS header: GASpecificConfig all zero. */
export function audioSpecificConfigFromAdts(header: Pick<AdtsHeader, 'objectType' | 'samplingFrequencyIndex' | 'channelConfiguration'>): Uint8Array {
  const aot = header.objectType & 0x1f;
  const sfi = header.samplingFrequencyIndex & 0x0f;
  const ch = header.channelConfiguration & 0x0f;
  return Uint8Array.of((aot << 3) | (sfi >>> 1), ((sfi & 1) << 7) | (ch << 3));
}
