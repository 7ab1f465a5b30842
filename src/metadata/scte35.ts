/**
 * SCTE-35 cue messages: the splice_info_section (ANSI/SCTE 35 2022 §9.6), read for the
 * commands a live gateway acts on — splice_null (0x00), splice_insert (0x05), time_signal (0x06)
 * with its segmentation_descriptor (§10.3.3) — and written for splice_insert.
 *
 *   table_id 8 (0xFC) | section_syntax_indicator 1 | private_indicator 1 | sap_type 2
 *   | section_length 12 | protocol_version 8 | encrypted_packet 1 | encryption_algorithm 6
 *   | pts_adjustment 33 | cw_index 8 | tier 12 | splice_command_length 12
 *   | splice_command_type 8 | splice_command() | descriptor_loop_length 16 | splice_descriptor()*
 *   | [alignment_stuffing, E_CRC_32 when encrypted] | CRC_32 32
 *
 * The CRC_32 is the MPEG-2 one of PSI sections (ISO/IEC 13818-1 Annex A, §9.6 of SCTE 35), so a
 * whole intact section CRCs to 0. Every field is read through a bounds-checked bit reader over
 * the section without its CRC, so a short or inconsistent section is a GatewayError('metadata').
 */
import { BitReader } from '../codec/bitreader.js';
import { readU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';
import { crc32Mpeg2 } from '../mux/ts/packet.js';

export const SPLICE_INFO_TABLE_ID = 0xfc;
export const SpliceCommandType = {
  SpliceNull: 0x00,
  SpliceSchedule: 0x04,
  SpliceInsert: 0x05,
  TimeSignal: 0x06,
  BandwidthReservation: 0x07,
  PrivateCommand: 0xff,
} as const;
/** "CUEI", the identifier of every SCTE-defined splice descriptor (§10.2). */
export const CUEI = 0x4355_4549;
/** 90 kHz, the clock of pts_time, pts_adjustment, break_duration and segmentation_duration. */
export const SCTE35_CLOCK = 90_000;

const TWO_32 = 0x1_0000_0000;
const TWO_33 = 0x2_0000_0000;
/** splice_command_length 0xFFF: legacy "length not given", the command's own syntax ends it (§9.6). */
const COMMAND_LENGTH_UNKNOWN = 0xfff;
/** section_length: 12 bits, and at most 4093 (§9.6, as for PSI). */
const MAX_SECTION_LENGTH = 4093;
/** Fixed bytes after section_length up to splice_command_type, plus descriptor_loop_length and CRC_32. */
const MIN_SECTION_LENGTH = 11 + 2 + 4;

/** splice_time() (§9.8.1) with time_specified_flag 1. */
export interface SpliceTime {
  /** pts_time as sent, 33 bits at 90 kHz. */
  readonly ptsTime: number;
  /** (pts_time + pts_adjustment) mod 2^33 (§9.6, pts_adjustment semantics). */
  readonly pts: number;
}

/** break_duration() (§9.8.2). */
export interface BreakDuration {
  readonly autoReturn: boolean;
  /** 33 bits at 90 kHz. */
  readonly duration: number;
}

export interface SpliceNullCommand {
  readonly commandType: typeof SpliceCommandType.SpliceNull;
}

/** splice_insert() (§9.7.3). Fields after the cancel indicator are false/0 when it is set. */
export interface SpliceInsertCommand {
  readonly commandType: typeof SpliceCommandType.SpliceInsert;
  readonly spliceEventId: number;
  readonly cancel: boolean;
  readonly outOfNetwork: boolean;
  readonly programSplice: boolean;
  readonly spliceImmediate: boolean;
  readonly eventIdCompliance: boolean;
  /** Program splice, not immediate, time specified. */
  readonly spliceTime?: SpliceTime;
  /** Component splice (program_splice_flag 0). */
  readonly components: readonly { readonly componentTag: number; readonly spliceTime?: SpliceTime }[];
  readonly breakDuration?: BreakDuration;
  readonly uniqueProgramId: number;
  readonly availNum: number;
  readonly availsExpected: number;
}

/** time_signal() (§9.7.4): one splice_time(); no time means "now". */
export interface TimeSignalCommand {
  readonly commandType: typeof SpliceCommandType.TimeSignal;
  readonly spliceTime?: SpliceTime;
}

/** A command this module does not decode (splice_schedule, bandwidth_reservation, private, reserved). */
export interface OtherCommand {
  readonly commandType: number;
  readonly bytes: Uint8Array;
}

export type SpliceCommand = SpliceNullCommand | SpliceInsertCommand | TimeSignalCommand | OtherCommand;

/** segmentation_descriptor() (§10.3.3). Fields after the cancel indicator are absent when it is set. */
export interface SegmentationDescriptor {
  readonly tag: 0x02;
  readonly identifier: number;
  readonly segmentationEventId: number;
  readonly cancel: boolean;
  readonly programSegmentation?: boolean;
  readonly deliveryNotRestricted?: boolean;
  /** 40 bits at 90 kHz. */
  readonly duration?: number;
  readonly upidType?: number;
  readonly upid?: Uint8Array;
  /** segmentation_type_id (Table 23), e.g. 0x34 provider placement opportunity start. */
  readonly typeId?: number;
  readonly segmentNum?: number;
  readonly segmentsExpected?: number;
  readonly subSegmentNum?: number;
  readonly subSegmentsExpected?: number;
}

/** Any other splice_descriptor (§10.2): tag, identifier (0 if shorter than 4 bytes), the rest raw. */
export interface OtherDescriptor {
  readonly tag: number;
  readonly identifier: number;
  readonly data: Uint8Array;
}

export type SpliceDescriptor = SegmentationDescriptor | OtherDescriptor;

export interface SpliceInfo {
  /** The whole splice_info_section, CRC included (what EXT-X-DATERANGE SCTE35-* and emsg carry). */
  readonly section: Uint8Array;
  readonly protocolVersion: number;
  readonly sapType: number;
  /** 33 bits at 90 kHz. */
  readonly ptsAdjustment: number;
  readonly cwIndex: number;
  readonly tier: number;
  readonly command: SpliceCommand;
  readonly descriptors: readonly SpliceDescriptor[];
}

function fail(message: string, context: Record<string, unknown> = {}): never {
  throw new GatewayError('metadata', `SCTE-35: ${message}`, context);
}

// ---------------------------------------------------------------------------------------------
// Reading

function u33(r: BitReader, what: string): number {
  return r.u(1, what) * TWO_32 + r.u(32, what);
}

/** splice_time() (§9.8.1): time_specified_flag 1, then reserved 6 + pts_time 33, or reserved 7. */
function readSpliceTime(r: BitReader, ptsAdjustment: number): SpliceTime | undefined {
  if (!r.flag('time_specified_flag')) {
    r.skipBits(7, 'splice_time reserved');
    return undefined;
  }
  r.skipBits(6, 'splice_time reserved');
  const ptsTime = u33(r, 'pts_time');
  return { ptsTime, pts: (ptsTime + ptsAdjustment) % TWO_33 };
}

/** break_duration() (§9.8.2): auto_return 1, reserved 6, duration 33. */
function readBreakDuration(r: BitReader): BreakDuration {
  const autoReturn = r.flag('auto_return');
  r.skipBits(6, 'break_duration reserved');
  return { autoReturn, duration: u33(r, 'break_duration') };
}

/** splice_insert() (§9.7.3). */
function readSpliceInsert(r: BitReader, ptsAdjustment: number): SpliceInsertCommand {
  const spliceEventId = r.u(32, 'splice_event_id');
  const cancel = r.flag('splice_event_cancel_indicator');
  r.skipBits(7, 'reserved');
  const base = {
    commandType: SpliceCommandType.SpliceInsert,
    spliceEventId,
    cancel,
    outOfNetwork: false,
    programSplice: false,
    spliceImmediate: false,
    eventIdCompliance: false,
    components: [],
    uniqueProgramId: 0,
    availNum: 0,
    availsExpected: 0,
  } as const;
  if (cancel) return base;
  const outOfNetwork = r.flag('out_of_network_indicator');
  const programSplice = r.flag('program_splice_flag');
  const durationFlag = r.flag('duration_flag');
  const spliceImmediate = r.flag('splice_immediate_flag');
  const eventIdCompliance = r.flag('event_id_compliance_flag');
  r.skipBits(3, 'reserved');
  let spliceTime: SpliceTime | undefined;
  const components: { componentTag: number; spliceTime?: SpliceTime }[] = [];
  if (programSplice && !spliceImmediate) spliceTime = readSpliceTime(r, ptsAdjustment);
  if (!programSplice) {
    const count = r.u(8, 'component_count');
    for (let i = 0; i < count; i++) {
      const componentTag = r.u(8, 'component_tag');
      components.push(spliceImmediate ? { componentTag } : { componentTag, spliceTime: readSpliceTime(r, ptsAdjustment) });
    }
  }
  const breakDuration = durationFlag ? readBreakDuration(r) : undefined;
  return {
    ...base,
    outOfNetwork,
    programSplice,
    spliceImmediate,
    eventIdCompliance,
    ...(spliceTime ? { spliceTime } : {}),
    components,
    ...(breakDuration ? { breakDuration } : {}),
    uniqueProgramId: r.u(16, 'unique_program_id'),
    availNum: r.u(8, 'avail_num'),
    availsExpected: r.u(8, 'avails_expected'),
  };
}

/** The command in `bytes` (exactly splice_command_length bytes, or the rest when unknown); returns it and its length. */
function readCommand(type: number, bytes: Uint8Array, lengthKnown: boolean, ptsAdjustment: number): { command: SpliceCommand; length: number } {
  const r = new BitReader(bytes, 'metadata');
  let command: SpliceCommand;
  switch (type) {
    case SpliceCommandType.SpliceNull:
    case SpliceCommandType.BandwidthReservation:
      // Both have an empty body (§9.7.1, §9.7.5).
      command = type === SpliceCommandType.SpliceNull ? { commandType: type } : { commandType: type, bytes: new Uint8Array(0) };
      break;
    case SpliceCommandType.SpliceInsert:
      command = readSpliceInsert(r, ptsAdjustment);
      break;
    case SpliceCommandType.TimeSignal: {
      const spliceTime = readSpliceTime(r, ptsAdjustment);
      command = spliceTime ? { commandType: type, spliceTime } : { commandType: type };
      break;
    }
    default:
      if (!lengthKnown) fail('command of unknown length cannot be skipped', { splice_command_type: type });
      return { command: { commandType: type, bytes: bytes.slice() }, length: bytes.length };
  }
  // A known length may leave bytes this revision does not define; they are skipped.
  return { command, length: lengthKnown ? bytes.length : r.bitPosition >>> 3 };
}

/** segmentation_descriptor() after its identifier (§10.3.3). */
function readSegmentation(data: Uint8Array, identifier: number): SegmentationDescriptor {
  const r = new BitReader(data, 'metadata');
  const segmentationEventId = r.u(32, 'segmentation_event_id');
  const cancel = r.flag('segmentation_event_cancel_indicator');
  r.skipBits(7, 'segmentation_event_id_compliance_indicator + reserved');
  if (cancel) return { tag: 0x02, identifier, segmentationEventId, cancel };
  const programSegmentation = r.flag('program_segmentation_flag');
  const durationFlag = r.flag('segmentation_duration_flag');
  const deliveryNotRestricted = r.flag('delivery_not_restricted_flag');
  // web_delivery_allowed, no_regional_blackout, archive_allowed, device_restrictions 2 — or reserved 5
  r.skipBits(5, 'delivery restrictions');
  if (!programSegmentation) {
    const count = r.u(8, 'component_count');
    // component_tag 8, reserved 7, pts_offset 33
    for (let i = 0; i < count; i++) r.skipBits(48, 'segmentation component');
  }
  const duration = durationFlag ? r.u(8, 'segmentation_duration') * TWO_32 + r.u(32, 'segmentation_duration') : undefined;
  const upidType = r.u(8, 'segmentation_upid_type');
  const upidLength = r.u(8, 'segmentation_upid_length');
  const upidStart = r.bitPosition >>> 3;
  r.skipBits(upidLength * 8, 'segmentation_upid');
  const upid = data.slice(upidStart, upidStart + upidLength);
  const typeId = r.u(8, 'segmentation_type_id');
  const segmentNum = r.u(8, 'segment_num');
  const segmentsExpected = r.u(8, 'segments_expected');
  // sub_segment_num / sub_segments_expected follow for the placement-opportunity starts; writers
  // older than SCTE 35 2016 omit them, so they are read only when the descriptor holds them.
  const sub = SUB_SEGMENT_TYPES.has(typeId) && r.bitsLeft >= 16
    ? { subSegmentNum: r.u(8, 'sub_segment_num'), subSegmentsExpected: r.u(8, 'sub_segments_expected') }
    : {};
  return {
    tag: 0x02,
    identifier,
    segmentationEventId,
    cancel,
    programSegmentation,
    deliveryNotRestricted,
    ...(duration !== undefined ? { duration } : {}),
    upidType,
    upid,
    typeId,
    segmentNum,
    segmentsExpected,
    ...sub,
  };
}

/** segmentation_type_id values followed by sub_segment_num and sub_segments_expected (§10.3.3.1). */
const SUB_SEGMENT_TYPES: ReadonlySet<number> = new Set([0x34, 0x36, 0x38, 0x3a]);

/** splice_descriptor()* (§10.2): tag 8, length 8, identifier 32, private bytes. */
function readDescriptors(loop: Uint8Array, offset: number): SpliceDescriptor[] {
  const out: SpliceDescriptor[] = [];
  let at = 0;
  while (at < loop.length) {
    if (loop.length - at < 2) fail('truncated splice descriptor header', { offset: offset + at });
    const tag = loop[at]!;
    const length = loop[at + 1]!;
    const start = at + 2;
    if (length > loop.length - start) fail('splice descriptor runs past its loop', { offset: offset + at, tag, length });
    const body = loop.subarray(start, start + length);
    const identifier = length >= 4 ? readU32(body, 0) : 0;
    out.push(
      tag === 0x02 && identifier === CUEI
        ? readSegmentation(body.subarray(4), identifier)
        : { tag, identifier, data: body.slice(Math.min(4, length)) },
    );
    at = start + length;
  }
  return out;
}

/**
 * Decodes the splice_info_section at the start of `bytes` (bytes after section_length are
 * ignored). Throws GatewayError('metadata') on a wrong table_id, a truncated section, a bad CRC_32,
 * an encrypted section, or fields that run past their lengths.
 */
export function parseSpliceInfo(bytes: Uint8Array): SpliceInfo {
  if (bytes.length < 3) fail('truncated section header', { length: bytes.length });
  if (bytes[0] !== SPLICE_INFO_TABLE_ID) fail('not a splice_info_section', { table_id: bytes[0] });
  const sectionLength = ((bytes[1]! & 0x0f) << 8) | bytes[2]!;
  if (sectionLength < MIN_SECTION_LENGTH || sectionLength > MAX_SECTION_LENGTH) {
    fail('section_length out of range', { section_length: sectionLength });
  }
  const total = 3 + sectionLength;
  if (total > bytes.length) fail('section truncated', { section_length: sectionLength, available: bytes.length - 3 });
  const section = bytes.slice(0, total);
  if (crc32Mpeg2(section) !== 0) {
    const crc = readU32(section, total - 4);
    fail('CRC_32 mismatch', { crc: `0x${crc.toString(16).padStart(8, '0')}`, computed: `0x${crc32Mpeg2(section, 0, total - 4).toString(16).padStart(8, '0')}` });
  }
  // Everything but the CRC: a field running into it is a truncation.
  const body = section.subarray(0, total - 4);
  const r = new BitReader(body, 'metadata');
  r.skipBits(16, 'table_id + flags'); // table_id, section_syntax_indicator, private_indicator
  const sapType = (bytes[1]! >> 4) & 0x03;
  r.skipBits(8, 'section_length');
  const protocolVersion = r.u(8, 'protocol_version');
  if (protocolVersion !== 0) fail('unsupported protocol_version', { protocol_version: protocolVersion });
  if (r.flag('encrypted_packet')) fail('encrypted sections are not supported', { encryption_algorithm: r.u(6) });
  r.skipBits(6, 'encryption_algorithm');
  const ptsAdjustment = u33(r, 'pts_adjustment');
  const cwIndex = r.u(8, 'cw_index');
  const tier = r.u(12, 'tier');
  const commandLength = r.u(12, 'splice_command_length');
  const commandType = r.u(8, 'splice_command_type');
  const commandStart = 14; // bytes before the command
  const lengthKnown = commandLength !== COMMAND_LENGTH_UNKNOWN;
  if (lengthKnown && commandLength > body.length - commandStart) {
    fail('splice command runs past the section', { splice_command_length: commandLength, offset: commandStart });
  }
  const { command, length } = readCommand(
    commandType,
    body.subarray(commandStart, lengthKnown ? commandStart + commandLength : body.length),
    lengthKnown,
    ptsAdjustment,
  );
  const loopAt = commandStart + length;
  if (body.length - loopAt < 2) fail('truncated descriptor_loop_length', { offset: loopAt });
  const loopLength = (body[loopAt]! << 8) | body[loopAt + 1]!;
  if (loopLength > body.length - loopAt - 2) fail('descriptor loop runs past the section', { descriptor_loop_length: loopLength, offset: loopAt });
  const descriptors = readDescriptors(body.subarray(loopAt + 2, loopAt + 2 + loopLength), loopAt + 2);
  return { section, protocolVersion, sapType, ptsAdjustment, cwIndex, tier, command, descriptors };
}

// ---------------------------------------------------------------------------------------------
// Text forms publishers use (onCuePoint parameters, SCTE35-* attributes)

/** Hex of the largest section plus slack for whitespace and a 0x prefix. */
const MAX_TEXT = 4 * (3 + MAX_SECTION_LENGTH);
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) fail('hex text has an odd number of digits', { length: text.length });
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** RFC 4648 §4 base64 (also the §5 URL-safe alphabet), padding optional. */
function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  if (clean.length % 4 === 1) fail('base64 text has an impossible length', { length: text.length });
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = BASE64.indexOf(clean[i]!);
    if (v < 0) fail('text is neither hex nor base64', { at: i, char: JSON.stringify(clean[i]) });
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}

/**
 * A splice_info_section given as text: hex (optionally 0x-prefixed, as in SCTE35-* attributes)
 * or base64 (as publishers put it in onCuePoint parameters). Base64 of a section always starts
 * with '/' (table_id 0xFC), so a string of hex digits is read as hex. Whitespace is ignored.
 */
export function spliceInfoFromText(text: string): SpliceInfo {
  if (text.length > MAX_TEXT) fail('text too long for a splice_info_section', { length: text.length });
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0) fail('empty text');
  const hex = /^(?:0x)?([0-9a-fA-F]+)$/.exec(compact);
  return parseSpliceInfo(hex ? fromHex(hex[1]!) : fromBase64(compact));
}

// ---------------------------------------------------------------------------------------------
// Writing

/** MSB-first bit writer into a fixed buffer (values up to 2^53). */
class BitWriter {
  readonly bytes: Uint8Array;
  private pos = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }

  put(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      const bit = Math.floor(value / 2 ** i) % 2;
      if (bit) this.bytes[this.pos >>> 3]! |= 0x80 >>> (this.pos & 7);
      this.pos++;
    }
  }

  ones(bits: number): void {
    this.put(2 ** bits - 1, bits);
  }
}

export interface SpliceInsertFields {
  readonly eventId: number;
  readonly outOfNetwork: boolean;
  /** Splice time (pts_time, 33 bits, 90 kHz); absent = splice_immediate_flag. */
  readonly ptsTime?: number;
  /** break_duration in 90 kHz ticks; absent = no break_duration. */
  readonly breakDurationTicks?: number;
  readonly autoReturn: boolean;
  readonly uniqueProgramId?: number;
  readonly availNum?: number;
  readonly availsExpected?: number;
  /** Adds an avail_descriptor (§10.3.1) carrying this provider_avail_id. */
  readonly providerAvailId?: number;
}

function checkBits(value: number, bits: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** bits) fail(`${what} must be an unsigned ${bits}-bit integer`, { [what]: value });
}

/**
 * A splice_info_section with one program splice_insert (§9.7.3): protocol_version 0, not
 * encrypted, pts_adjustment 0, cw_index 0xFF, tier 0xFFF (all tiers), sap_type 3 (not
 * specified), event_id_compliance_flag 1, reserved bits 1, CRC_32 filled in.
 */
export function buildSpliceInsert(fields: SpliceInsertFields): Uint8Array {
  checkBits(fields.eventId, 32, 'eventId');
  if (fields.ptsTime !== undefined) checkBits(fields.ptsTime, 33, 'ptsTime');
  if (fields.breakDurationTicks !== undefined) checkBits(fields.breakDurationTicks, 33, 'breakDurationTicks');
  checkBits(fields.uniqueProgramId ?? 0, 16, 'uniqueProgramId');
  checkBits(fields.availNum ?? 0, 8, 'availNum');
  checkBits(fields.availsExpected ?? 0, 8, 'availsExpected');
  if (fields.providerAvailId !== undefined) checkBits(fields.providerAvailId, 32, 'providerAvailId');
  const immediate = fields.ptsTime === undefined;
  const hasDuration = fields.breakDurationTicks !== undefined;
  // splice_event_id 4 + flags 1 + flags 1 + [splice_time 5] + [break_duration 5] + 2 + 1 + 1
  const commandLength = 10 + (immediate ? 0 : 5) + (hasDuration ? 5 : 0);
  const loopLength = fields.providerAvailId !== undefined ? 10 : 0;
  const sectionLength = 11 + commandLength + 2 + loopLength + 4;
  const w = new BitWriter(3 + sectionLength);
  w.put(SPLICE_INFO_TABLE_ID, 8);
  w.put(0, 1); // section_syntax_indicator
  w.put(0, 1); // private_indicator
  w.put(3, 2); // sap_type: not specified
  w.put(sectionLength, 12);
  w.put(0, 8); // protocol_version
  w.put(0, 1); // encrypted_packet
  w.put(0, 6); // encryption_algorithm
  w.put(0, 33); // pts_adjustment
  w.put(0xff, 8); // cw_index
  w.put(0xfff, 12); // tier
  w.put(commandLength, 12);
  w.put(SpliceCommandType.SpliceInsert, 8);
  w.put(fields.eventId, 32);
  w.put(0, 1); // splice_event_cancel_indicator
  w.ones(7);
  w.put(fields.outOfNetwork ? 1 : 0, 1);
  w.put(1, 1); // program_splice_flag
  w.put(hasDuration ? 1 : 0, 1);
  w.put(immediate ? 1 : 0, 1);
  w.put(1, 1); // event_id_compliance_flag
  w.ones(3);
  if (!immediate) {
    w.put(1, 1); // time_specified_flag
    w.ones(6);
    w.put(fields.ptsTime!, 33);
  }
  if (hasDuration) {
    w.put(fields.autoReturn ? 1 : 0, 1);
    w.ones(6);
    w.put(fields.breakDurationTicks!, 33);
  }
  w.put(fields.uniqueProgramId ?? 0, 16);
  w.put(fields.availNum ?? 0, 8);
  w.put(fields.availsExpected ?? 0, 8);
  w.put(loopLength, 16);
  if (fields.providerAvailId !== undefined) {
    w.put(0x00, 8); // avail_descriptor tag
    w.put(8, 8);
    w.put(CUEI, 32);
    w.put(fields.providerAvailId, 32);
  }
  const out = w.bytes;
  const crc = crc32Mpeg2(out, 0, out.length - 4);
  out[out.length - 4] = crc >>> 24;
  out[out.length - 3] = (crc >>> 16) & 0xff;
  out[out.length - 2] = (crc >>> 8) & 0xff;
  out[out.length - 1] = crc & 0xff;
  return out;
}
