/**
 * Event Message box, DASHEventMessageBox (ISO/IEC 23009-1 §5.10.3.3), written as version 1:
 * CMAF (ISO/IEC 23000-19 §7.4.5) and AOM "Carriage of ID3 Timed Metadata in the Common Media
 * Application Format" require v1, whose presentation_time is absolute on the track timeline.
 *
 *   header12 (version 1, flags 0) | timescale32 | presentation_time64 | event_duration32 | id32
 *   | scheme_id_uri (UTF-8, NUL-terminated) | value (UTF-8, NUL-terminated) | message_data[]
 *
 * Version 0 (strings first, then timescale, presentation_time_delta32, event_duration, id) is
 * read, for tests and for boxes from elsewhere, but never written.
 */
import { GatewayError } from '../../core/errors.js';
import { BOX_HEADER_SIZE, FULL_BOX_HEADER_SIZE, writeFullBoxHeader, writeU64 } from './boxes.js';

/** AOM ID3-in-CMAF §3: scheme_id_uri of emsg boxes whose message_data is one ID3v2 tag; value ''. */
export const ID3_SCHEME = 'https://aomedia.org/emsg/ID3';
export const ID3_SCHEME_VALUE = '';
/** SCTE 214-1, binary SCTE 35 carriage: message_data is one whole splice_info_section. */
export const SCTE35_SCHEME = 'urn:scte:scte35:2013:bin';
/** event_duration 0xFFFFFFFF: duration unknown (ISO/IEC 23009-1 §5.10.3.3, emsg semantics). */
export const EVENT_DURATION_UNKNOWN = 0xffff_ffff;

export interface EmsgFields {
  readonly schemeIdUri: string;
  readonly value: string;
  /** Ticks per second of presentationTime and eventDuration. */
  readonly timescale: number;
  /** Start of the event on the track's media timeline, in `timescale` ticks (64-bit field). */
  readonly presentationTime: number;
  /** In `timescale` ticks; EVENT_DURATION_UNKNOWN when not known. */
  readonly eventDuration: number;
  /** Identifies this instance of the event within the scheme (repeats are dropped by players). */
  readonly id: number;
  readonly messageData: Uint8Array;
}

export type ParsedEmsg =
  | (EmsgFields & { readonly version: 1 })
  | (Omit<EmsgFields, 'presentationTime'> & { readonly version: 0; readonly presentationTimeDelta: number });

const U32_MAX = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;
/** timescale32 + presentation_time64 + event_duration32 + id32 */
const V1_FIXED = 20;
/** timescale32 + presentation_time_delta32 + event_duration32 + id32 */
const V0_FIXED = 16;

function fail(message: string, context: Record<string, unknown> = {}): never {
  throw new GatewayError('mux.fmp4', `emsg: ${message}`, context);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) fail(`${what} must be an unsigned 32-bit integer`, { [what]: value });
}

/** A `string` field (ISO/IEC 14496-12 §4.2.2): UTF-8, NUL-terminated, so no NUL inside. */
function cString(text: string, what: string): Uint8Array {
  if (text.includes('\u0000')) fail(`${what} must not contain NUL`, { [what]: JSON.stringify(text) });
  return new TextEncoder().encode(text);
}

/** A version 1 emsg box. */
export function buildEmsg(fields: EmsgFields): Uint8Array {
  checkU32(fields.timescale, 'timescale');
  if (fields.timescale === 0) fail('timescale must not be 0');
  if (!Number.isSafeInteger(fields.presentationTime) || fields.presentationTime < 0) {
    fail('presentationTime must be a non-negative safe integer', { presentationTime: fields.presentationTime });
  }
  checkU32(fields.eventDuration, 'eventDuration');
  checkU32(fields.id, 'id');
  const scheme = cString(fields.schemeIdUri, 'schemeIdUri');
  const value = cString(fields.value, 'value');
  const size = FULL_BOX_HEADER_SIZE + V1_FIXED + scheme.length + 1 + value.length + 1 + fields.messageData.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = writeFullBoxHeader(view, 0, size, 'emsg', 1, 0);
  view.setUint32(at, fields.timescale);
  writeU64(view, at + 4, fields.presentationTime);
  view.setUint32(at + 12, fields.eventDuration);
  view.setUint32(at + 16, fields.id);
  at += V1_FIXED;
  out.set(scheme, at);
  at += scheme.length + 1; // NUL already 0
  out.set(value, at);
  at += value.length + 1;
  out.set(fields.messageData, at);
  return out;
}

/** Reads a NUL-terminated UTF-8 string in [at, end); returns it and the offset after the NUL. */
function readCString(bytes: Uint8Array, at: number, end: number, what: string): { text: string; next: number } {
  const nul = bytes.subarray(at, end).indexOf(0);
  if (nul < 0) fail(`${what} is not NUL-terminated within the box`, { offset: at });
  return { text: new TextDecoder('utf-8').decode(bytes.subarray(at, at + nul)), next: at + nul + 1 };
}

/** The box header at offset 0: total size (size 1 = largesize, 0 = to the end, §4.2) and header length. */
function boxExtent(bytes: Uint8Array, view: DataView): { size: number; header: number } {
  if (bytes.length < BOX_HEADER_SIZE) fail('truncated box header', { length: bytes.length });
  const type = String.fromCharCode(bytes[4]!, bytes[5]!, bytes[6]!, bytes[7]!);
  if (type !== 'emsg') fail('not an emsg box', { type: JSON.stringify(type) });
  const size32 = view.getUint32(0);
  if (size32 === 0) return { size: bytes.length, header: BOX_HEADER_SIZE };
  if (size32 !== 1) return { size: size32, header: BOX_HEADER_SIZE };
  if (bytes.length < 16) fail('truncated largesize', { length: bytes.length });
  const hi = view.getUint32(8);
  if (hi > 0x1f_ffff) fail('largesize beyond 2^53', { hi });
  return { size: hi * TWO_32 + view.getUint32(12), header: 16 };
}

/** Reads the emsg box at the start of `bytes` (bytes after it are ignored). Throws GatewayError. */
export function parseEmsg(bytes: Uint8Array): ParsedEmsg {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { size, header } = boxExtent(bytes, view);
  if (size > bytes.length) fail('box runs past the end of the data', { size, length: bytes.length });
  if (size < header + 4) fail('box too small for a full box header', { size });
  const version = bytes[header]!;
  let at = header + 4;
  if (version === 1) {
    if (size - at < V1_FIXED) fail('box too small for its fixed fields', { size, version });
    const timescale = view.getUint32(at);
    const hi = view.getUint32(at + 4);
    if (hi > 0x1f_ffff) fail('presentation_time beyond 2^53', { hi });
    const presentationTime = hi * TWO_32 + view.getUint32(at + 8);
    const eventDuration = view.getUint32(at + 12);
    const id = view.getUint32(at + 16);
    at += V1_FIXED;
    const scheme = readCString(bytes, at, size, 'scheme_id_uri');
    const value = readCString(bytes, scheme.next, size, 'value');
    if (timescale === 0) fail('timescale is 0');
    return {
      version,
      schemeIdUri: scheme.text,
      value: value.text,
      timescale,
      presentationTime,
      eventDuration,
      id,
      messageData: bytes.slice(value.next, size),
    };
  }
  if (version === 0) {
    const scheme = readCString(bytes, at, size, 'scheme_id_uri');
    const value = readCString(bytes, scheme.next, size, 'value');
    at = value.next;
    if (size - at < V0_FIXED) fail('box too small for its fixed fields', { size, version });
    const timescale = view.getUint32(at);
    if (timescale === 0) fail('timescale is 0');
    return {
      version,
      schemeIdUri: scheme.text,
      value: value.text,
      timescale,
      presentationTimeDelta: view.getUint32(at + 4),
      eventDuration: view.getUint32(at + 8),
      id: view.getUint32(at + 12),
      messageData: bytes.slice(at + V0_FIXED, size),
    };
  }
  return fail('unsupported version', { version });
}
