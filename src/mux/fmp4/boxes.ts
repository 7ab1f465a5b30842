/**
 * Pure ISOBMFF box builders (ISO/IEC 14496-12), no state.
 *
 * Two styles, for two budgets:
 *  - init-segment boxes (written once per configuration) return their own exact-size
 *    Uint8Array and are nested with `containerBox`;
 *  - per-fragment boxes (hot path) come as `size*` + `write*(view, at, ...) => next offset`
 *    pairs so a whole moof+mdat is sized first and written into ONE allocation.
 *
 * Every box:  +--------+--------+---------------------+
 *             | size32 | type4  | payload ...         |    full box adds version8 + flags24
 *             +--------+--------+---------------------+
 */
import { GatewayError } from '../../core/errors.js';

export const BOX_HEADER_SIZE = 8;
export const FULL_BOX_HEADER_SIZE = 12;
const U32_MAX = 0xffff_ffff;
const TWO_32 = 0x1_0000_0000;

// ---------------------------------------------------------------------------------------------
// Shared writers

/** Writes a four-character code; box types are ASCII by definition (§4.2). */
export function writeFourCC(view: DataView, at: number, type: string): void {
  if (type.length !== 4) throw new GatewayError('mux.fmp4', 'four-character code must be 4 chars', { type });
  for (let i = 0; i < 4; i++) view.setUint8(at + i, type.charCodeAt(i) & 0xff);
}

/** Box header; returns the offset just after it. */
export function writeBoxHeader(view: DataView, at: number, size: number, type: string): number {
  if (!Number.isInteger(size) || size < BOX_HEADER_SIZE || size > U32_MAX) {
    throw new GatewayError('mux.fmp4', 'box size does not fit a 32-bit size field', { type, size });
  }
  view.setUint32(at, size);
  writeFourCC(view, at + 4, type);
  return at + BOX_HEADER_SIZE;
}

/** Full box header (§4.2: version 8 bits, flags 24 bits); returns the offset just after it. */
export function writeFullBoxHeader(
  view: DataView,
  at: number,
  size: number,
  type: string,
  version: number,
  flags: number,
): number {
  writeBoxHeader(view, at, size, type);
  view.setUint32(at + 8, ((version & 0xff) << 24 | (flags & 0xff_ffff)) >>> 0);
  return at + FULL_BOX_HEADER_SIZE;
}

/** 64-bit unsigned write of a JS number up to 2^53 (DataView has no setUint64 for numbers). */
export function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / TWO_32));
  view.setUint32(at + 4, value % TWO_32);
}

function checkU32(value: number, what: string, context: Record<string, unknown> = {}): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new GatewayError('mux.fmp4', `${what} must be an unsigned 32-bit integer`, { ...context, [what]: value });
  }
}

function checkU16(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new GatewayError('mux.fmp4', `${what} must be an unsigned 16-bit integer`, { [what]: value });
  }
}

/** Allocates a box of exactly `size` bytes and hands a DataView to `fill` (after the header). */
function allocBox(size: number, type: string, fill: (view: DataView, at: number) => void): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  fill(view, writeBoxHeader(view, 0, size, type));
  return out;
}

function allocFullBox(
  size: number,
  type: string,
  version: number,
  flags: number,
  fill: (view: DataView, at: number) => void = () => {},
): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  fill(view, writeFullBoxHeader(view, 0, size, type, version, flags));
  return out;
}

/** A plain box whose payload is the given pieces (children or raw bytes), sized once. */
export function containerBox(type: string, children: readonly Uint8Array[]): Uint8Array {
  let size = BOX_HEADER_SIZE;
  for (const c of children) size += c.length;
  const out = allocBox(size, type, () => {});
  let at = BOX_HEADER_SIZE;
  for (const c of children) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// File / segment type

/** ftyp (§4.3) or styp (§8.16.2): major_brand, minor_version, compatible_brands[]. */
export function brandBox(type: 'ftyp' | 'styp', major: string, minor: number, compatible: readonly string[]): Uint8Array {
  return allocBox(BOX_HEADER_SIZE + 8 + 4 * compatible.length, type, (view, at) => {
    writeFourCC(view, at, major);
    view.setUint32(at + 4, minor);
    compatible.forEach((b, i) => writeFourCC(view, at + 8 + 4 * i, b));
  });
}

// ---------------------------------------------------------------------------------------------
// Movie header boxes (init segment)

/** Unity matrix {0x00010000,0,0, 0,0x00010000,0, 0,0,0x40000000} (§8.2.2.3). */
function writeUnityMatrix(view: DataView, at: number): void {
  view.setUint32(at, 0x0001_0000);
  view.setUint32(at + 16, 0x0001_0000);
  view.setUint32(at + 32, 0x4000_0000);
}

/** mvhd v0 (§8.2.2), 108 bytes. Live: duration 0 (unknown), times 0. */
export function mvhd(timescale: number, nextTrackId: number): Uint8Array {
  checkU32(timescale, 'timescale');
  checkU32(nextTrackId, 'nextTrackId');
  return allocFullBox(108, 'mvhd', 0, 0, (view, at) => {
    // creation_time, modification_time stay 0
    view.setUint32(at + 8, timescale);
    // duration 0
    view.setUint32(at + 16, 0x0001_0000); // rate 1.0
    view.setUint16(at + 20, 0x0100); // volume 1.0
    // reserved 2 + 2x4
    writeUnityMatrix(view, at + 32);
    // pre_defined 6x4
    view.setUint32(at + 92, nextTrackId);
  });
}

/** tkhd v0 (§8.3.2), 92 bytes. Flags 3 = track_enabled | track_in_movie. */
export function tkhd(trackId: number, opts: { width: number; height: number; volume: number }): Uint8Array {
  checkU32(trackId, 'trackId');
  checkU16(opts.width, 'width');
  checkU16(opts.height, 'height');
  return allocFullBox(92, 'tkhd', 0, 0x000003, (view, at) => {
    view.setUint32(at + 8, trackId);
    // reserved, duration 0, reserved 2x4, layer 0, alternate_group 0
    view.setUint16(at + 32, opts.volume); // 0x0100 for audio, 0 for video
    writeUnityMatrix(view, at + 36);
    view.setUint32(at + 72, opts.width * 0x1_0000); // 16.16 fixed point
    view.setUint32(at + 76, opts.height * 0x1_0000);
  });
}

/** ISO 639-2/T code packed as three 5-bit (char - 0x60) values (§8.4.2.3). */
export function packLanguage(code: string): number {
  if (!/^[a-z]{3}$/.test(code)) throw new GatewayError('mux.fmp4', 'language must be 3 lowercase letters', { code });
  return ((code.charCodeAt(0) - 0x60) << 10) | ((code.charCodeAt(1) - 0x60) << 5) | (code.charCodeAt(2) - 0x60);
}

/** mdhd v0 (§8.4.2), 32 bytes. */
export function mdhd(timescale: number, language = 'und'): Uint8Array {
  checkU32(timescale, 'timescale');
  const lang = packLanguage(language);
  return allocFullBox(32, 'mdhd', 0, 0, (view, at) => {
    view.setUint32(at + 8, timescale);
    // duration 0
    view.setUint16(at + 16, lang);
  });
}

/** hdlr (§8.4.3): handler_type and a null-terminated UTF-8 (here ASCII) name ('text': WebVTT, 14496-30 §7.3). */
export function hdlr(handlerType: 'vide' | 'soun' | 'text', name: string): Uint8Array {
  return allocFullBox(FULL_BOX_HEADER_SIZE + 20 + name.length + 1, 'hdlr', 0, 0, (view, at) => {
    // pre_defined 0
    writeFourCC(view, at + 4, handlerType);
    // reserved 3x4
    for (let i = 0; i < name.length; i++) view.setUint8(at + 20 + i, name.charCodeAt(i) & 0x7f);
    // trailing NUL already 0
  });
}

/** vmhd (§12.1.2): flags 1 is mandated; graphicsmode copy, opcolor 0. */
export function vmhd(): Uint8Array {
  return allocFullBox(20, 'vmhd', 0, 1);
}

/** smhd (§12.2.2): balance 0 (centre). */
export function smhd(): Uint8Array {
  return allocFullBox(16, 'smhd', 0, 0);
}

/**
 * dinf > dref (§8.7.2) with one 'url ' entry of flags 1: "media data is in the same file",
 * which for fragments means in the mdat that follows each moof.
 */
export function dinf(): Uint8Array {
  const url = allocFullBox(FULL_BOX_HEADER_SIZE, 'url ', 0, 1);
  const dref = allocFullBox(FULL_BOX_HEADER_SIZE + 4 + url.length, 'dref', 0, 0, (view, at) => {
    view.setUint32(at, 1); // entry_count
  });
  dref.set(url, FULL_BOX_HEADER_SIZE + 4);
  return containerBox('dinf', [dref]);
}

/**
 * stbl (§8.5.1) for a fragmented track: the sample entry in stsd and the mandatory tables left
 * empty, because every sample is described by a trun (§8.8.1).
 */
export function stbl(sampleEntry: Uint8Array, sampleGroups: readonly Uint8Array[] = []): Uint8Array {
  const stsd = allocFullBox(FULL_BOX_HEADER_SIZE + 4 + sampleEntry.length, 'stsd', 0, 0, (view, at) => {
    view.setUint32(at, 1); // entry_count
  });
  stsd.set(sampleEntry, FULL_BOX_HEADER_SIZE + 4);
  const stts = allocFullBox(16, 'stts', 0, 0); // entry_count 0 (§8.6.1.2)
  const stsc = allocFullBox(16, 'stsc', 0, 0); // entry_count 0 (§8.7.4)
  const stsz = allocFullBox(20, 'stsz', 0, 0); // sample_size 0, sample_count 0 (§8.7.3)
  const stco = allocFullBox(16, 'stco', 0, 0); // entry_count 0 (§8.7.5)
  return containerBox('stbl', [stsd, stts, stsc, stsz, stco, ...sampleGroups]);
}

/** trex (§8.8.3): default_sample_description_index 1, other defaults 0 (each traf says its own). */
export function trex(trackId: number): Uint8Array {
  checkU32(trackId, 'trackId');
  return allocFullBox(32, 'trex', 0, 0, (view, at) => {
    view.setUint32(at, trackId);
    view.setUint32(at + 4, 1);
  });
}

// ---------------------------------------------------------------------------------------------
// Sample entries

/** A box carrying opaque bytes verbatim (avcC / hvcC payloads are the records themselves). */
export function rawBox(type: string, payload: Uint8Array): Uint8Array {
  return containerBox(type, [payload]);
}

/**
 * VisualSampleEntry (§12.1.3) 'avc1' / 'hvc1' followed by its configuration box
 * (14496-15 §5.4.2.1 avcC, §8.4.1 hvcC). 'avc1'/'hvc1' (not avc3/hev1) says parameter sets
 * live in the sample entry, which is what CMAF and Safari expect.
 *
 *   reserved6 dref_idx2 | pre_def2 res2 pre_def12 | w2 h2 | hres4 vres4 | res4 | frames2
 *   | compressorname32 | depth2 | pre_def2 (-1)          = 78 bytes after the box header
 */
export function visualSampleEntry(
  type: 'avc1' | 'hvc1' | 'av01' | 'vp09',
  width: number,
  height: number,
  children: readonly Uint8Array[],
): Uint8Array {
  checkU16(width, 'width');
  checkU16(height, 'height');
  const head = new Uint8Array(78);
  const view = new DataView(head.buffer);
  view.setUint16(6, 1); // data_reference_index
  view.setUint16(24, width);
  view.setUint16(26, height);
  view.setUint32(28, 0x0048_0000); // 72 dpi
  view.setUint32(32, 0x0048_0000);
  view.setUint16(40, 1); // frame_count
  view.setUint16(74, 0x0018); // depth: colour, no alpha
  view.setInt16(76, -1);
  return containerBox(type, [head, ...children]);
}

/**
 * AudioSampleEntry v0 (§12.2.3) 'mp4a' + esds.
 * samplerate is 16.16; rates above 65535 do not fit, so 0 is written and the decoder takes the
 * real rate from the AudioSpecificConfig (as ffmpeg does for MP4).
 */
export function mp4aSampleEntry(channels: number, sampleRate: number, esdsBox: Uint8Array): Uint8Array {
  return audioSampleEntry('mp4a', { channels, sampleRate: sampleRate <= 0xffff ? sampleRate : 0, sampleSize: 16 }, [esdsBox]);
}

/**
 * AudioSampleEntry v0 (§12.2.3) of any coding name, followed by its configuration box:
 *
 *   reserved6 dref_idx2 | reserved8 | channelcount2 samplesize2 pre_def2 res2 | samplerate4
 *
 * `sampleRate` is the 16-bit integer part of the 16.16 samplerate (the codec's binding says what
 * to write when the real rate does not fit).
 */
export function audioSampleEntry(
  type: 'mp4a' | 'Opus' | 'fLaC' | 'ac-3' | 'ec-3',
  fields: { channels: number; sampleRate: number; sampleSize: number },
  children: readonly Uint8Array[],
): Uint8Array {
  checkU16(fields.channels, 'channels');
  checkU16(fields.sampleRate, 'sampleRate');
  checkU16(fields.sampleSize, 'sampleSize');
  const head = new Uint8Array(28);
  const view = new DataView(head.buffer);
  view.setUint16(6, 1); // data_reference_index
  view.setUint16(16, fields.channels);
  view.setUint16(18, fields.sampleSize);
  view.setUint32(24, fields.sampleRate * 0x1_0000);
  return containerBox(type, [head, ...children]);
}

/**
 * edts > elst v0 (§8.6.5, §8.6.6) with one edit starting the presentation at `mediaTime` (track
 * timescale): segment_duration 0, which for a fragmented movie means "all the media"
 * (Opus-in-ISOBMFF §4.4: how a live stream trims Opus's priming samples), media_rate 1.
 */
export function edtsWithMediaTime(mediaTime: number): Uint8Array {
  checkU32(mediaTime, 'mediaTime');
  const elst = allocFullBox(FULL_BOX_HEADER_SIZE + 4 + 12, 'elst', 0, 0, (view, at) => {
    view.setUint32(at, 1); // entry_count
    view.setUint32(at + 4, 0); // segment_duration: implicit
    view.setInt32(at + 8, mediaTime);
    view.setUint16(at + 12, 1); // media_rate_integer; media_rate_fraction 0
  });
  return containerBox('edts', [elst]);
}

/**
 * sgpd v1 (§8.9.3) of grouping type 'roll' with one AudioRollRecoveryEntry (§10.1.1.2):
 * roll_distance, signed 16 bits, negative for pre-roll (Opus-in-ISOBMFF §4.3.6.2).
 */
export function rollSampleGroupDescription(rollDistance: number): Uint8Array {
  if (!Number.isInteger(rollDistance) || rollDistance < -0x8000 || rollDistance > 0x7fff) {
    throw new GatewayError('mux.fmp4', 'roll_distance must be a signed 16-bit integer', { rollDistance });
  }
  return allocFullBox(FULL_BOX_HEADER_SIZE + 14, 'sgpd', 1, 0, (view, at) => {
    writeFourCC(view, at, 'roll');
    view.setUint32(at + 4, 2); // default_length
    view.setUint32(at + 8, 1); // entry_count
    view.setInt16(at + 12, rollDistance);
  });
}

/** sbgp v0 (§8.9.2) of grouping type 'roll' with no entries: stbl's, where fragments hold the samples. */
export function emptyRollSampleToGroup(): Uint8Array {
  return allocFullBox(FULL_BOX_HEADER_SIZE + 8, 'sbgp', 0, 0, (view, at) => {
    writeFourCC(view, at, 'roll');
  });
}

/** A traf's sbgp putting all its `sampleCount` samples in the moov's 'roll' group entry 1 (§8.9.4). */
export const ROLL_SBGP_SIZE = FULL_BOX_HEADER_SIZE + 16;

export function writeRollSampleToGroup(view: DataView, at: number, sampleCount: number): number {
  checkU32(sampleCount, 'sampleCount');
  at = writeFullBoxHeader(view, at, ROLL_SBGP_SIZE, 'sbgp', 0, 0);
  writeFourCC(view, at, 'roll');
  view.setUint32(at + 4, 1); // entry_count
  view.setUint32(at + 8, sampleCount);
  view.setUint32(at + 12, 1); // group_description_index: 1..0xffff name the moov's sgpd entries
  return at + 16;
}

/** Expandable descriptor size (ISO/IEC 14496-1 §8.3.3): 7 bits per byte, MSB = more follows. */
function descriptorSizeLength(size: number): number {
  let n = 1;
  while (size >= 1 << (7 * n) && n < 4) n++;
  return n;
}

function writeDescriptorHeader(out: Uint8Array, at: number, tag: number, size: number): number {
  out[at++] = tag;
  const n = descriptorSizeLength(size);
  for (let i = n - 1; i >= 0; i--) out[at++] = ((size >>> (7 * i)) & 0x7f) | (i > 0 ? 0x80 : 0);
  return at;
}

function descriptorTotal(payload: number): number {
  return 1 + descriptorSizeLength(payload) + payload;
}

/**
 * esds (ISO/IEC 14496-14 §5.6) with an ES_Descriptor (14496-1 §7.2.6.5):
 *
 *   03 ES_Descriptor   ES_ID=0 (14496-14 §3.1.2: 0 in files), flags 0
 *     04 DecoderConfigDescriptor  objectTypeIndication 0x40 (MPEG-4 Audio),
 *                                 streamType 5 (audio) <<2 | upStream 0 | reserved 1,
 *                                 bufferSizeDB 0, maxBitrate 0, avgBitrate 0 (variable)
 *       05 DecoderSpecificInfo    AudioSpecificConfig bytes
 *     06 SLConfigDescriptor       predefined 2 (MP4 files, 14496-14 §3.1.2)
 */
export function esds(audioSpecificConfig: Uint8Array): Uint8Array {
  if (audioSpecificConfig.length === 0 || audioSpecificConfig.length > 0xffff) {
    throw new GatewayError('mux.fmp4', 'AudioSpecificConfig length out of range', { length: audioSpecificConfig.length });
  }
  const dsi = descriptorTotal(audioSpecificConfig.length);
  const dcd = descriptorTotal(13 + dsi);
  const sl = descriptorTotal(1);
  const es = descriptorTotal(3 + dcd + sl);
  const out = allocFullBox(FULL_BOX_HEADER_SIZE + es, 'esds', 0, 0);
  let at = writeDescriptorHeader(out, FULL_BOX_HEADER_SIZE, 0x03, 3 + dcd + sl);
  at += 3; // ES_ID 0, flags 0
  at = writeDescriptorHeader(out, at, 0x04, 13 + dsi);
  out[at] = 0x40;
  out[at + 1] = (5 << 2) | 1;
  at += 13; // bufferSizeDB, maxBitrate, avgBitrate stay 0
  at = writeDescriptorHeader(out, at, 0x05, audioSpecificConfig.length);
  out.set(audioSpecificConfig, at);
  at += audioSpecificConfig.length;
  at = writeDescriptorHeader(out, at, 0x06, 1);
  out[at] = 0x02;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Fragment boxes (hot path: size first, write into a shared buffer)

/**
 * Sample flags (§8.8.3.1):
 *   reserved4 | is_leading2 | depends_on2 | is_depended_on2 | has_redundancy2 |
 *   padding3 | is_non_sync1 | degradation_priority16
 */
export const SYNC_SAMPLE_FLAGS = 0x0200_0000; // depends_on=2 (I-frame), is_non_sync=0
export const NON_SYNC_SAMPLE_FLAGS = 0x0101_0000; // depends_on=1, is_non_sync=1

export const MFHD_SIZE = 16;

/** mfhd (§8.8.5): sequence_number. */
export function writeMfhd(view: DataView, at: number, sequenceNumber: number): number {
  checkU32(sequenceNumber, 'sequenceNumber');
  at = writeFullBoxHeader(view, at, MFHD_SIZE, 'mfhd', 0, 0);
  view.setUint32(at, sequenceNumber);
  return at + 4;
}

/** tfhd flags (§8.8.7.1). */
export const TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT = 0x00_0020;
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x02_0000;

export interface TfhdFields {
  readonly trackId: number;
  /** When set, written as default_sample_flags and the trun may omit per-sample flags. */
  readonly defaultSampleFlags?: number;
}

export function tfhdSize(fields: TfhdFields): number {
  return FULL_BOX_HEADER_SIZE + 4 + (fields.defaultSampleFlags !== undefined ? 4 : 0);
}

/**
 * tfhd (§8.8.7) with default-base-is-moof: data offsets count from this moof's first byte,
 * which CMAF requires of every track fragment (ISO/IEC 23000-19, tfhd constraints) and which
 * keeps fragments relocatable (a part is served alone, a segment is a concatenation).
 */
export function writeTfhd(view: DataView, at: number, fields: TfhdFields): number {
  checkU32(fields.trackId, 'trackId');
  const hasDefault = fields.defaultSampleFlags !== undefined;
  const flags = TFHD_DEFAULT_BASE_IS_MOOF | (hasDefault ? TFHD_DEFAULT_SAMPLE_FLAGS_PRESENT : 0);
  at = writeFullBoxHeader(view, at, tfhdSize(fields), 'tfhd', 0, flags);
  view.setUint32(at, fields.trackId);
  at += 4;
  if (hasDefault) {
    view.setUint32(at, fields.defaultSampleFlags! >>> 0);
    at += 4;
  }
  return at;
}

export const TFDT_SIZE = 20;

/** tfdt v1 (§8.8.12): 64-bit baseMediaDecodeTime, exact for any safe integer. */
export function writeTfdt(view: DataView, at: number, baseMediaDecodeTime: number): number {
  if (!Number.isSafeInteger(baseMediaDecodeTime) || baseMediaDecodeTime < 0) {
    throw new GatewayError('mux.fmp4', 'baseMediaDecodeTime must be a non-negative safe integer', { baseMediaDecodeTime });
  }
  at = writeFullBoxHeader(view, at, TFDT_SIZE, 'tfdt', 1, 0);
  writeU64(view, at, baseMediaDecodeTime);
  return at + 8;
}

/** trun flags (§8.8.8.1). */
export const TRUN_DATA_OFFSET_PRESENT = 0x00_0001;
export const TRUN_SAMPLE_DURATION_PRESENT = 0x00_0100;
export const TRUN_SAMPLE_SIZE_PRESENT = 0x00_0200;
export const TRUN_SAMPLE_FLAGS_PRESENT = 0x00_0400;
export const TRUN_SAMPLE_CTO_PRESENT = 0x00_0800;

export interface TrunSample {
  readonly duration: number;
  /** Byte size; when absent, `data.length`. */
  readonly size?: number;
  readonly data?: Uint8Array;
  /** Sync sample: SYNC_SAMPLE_FLAGS, else NON_SYNC_SAMPLE_FLAGS. */
  readonly key: boolean;
  /** pts - dts in the track timescale. */
  readonly compositionOffset: number;
}

/** The byte size a trun records for a sample; `size` and `data` must agree when both are set. */
export function trunSampleByteSize(sample: TrunSample, index: number): number {
  const size = sample.size ?? sample.data?.length;
  if (size === undefined) throw new GatewayError('mux.fmp4', 'sample has neither size nor data', { sample: index });
  if (sample.data !== undefined && sample.data.length !== size) {
    throw new GatewayError('mux.fmp4', 'sample size disagrees with its data', { sample: index, size, data: sample.data.length });
  }
  checkU32(size, 'size', { sample: index });
  return size;
}

export interface TrunLayout {
  /** Include sample_flags per sample (else tfhd's default applies). */
  readonly perSampleFlags: boolean;
  /** Include sample_composition_time_offset per sample (video). */
  readonly compositionOffsets: boolean;
}

/** Bytes per sample entry in a trun with the given layout. */
export function trunEntrySize(layout: TrunLayout): number {
  return 8 + (layout.perSampleFlags ? 4 : 0) + (layout.compositionOffsets ? 4 : 0);
}

export function trunSize(sampleCount: number, layout: TrunLayout): number {
  return FULL_BOX_HEADER_SIZE + 8 + sampleCount * trunEntrySize(layout);
}

/**
 * trun (§8.8.8): sample_count, data_offset, then per sample duration, size, [flags], [cto].
 * ISO/IEC 14496-12 §8.8.8: signed composition offsets need trun version 1, so v1 is used
 * exactly when an offset is negative; otherwise v0 (unsigned) for the widest player support.
 */
export function writeTrun(
  view: DataView,
  at: number,
  samples: readonly TrunSample[],
  layout: TrunLayout,
  dataOffset: number,
): number {
  let negative = false;
  if (layout.compositionOffsets) {
    for (const s of samples) if (s.compositionOffset < 0) negative = true;
  }
  const version = negative ? 1 : 0;
  let flags = TRUN_DATA_OFFSET_PRESENT | TRUN_SAMPLE_DURATION_PRESENT | TRUN_SAMPLE_SIZE_PRESENT;
  if (layout.perSampleFlags) flags |= TRUN_SAMPLE_FLAGS_PRESENT;
  if (layout.compositionOffsets) flags |= TRUN_SAMPLE_CTO_PRESENT;
  if (!Number.isInteger(dataOffset) || dataOffset < 0 || dataOffset > 0x7fff_ffff) {
    throw new GatewayError('mux.fmp4', 'trun data_offset out of range', { dataOffset });
  }
  at = writeFullBoxHeader(view, at, trunSize(samples.length, layout), 'trun', version, flags);
  view.setUint32(at, samples.length);
  view.setInt32(at + 4, dataOffset);
  at += 8;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    checkU32(s.duration, 'duration', { sample: i });
    view.setUint32(at, s.duration);
    view.setUint32(at + 4, trunSampleByteSize(s, i));
    at += 8;
    if (layout.perSampleFlags) {
      view.setUint32(at, s.key ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS);
      at += 4;
    }
    if (layout.compositionOffsets) {
      const cto = s.compositionOffset;
      if (version === 1) {
        if (!Number.isInteger(cto) || cto < -0x8000_0000 || cto > 0x7fff_ffff) {
          throw new GatewayError('mux.fmp4', 'composition offset does not fit signed 32 bits', { sample: i, cto });
        }
        view.setInt32(at, cto);
      } else {
        checkU32(cto, 'compositionOffset', { sample: i });
        view.setUint32(at, cto);
      }
      at += 4;
    }
  }
  return at;
}

/** NTP epoch (1900-01-01) is this many seconds before the Unix epoch (RFC 5905 §6). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800;

/** Writes a 64-bit NTP timestamp (32.32 seconds since 1900) for a Unix wall clock in ms. */
export function writeNtpTimestamp(view: DataView, at: number, unixMs: number): void {
  if (!Number.isFinite(unixMs) || unixMs < -NTP_UNIX_OFFSET_SECONDS * 1000) {
    throw new GatewayError('mux.fmp4', 'wall clock out of NTP range', { unixMs });
  }
  const wholeSeconds = Math.floor(unixMs / 1000);
  const seconds = wholeSeconds + NTP_UNIX_OFFSET_SECONDS;
  if (seconds > U32_MAX) throw new GatewayError('mux.fmp4', 'wall clock beyond NTP era 0', { unixMs });
  const fraction = Math.min(U32_MAX, Math.floor(((unixMs - wholeSeconds * 1000) / 1000) * TWO_32));
  view.setUint32(at, seconds);
  view.setUint32(at + 4, fraction);
}

export const PRFT_SIZE = 32;

export interface PrftFields {
  readonly trackId: number;
  /** Wall clock (Unix ms) that corresponds to `mediaTime`. */
  readonly ntpMs: number;
  /** Media time in the track timescale. */
  readonly mediaTime: number;
  /**
   * Which instant the clock sampled (§8.16.5.3): 0 = encoder input (default),
   * 1 = encoder output, 2 = moof finalized, 4 = moof written, 8 = arbitrary, 24 = captured.
   */
  readonly flags?: number;
}

/**
 * prft v1 (§8.16.5), ProducerReferenceTime for LL-DASH latency:
 *   header12 | reference_track_ID4 | ntp_timestamp8 | media_time8 (v1: 64-bit)
 */
export function writePrft(view: DataView, at: number, fields: PrftFields): number {
  checkU32(fields.trackId, 'trackId');
  if (!Number.isSafeInteger(fields.mediaTime) || fields.mediaTime < 0) {
    throw new GatewayError('mux.fmp4', 'prft media time must be a non-negative safe integer', { mediaTime: fields.mediaTime });
  }
  at = writeFullBoxHeader(view, at, PRFT_SIZE, 'prft', 1, fields.flags ?? 0);
  view.setUint32(at, fields.trackId);
  writeNtpTimestamp(view, at + 4, fields.ntpMs);
  writeU64(view, at + 12, fields.mediaTime);
  return at + 20;
}

/** Standalone prft box. */
export function buildPrft(fields: PrftFields): Uint8Array {
  const out = new Uint8Array(PRFT_SIZE);
  writePrft(new DataView(out.buffer), 0, fields);
  return out;
}
