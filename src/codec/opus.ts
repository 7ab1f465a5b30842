/**
 * Opus for the pipeline: the identification header (OpusHead, RFC 7845 §5.1) that Enhanced RTMP's
 * `Opus` SequenceStart carries, the OpusSpecificBox payload made from it ("Encapsulation of Opus
 * in ISO Base Media File Format" v1.0.0 §4.3.2, `dOps`), and a packet's duration from its TOC byte
 * (RFC 6716 §3.1, §3.2). Pure: bytes in, values out; malformed input throws GatewayError.
 */
import { GatewayError } from '../core/errors.js';

/** Opus always decodes at 48 kHz (RFC 7845 §5.1: Input Sample Rate is informational only). */
export const OPUS_SAMPLE_RATE = 48_000;
/** The nominal frame when nothing else is known: 20 ms, libopus's and OBS's default. */
export const OPUS_DEFAULT_FRAME_SAMPLES = 960;
/** Opus-in-ISOBMFF §4.3.6.2: at least 80 ms of pre-roll after every random access. */
export const OPUS_PREROLL_SAMPLES = 3_840;
/** RFC 6716 §3.2.5 (R5): a packet lasts at most 120 ms. */
const MAX_PACKET_SAMPLES = 5_760;
const MAGIC = 'OpusHead';
const HEAD_LENGTH = 19;

export interface OpusHead {
  /** RFC 7845 §5.1 version (1; any of 0..15 is read as compatible). */
  readonly version: number;
  /** Output Channel Count (C). */
  readonly channels: number;
  /** Pre-skip: samples at 48 kHz to discard from the decoder output at the start. */
  readonly preSkip: number;
  /** Input Sample Rate (informational). */
  readonly inputSampleRate: number;
  /** Output Gain, Q7.8 dB, signed. */
  readonly outputGain: number;
  /** Channel Mapping Family (0: mono/stereo, 1: Vorbis order up to 8 channels, 255: undefined order). */
  readonly mappingFamily: number;
  /** Stream Count (N) and Coupled Count (M); family 0 implies N = 1, M = C - 1. */
  readonly streamCount: number;
  readonly coupledCount: number;
  /** Channel Mapping table (family != 0 only; empty for family 0). */
  readonly channelMapping: Uint8Array;
}

function bad(message: string, context: Record<string, unknown> = {}): GatewayError {
  return new GatewayError('codec.opus', message, context);
}

/** RFC 7845 §5.1: the ID header, little-endian, 19 bytes plus the mapping table for family != 0. */
export function parseOpusHead(bytes: Uint8Array): OpusHead {
  if (bytes.byteLength < HEAD_LENGTH) throw bad('OpusHead shorter than 19 bytes', { length: bytes.byteLength });
  if (String.fromCharCode(...bytes.subarray(0, 8)) !== MAGIC) throw bad('ID header does not start with "OpusHead"');
  const version = bytes[8]!;
  // §5.1: "the major version [upper four bits] 0 ... is backwards compatible".
  if (version >> 4 !== 0) throw bad('unsupported OpusHead major version', { version });
  const channels = bytes[9]!;
  if (channels === 0) throw bad('OpusHead output channel count is 0');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preSkip = view.getUint16(10, true);
  const inputSampleRate = view.getUint32(12, true);
  const outputGain = view.getInt16(16, true);
  const mappingFamily = bytes[18]!;
  if (mappingFamily === 0) {
    // §5.1.1.1: family 0 is mono or stereo, one stream, no table.
    if (channels > 2) throw bad('channel mapping family 0 with more than 2 channels', { channels });
    return { version, channels, preSkip, inputSampleRate, outputGain, mappingFamily, streamCount: 1, coupledCount: channels - 1, channelMapping: new Uint8Array(0) };
  }
  if (mappingFamily === 1 && channels > 8) throw bad('channel mapping family 1 with more than 8 channels', { channels });
  if (bytes.byteLength < HEAD_LENGTH + 2 + channels) throw bad('OpusHead channel mapping table truncated', { length: bytes.byteLength, channels });
  const streamCount = bytes[19]!;
  const coupledCount = bytes[20]!;
  // §5.1.1: N >= 1, M <= N, N + M <= 255; each mapping entry is < N + M or 255 (silence).
  if (streamCount === 0) throw bad('OpusHead stream count is 0');
  if (coupledCount > streamCount || streamCount + coupledCount > 255) throw bad('OpusHead coupled count out of range', { streamCount, coupledCount });
  const channelMapping = bytes.slice(21, 21 + channels);
  for (const index of channelMapping) {
    if (index !== 255 && index >= streamCount + coupledCount) throw bad('OpusHead channel mapping names a missing stream', { index, streamCount, coupledCount });
  }
  return { version, channels, preSkip, inputSampleRate, outputGain, mappingFamily, streamCount, coupledCount, channelMapping };
}

/**
 * An ID header for a publisher that sent an empty SequenceStart (E-RTMP v2 allows it: "default to
 * mono/stereo mode"): family 0, pre-skip unknown (0), 48 kHz.
 */
export function defaultOpusHead(channels: number): Uint8Array {
  const out = new Uint8Array(HEAD_LENGTH);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  out[8] = 1;
  out[9] = channels === 1 ? 1 : 2;
  new DataView(out.buffer).setUint32(12, OPUS_SAMPLE_RATE, true);
  return out;
}

/**
 * OpusDecoderConfigurationRecord (Opus-in-ISOBMFF §4.3.2), the `dOps` box payload: the same fields
 * as OpusHead without the magic, Version 0, big-endian.
 */
export function opusDopsPayload(head: OpusHead): Uint8Array {
  const table = head.mappingFamily !== 0 ? 2 + head.channels : 0;
  const out = new Uint8Array(11 + table);
  const view = new DataView(out.buffer);
  out[0] = 0; // Version
  out[1] = head.channels;
  view.setUint16(2, head.preSkip);
  view.setUint32(4, head.inputSampleRate);
  view.setInt16(8, head.outputGain);
  out[10] = head.mappingFamily;
  if (table > 0) {
    out[11] = head.streamCount;
    out[12] = head.coupledCount;
    out.set(head.channelMapping, 13);
  }
  return out;
}

/** RFC 6716 §3.1 Table 2: frame size by TOC config, in 48 kHz samples. */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]!; // SILK-only: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config & 1]!; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config & 3]!; // CELT-only: 2.5, 5, 10, 20 ms
}

/**
 * The duration of an Opus packet in 48 kHz samples from its TOC byte (RFC 6716 §3.1) and, for
 * code 3, the frame count byte (§3.2.5). In a multistream sample every packet lasts the same
 * (Opus-in-ISOBMFF §4.3.3), so the first one's TOC answers for the sample.
 */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.byteLength < 1) throw bad('empty Opus packet (RFC 6716 §3.4 R1)');
  const toc = packet[0]!;
  const perFrame = frameSamples(toc >> 3);
  let frames: number;
  switch (toc & 3) {
    case 0:
      frames = 1;
      break;
    case 1:
    case 2:
      frames = 2;
      break;
    default: {
      if (packet.byteLength < 2) throw bad('code 3 Opus packet without its frame count byte');
      frames = packet[1]! & 0x3f;
      if (frames === 0) throw bad('code 3 Opus packet with 0 frames (RFC 6716 §3.2.5)');
    }
  }
  const samples = frames * perFrame;
  if (samples > MAX_PACKET_SAMPLES) throw bad('Opus packet longer than 120 ms (RFC 6716 §3.2.5 R5)', { samples });
  return samples;
}
