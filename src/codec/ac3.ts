/**
 * AC-3 and E-AC-3 for the pipeline (ETSI TS 102 366): a syncframe's syncinfo and bit stream
 * information (§4.4.1, §4.4.2; E-AC-3 Annex E §E.1.2), the frames of a message grouped into
 * ISOBMFF samples, and the AC3SpecificBox / EC3SpecificBox payloads (`dac3` §F.4, `dec3` §F.6)
 * that stand in for a configuration record, which neither bitstream has. Pure: bytes in, values
 * out; malformed input throws GatewayError.
 */
import { GatewayError } from '../core/errors.js';
import { BitReader } from './bitreader.js';

export interface Ac3FrameInfo {
  /** bsid <= 8: AC-3; 11..16: E-AC-3 (§E.1.3.1.6). */
  readonly codec: 'ac3' | 'eac3';
  /** Bytes in the syncframe. */
  readonly frameSize: number;
  readonly fscod: number;
  readonly sampleRate: number;
  readonly bsid: number;
  /** Bit stream mode; E-AC-3 carries it only in optional informational metadata: 0 here. */
  readonly bsmod: number;
  readonly acmod: number;
  readonly lfeon: number;
  /** Full-bandwidth channels (acmod, Table 4.3) plus the LFE. */
  readonly channels: number;
  /** Audio blocks of 256 samples: 6 for AC-3, 1, 2, 3 or 6 for E-AC-3 (numblkscod). */
  readonly blocks: number;
  /** AC-3: frmsizecod >> 1, the nominal bit rate index (Table 4.13); E-AC-3: 0. */
  readonly bitRateCode: number;
  /** E-AC-3 strmtyp (0 independent, 1 dependent, 2 independent converted from AC-3); AC-3: 0. */
  readonly streamType: number;
  readonly substreamId: number;
  /** E-AC-3 dependent substream: chanmap (§E.1.3.1.8) when present, else 0. */
  readonly chanmap: number;
}

export const AC3_SYNCWORD = 0x0b77;
export const AC3_SAMPLES_PER_FRAME = 1536;
const SAMPLES_PER_BLOCK = 256;
/** §4.4.2.3 Table 4.3: full-bandwidth channels by acmod. */
const ACMOD_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5];
/** Table 4.13: nominal bit rate (kbit/s) by frmsizecod >> 1. */
const AC3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640];
const SAMPLE_RATES = [48_000, 44_100, 32_000];
/** §E.1.3.1.3 Table E.1.3: fscod2 rates (fscod = 3). */
const REDUCED_SAMPLE_RATES = [24_000, 22_050, 16_000];
const BLOCKS = [1, 2, 3, 6];

function bad(message: string, context: Record<string, unknown> = {}): GatewayError {
  return new GatewayError('codec.ac3', message, context);
}

/** Table 4.13: 16-bit words per syncframe; 44.1 kHz adds one word for odd frmsizecod. */
function ac3FrameSize(fscod: number, frmsizecod: number): number {
  const kbps = AC3_BITRATES[frmsizecod >> 1]!;
  const rate = SAMPLE_RATES[fscod]!;
  const words = Math.floor((kbps * 1000 * AC3_SAMPLES_PER_FRAME) / (rate * 16)) + (fscod === 1 ? frmsizecod & 1 : 0);
  return words * 2;
}

/** The syncframe starting at `offset` of `bytes`: its syncinfo and BSI. */
export function parseAc3Frame(bytes: Uint8Array, offset = 0): Ac3FrameInfo {
  if (offset + 8 > bytes.byteLength) throw bad('syncframe header truncated', { offset, length: bytes.byteLength });
  if (((bytes[offset]! << 8) | bytes[offset + 1]!) !== AC3_SYNCWORD) throw bad('no AC-3 syncword 0x0B77', { offset });
  const bsid = bytes[offset + 5]! >> 3; // same place in both syntaxes (§E.1.3.1.6)
  const r = new BitReader(bytes.subarray(offset, offset + 16), 'codec.ac3');
  try {
    r.skipBits(16, 'syncword');
    if (bsid <= 8) {
      // §4.4.1 syncinfo: crc1, fscod, frmsizecod; §4.4.2 bsi.
      r.skipBits(16, 'crc1');
      const fscod = r.u(2, 'fscod');
      const frmsizecod = r.u(6, 'frmsizecod');
      if (fscod === 3) throw bad('reserved fscod 3', { offset });
      if (frmsizecod > 37) throw bad('reserved frmsizecod', { offset, frmsizecod });
      r.skipBits(5, 'bsid');
      const bsmod = r.u(3, 'bsmod');
      const acmod = r.u(3, 'acmod');
      if ((acmod & 1) !== 0 && acmod !== 1) r.skipBits(2, 'cmixlev');
      if ((acmod & 4) !== 0) r.skipBits(2, 'surmixlev');
      if (acmod === 2) r.skipBits(2, 'dsurmod');
      const lfeon = r.u(1, 'lfeon');
      return {
        codec: 'ac3', frameSize: ac3FrameSize(fscod, frmsizecod), fscod, sampleRate: SAMPLE_RATES[fscod]!, bsid, bsmod, acmod, lfeon,
        channels: ACMOD_CHANNELS[acmod]! + lfeon, blocks: 6, bitRateCode: frmsizecod >> 1, streamType: 0, substreamId: 0, chanmap: 0,
      };
    }
    if (bsid < 11 || bsid > 16) throw bad('bsid is neither AC-3 (<= 8) nor E-AC-3 (11..16)', { offset, bsid });
    // §E.1.2.2 bsi.
    const streamType = r.u(2, 'strmtyp');
    if (streamType === 3) throw bad('reserved E-AC-3 strmtyp 3', { offset });
    const substreamId = r.u(3, 'substreamid');
    const frameSize = (r.u(11, 'frmsiz') + 1) * 2;
    const fscod = r.u(2, 'fscod');
    let sampleRate: number;
    let blocks: number;
    if (fscod === 3) {
      const fscod2 = r.u(2, 'fscod2');
      if (fscod2 === 3) throw bad('reserved fscod2 3', { offset });
      sampleRate = REDUCED_SAMPLE_RATES[fscod2]!;
      blocks = 6;
    } else {
      sampleRate = SAMPLE_RATES[fscod]!;
      blocks = BLOCKS[r.u(2, 'numblkscod')]!;
    }
    const acmod = r.u(3, 'acmod');
    const lfeon = r.u(1, 'lfeon');
    r.skipBits(5, 'bsid');
    r.skipBits(5, 'dialnorm');
    if (r.flag('compre')) r.skipBits(8, 'compr');
    if (acmod === 0) {
      r.skipBits(5, 'dialnorm2');
      if (r.flag('compr2e')) r.skipBits(8, 'compr2');
    }
    const chanmap = streamType === 1 && r.flag('chanmape') ? r.u(16, 'chanmap') : 0;
    return {
      codec: 'eac3', frameSize, fscod, sampleRate, bsid, bsmod: 0, acmod, lfeon,
      channels: ACMOD_CHANNELS[acmod]! + lfeon, blocks, bitRateCode: 0, streamType, substreamId, chanmap,
    };
  } catch (e) {
    // BitReader's own error names a bit position inside the 16 bytes read: say which frame.
    if (e instanceof GatewayError && e.message.includes('bitstream truncated')) throw bad('syncframe header truncated', { offset, length: bytes.byteLength });
    throw e;
  }
}

/** One ISOBMFF sample: an AC-3 syncframe, or the E-AC-3 syncframes of 1536 samples of every substream. */
export interface Ac3AccessUnit {
  readonly data: Uint8Array;
  /** Samples (at the sample rate) the unit lasts. */
  readonly samples: number;
  /** Every syncframe's header, in order. */
  readonly frames: readonly Ac3FrameInfo[];
}

/**
 * The syncframes of an E-RTMP `ac-3` / `ec-3` CodedFrames body, grouped into samples (ETSI TS
 * 102 366 §F.2: an AC-3 sample is one syncframe; an E-AC-3 sample holds six blocks of audio of
 * every substream, i.e. syncframes until independent substream 0 has six blocks). A body that
 * ends short of six blocks gives a shorter last unit (no known encoder sends that).
 */
export function splitAc3Frames(data: Uint8Array): Ac3AccessUnit[] {
  const units: Ac3AccessUnit[] = [];
  let unitStart = 0;
  let frames: Ac3FrameInfo[] = [];
  let blocks = 0;
  let off = 0;
  const close = (end: number): void => {
    units.push({ data: data.subarray(unitStart, end), samples: blocks * SAMPLES_PER_BLOCK, frames });
    unitStart = end;
    frames = [];
    blocks = 0;
  };
  if (data.byteLength === 0) throw bad('empty AC-3 / E-AC-3 frame body');
  while (off < data.byteLength) {
    const info = parseAc3Frame(data, off);
    if (off + info.frameSize > data.byteLength) throw bad('syncframe truncated', { offset: off, frameSize: info.frameSize, length: data.byteLength });
    if (frames.length > 0 && (info.codec === 'ac3' || frames[0]!.codec === 'ac3' || (blocks >= 6 && isMainSubstream(info)))) close(off);
    if (frames.length === 0 && info.codec === 'eac3' && !isMainSubstream(info)) throw bad('E-AC-3 sample does not start with independent substream 0', { offset: off });
    frames.push(info);
    if (info.codec === 'ac3' || isMainSubstream(info)) blocks += info.blocks;
    off += info.frameSize;
  }
  close(off);
  return units;
}

function isMainSubstream(info: Ac3FrameInfo): boolean {
  return info.streamType !== 1 && info.substreamId === 0;
}

/** §F.6.2.13 Table F.6.1: channels each chan_loc bit (from bit 0) adds: Lc/Rc, Lrs/Rrs, Cs, Ts, Lsd/Rsd, Lw/Rw, Lvh/Rvh, Cvh, LFE2. */
const CHAN_LOC_CHANNELS = [2, 2, 1, 1, 2, 2, 2, 1, 1];
/** §E.1.3.1.8 Table E.1.4: the chanmap bit (0 = its MSB) of each chan_loc location, in chan_loc order (13 is reserved). */
const CHANMAP_BITS = [5, 6, 7, 8, 9, 10, 11, 12, 14];

/** chan_loc (bit 0 = Lc/Rc pair, as Chromium's dec3 reader counts it) from a dependent substream's chanmap. */
function chanLocOf(chanmap: number): number {
  return CHANMAP_BITS.reduce((loc, bit, i) => loc | ((chanmap >> (15 - bit)) & 1 ? 1 << i : 0), 0);
}

export interface DolbyConfig {
  readonly codec: 'ac3' | 'eac3';
  readonly sampleRate: number;
  readonly channels: number;
  /** The AC3SpecificBox or EC3SpecificBox payload. */
  readonly box: Uint8Array;
  /**
   * What a new configuration is told by: every field but E-AC-3's data_rate, which follows the
   * frame sizes (44.1 kHz streams alternate between two) and so would remake the track for nothing.
   */
  readonly layout: string;
}

/**
 * The sample entry's configuration from a sample (its first syncframe for AC-3; every substream's
 * first syncframe for E-AC-3): `dac3` (§F.4) or `dec3` (§F.6).
 */
export function dolbyConfigOf(unit: Ac3AccessUnit): DolbyConfig {
  const first = unit.frames[0];
  if (!first) throw bad('an AC-3 access unit without a syncframe');
  if (first.codec === 'ac3') {
    // §F.4: fscod(2) bsid(5) bsmod(3) acmod(3) lfeon(1) bit_rate_code(5) reserved(5).
    const v = (first.fscod << 22) | (first.bsid << 17) | (first.bsmod << 14) | (first.acmod << 11) | (first.lfeon << 10) | (first.bitRateCode << 5);
    const box = Uint8Array.of(v >>> 16, (v >>> 8) & 0xff, v & 0xff);
    return { codec: 'ac3', sampleRate: first.sampleRate, channels: first.channels, box, layout: `ac3:${[...box].join(',')}` };
  }
  // Independent substreams with the dependent ones that follow each.
  // A unit of frames of fewer than six blocks repeats each substream: each counts once.
  const independents: { info: Ac3FrameInfo; dependents: Set<number>; chanLoc: number }[] = [];
  let parent: (typeof independents)[number] | undefined;
  for (const f of unit.frames) {
    if (f.streamType !== 1) {
      parent = independents.find((s) => s.info.substreamId === f.substreamId);
      if (!parent) independents.push((parent = { info: f, dependents: new Set(), chanLoc: 0 }));
    } else if (parent) {
      parent.dependents.add(f.substreamId);
      parent.chanLoc |= chanLocOf(f.chanmap);
    }
  }
  const bytes = unit.frames.reduce((n, f) => n + f.frameSize, 0);
  const dataRate = Math.min(0x1fff, Math.round((bytes * 8 * first.sampleRate) / Math.max(1, unit.samples) / 1000));
  const bits: Array<[number, number]> = [[13, dataRate], [3, independents.length - 1]];
  for (const s of independents) {
    // fscod(2) bsid(5) reserved(1) asvc(1) bsmod(3) acmod(3) lfeon(1) reserved(3) num_dep_sub(4) chan_loc(9) | reserved(1)
    const deps = s.dependents.size;
    bits.push([2, s.info.fscod], [5, s.info.bsid], [1, 0], [1, 0], [3, s.info.bsmod], [3, s.info.acmod], [1, s.info.lfeon], [3, 0], [4, deps]);
    bits.push(deps > 0 ? [9, s.chanLoc] : [1, 0]);
  }
  const box = packBits(bits);
  const main = independents[0]!;
  const extra = CHAN_LOC_CHANNELS.reduce((n, c, i) => n + ((main.chanLoc >> i) & 1 ? c : 0), 0);
  return { codec: 'eac3', sampleRate: first.sampleRate, channels: main.info.channels + extra, box, layout: `eac3:${[...box.subarray(2)].join(',')}:${box[1]! & 7}` };
}

function packBits(fields: ReadonlyArray<[number, number]>): Uint8Array {
  const total = fields.reduce((n, [width]) => n + width, 0);
  const out = new Uint8Array(Math.ceil(total / 8));
  let pos = 0;
  for (const [width, value] of fields) {
    for (let i = width - 1; i >= 0; i--, pos++) if ((value >> i) & 1) out[pos >> 3]! |= 0x80 >> (pos & 7);
  }
  return out;
}
