/**
 * CMAF fragment / chunk writer: [prft] moof mdat for one track, in ONE allocation.
 * An LL-HLS part and a CMAF chunk are each one of these; a segment is `buildSegmentHeader()`
 * followed by one or more of them, so fragments never depend on the styp.
 *
 *   [prft 32]
 *   moof ─ mfhd 16
 *        └ traf ─ tfhd 16|20 ─ tfdt 20 ─ trun 20 + n * (8 | 12 | 16) [─ sbgp 28 (Opus 'roll')]
 *                  [─ saiz ─ saio ─ senc (Common Encryption, cenc.ts)]
 *   mdat ─ sample bytes, in trun order          data_offset = moof.size + 8
 */
import { GatewayError } from '../../core/errors.js';
import type { TrackKind } from '../../core/media.js';
import {
  BOX_HEADER_SIZE,
  MFHD_SIZE,
  PRFT_SIZE,
  ROLL_SBGP_SIZE,
  SYNC_SAMPLE_FLAGS,
  TFDT_SIZE,
  brandBox,
  tfhdSize,
  trunSampleByteSize,
  trunSize,
  writeBoxHeader,
  writeMfhd,
  writePrft,
  writeRollSampleToGroup,
  writeTfdt,
  writeTfhd,
  writeTrun,
  type TfhdFields,
  type TrunLayout,
} from './boxes.js';
import { SAIO_SIZE, SENC_DATA_OFFSET, encryptSample, saizSize, sencSize, writeSaio, writeSaiz, writeSenc, type ContentKey, type EncryptionPattern, type Subsample } from './cenc.js';

export { buildPrft, type PrftFields } from './boxes.js';

export interface FragmentSample {
  /** Sample duration in the track timescale. */
  readonly duration: number;
  /** Byte size; defaults to `data.length` (and must equal it when given). */
  readonly size?: number;
  /** Sync sample. Ignored for audio: every AAC frame is a sync sample. */
  readonly key: boolean;
  /** pts - dts in the track timescale; may be negative (video only; 0 for audio). */
  readonly compositionOffset: number;
  /** The sample as stored in mdat (length-prefixed NAL units / raw AAC access unit). */
  readonly data: Uint8Array;
}

export interface FragmentInput {
  /** Must match the init segment's track_ID. Default 1. */
  readonly trackId?: number;
  /** mfhd sequence_number: strictly increasing per track (ISO/IEC 14496-12 §8.8.5). */
  readonly sequenceNumber: number;
  /** Decode time of the first sample, track timescale; up to 2^53 via tfdt v1. */
  readonly baseMediaDecodeTime: number;
  readonly samples: readonly FragmentSample[];
  readonly kind: TrackKind;
  /**
   * Every sample belongs to the init segment's 'roll' sample group (Opus-in-ISOBMFF §4.3.6.2: "the
   * Sample to Group Box with grouping_type 'roll' shall be present for that track fragment").
   */
  readonly rollGroup?: boolean;
  /** When set, a ProducerReferenceTime box is written before the moof (LL-DASH). */
  readonly prft?: { readonly ntpMs: number; readonly mediaTime: number };
  /**
   * Common Encryption ('cbcs', mux/fmp4/cenc.ts): the samples are encrypted in the mdat as
   * written, and the traf describes them (saiz, saio, senc). `maps[i]`: sample i's subsample map,
   * undefined for a sample protected whole.
   */
  readonly protection?: FragmentProtection;
}

export interface FragmentProtection {
  readonly key: ContentKey;
  readonly pattern: EncryptionPattern;
  readonly maps: readonly (readonly Subsample[] | undefined)[];
}

const U32_MAX = 0xffff_ffff;

/**
 * styp for a media segment that starts with a CMAF fragment (ISO/IEC 14496-12 §8.16.2):
 * 'msdh' = DASH media segment (ISO/IEC 23009-1 §6.3.4.2); 'cmfs' CMAF segment and 'cmff'
 * CMAF fragment (ISO/IEC 23000-19 §7.2, brands); 'iso6' for tfdt/trun v1. Not 'msix': that
 * promises a sidx, which a live segment here does not carry.
 */
export function buildSegmentHeader(): Uint8Array {
  return brandBox('styp', 'msdh', 0, ['msdh', 'cmfs', 'cmff', 'iso6']);
}

/**
 * Builds [prft] moof mdat; sizes every box first, then writes into one buffer: a new one, or the
 * range `allocate` gives (not necessarily zeroed: every byte is written here).
 */
export function buildFragment(input: FragmentInput, allocate?: (bytes: number) => Uint8Array): Uint8Array {
  const { samples } = input;
  const trackId = input.trackId ?? 1;
  const isVideo = input.kind === 'video';
  if (samples.length === 0) throw new GatewayError('mux.fmp4', 'fragment has no samples', { kind: input.kind, sequence: input.sequenceNumber });

  let payload = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    payload += trunSampleByteSize(s, i);
    if (!isVideo && s.compositionOffset !== 0) {
      throw new GatewayError('mux.fmp4', 'audio sample with a composition offset', { sample: i, cto: s.compositionOffset });
    }
  }
  // 32-bit mdat size only: a live part is far below 4 GiB; largesize would be a bug upstream.
  if (payload > U32_MAX - BOX_HEADER_SIZE) {
    throw new GatewayError('mux.fmp4', 'mdat exceeds 4 GiB', { kind: input.kind, bytes: payload });
  }

  // Audio: every sample is sync, so one tfhd default_sample_flags replaces per-sample flags
  // (ISO/IEC 14496-12 §8.8.7). Video: flags per sample (keyframes can sit anywhere) + CTO.
  const tfhd: TfhdFields = isVideo ? { trackId } : { trackId, defaultSampleFlags: SYNC_SAMPLE_FLAGS };
  const layout: TrunLayout = { perSampleFlags: isVideo, compositionOffsets: isVideo };

  const sbgpSize = input.rollGroup ? ROLL_SBGP_SIZE : 0;
  const protection = input.protection;
  if (protection && protection.maps.length !== samples.length) {
    throw new GatewayError('mux.fmp4', 'one subsample map per sample', { samples: samples.length, maps: protection.maps.length });
  }
  // Samples with subsample maps have auxiliary information (saiz/saio point at it); whole-sample
  // encryption with a constant IV has none, and only the senc's sample count is written.
  const auxiliary = protection !== undefined && protection.maps.some((m) => m !== undefined);
  const cencSize = protection ? (auxiliary ? saizSize(protection.maps) + SAIO_SIZE : 0) + sencSize(protection.maps) : 0;
  const trafSize = BOX_HEADER_SIZE + tfhdSize(tfhd) + TFDT_SIZE + trunSize(samples.length, layout) + sbgpSize + cencSize;
  const moofSize = BOX_HEADER_SIZE + MFHD_SIZE + trafSize;
  const prftSize = input.prft ? PRFT_SIZE : 0;
  const mdatSize = BOX_HEADER_SIZE + payload;

  const total = prftSize + moofSize + mdatSize;
  const out = allocate ? allocate(total) : new Uint8Array(total);
  if (out.byteLength !== total) throw new GatewayError('mux.fmp4', 'fragment buffer of the wrong size', { kind: input.kind, bytes: out.byteLength, wanted: total });
  // The boxes ahead of the samples leave reserved fields as zeros (a reused range holds old bytes).
  if (allocate) out.fill(0, 0, total - payload);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = 0;
  if (input.prft) at = writePrft(view, at, { trackId, ntpMs: input.prft.ntpMs, mediaTime: input.prft.mediaTime });

  at = writeBoxHeader(view, at, moofSize, 'moof');
  at = writeMfhd(view, at, input.sequenceNumber);
  at = writeBoxHeader(view, at, trafSize, 'traf');
  at = writeTfhd(view, at, tfhd);
  at = writeTfdt(view, at, input.baseMediaDecodeTime);
  // default-base-is-moof: data_offset counts from the moof's first byte, past the mdat header.
  at = writeTrun(view, at, samples, layout, moofSize + BOX_HEADER_SIZE);
  if (input.rollGroup) at = writeRollSampleToGroup(view, at, samples.length);
  if (protection) {
    if (auxiliary) {
      at = writeSaiz(view, at, protection.maps);
      // The senc follows this saio: its sample entries start SENC_DATA_OFFSET into it.
      const sencAt = at + SAIO_SIZE;
      at = writeSaio(view, at, sencAt - prftSize + SENC_DATA_OFFSET);
    }
    at = writeSenc(view, at, protection.maps);
  }

  at = writeBoxHeader(view, at, mdatSize, 'mdat');
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    out.set(s.data, at);
    if (protection) encryptSample(out.subarray(at, at + s.data.length), protection.maps[i], protection.key.key, protection.key.iv, protection.pattern);
    at += s.data.length;
  }
  return out;
}
