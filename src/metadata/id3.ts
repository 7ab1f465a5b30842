/**
 * ID3v2 tags (id3.org "ID3 tag version 2.4.0 - Main Structure" and "- Native Frames"), the
 * payload of timed metadata in CMAF emsg boxes and in MPEG-TS ID3 PES.
 *
 * Writing: ID3v2.4.0, no unsynchronisation, no extended header, no padding, frame flags 0;
 * TXXX in UTF-8 (text encoding $03), PRIV as owner + bytes, any other frame body verbatim.
 *
 *   tag:    "ID3" | 04 00 | flags8 | size32 syncsafe (tag minus this 10-byte header)   §3.1
 *   frame:  id4 | size32 syncsafe (body) | status flags8 | format flags8 | body        §4.1
 *
 * Reading also takes what publishers send: v2.3 (plain 32-bit frame sizes, tag-wide
 * unsynchronisation) and v2.4 frame-level unsynchronisation, grouping and data length
 * indicator; compressed or encrypted frames are refused. Every length is checked against the
 * bytes actually present and every loop consumes at least one frame header, so any input
 * ends in frames or a GatewayError('metadata').
 */
import { readU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';

/** TXXX, user defined text information (frames §4.2.6). */
export interface Id3TxxxFrame {
  readonly kind: 'TXXX';
  readonly description: string;
  readonly value: string;
}

/** PRIV, private frame (frames §4.27): owner identifier (ISO-8859-1, usually a URL) and data. */
export interface Id3PrivFrame {
  readonly kind: 'PRIV';
  readonly owner: string;
  readonly data: Uint8Array;
}

/** Any other frame, body as stored (after undoing unsynchronisation when reading). */
export interface Id3OtherFrame {
  readonly kind: 'other';
  readonly id: string;
  readonly data: Uint8Array;
}

export type Id3Frame = Id3TxxxFrame | Id3PrivFrame | Id3OtherFrame;

export const ID3_HEADER_SIZE = 10;
const FRAME_HEADER_SIZE = 10;
/** Largest value of a 4-byte syncsafe integer (structure §6.2): 28 bits. */
const SYNCSAFE_MAX = 0x0fff_ffff;

/** Text encodings (structure §4): $00 ISO-8859-1, $01 UTF-16 with BOM, $02 UTF-16BE, $03 UTF-8. */
const ENCODING_UTF8 = 0x03;

/** Tag header flags (structure §3.1). */
const TAG_UNSYNC = 0x80;
const TAG_EXTENDED = 0x40;

/** v2.4 frame format flags (structure §4.1.2): %0h00kmnp. */
const F4_GROUPING = 0x40;
const F4_COMPRESSION = 0x08;
const F4_ENCRYPTION = 0x04;
const F4_UNSYNC = 0x02;
const F4_DATA_LENGTH = 0x01;

/** v2.3 frame format flags (ID3v2.3.0 §3.3.1): %ijk00000. */
const F3_COMPRESSION = 0x80;
const F3_ENCRYPTION = 0x40;
const F3_GROUPING = 0x20;

const FRAME_ID = /^[A-Z0-9]{4}$/;

function fail(message: string, context: Record<string, unknown> = {}): never {
  throw new GatewayError('metadata', `ID3: ${message}`, context);
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Syncsafe integer (structure §6.2): 4 bytes, 7 bits each, MSB of every byte zero. */
function writeSyncsafe(out: Uint8Array, at: number, value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > SYNCSAFE_MAX) {
    fail(`${what} does not fit a 28-bit syncsafe integer`, { [what]: value });
  }
  out[at] = (value >>> 21) & 0x7f;
  out[at + 1] = (value >>> 14) & 0x7f;
  out[at + 2] = (value >>> 7) & 0x7f;
  out[at + 3] = value & 0x7f;
}

/** ISO-8859-1 bytes of a string with no NUL (it is $00-terminated) and no code point > 0xFF. */
function latin1(text: string, what: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c > 0xff) fail(`${what} must be ISO-8859-1 without NUL`, { at: i, code: c });
    out[i] = c;
  }
  return out;
}

function utf8(text: string, what: string): Uint8Array {
  if (text.includes('\u0000')) fail(`${what} must not contain NUL`, { length: text.length });
  return new TextEncoder().encode(text);
}

/** The body of one frame (frames §4.2.6 TXXX, §4.27 PRIV). */
function frameBody(frame: Id3Frame): { id: string; body: Uint8Array } {
  switch (frame.kind) {
    case 'TXXX': {
      // Text encoding $03 | Description <UTF-8> $00 | Value <UTF-8>
      const description = utf8(frame.description, 'TXXX description');
      const value = utf8(frame.value, 'TXXX value');
      const body = new Uint8Array(1 + description.length + 1 + value.length);
      body[0] = ENCODING_UTF8;
      body.set(description, 1);
      body.set(value, 2 + description.length);
      return { id: 'TXXX', body };
    }
    case 'PRIV': {
      // Owner identifier <text string> $00 | The private data <binary data>
      const owner = latin1(frame.owner, 'PRIV owner');
      const body = new Uint8Array(owner.length + 1 + frame.data.length);
      body.set(owner, 0);
      body.set(frame.data, owner.length + 1);
      return { id: 'PRIV', body };
    }
    case 'other':
      if (!FRAME_ID.test(frame.id)) fail('frame id must be four of A-Z 0-9', { id: frame.id });
      return { id: frame.id, body: frame.data };
  }
}

/** An ID3v2.4.0 tag holding the frames in order. */
export function buildId3Tag(frames: readonly Id3Frame[]): Uint8Array {
  const bodies = frames.map(frameBody);
  let size = 0;
  for (const { body } of bodies) size += FRAME_HEADER_SIZE + body.length;
  const out = new Uint8Array(ID3_HEADER_SIZE + size);
  // "ID3" | version 4.0 | flags 0 (structure §3.1)
  out.set([0x49, 0x44, 0x33, 0x04, 0x00, 0x00], 0);
  writeSyncsafe(out, 6, size, 'tag size');
  let at = ID3_HEADER_SIZE;
  for (const { id, body } of bodies) {
    for (let i = 0; i < 4; i++) out[at + i] = id.charCodeAt(i);
    writeSyncsafe(out, at + 4, body.length, 'frame size');
    // status and format flags stay 0 (structure §4.1)
    out.set(body, at + FRAME_HEADER_SIZE);
    at += FRAME_HEADER_SIZE + body.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

function readSyncsafe(bytes: Uint8Array, at: number, what: string): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const b = bytes[at + i]!;
    if (b & 0x80) fail(`${what} is not a syncsafe integer`, { offset: at + i, byte: b });
    v = (v << 7) | b;
  }
  return v;
}

/** Undoes unsynchronisation (structure §6.1): every $FF $00 becomes $FF. */
function resynchronise(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    out[n++] = data[i]!;
    if (data[i] === 0xff && data[i + 1] === 0x00) i++;
  }
  return out.subarray(0, n);
}

/** Index of the first terminator of `encoding` at or after `from` (2 aligned bytes for UTF-16). */
function findTerminator(data: Uint8Array, from: number, encoding: number): number {
  if (encoding === 0x01 || encoding === 0x02) {
    for (let i = from; i + 1 < data.length; i += 2) if (data[i] === 0 && data[i + 1] === 0) return i;
    return -1;
  }
  return data.indexOf(0, from);
}

function decodeText(data: Uint8Array, encoding: number): string {
  switch (encoding) {
    case 0x00: {
      let s = '';
      for (const b of data) s += String.fromCharCode(b);
      return s;
    }
    case 0x01: {
      // UTF-16 with BOM; without one, big-endian (the Unicode default).
      if (data[0] === 0xff && data[1] === 0xfe) return new TextDecoder('utf-16le').decode(data.subarray(2));
      if (data[0] === 0xfe && data[1] === 0xff) return new TextDecoder('utf-16be').decode(data.subarray(2));
      return new TextDecoder('utf-16be').decode(data);
    }
    case 0x02:
      return new TextDecoder('utf-16be').decode(data);
    case 0x03:
      return new TextDecoder('utf-8').decode(data);
    default:
      return fail('unknown text encoding', { encoding });
  }
}

/** Strips the trailing terminators a writer may have added after the last string. */
function trimTerminators(data: Uint8Array, encoding: number): Uint8Array {
  const unit = encoding === 0x01 || encoding === 0x02 ? 2 : 1;
  let end = data.length - (data.length % unit);
  while (end >= unit && data.subarray(end - unit, end).every((b) => b === 0)) end -= unit;
  return data.subarray(0, end);
}

function parseTxxx(body: Uint8Array, offset: number): Id3TxxxFrame {
  if (body.length < 1) fail('TXXX frame without a text encoding byte', { offset });
  const encoding = body[0]!;
  if (encoding > 0x03) fail('unknown text encoding', { offset, encoding });
  const end = findTerminator(body, 1, encoding);
  if (end < 0) fail('TXXX description is not terminated', { offset });
  const unit = encoding === 0x01 || encoding === 0x02 ? 2 : 1;
  return {
    kind: 'TXXX',
    description: decodeText(body.subarray(1, end), encoding),
    value: decodeText(trimTerminators(body.subarray(end + unit), encoding), encoding),
  };
}

function parsePriv(body: Uint8Array, offset: number): Id3PrivFrame {
  const end = body.indexOf(0);
  if (end < 0) fail('PRIV owner identifier is not terminated', { offset });
  return { kind: 'PRIV', owner: decodeText(body.subarray(0, end), 0x00), data: body.slice(end + 1) };
}

/** Skips the extended header (structure §3.2 for v2.4, ID3v2.3.0 §3.2); returns the offset after it. */
function skipExtendedHeader(tag: Uint8Array, at: number, version: number): number {
  if (tag.length - at < 4) fail('truncated extended header', { offset: at });
  // v2.4: syncsafe size of the whole extended header; v2.3: plain size excluding its own 4 bytes.
  const size = version === 4 ? readSyncsafe(tag, at, 'extended header size') : readU32(tag, at) + 4;
  if (size < 6 || size > tag.length - at) fail('extended header size out of range', { offset: at, size });
  return at + size;
}

/**
 * Frames of the ID3v2.3 / v2.4 tag at the start of `bytes` (bytes after the tag are ignored).
 * Throws GatewayError('metadata') on anything truncated, malformed or unsupported.
 */
export function parseId3Tag(bytes: Uint8Array): Id3Frame[] {
  if (bytes.length < ID3_HEADER_SIZE) fail('truncated tag header', { length: bytes.length });
  if (bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) fail('no "ID3" identifier', { offset: 0 });
  const version = bytes[3]!;
  if (version !== 3 && version !== 4) fail('unsupported ID3v2 version', { version, revision: bytes[4] });
  if (bytes[4] === 0xff) fail('revision $FF is not allowed', { revision: bytes[4] });
  const flags = bytes[5]!;
  const size = readSyncsafe(bytes, 6, 'tag size');
  const end = ID3_HEADER_SIZE + size;
  if (end > bytes.length) fail('tag runs past the end of the data', { size, available: bytes.length - ID3_HEADER_SIZE });
  // v2.3 unsynchronises the whole tag after the header (ID3v2.3.0 §5); v2.4 each frame (§6.1).
  let tag = bytes.subarray(0, end);
  if (version === 3 && flags & TAG_UNSYNC) {
    const body = resynchronise(bytes.subarray(ID3_HEADER_SIZE, end));
    tag = new Uint8Array(ID3_HEADER_SIZE + body.length);
    tag.set(bytes.subarray(0, ID3_HEADER_SIZE), 0);
    tag.set(body, ID3_HEADER_SIZE);
  }
  let at = ID3_HEADER_SIZE;
  if (flags & TAG_EXTENDED) at = skipExtendedHeader(tag, at, version);

  const frames: Id3Frame[] = [];
  // A v2.4 footer (structure §3.4) lies after `end`, outside this range.
  while (at < tag.length) {
    // Padding (structure §3.3): zero bytes where the next frame id would be.
    if (tag[at] === 0) break;
    if (tag.length - at < FRAME_HEADER_SIZE) fail('truncated frame header', { offset: at });
    const id = String.fromCharCode(tag[at]!, tag[at + 1]!, tag[at + 2]!, tag[at + 3]!);
    if (!FRAME_ID.test(id)) fail('invalid frame id', { offset: at, id: JSON.stringify(id) });
    const frameSize = version === 4 ? readSyncsafe(tag, at + 4, 'frame size') : readU32(tag, at + 4);
    const format = tag[at + 9]!;
    const bodyStart = at + FRAME_HEADER_SIZE;
    if (frameSize > tag.length - bodyStart) fail('frame runs past the end of the tag', { offset: at, id, frameSize });
    let body = tag.subarray(bodyStart, bodyStart + frameSize);
    at = bodyStart + frameSize;
    body = version === 4 ? v24FrameBody(body, format, flags, id, bodyStart) : v23FrameBody(body, format, id, bodyStart);
    frames.push(decodeFrame(id, body, bodyStart));
  }
  return frames;
}

/** Strips the v2.4 frame header additions (structure §4.1.2, in flag order) and undoes unsync. */
function v24FrameBody(body: Uint8Array, format: number, tagFlags: number, id: string, offset: number): Uint8Array {
  if (format & (F4_COMPRESSION | F4_ENCRYPTION)) fail('compressed or encrypted frames are not supported', { offset, id });
  let skip = 0;
  if (format & F4_GROUPING) skip += 1;
  if (format & F4_DATA_LENGTH) skip += 4;
  if (skip > body.length) fail('frame too short for its flags', { offset, id });
  const data = body.subarray(skip);
  return format & F4_UNSYNC || tagFlags & TAG_UNSYNC ? resynchronise(data) : data;
}

/** Strips the v2.3 frame header additions (ID3v2.3.0 §3.3.1). */
function v23FrameBody(body: Uint8Array, format: number, id: string, offset: number): Uint8Array {
  if (format & (F3_COMPRESSION | F3_ENCRYPTION)) fail('compressed or encrypted frames are not supported', { offset, id });
  const skip = format & F3_GROUPING ? 1 : 0;
  if (skip > body.length) fail('frame too short for its flags', { offset, id });
  return body.subarray(skip);
}

function decodeFrame(id: string, body: Uint8Array, offset: number): Id3Frame {
  if (id === 'TXXX') return parseTxxx(body, offset);
  if (id === 'PRIV') return parsePriv(body, offset);
  return { kind: 'other', id, data: body.slice() };
}
