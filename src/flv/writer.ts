/**
 * FLV builders (Adobe FLV spec v10.1 §E.2, §E.3, §E.4.1) for HTTP-FLV output: pure, one
 * allocation per call.
 */
import { writeU24, writeU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';

const FILE_HEADER_LENGTH = 9;
const TAG_HEADER_LENGTH = 11;
const PREVIOUS_TAG_SIZE_LENGTH = 4;
const MAX_TAG_SIZE = 0xffffff;

/** The 9-byte file header followed by PreviousTagSize0 = 0 (13 bytes). */
export function flvHeader(opts: { audio: boolean; video: boolean }): Uint8Array {
  const out = new Uint8Array(FILE_HEADER_LENGTH + PREVIOUS_TAG_SIZE_LENGTH);
  out[0] = 0x46; // 'F'
  out[1] = 0x4c; // 'L'
  out[2] = 0x56; // 'V'
  out[3] = 1;
  out[4] = (opts.audio ? 0x04 : 0) | (opts.video ? 0x01 : 0);
  writeU32(out, 5, FILE_HEADER_LENGTH);
  return out;
}

/**
 * One tag: 11-byte header, body, then its PreviousTagSize (11 + body length), so a stream is
 * `flvHeader() + encodeFlvTag()*`. `timestamp` is 32-bit ms; the top byte goes in TimestampExtended.
 */
export function encodeFlvTag(type: number, timestamp: number, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_TAG_SIZE) {
    throw new GatewayError('flv', `tag body of ${payload.byteLength} bytes exceeds the 24-bit DataSize`, { type });
  }
  const ts = timestamp >>> 0;
  const out = new Uint8Array(TAG_HEADER_LENGTH + payload.byteLength + PREVIOUS_TAG_SIZE_LENGTH);
  out[0] = type & 0x1f;
  writeU24(out, 1, payload.byteLength);
  writeU24(out, 4, ts & 0xffffff);
  out[7] = ts >>> 24;
  // StreamID (3 bytes) stays 0.
  out.set(payload, TAG_HEADER_LENGTH);
  writeU32(out, TAG_HEADER_LENGTH + payload.byteLength, TAG_HEADER_LENGTH + payload.byteLength);
  return out;
}
