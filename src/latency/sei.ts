/**
 * The latency probe's timestamp SEI: an H.264 SEI NAL (ITU-T H.264 §7.3.2.3, nal_unit_type 6)
 * carrying one user_data_unregistered message (§D.1.7, payloadType 5):
 *
 * ```
 * NAL header 0x06 | payloadType 5 | payloadSize 24 | UUID(16) | send time ms float64 BE (8) | 0x80
 *                                                                  rbsp_trailing_bits ---^
 * ```
 * The payload is escaped with emulation-prevention bytes (§7.4.1: 0x0000 followed by 0x00..0x03
 * gets a 0x03 inserted) so a float64 whose bytes contain 00 00 0x never fakes a start code.
 */
import { GatewayError } from '../core/errors.js';

/** Fixed UUID of our SEI ("streamgate-lat-1" in ASCII). */
export const LATENCY_SEI_UUID = new Uint8Array([
  0x73, 0x74, 0x72, 0x65, 0x61, 0x6d, 0x67, 0x61, 0x74, 0x65, 0x2d, 0x6c, 0x61, 0x74, 0x2d, 0x31,
]);

const NAL_TYPE_SEI = 6;
const SEI_USER_DATA_UNREGISTERED = 5;
const PAYLOAD_SIZE = 16 + 8;
const MAX_SEI_BYTES = 4096;

/** §7.4.1 emulation prevention: escapes an RBSP into NAL payload bytes. */
export function addEmulationPrevention(rbsp: Uint8Array): Uint8Array {
  let extra = 0;
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      extra++;
      zeros = 0;
    }
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (extra === 0) return rbsp;
  const out = new Uint8Array(rbsp.byteLength + extra);
  let o = 0;
  zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out[o++] = 3;
      zeros = 0;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out;
}

/** Inverse of addEmulationPrevention: drops the 0x03 of every 00 00 03. */
export function removeEmulationPrevention(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.byteLength);
  let o = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}

/** The SEI NAL unit (no length prefix, no start code) for one send time in ms since the epoch. */
export function buildTimestampSei(sendTimeMs: number): Uint8Array {
  const rbsp = new Uint8Array(1 + 1 + PAYLOAD_SIZE + 1);
  rbsp[0] = SEI_USER_DATA_UNREGISTERED;
  rbsp[1] = PAYLOAD_SIZE;
  rbsp.set(LATENCY_SEI_UUID, 2);
  new DataView(rbsp.buffer).setFloat64(18, sendTimeMs);
  rbsp[26] = 0x80; // rbsp_stop_one_bit + alignment (§7.3.2.11)
  const escaped = addEmulationPrevention(rbsp);
  const nal = new Uint8Array(1 + escaped.byteLength);
  nal[0] = NAL_TYPE_SEI; // forbidden_zero 0, nal_ref_idc 0, type 6
  nal.set(escaped, 1);
  return nal;
}

/**
 * Reads our send time from one NAL (no prefix), or undefined when it is not our SEI.
 * Walks the sei_message list (§7.3.2.3.1: ff-extended type and size) so other SEI messages
 * in the same NAL are skipped.
 */
export function readTimestampSei(nal: Uint8Array): number | undefined {
  if (nal.byteLength < 2 || (nal[0]! & 0x1f) !== NAL_TYPE_SEI) return undefined;
  if (nal.byteLength > MAX_SEI_BYTES) return undefined;
  const rbsp = removeEmulationPrevention(nal.subarray(1));
  let at = 0;
  while (at < rbsp.byteLength && rbsp[at] !== 0x80) {
    let type = 0;
    while (at < rbsp.byteLength && rbsp[at] === 0xff) {
      type += 255;
      at++;
    }
    if (at >= rbsp.byteLength) return undefined;
    type += rbsp[at++]!;
    let size = 0;
    while (at < rbsp.byteLength && rbsp[at] === 0xff) {
      size += 255;
      at++;
    }
    if (at >= rbsp.byteLength) return undefined;
    size += rbsp[at++]!;
    if (size > rbsp.byteLength - at) return undefined;
    if (type === SEI_USER_DATA_UNREGISTERED && size >= PAYLOAD_SIZE && uuidAt(rbsp, at)) {
      return new DataView(rbsp.buffer, rbsp.byteOffset + at + 16, 8).getFloat64(0);
    }
    at += size;
  }
  return undefined;
}

function uuidAt(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[at + i] !== LATENCY_SEI_UUID[i]) return false;
  return true;
}

function nalLength(frame: Uint8Array, off: number, size: number): number {
  let len = 0;
  for (let i = 0; i < size; i++) len = len * 256 + frame[off + i]!;
  return len;
}

function checkLengthSize(nalLengthSize: number): void {
  if (nalLengthSize !== 1 && nalLengthSize !== 2 && nalLengthSize !== 4) {
    throw new GatewayError('codec.avc', `invalid NAL length size ${nalLengthSize}`, {});
  }
}

/**
 * Inserts `sei` (a NAL without prefix) into a length-prefixed access unit (ISO/IEC 14496-15 §5.3.3)
 * right after any leading AUD (9) / SPS (7) / PPS (8) / other SEI (6) and before the first slice:
 * §7.4.1.2.3 orders SEI before the primary coded picture and after AUD/parameter sets.
 * One allocation at the final size.
 */
export function insertSeiIntoAvcc(frame: Uint8Array, nalLengthSize: number, sei: Uint8Array): Uint8Array {
  checkLengthSize(nalLengthSize);
  if (sei.byteLength >= 2 ** (8 * nalLengthSize)) throw new GatewayError('codec.avc', 'SEI too long for the NAL length size', { size: sei.byteLength });
  let insertAt = 0;
  while (insertAt + nalLengthSize <= frame.byteLength) {
    const len = nalLength(frame, insertAt, nalLengthSize);
    const start = insertAt + nalLengthSize;
    if (len > frame.byteLength - start) throw new GatewayError('codec.avc', 'NAL length overruns access unit', { offset: insertAt });
    const type = len > 0 ? frame[start]! & 0x1f : 0;
    if (len > 0 && type !== 9 && type !== 7 && type !== 8 && type !== 6) break;
    insertAt = start + len;
  }
  const out = new Uint8Array(frame.byteLength + nalLengthSize + sei.byteLength);
  out.set(frame.subarray(0, insertAt), 0);
  let o = insertAt;
  for (let i = nalLengthSize - 1; i >= 0; i--) out[o++] = Math.floor(sei.byteLength / 2 ** (8 * i)) & 0xff;
  out.set(sei, o);
  out.set(frame.subarray(insertAt), o + sei.byteLength);
  return out;
}

/** Our send time from a length-prefixed access unit, or undefined. Never throws on garbage. */
export function findTimestampInAvcc(frame: Uint8Array, nalLengthSize: number): number | undefined {
  checkLengthSize(nalLengthSize);
  let off = 0;
  while (off + nalLengthSize <= frame.byteLength) {
    const len = nalLength(frame, off, nalLengthSize);
    const start = off + nalLengthSize;
    if (len > frame.byteLength - start) return undefined;
    const ts = len > 0 ? readTimestampSei(frame.subarray(start, start + len)) : undefined;
    if (ts !== undefined) return ts;
    off = start + len;
  }
  return undefined;
}

/** Every send time found in an Annex B byte stream (start-code delimited, §B.1). */
export function findTimestampsInAnnexB(data: Uint8Array): number[] {
  const found: number[] = [];
  let i = 0;
  const n = data.byteLength;
  while (i + 3 < n) {
    // A NAL starts after 00 00 01; our SEI's first byte is 0x06.
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      const start = i + 3;
      if ((data[start]! & 0x1f) === NAL_TYPE_SEI) {
        let end = start + 1;
        while (end + 2 < n && !(data[end] === 0 && data[end + 1] === 0 && (data[end + 2] === 1 || data[end + 2] === 0))) end++;
        if (end + 2 >= n) end = n;
        const ts = readTimestampSei(data.subarray(start, end));
        if (ts !== undefined) found.push(ts);
        i = end;
        continue;
      }
      i = start;
      continue;
    }
    i++;
  }
  return found;
}
