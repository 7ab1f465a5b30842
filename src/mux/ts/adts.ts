/**
 * ADTS headers for raw AAC access units in MPEG-TS (stream_type 0x0F carries ADTS,
 * ISO/IEC 13818-1 Table 2-34; header syntax ISO/IEC 14496-3 §1.A.2.2 / 13818-7 §6.2).
 * (Private to the TS muxer: `src/codec/adts.ts` did not exist when this was written.)
 *
 *   syncword 12 | ID 1 | layer 2 | protection_absent 1 | profile 2 | sampling_frequency_index 4 |
 *   private 1 | channel_configuration 3 | original 1 | home 1 | copyright_id 1 | copyright_start 1 |
 *   frame_length 13 | buffer_fullness 11 | number_of_raw_data_blocks 2
 */
import { GatewayError } from '../../core/errors.js';
import type { AudioTrack } from '../../core/media.js';

export const ADTS_HEADER_SIZE = 7;
/** frame_length is 13 bits and includes the header. */
export const ADTS_MAX_PAYLOAD = 0x1fff - ADTS_HEADER_SIZE;

const SAMPLING_FREQUENCIES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface AdtsConfig {
  /** ADTS profile = MPEG-4 audio object type - 1 (only types 1..4 fit two bits). */
  readonly profile: number;
  readonly samplingFrequencyIndex: number;
  readonly channelConfiguration: number;
}

/**
 * ADTS fields from the AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). For SBR/PS (types 5, 29)
 * with explicit signalling the ADTS header describes the AAC core: the first sampling index and
 * the underlying object type, as decoders expect (implicit SBR detection).
 */
export function adtsConfigOf(track: AudioTrack): AdtsConfig {
  const asc = track.config;
  let objectType = track.objectType;
  let samplingFrequencyIndex = SAMPLING_FREQUENCIES.indexOf(track.sampleRate);
  let channelConfiguration = track.channels;
  if (asc.length >= 2) {
    const bits = new BitReader(asc);
    objectType = bits.read(5);
    if (objectType === 31) objectType = 32 + bits.read(6);
    const index = bits.read(4);
    if (index !== 15) samplingFrequencyIndex = index;
    else {
      const explicit = bits.read(24);
      samplingFrequencyIndex = SAMPLING_FREQUENCIES.indexOf(explicit);
    }
    channelConfiguration = bits.read(4);
    if ((objectType === 5 || objectType === 29) && bits.remaining() >= 9) {
      const extIndex = bits.read(4);
      if (extIndex === 15) bits.read(24);
      objectType = bits.remaining() >= 5 ? bits.read(5) : 2;
    }
  }
  if (objectType < 1 || objectType > 4) {
    throw new GatewayError('mux.ts', 'audio object type cannot be signalled in ADTS', { objectType });
  }
  if (samplingFrequencyIndex < 0 || samplingFrequencyIndex > 12) {
    throw new GatewayError('mux.ts', 'sample rate has no ADTS sampling_frequency_index', { sampleRate: track.sampleRate });
  }
  if (channelConfiguration < 0 || channelConfiguration > 7) {
    throw new GatewayError('mux.ts', 'channel configuration out of ADTS range', { channelConfiguration });
  }
  return { profile: objectType - 1, samplingFrequencyIndex, channelConfiguration };
}

/** Writes the 7-byte header (protection_absent = 1, no CRC) for a raw payload of `payloadLength` bytes. */
export function writeAdtsHeader(target: Uint8Array, at: number, config: AdtsConfig, payloadLength: number): void {
  if (payloadLength < 0 || payloadLength > ADTS_MAX_PAYLOAD) {
    throw new GatewayError('mux.ts', 'AAC frame too long for ADTS', { payloadLength, max: ADTS_MAX_PAYLOAD });
  }
  const frameLength = payloadLength + ADTS_HEADER_SIZE;
  const ch = config.channelConfiguration;
  target[at] = 0xff;
  target[at + 1] = 0xf1; // syncword low nibble, ID 0 (MPEG-4), layer 00, protection_absent 1
  target[at + 2] = (config.profile << 6) | (config.samplingFrequencyIndex << 2) | ((ch >> 2) & 1);
  target[at + 3] = ((ch & 3) << 6) | ((frameLength >> 11) & 3);
  target[at + 4] = (frameLength >> 3) & 0xff;
  target[at + 5] = ((frameLength & 7) << 5) | 0x1f; // buffer_fullness 0x7FF (VBR)
  target[at + 6] = 0xfc; // buffer_fullness low bits, number_of_raw_data_blocks_in_frame 0
}

class BitReader {
  private bit = 0;
  constructor(private readonly bytes: Uint8Array) {}
  remaining(): number {
    return this.bytes.length * 8 - this.bit;
  }
  read(n: number): number {
    if (n > this.remaining()) throw new GatewayError('mux.ts', 'AudioSpecificConfig too short', { bits: this.bit, length: this.bytes.length });
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.bit >> 3]!;
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
}
