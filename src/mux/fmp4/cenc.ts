/**
 * Common Encryption of CMAF tracks with the 'cbcs' scheme (ISO/IEC 23001-7:2016 §10.4; CMAF,
 * ISO/IEC 23000-19 §8.2): AES-128-CBC with a constant IV, video in the 1:9 pattern (one 16-byte
 * block encrypted, nine skipped), audio every whole block. One set of encrypted segments serves
 * HLS (`METHOD=SAMPLE-AES`, RFC 8216bis §4.4.4.4) and DASH (`ContentProtection`).
 *
 * Init segment: the sample entry becomes `encv`/`enca` with a `sinf`
 * (frma: the original format, schm: 'cbcs' 1.0, schi > tenc v1: pattern, KID, constant IV), and
 * the moov carries a `pssh` per DRM system (ClearKey's lists the KID, W3C "Common SystemID").
 *
 * Media: each fragment's traf carries `senc` (subsample map per sample, no per-sample IV), with
 * `saiz`/`saio` pointing at it (§7.1: the auxiliary information the senc duplicates). Audio has
 * no auxiliary information at all (constant IV, no map): its senc lists only the sample count
 * and saiz/saio are omitted, as Shaka Packager does.
 *
 * Which bytes are protected (§9.5, §10.4.2): in a NAL-structured sample (H.264, HEVC) the
 * length prefixes, the NAL headers and every non-VCL NAL unit stay clear; a VCL NAL unit keeps
 * its first bytes clear and the rest, rounded down to whole 16-byte blocks, is protected. CMAF
 * wants the protected range to begin right after the slice header, which a secure decoder reads;
 * without parsing slice headers, 32 bytes past the NAL header are left clear (Apple's SAMPLE-AES
 * rule), which covers the slice header of ordinary streams. Decryption follows the map, so a
 * larger clear prefix never breaks playback. An audio sample (AAC) is protected whole; its trailing
 * partial block stays clear (§10.4.1), so audio needs no subsample map.
 *
 * Pure: bytes in, bytes out. Encryption happens in place in a fragment the muxer just wrote.
 */
import { createCipheriv } from 'node:crypto';
import { GatewayError } from '../../core/errors.js';
import type { Track } from '../../core/media.js';
import { forEachNal } from '../../codec/annexb.js';
import { FULL_BOX_HEADER_SIZE, containerBox, writeBoxHeader, writeFourCC, writeFullBoxHeader } from './boxes.js';

/** ClearKey's DRM system id (W3C EME "Common SystemID and PSSH Box Format"). */
export const CLEARKEY_SYSTEM_ID = Uint8Array.from(Buffer.from('1077efecc0b24d02ace33c1e52e2fb4b', 'hex'));

/** The content key of a protected stream (16 bytes each). */
export interface ContentKey {
  readonly kid: Uint8Array;
  readonly key: Uint8Array;
  /** The constant IV of 'cbcs' (§10.4.1: default_constant_IV, 16 bytes). */
  readonly iv: Uint8Array;
}

export interface CencProtection extends ContentKey {
  /** Further `pssh` boxes to put in the init (from a key provider: Widevine, PlayReady, …). */
  readonly psshBoxes?: readonly Uint8Array[];
  /** The licence service players are sent to; absent: the gateway's own ClearKey route. */
  readonly licenseUrl?: string;
}

/** crypt_byte_block : skip_byte_block. */
export interface EncryptionPattern {
  readonly crypt: number;
  readonly skip: number;
}

/** §10.4.1: video 1:9 (the recommended pattern); other tracks whole-block (0:0, every block). */
export function patternOf(track: Track): EncryptionPattern {
  return track.kind === 'video' ? { crypt: 1, skip: 9 } : { crypt: 0, skip: 0 };
}

/** Codecs this scheme is applied to (the NAL-structured video and AAC, what SAMPLE-AES covers). */
export function canProtect(track: Track): boolean {
  return track.kind === 'video' ? track.codec === 'avc' || track.codec === 'hevc' : track.codec === 'aac';
}

// ---------------------------------------------------------------------------------------------
// Init segment boxes

/**
 * tenc (§8.2): isProtected 1, Per_Sample_IV_Size 0, KID, constant IV. Version 1 carries a
 * pattern; whole-block encryption (0:0) is version 0, as Shaka Packager writes it.
 */
export function tenc(kid: Uint8Array, iv: Uint8Array, pattern: EncryptionPattern): Uint8Array {
  checkLength(kid, 16, 'KID');
  checkLength(iv, 16, 'constant IV');
  const size = FULL_BOX_HEADER_SIZE + 4 + 16 + 1 + 16;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const version = pattern.crypt > 0 && pattern.skip > 0 ? 1 : 0;
  let at = writeFullBoxHeader(view, 0, size, 'tenc', version, 0);
  at += 1; // reserved
  view.setUint8(at++, ((pattern.crypt & 0xf) << 4) | (pattern.skip & 0xf));
  view.setUint8(at++, 1); // default_isProtected
  view.setUint8(at++, 0); // default_Per_Sample_IV_Size: 0, the constant IV follows
  out.set(kid, at);
  at += 16;
  view.setUint8(at++, 16); // default_constant_IV_size
  out.set(iv, at);
  return out;
}

/** sinf (ISO/IEC 14496-12 §8.12): frma, schm 'cbcs' v1.0, schi > tenc. */
export function sinf(originalFormat: string, kid: Uint8Array, iv: Uint8Array, pattern: EncryptionPattern): Uint8Array {
  const frma = new Uint8Array(12);
  const fv = new DataView(frma.buffer);
  writeBoxHeader(fv, 0, 12, 'frma');
  writeFourCC(fv, 8, originalFormat);
  const schm = new Uint8Array(FULL_BOX_HEADER_SIZE + 8);
  const sv = new DataView(schm.buffer);
  writeFullBoxHeader(sv, 0, schm.length, 'schm', 0, 0);
  writeFourCC(sv, 12, 'cbcs');
  sv.setUint32(16, 0x0001_0000); // scheme_version 1.0 (§4.2)
  return containerBox('sinf', [frma, schm, containerBox('schi', [tenc(kid, iv, pattern)])]);
}

/** pssh v1 (§8.1) of `systemId` listing `kids`, with `data` (empty for ClearKey). */
export function pssh(systemId: Uint8Array, kids: readonly Uint8Array[], data: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkLength(systemId, 16, 'SystemID');
  const size = FULL_BOX_HEADER_SIZE + 16 + 4 + 16 * kids.length + 4 + data.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = writeFullBoxHeader(view, 0, size, 'pssh', 1, 0);
  out.set(systemId, at);
  at += 16;
  view.setUint32(at, kids.length);
  at += 4;
  for (const kid of kids) {
    checkLength(kid, 16, 'KID');
    out.set(kid, at);
    at += 16;
  }
  view.setUint32(at, data.length);
  out.set(data, at + 4);
  return out;
}

/**
 * A protected sample entry (§8.12): the entry renamed `encv`/`enca` with a `sinf` child naming
 * the original format. `entry` is a complete sample entry box.
 */
export function protectSampleEntry(entry: Uint8Array, kind: 'video' | 'audio', protection: ContentKey, pattern: EncryptionPattern): Uint8Array {
  const original = String.fromCharCode(entry[4]!, entry[5]!, entry[6]!, entry[7]!);
  const info = sinf(original, protection.kid, protection.iv, pattern);
  const out = new Uint8Array(entry.length + info.length);
  out.set(entry, 0);
  out.set(info, entry.length);
  writeBoxHeader(new DataView(out.buffer), 0, out.length, kind === 'video' ? 'encv' : 'enca');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Samples

/** One senc subsample entry: clear bytes, then protected bytes. */
export interface Subsample {
  readonly clear: number;
  readonly protected: number;
}

/** Bytes of a VCL NAL unit left clear after its length prefix: header + slice header room. */
const VCL_CLEAR_BYTES = 32;
const BLOCK = 16;
/** BytesOfClearData is 16 bits (§7.2.2): longer clear runs take several entries. */
const MAX_CLEAR = 0xffff;
/**
 * saiz lists each sample's auxiliary information size in 8 bits (ISO/IEC 14496-12 §8.7.8): 2 + 6
 * bytes per subsample fit 42 entries. Past 40 protected NAL units (many slices per frame) the
 * rest of the sample stays clear, leaving room for the clear tail.
 */
const MAX_PROTECTED_SUBSAMPLES = 40;

function isVcl(codec: 'avc' | 'hevc', nal: Uint8Array): boolean {
  // H.264 Table 7-1: slices are types 1..5; H.265 Table 7-1: VCL types are 0..31.
  return codec === 'avc' ? ((nal[0]! & 0x1f) >= 1 && (nal[0]! & 0x1f) <= 5) : ((nal[0]! >> 1) & 0x3f) < 32;
}

/**
 * The subsample map of a length-prefixed access unit: clear up to the protected part of each VCL
 * NAL unit, which is whole 16-byte blocks. Consecutive clear bytes merge into one entry (split at
 * 65535), so a sample with no protectable NAL unit has a single all-clear entry.
 */
export function nalSubsamples(sample: Uint8Array, nalLengthSize: number, codec: 'avc' | 'hevc'): Subsample[] {
  const out: Subsample[] = [];
  let clear = 0;
  let consumed = 0;
  forEachNal(
    sample,
    nalLengthSize,
    (nal, offset) => {
      const nalEnd = offset + nal.length;
      if (!isVcl(codec, nal) || nal.length <= VCL_CLEAR_BYTES + BLOCK || out.length >= MAX_PROTECTED_SUBSAMPLES) return;
      const protectedStart = offset + VCL_CLEAR_BYTES;
      const protectedBytes = Math.floor((nalEnd - protectedStart) / BLOCK) * BLOCK;
      clear += protectedStart - consumed;
      while (clear > MAX_CLEAR) {
        out.push({ clear: MAX_CLEAR, protected: 0 });
        clear -= MAX_CLEAR;
      }
      out.push({ clear, protected: protectedBytes });
      clear = 0;
      consumed = protectedStart + protectedBytes;
    },
    'mux.fmp4',
  );
  clear += sample.length - consumed;
  while (clear > MAX_CLEAR) {
    out.push({ clear: MAX_CLEAR, protected: 0 });
    clear -= MAX_CLEAR;
  }
  if (clear > 0 || out.length === 0) out.push({ clear, protected: 0 });
  return out;
}

/**
 * Encrypts `length` bytes at `start` of `data` in place, AES-128-CBC from `iv`, in `pattern`
 * (§10.4.1, §9.6): of every crypt+skip blocks the first `crypt` are encrypted and chained, the
 * rest left clear; 0:0 encrypts every block. A trailing partial block stays clear.
 */
export function encryptRange(data: Uint8Array, start: number, length: number, key: Uint8Array, iv: Uint8Array, pattern: EncryptionPattern): void {
  const blocks = Math.floor(length / BLOCK);
  if (blocks === 0) return;
  const cycle = pattern.crypt + pattern.skip;
  const whole = pattern.crypt === 0 || pattern.skip === 0;
  const cipher = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false);
  if (whole) {
    const range = data.subarray(start, start + blocks * BLOCK);
    range.set(cipher.update(range));
    return;
  }
  // Gather the blocks the pattern encrypts, encrypt them as one CBC chain, scatter them back.
  const picked: number[] = [];
  for (let b = 0; b < blocks; b++) if (b % cycle < pattern.crypt) picked.push(b);
  const gathered = new Uint8Array(picked.length * BLOCK);
  for (let i = 0; i < picked.length; i++) gathered.set(data.subarray(start + picked[i]! * BLOCK, start + (picked[i]! + 1) * BLOCK), i * BLOCK);
  const encrypted = cipher.update(gathered);
  for (let i = 0; i < picked.length; i++) data.set(encrypted.subarray(i * BLOCK, (i + 1) * BLOCK), start + picked[i]! * BLOCK);
}

/**
 * Encrypts a sample in place: each subsample's protected range restarts from the constant IV
 * (§10.4.1 "the IV is applied to the first encrypted block of each subsample"); without a map the
 * whole sample is one protected range.
 */
export function encryptSample(data: Uint8Array, subsamples: readonly Subsample[] | undefined, key: Uint8Array, iv: Uint8Array, pattern: EncryptionPattern): void {
  if (!subsamples) {
    encryptRange(data, 0, data.length, key, iv, pattern);
    return;
  }
  let at = 0;
  for (const s of subsamples) {
    at += s.clear;
    if (s.protected > 0) encryptRange(data, at, s.protected, key, iv, pattern);
    at += s.protected;
  }
  if (at !== data.length) throw new GatewayError('mux.fmp4', 'subsample map does not cover the sample', { mapped: at, size: data.length });
}

// ---------------------------------------------------------------------------------------------
// Fragment boxes (sized first, written into the fragment's one allocation)

/** senc (§7.2.2): flags 0x2 when samples carry subsample maps; no per-sample IVs (constant IV). */
export function sencSize(maps: readonly (readonly Subsample[] | undefined)[]): number {
  let size = FULL_BOX_HEADER_SIZE + 4;
  for (const m of maps) if (m) size += 2 + 6 * m.length;
  return size;
}

/** The auxiliary information size of each sample (what saiz lists). */
function auxSize(map: readonly Subsample[] | undefined): number {
  return map ? 2 + 6 * map.length : 0;
}

export function writeSenc(view: DataView, at: number, maps: readonly (readonly Subsample[] | undefined)[]): number {
  const withMaps = maps.some((m) => m !== undefined);
  at = writeFullBoxHeader(view, at, sencSize(maps), 'senc', 0, withMaps ? 0x2 : 0);
  view.setUint32(at, maps.length);
  at += 4;
  if (!withMaps) return at;
  for (const m of maps) {
    const map = m ?? [];
    view.setUint16(at, map.length);
    at += 2;
    for (const s of map) {
      view.setUint16(at, s.clear);
      view.setUint32(at + 2, s.protected);
      at += 6;
    }
  }
  return at;
}

/** saiz (§8.7.8): one default size when all samples agree, else a size per sample. */
export function saizSize(maps: readonly (readonly Subsample[] | undefined)[]): number {
  return FULL_BOX_HEADER_SIZE + 5 + (uniformAuxSize(maps) === undefined ? maps.length : 0);
}

function uniformAuxSize(maps: readonly (readonly Subsample[] | undefined)[]): number | undefined {
  const first = auxSize(maps[0]);
  for (const m of maps) if (auxSize(m) !== first) return undefined;
  return first;
}

export function writeSaiz(view: DataView, at: number, maps: readonly (readonly Subsample[] | undefined)[]): number {
  const uniform = uniformAuxSize(maps);
  at = writeFullBoxHeader(view, at, saizSize(maps), 'saiz', 0, 0);
  for (const m of maps) {
    if (auxSize(m) > 0xff) throw new GatewayError('mux.fmp4', 'sample auxiliary information over 255 bytes', { subsamples: m?.length });
  }
  view.setUint8(at, uniform ?? 0);
  view.setUint32(at + 1, maps.length);
  at += 5;
  if (uniform === undefined) for (const m of maps) view.setUint8(at++, auxSize(m));
  return at;
}

export const SAIO_SIZE = FULL_BOX_HEADER_SIZE + 8;

/** saio (§8.7.9) v0, one offset: from the moof (default-base-is-moof) to senc's first sample entry. */
export function writeSaio(view: DataView, at: number, offsetFromMoof: number): number {
  at = writeFullBoxHeader(view, at, SAIO_SIZE, 'saio', 0, 0);
  view.setUint32(at, 1);
  view.setUint32(at + 4, offsetFromMoof);
  return at + 8;
}

/** Where senc's per-sample data begins, relative to the senc box. */
export const SENC_DATA_OFFSET = FULL_BOX_HEADER_SIZE + 4;

// ---------------------------------------------------------------------------------------------

/** A 16-byte id (KID, DRM SystemID) in the 8-4-4-4-12 UUID form MPDs and key formats use. */
export function uuidOf(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The SystemID of a pssh box (§8.1.1: after the full box header). */
export function psshSystemId(box: Uint8Array): Uint8Array {
  return box.subarray(FULL_BOX_HEADER_SIZE, FULL_BOX_HEADER_SIZE + 16);
}

function checkLength(bytes: Uint8Array, length: number, what: string): void {
  if (bytes.length !== length) throw new GatewayError('mux.fmp4', `${what} must be ${length} bytes`, { length: bytes.length });
}

