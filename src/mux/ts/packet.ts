/**
 * Pure MPEG-TS builders (ISO/IEC 13818-1), no state: 188-byte transport packets with their
 * adaptation field (PCR, random access, stuffing), PSI sections (PAT, PMT) with the MPEG-2 CRC,
 * and PES headers with PTS/DTS. The stateful muxer (`muxer.ts`) decides what to write.
 *
 * Transport packet (§2.4.3.2):
 *   +------+-----+-----+-----+-------------+-----+-------+------+--------------------------+
 *   | 0x47 | TEI | PUSI| pri | PID (13)    | TSC | AFC   | CC   | [adaptation] [payload]   |
 *   | 8    | 1   | 1   | 1   |             | 2   | 2     | 4    | 184 bytes together       |
 *   +------+-----+-----+-----+-------------+-----+-------+------+--------------------------+
 */
import { GatewayError } from '../../core/errors.js';

export const TS_PACKET_SIZE = 188;
export const TS_HEADER_SIZE = 4;
/** Bytes after the 4-byte header: adaptation field + payload. */
export const TS_BODY_SIZE = TS_PACKET_SIZE - TS_HEADER_SIZE;
export const SYNC_BYTE = 0x47;

export const PAT_PID = 0x0000;
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;
/** Timed ID3 metadata (Apple "Timed Metadata for HTTP Live Streaming"; hls.js, Safari, ffmpeg). */
export const ID3_PID = 0x102;
export const PROGRAM_NUMBER = 1;
export const TRANSPORT_STREAM_ID = 1;

/** stream_type values (§2.4.4.9 Table 2-34; 0x24 from the HEVC amendment). */
export const STREAM_TYPE = {
  aacAdts: 0x0f,
  avc: 0x1b,
  hevc: 0x24,
  /** Metadata carried in PES packets (§2.4.4.9; 0x15 with the ID3 metadata_descriptor). */
  metadata: 0x15,
} as const;

/** PES stream_id (§2.4.3.7 Table 2-22): first video / first audio stream. */
export const STREAM_ID_VIDEO = 0xe0;
export const STREAM_ID_AUDIO = 0xc0;
/** private_stream_1: what Apple's segmenter and ffmpeg carry timed ID3 in. */
export const STREAM_ID_PRIVATE_1 = 0xbd;

/**
 * metadata_descriptor (§2.6.60, tag 0x26) declaring ID3 (Apple's Timed Metadata spec §2, as ffmpeg
 * writes it): metadata_application_format 0xFFFF + 'ID3 ', metadata_format 0xFF + 'ID3 ',
 * metadata_service_id 0, no locator record, MPEG carriage in PES ('00'), reserved bits set.
 */
export const ID3_METADATA_DESCRIPTOR = new Uint8Array([0x26, 13, 0xff, 0xff, 0x49, 0x44, 0x33, 0x20, 0xff, 0x49, 0x44, 0x33, 0x20, 0x00, 0x0f]);

/** PTS, DTS and PCR base are 33-bit counts of the 90 kHz clock (§2.4.2.2). */
export const TIMESTAMP_MODULO = 2 ** 33;
const MAX_PID = 0x1fff;

// ---------------------------------------------------------------------------------------------
// CRC

const CRC_TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x8000_0000 ? (c << 1) ^ 0x04c1_1db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * CRC_32 of PSI sections (§2.4.4.10, Annex A): polynomial 0x04C11DB7, initial value all ones,
 * MSB first, no final inversion. Over a whole section including its CRC the result is 0.
 */
export function crc32Mpeg2(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff_ffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ bytes[i]!) & 0xff]!) >>> 0;
  return crc >>> 0;
}

// ---------------------------------------------------------------------------------------------
// PSI sections

function checkPid(pid: number, what: string): void {
  if (!Number.isInteger(pid) || pid < 0 || pid > MAX_PID) throw new GatewayError('mux.ts', `${what} out of range`, { pid });
}

/**
 * Long-form section header (§2.4.4.3 / §2.4.4.8) up to last_section_number; the caller fills the
 * body and `finishSection` the CRC.
 *   table_id 8 | syntax 1 '0' 1 reserved 2 section_length 12 | id 16 |
 *   reserved 2 version 5 current_next 1 | section_number 8 | last_section_number 8
 */
function startSection(bodyLength: number, tableId: number, idField: number, version: number): Uint8Array {
  // section_length counts from after itself to the end of the CRC: 5 header bytes + body + 4.
  const sectionLength = 5 + bodyLength + 4;
  const out = new Uint8Array(3 + sectionLength);
  out[0] = tableId;
  out[1] = 0xb0 | ((sectionLength >> 8) & 0x0f);
  out[2] = sectionLength & 0xff;
  out[3] = (idField >> 8) & 0xff;
  out[4] = idField & 0xff;
  out[5] = 0xc1 | ((version & 0x1f) << 1);
  out[6] = 0;
  out[7] = 0;
  return out;
}

function finishSection(section: Uint8Array): Uint8Array {
  const crc = crc32Mpeg2(section, 0, section.length - 4);
  const at = section.length - 4;
  section[at] = crc >>> 24;
  section[at + 1] = (crc >>> 16) & 0xff;
  section[at + 2] = (crc >>> 8) & 0xff;
  section[at + 3] = crc & 0xff;
  return section;
}

/** program_association_section with one program (§2.4.4.3). */
export function buildPatSection(programNumber = PROGRAM_NUMBER, pmtPid = PMT_PID, transportStreamId = TRANSPORT_STREAM_ID): Uint8Array {
  checkPid(pmtPid, 'PMT PID');
  const s = startSection(4, 0x00, transportStreamId, 0);
  s[8] = (programNumber >> 8) & 0xff;
  s[9] = programNumber & 0xff;
  s[10] = 0xe0 | (pmtPid >> 8); // reserved '111' + program_map_PID
  s[11] = pmtPid & 0xff;
  return finishSection(s);
}

export interface PmtStream {
  readonly streamType: number;
  readonly pid: number;
  /** The ES_info descriptor loop, whole descriptors (tag, length, body). */
  readonly descriptors?: Uint8Array;
}

export interface PmtFields {
  readonly programNumber?: number;
  readonly pcrPid: number;
  readonly streams: readonly PmtStream[];
  /** version_number (5 bits): changes whenever the program definition does (§2.4.4.9). */
  readonly version?: number;
}

/** TS_program_map_section (§2.4.4.8): no program descriptors; each stream's ES_info as given. */
export function buildPmtSection(fields: PmtFields): Uint8Array {
  checkPid(fields.pcrPid, 'PCR PID');
  const esInfo = fields.streams.reduce((n, st) => n + (st.descriptors?.byteLength ?? 0), 0);
  const s = startSection(4 + 5 * fields.streams.length + esInfo, 0x02, fields.programNumber ?? PROGRAM_NUMBER, fields.version ?? 0);
  s[8] = 0xe0 | (fields.pcrPid >> 8); // reserved '111' + PCR_PID
  s[9] = fields.pcrPid & 0xff;
  s[10] = 0xf0; // reserved '1111' + program_info_length 0
  s[11] = 0x00;
  let at = 12;
  for (const stream of fields.streams) {
    checkPid(stream.pid, 'elementary PID');
    s[at] = stream.streamType;
    s[at + 1] = 0xe0 | (stream.pid >> 8);
    s[at + 2] = stream.pid & 0xff;
    const descriptors = stream.descriptors ?? new Uint8Array(0);
    s[at + 3] = 0xf0 | (descriptors.byteLength >> 8); // reserved '1111' + ES_info_length
    s[at + 4] = descriptors.byteLength & 0xff;
    s.set(descriptors, at + 5);
    at += 5 + descriptors.byteLength;
  }
  return finishSection(s);
}

/**
 * One packet carrying a whole PSI section: pointer_field 0 (§2.4.4.2), then the section, then
 * 0xFF fill (stuffing after a section is allowed, §2.4.4). Returns the offset after the packet.
 */
export function writePsiPacket(target: Uint8Array, at: number, pid: number, continuityCounter: number, section: Uint8Array): number {
  if (section.length > TS_BODY_SIZE - 1) {
    throw new GatewayError('mux.ts', 'PSI section does not fit one packet', { pid, length: section.length });
  }
  checkPid(pid, 'PSI PID');
  target[at] = SYNC_BYTE;
  target[at + 1] = 0x40 | (pid >> 8); // payload_unit_start_indicator
  target[at + 2] = pid & 0xff;
  target[at + 3] = 0x10 | (continuityCounter & 0x0f); // payload only
  target[at + 4] = 0; // pointer_field
  target.set(section, at + 5);
  target.fill(0xff, at + 5 + section.length, at + TS_PACKET_SIZE);
  return at + TS_PACKET_SIZE;
}

// ---------------------------------------------------------------------------------------------
// Timestamps

function wrap33(ts: number): number {
  if (!Number.isFinite(ts)) throw new GatewayError('mux.ts', 'timestamp is not a finite number', { ts });
  const t = Math.round(ts) % TIMESTAMP_MODULO;
  return t < 0 ? t + TIMESTAMP_MODULO : t;
}

/**
 * PTS or DTS field (§2.4.3.7), 5 bytes:
 *   prefix 4 | ts[32..30] 3 | marker 1 | ts[29..15] 15 | marker 1 | ts[14..0] 15 | marker 1
 * `prefix` is '0010' (PTS only), '0011' (PTS before DTS) or '0001' (DTS).
 */
export function writeTimestamp(target: Uint8Array, at: number, prefix: number, ts: number): void {
  const t = wrap33(ts);
  const high = Math.floor(t / 2 ** 30); // 3 bits
  const low30 = t % 2 ** 30;
  const mid = low30 >>> 15;
  const low = low30 & 0x7fff;
  target[at] = ((prefix & 0x0f) << 4) | (high << 1) | 1;
  target[at + 1] = mid >>> 7;
  target[at + 2] = ((mid & 0x7f) << 1) | 1;
  target[at + 3] = low >>> 7;
  target[at + 4] = ((low & 0x7f) << 1) | 1;
}

/** Reads a PTS/DTS field back (for tests and inspection). */
export function readTimestamp(bytes: Uint8Array, at: number): number {
  const high = (bytes[at]! >> 1) & 0x07;
  const mid = (bytes[at + 1]! << 7) | (bytes[at + 2]! >> 1);
  const low = (bytes[at + 3]! << 7) | (bytes[at + 4]! >> 1);
  return high * 2 ** 30 + mid * 2 ** 15 + low;
}

/**
 * program_clock_reference (§2.4.3.5), 6 bytes:
 *   base 33 (90 kHz) | reserved 6 ('111111') | extension 9 (27 MHz remainder)
 */
export function writePcr(target: Uint8Array, at: number, base: number, extension = 0): void {
  const b = wrap33(base);
  const ext = extension & 0x1ff;
  const top32 = Math.floor(b / 2); // base[32..1]
  target[at] = top32 >>> 24;
  target[at + 1] = (top32 >>> 16) & 0xff;
  target[at + 2] = (top32 >>> 8) & 0xff;
  target[at + 3] = top32 & 0xff;
  target[at + 4] = ((b % 2) << 7) | 0x7e | (ext >> 8);
  target[at + 5] = ext & 0xff;
}

export function readPcrBase(bytes: Uint8Array, at: number): number {
  const top32 = ((bytes[at]! << 24) >>> 0) + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
  return top32 * 2 + (bytes[at + 4]! >> 7);
}

// ---------------------------------------------------------------------------------------------
// PES header

export interface PesHeaderFields {
  readonly streamId: number;
  /** 90 kHz. */
  readonly pts: number;
  /** 90 kHz; omitted (PTS only) when equal to `pts` (§2.4.3.7: DTS is sent only when it differs). */
  readonly dts?: number;
  /** Bytes of elementary stream data after the header; 0 writes PES_packet_length 0 (video only). */
  readonly payloadLength: number;
  /** data_alignment_indicator: the payload starts with an access unit (or ADTS syncword). */
  readonly dataAlignment: boolean;
}

export function pesHeaderSize(hasDts: boolean): number {
  return hasDts ? 19 : 14;
}

export function pesHasDts(fields: Pick<PesHeaderFields, 'pts' | 'dts'>): boolean {
  return fields.dts !== undefined && fields.dts !== fields.pts;
}

/**
 * PES packet header (§2.4.3.6-7); returns the offset after it.
 *   00 00 01 | stream_id | PES_packet_length 16 | '10' scrambling 2 prio 1 align 1 copy 1 orig 1 |
 *   PTS_DTS_flags 2 + six 0 flags | PES_header_data_length 8 | PTS 5 [DTS 5]
 */
export function writePesHeader(target: Uint8Array, at: number, fields: PesHeaderFields): number {
  const hasDts = pesHasDts(fields);
  const headerDataLength = hasDts ? 10 : 5;
  let packetLength = 0;
  if (fields.payloadLength > 0) {
    // PES_packet_length counts the bytes after itself: 3 flag/length bytes, timestamps, payload.
    packetLength = 3 + headerDataLength + fields.payloadLength;
    if (packetLength > 0xffff) {
      throw new GatewayError('mux.ts', 'PES packet too long for PES_packet_length', { streamId: fields.streamId, packetLength });
    }
  }
  target[at] = 0;
  target[at + 1] = 0;
  target[at + 2] = 1;
  target[at + 3] = fields.streamId;
  target[at + 4] = packetLength >> 8;
  target[at + 5] = packetLength & 0xff;
  target[at + 6] = 0x80 | (fields.dataAlignment ? 0x04 : 0);
  target[at + 7] = hasDts ? 0xc0 : 0x80;
  target[at + 8] = headerDataLength;
  writeTimestamp(target, at + 9, hasDts ? 0x3 : 0x2, fields.pts);
  if (hasDts) writeTimestamp(target, at + 14, 0x1, fields.dts!);
  return at + 9 + headerDataLength;
}

// ---------------------------------------------------------------------------------------------
// Transport packet header + adaptation field

export interface TsPacketFields {
  readonly pid: number;
  readonly payloadUnitStart: boolean;
  readonly continuityCounter: number;
  /** Payload bytes the caller writes after the header (1..184 minus the adaptation field). */
  readonly payloadLength: number;
  /** random_access_indicator (§2.4.3.5): a keyframe PES starts in this packet. */
  readonly randomAccess?: boolean;
  /** PCR base (90 kHz) to carry in the adaptation field. */
  readonly pcr?: number;
}

/** Adaptation field bytes (length byte included) needed for the flags alone. */
export function minAdaptationSize(pcr: boolean, randomAccess: boolean): number {
  if (!pcr && !randomAccess) return 0;
  return 2 + (pcr ? 6 : 0);
}

/** Payload bytes a packet can carry with these adaptation flags. */
export function maxPayloadSize(pcr: boolean, randomAccess: boolean): number {
  return TS_BODY_SIZE - minAdaptationSize(pcr, randomAccess);
}

/**
 * Writes a packet header and an adaptation field sized so that exactly `payloadLength` payload
 * bytes end the packet (the field's 0xFF stuffing fills the gap, §2.4.3.5). Returns the offset
 * where the payload goes.
 *
 *   adaptation_field: length 8 | discontinuity 1 | random_access 1 | es_priority 1 | PCR 1 |
 *                     OPCR 1 | splicing 1 | private 1 | extension 1 | [PCR 48] | stuffing...
 */
export function writePacketHeader(target: Uint8Array, at: number, fields: TsPacketFields): number {
  const hasPcr = fields.pcr !== undefined;
  const randomAccess = fields.randomAccess ?? false;
  const max = maxPayloadSize(hasPcr, randomAccess);
  if (!Number.isInteger(fields.payloadLength) || fields.payloadLength < 1 || fields.payloadLength > max) {
    throw new GatewayError('mux.ts', 'packet payload size out of range', { pid: fields.pid, payloadLength: fields.payloadLength, max });
  }
  checkPid(fields.pid, 'PID');
  const adaptationSize = TS_BODY_SIZE - fields.payloadLength;
  target[at] = SYNC_BYTE;
  target[at + 1] = (fields.payloadUnitStart ? 0x40 : 0) | (fields.pid >> 8);
  target[at + 2] = fields.pid & 0xff;
  target[at + 3] = (adaptationSize > 0 ? 0x30 : 0x10) | (fields.continuityCounter & 0x0f);
  if (adaptationSize === 0) return at + TS_HEADER_SIZE;
  const af = at + TS_HEADER_SIZE;
  target[af] = adaptationSize - 1; // adaptation_field_length excludes itself; 0 = one stuffing byte
  if (adaptationSize > 1) {
    target[af + 1] = (randomAccess ? 0x40 : 0) | (hasPcr ? 0x10 : 0);
    let fill = af + 2;
    if (hasPcr) {
      writePcr(target, fill, fields.pcr!);
      fill += 6;
    }
    target.fill(0xff, fill, af + adaptationSize);
  }
  return af + adaptationSize;
}
