/**
 * RTMP message types and the small fixed-layout payloads: protocol control messages
 * (Adobe RTMP spec §5.4), user control events (§6.2, §7.1.7) and aggregate messages (§7.1.6).
 */
import { GatewayError } from '../core/errors.js';
import { readU16, readU24, readU32, writeU16, writeU32 } from '../core/bytes.js';

/** Message type ids (§5.4, §7.1). */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAMF3: 15,
  SharedObjectAMF3: 16,
  CommandAMF3: 17,
  DataAMF0: 18,
  SharedObjectAMF0: 19,
  CommandAMF0: 20,
  Aggregate: 22,
} as const;
export type MessageTypeId = (typeof MessageType)[keyof typeof MessageType];

/** User control event types (§7.1.7). */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEOF: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;
export type UserControlEventId = (typeof UserControlEvent)[keyof typeof UserControlEvent];

/** Set Peer Bandwidth limit type (§5.4.5). */
export const PeerBandwidthLimit = { Hard: 0, Soft: 1, Dynamic: 2 } as const;
export type PeerBandwidthLimitType = (typeof PeerBandwidthLimit)[keyof typeof PeerBandwidthLimit];

function u32Payload(value: number, what: string): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new GatewayError('rtmp.chunk', `${what} ${value} is not a 32-bit unsigned integer`, {});
  }
  const out = new Uint8Array(4);
  writeU32(out, 0, value);
  return out;
}

/** §5.4.1: 31-bit size, 1..0x7FFFFFFF; we send at most 0xFFFFFF (no message is longer). */
export function setChunkSizePayload(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1 || size > 0xffffff) {
    throw new GatewayError('rtmp.chunk', `chunk size ${size} out of range 1..16777215`, { type: MessageType.SetChunkSize });
  }
  return u32Payload(size, 'chunk size');
}

/** §5.4.2: the chunk stream whose partial message is to be discarded. */
export function abortPayload(csid: number): Uint8Array {
  return u32Payload(csid, 'chunk stream id');
}

/** §5.4.3: bytes received so far (the caller wraps at 2^32). */
export function ackPayload(sequence: number): Uint8Array {
  return u32Payload(sequence >>> 0, 'sequence number');
}

/** §5.4.4 */
export function windowAckSizePayload(size: number): Uint8Array {
  return u32Payload(size, 'window size');
}

/** §5.4.5: window size then limit type (0 hard, 1 soft, 2 dynamic). */
export function setPeerBandwidthPayload(size: number, limitType: PeerBandwidthLimitType | number): Uint8Array {
  if (limitType !== 0 && limitType !== 1 && limitType !== 2) {
    throw new GatewayError('rtmp.chunk', `peer bandwidth limit type ${limitType} is not 0, 1 or 2`, {});
  }
  const out = new Uint8Array(5);
  out.set(u32Payload(size, 'window size'));
  out[4] = limitType;
  return out;
}

/**
 * §7.1.7: event type (2 bytes) then event data: a 4-byte stream id or timestamp; SetBufferLength
 * adds the 4-byte buffer length in ms.
 */
export function userControlPayload(event: UserControlEventId | number, value: number, bufferLength?: number): Uint8Array {
  if (!Number.isInteger(event) || event < 0 || event > 0xffff) {
    throw new GatewayError('rtmp.chunk', `user control event ${event} out of range`, { type: MessageType.UserControl });
  }
  const withBuffer = event === UserControlEvent.SetBufferLength;
  const out = new Uint8Array(withBuffer ? 10 : 6);
  writeU16(out, 0, event);
  out.set(u32Payload(value >>> 0, 'event value'), 2);
  if (withBuffer) out.set(u32Payload((bufferLength ?? 0) >>> 0, 'buffer length'), 6);
  return out;
}

/** PingRequest with our timestamp (server -> client). */
export function pingRequestPayload(timestamp: number): Uint8Array {
  return userControlPayload(UserControlEvent.PingRequest, timestamp);
}

/** PingResponse echoing the timestamp of the request. */
export function pingResponsePayload(timestamp: number): Uint8Array {
  return userControlPayload(UserControlEvent.PingResponse, timestamp);
}

export interface UserControlMessage {
  readonly type: number;
  /** Stream id for stream events, timestamp for pings. */
  readonly value: number;
  /** SetBufferLength only: buffer length in milliseconds. */
  readonly bufferLength?: number;
}

/**
 * Parses a user control payload. A payload too short for its event returns undefined (peers
 * send odd ones, e.g. 2-byte StreamDry; nothing in it affects parsing).
 */
export function parseUserControl(payload: Uint8Array): UserControlMessage | undefined {
  if (payload.byteLength < 6) return undefined;
  const type = readU16(payload, 0);
  const value = readU32(payload, 2);
  if (type === UserControlEvent.SetBufferLength) {
    if (payload.byteLength < 10) return undefined;
    return { type, value, bufferLength: readU32(payload, 6) };
  }
  return { type, value };
}

export interface AggregateSubMessage {
  readonly type: number;
  readonly streamId: number;
  /** Rebased: aggregate timestamp + (this sub-message's timestamp - the first one's), mod 2^32. */
  readonly timestamp: number;
  /** A view of the aggregate payload. */
  readonly payload: Uint8Array;
}

/**
 * §7.1.6 aggregate message: back-to-back FLV-tag-like sub-messages.
 *
 *   +------+----------+-----------+--------+-----------+------+--------------+
 *   | type | size (3) | ts (3)    | ts ext | stream(3) | data | back ptr (4) |
 *   +------+----------+-----------+--------+-----------+------+--------------+
 *
 * The back pointer (11 + size) is not checked (encoders disagree about it) and may be missing
 * after the last sub-message. Sub-message count is bounded by the payload length (>= 11 bytes each).
 */
export function parseAggregate(payload: Uint8Array, timestamp: number): AggregateSubMessage[] {
  const out: AggregateSubMessage[] = [];
  let pos = 0;
  let first: number | undefined;
  while (pos < payload.byteLength) {
    if (payload.byteLength - pos < 11) {
      throw new GatewayError('rtmp.chunk', 'truncated aggregate sub-message header', { offset: pos, type: MessageType.Aggregate });
    }
    const type = payload[pos]!;
    const size = readU24(payload, pos + 1);
    // FLV tag timestamp: 24 low bits, then the extension byte as bits 24..31.
    const ts = (readU24(payload, pos + 4) | (payload[pos + 7]! << 24)) >>> 0;
    const streamId = readU24(payload, pos + 8);
    const start = pos + 11;
    if (start + size > payload.byteLength) {
      throw new GatewayError('rtmp.chunk', `aggregate sub-message of ${size} bytes overruns the message`, {
        offset: pos,
        type: MessageType.Aggregate,
      });
    }
    first ??= ts;
    out.push({
      type,
      streamId,
      timestamp: (timestamp + (ts - first)) >>> 0,
      payload: payload.subarray(start, start + size),
    });
    pos = Math.min(start + size + 4, payload.byteLength);
  }
  return out;
}
