/**
 * FLAC for the pipeline (RFC 9639): the STREAMINFO metadata block that Enhanced RTMP's `fLaC`
 * SequenceStart carries (§8.2), the FLACSpecificBox payload made from it ("Encapsulation of FLAC in
 * ISO Base Media File Format" §3.3.2, `dfLa`), and frames: a frame header's block size (§9.1) and
 * the frames of a message split apart, one per ISOBMFF sample (ibid. §3.3.3). Pure: bytes in,
 * values out; malformed input throws GatewayError.
 */
import { readU16, readU24 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';

export interface FlacStreamInfo {
  readonly minBlockSize: number;
  readonly maxBlockSize: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly bitsPerSample: number;
}

export interface FlacConfig {
  readonly streamInfo: FlacStreamInfo;
  /** Every metadata block, STREAMINFO first, the last-metadata-block flag on the last one only. */
  readonly blocks: Uint8Array;
}

const STREAMINFO_LENGTH = 34;
const BLOCK_HEADER_LENGTH = 4;
const BLOCK_TYPE_STREAMINFO = 0;
const BLOCK_TYPE_INVALID = 127;
const LAST_BLOCK = 0x80;
const MARKER = [0x66, 0x4c, 0x61, 0x43]; // "fLaC"

function bad(message: string, context: Record<string, unknown> = {}): GatewayError {
  return new GatewayError('codec.flac', message, context);
}

/** RFC 9639 §8.2 STREAMINFO (34 bytes, big-endian bit fields). */
export function parseStreamInfo(bytes: Uint8Array): FlacStreamInfo {
  if (bytes.byteLength < STREAMINFO_LENGTH) throw bad('STREAMINFO shorter than 34 bytes', { length: bytes.byteLength });
  const minBlockSize = readU16(bytes, 0);
  const maxBlockSize = readU16(bytes, 2);
  // Bytes 10..13: sample rate (20 bits), channels - 1 (3), bits per sample - 1 (5, 1 bit here + 4 next).
  const sampleRate = (bytes[10]! << 12) | (bytes[11]! << 4) | (bytes[12]! >> 4);
  const channels = ((bytes[12]! >> 1) & 0x07) + 1;
  const bitsPerSample = (((bytes[12]! & 1) << 4) | (bytes[13]! >> 4)) + 1;
  if (sampleRate === 0) throw bad('STREAMINFO sample rate is 0');
  // §8.2: block sizes of at least 16 samples; the maximum is at least the minimum.
  if (minBlockSize < 16 || maxBlockSize < minBlockSize) throw bad('STREAMINFO block sizes out of range', { minBlockSize, maxBlockSize });
  if (bitsPerSample < 4) throw bad('STREAMINFO bits per sample below 4', { bitsPerSample });
  return { minBlockSize, maxBlockSize, sampleRate, channels, bitsPerSample };
}

/**
 * The E-RTMP `fLaC` SequenceStart in any of the forms seen: the spec's `fLaC` marker followed by
 * metadata blocks (E-RTMP v2, FlacSequenceHeader), the metadata blocks alone, or the bare 34-byte
 * STREAMINFO (what ffmpeg's FLV muxer and mpegts.js-family players exchange), with or without the
 * marker.
 */
export function parseFlacConfig(bytes: Uint8Array): FlacConfig {
  const off = bytes.byteLength >= 4 && MARKER.every((c, i) => bytes[i] === c) ? 4 : 0;
  // 34 bytes (after the marker, if any) can only be a STREAMINFO without its block header.
  if (bytes.byteLength - off === STREAMINFO_LENGTH) {
    const streamInfo = bytes.subarray(off);
    const blocks = new Uint8Array(BLOCK_HEADER_LENGTH + STREAMINFO_LENGTH);
    blocks[0] = LAST_BLOCK | BLOCK_TYPE_STREAMINFO;
    blocks[3] = STREAMINFO_LENGTH;
    blocks.set(streamInfo, BLOCK_HEADER_LENGTH);
    return { streamInfo: parseStreamInfo(streamInfo), blocks };
  }
  return parseMetadataBlocks(bytes, off);
}

/** Metadata blocks from `off` up to the one flagged last (or the end of the data). */
function parseMetadataBlocks(bytes: Uint8Array, start: number): FlacConfig {
  let off = start;
  const pieces: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    if (off + BLOCK_HEADER_LENGTH > bytes.byteLength) {
      if (pieces.length > 0) break; // no last-block flag: the blocks end with the data
      throw bad('FLAC metadata block header truncated', { offset: off, length: bytes.byteLength });
    }
    const type = bytes[off]! & 0x7f;
    const length = readU24(bytes, off + 1);
    if (pieces.length === 0 && (type !== BLOCK_TYPE_STREAMINFO || length !== STREAMINFO_LENGTH)) {
      throw bad('the first FLAC metadata block is not a 34-byte STREAMINFO (RFC 9639 §8.1)', { type, length });
    }
    if (type === BLOCK_TYPE_INVALID) throw bad('FLAC metadata block of the invalid type 127', { offset: off });
    if (off + BLOCK_HEADER_LENGTH + length > bytes.byteLength) throw bad('FLAC metadata block truncated', { offset: off, type, length });
    const last = (bytes[off]! & LAST_BLOCK) !== 0;
    pieces.push(bytes.subarray(off, off + BLOCK_HEADER_LENGTH + length));
    total += BLOCK_HEADER_LENGTH + length;
    off += BLOCK_HEADER_LENGTH + length;
    if (last) break;
  }
  const blocks = new Uint8Array(total);
  let at = 0;
  pieces.forEach((piece, i) => {
    blocks.set(piece, at);
    blocks[at] = (piece[0]! & 0x7f) | (i === pieces.length - 1 ? LAST_BLOCK : 0);
    at += piece.byteLength;
  });
  return { streamInfo: parseStreamInfo(blocks.subarray(BLOCK_HEADER_LENGTH)), blocks };
}

/** FLACSpecificBox (`dfLa`) payload: FullBox version 0, flags 0, then the metadata blocks (§3.3.2). */
export function flacDflaPayload(config: FlacConfig): Uint8Array {
  const out = new Uint8Array(4 + config.blocks.byteLength);
  out.set(config.blocks, 4);
  return out;
}

/**
 * The AudioSampleEntry samplerate for a FLAC track (FLAC-in-ISOBMFF §3.3.1): the rate when it fits
 * 16 bits, else its greatest regular division that does (96 and 192 kHz -> 48000), else 65535.
 */
export function flacSampleEntryRate(sampleRate: number): number {
  let rate = sampleRate;
  while (rate > 0xffff && rate % 2 === 0) rate /= 2;
  return rate > 0xffff ? 0xffff : rate;
}

export interface FlacFrameHeader {
  /** Samples in the frame (inter-channel samples, §9.1.1). */
  readonly blockSize: number;
  /** Sample rate coded in the header; undefined when it refers to STREAMINFO. */
  readonly sampleRate: number | undefined;
  /** Header length in bytes, CRC-8 included. */
  readonly length: number;
}

/** RFC 9639 §9.1.2: sample rate codes 1..11 (0: STREAMINFO, 12..14: coded after the header). */
const SAMPLE_RATES = [0, 88_200, 176_400, 192_000, 8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000];

const CRC8 = new Uint8Array(256);
const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let c8 = i;
  let c16 = i << 8;
  for (let b = 0; b < 8; b++) {
    c8 = c8 & 0x80 ? ((c8 << 1) ^ 0x07) & 0xff : (c8 << 1) & 0xff; // x^8 + x^2 + x + 1 (§9.1.8)
    c16 = c16 & 0x8000 ? ((c16 << 1) ^ 0x8005) & 0xffff : (c16 << 1) & 0xffff; // x^16 + x^15 + x^2 + 1 (§9.3)
  }
  CRC8[i] = c8;
  CRC16[i] = c16;
}

/** The frame header at `off`, or a reason it is none (no throw: the splitter probes with it). */
function frameHeaderAt(p: Uint8Array, off: number): FlacFrameHeader | string {
  if (off + 6 > p.byteLength) return 'frame header truncated';
  // §9.1: sync code 0b111111111111100, then the blocking strategy bit.
  if (p[off] !== 0xff || (p[off + 1]! & 0xfe) !== 0xf8) return 'no frame sync code';
  const sizeCode = p[off + 2]! >> 4;
  const rateCode = p[off + 2]! & 0x0f;
  const channelCode = p[off + 3]! >> 4;
  const depthCode = (p[off + 3]! >> 1) & 0x07;
  if (sizeCode === 0) return 'reserved block size code 0';
  if (rateCode === 15) return 'invalid sample rate code 15';
  if (channelCode > 10) return `reserved channel assignment ${channelCode}`;
  if (depthCode === 3 || (p[off + 3]! & 1) !== 0) return 'reserved bit depth code or bit';
  // §9.1.5 coded number: UTF-8-like, 1 to 7 bytes.
  let at = off + 4;
  const lead = p[at]!;
  let extra: number;
  if (lead < 0x80) extra = 0;
  else if (lead >= 0xc0 && lead < 0xfe) extra = Math.clz32(~(lead << 24)) - 1;
  else if (lead === 0xfe) extra = 6;
  else return 'malformed coded number';
  at += 1;
  if (at + extra > p.byteLength) return 'frame header truncated';
  for (let i = 0; i < extra; i++, at++) if ((p[at]! & 0xc0) !== 0x80) return 'malformed coded number';
  let blockSize: number;
  if (sizeCode === 1) blockSize = 192;
  else if (sizeCode <= 5) blockSize = 576 << (sizeCode - 2);
  else if (sizeCode >= 8) blockSize = 256 << (sizeCode - 8);
  else if (sizeCode === 6) {
    if (at + 1 > p.byteLength) return 'frame header truncated';
    blockSize = p[at]! + 1;
    at += 1;
  } else {
    if (at + 2 > p.byteLength) return 'frame header truncated';
    blockSize = readU16(p, at) + 1;
    at += 2;
    if (blockSize === 0x10000) return 'block size 65536 (RFC 9639 §9.1.6 forbids it)';
  }
  let sampleRate: number | undefined = rateCode === 0 ? undefined : SAMPLE_RATES[rateCode];
  if (rateCode >= 12) {
    const wide = rateCode !== 12;
    if (at + (wide ? 2 : 1) > p.byteLength) return 'frame header truncated';
    const v = wide ? readU16(p, at) : p[at]!;
    sampleRate = rateCode === 12 ? v * 1000 : rateCode === 13 ? v : v * 10;
    at += wide ? 2 : 1;
  }
  if (at + 1 > p.byteLength) return 'frame header truncated';
  let crc = 0;
  for (let i = off; i < at; i++) crc = CRC8[crc ^ p[i]!]!;
  if (crc !== p[at]) return 'frame header CRC-8 mismatch';
  return { blockSize, sampleRate, length: at + 1 - off };
}

/** RFC 9639 §9.1: the header of the frame that starts `frame`. */
export function readFlacFrameHeader(frame: Uint8Array): FlacFrameHeader {
  const header = frameHeaderAt(frame, 0);
  if (typeof header === 'string') throw bad(`not a FLAC frame: ${header}`, { length: frame.byteLength });
  return header;
}

export interface FlacFrame {
  readonly data: Uint8Array;
  readonly blockSize: number;
}

/**
 * The frames of an E-RTMP `fLaC` CodedFrames body ("one or more audio frames"), as views. A frame
 * has no length field: the next one starts where a valid header (sync code and CRC-8) follows
 * bytes whose CRC-16 checks (§9.3, the footer of the frame before).
 */
export function splitFlacFrames(data: Uint8Array): FlacFrame[] {
  let header = readFlacFrameHeader(data);
  const frames: FlacFrame[] = [];
  let start = 0;
  // The smallest frame: header, one subframe byte, CRC-16.
  let minEnd = header.length + 3;
  let crc = 0;
  for (let j = 0; j < data.byteLength; j++) {
    if (j >= minEnd && crc === 0 && data[j] === 0xff) {
      const next = frameHeaderAt(data, j);
      if (typeof next !== 'string') {
        frames.push({ data: data.subarray(start, j), blockSize: header.blockSize });
        start = j;
        header = next;
        minEnd = j + next.length + 3;
      }
    }
    crc = ((crc << 8) & 0xffff) ^ CRC16[(crc >> 8) ^ data[j]!]!;
  }
  frames.push({ data: data.subarray(start), blockSize: header.blockSize });
  return frames;
}
