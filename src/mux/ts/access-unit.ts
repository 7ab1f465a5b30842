/**
 * H.264 / HEVC access units from MPEG-TS (one PES = one access unit in Annex B byte stream form,
 * ISO/IEC 13818-1 §2.14 / §2.17) -> what a Frame carries: the NAL units to length-prefix, whether
 * it is a sync sample, and the parameter sets that go into the track's decoder configuration.
 *
 * In-band parameter sets are collected by id (a later one with the same id replaces the earlier)
 * and removed from the access unit: they live in the avcC/hvcC ('avc1'/'hvc1' sample entries
 * keep them out of the samples). AUDs and filler data are dropped too; SEI and slices are kept.
 */
import { sameBytes } from '../../core/bytes.js';
import { GatewayError } from '../../core/errors.js';
import type { VideoCodec, VideoTrack } from '../../core/media.js';
import { hevcNalType, nalType, splitAnnexB } from '../../codec/annexb.js';
import { AVC_NAL_AUD, AVC_NAL_IDR, AVC_NAL_PPS, AVC_NAL_SPS, buildAvcDecoderConfigurationRecord, parseSps } from '../../codec/avc.js';
import { BitReader, nalToRbsp } from '../../codec/bitreader.js';
import { HEVC_NAL_PPS, HEVC_NAL_SPS, HEVC_NAL_VPS, buildHevcDecoderConfigurationRecord, parseHevcSps } from '../../codec/hevc.js';
import { buildVideoTrack } from '../../codec/tracks.js';

/** H.264 Table 7-1: filler data. */
const AVC_NAL_FILLER = 12;
/** H.265 Table 7-1: access unit delimiter, filler data, IRAP range. */
const HEVC_NAL_AUD = 35;
const HEVC_NAL_FILLER = 38;
const HEVC_IRAP_FIRST = 16;
const HEVC_IRAP_LAST = 21;

type SetKind = 'vps' | 'sps' | 'pps';

export interface AccessUnit {
  /** The NAL units to keep, as views into the PES (copy before the PES buffer is reused). */
  readonly nals: Uint8Array[];
  /** AVC: an IDR slice; HEVC: an IRAP picture. */
  readonly key: boolean;
  /** Set when this access unit brought parameter sets that make a new (or the first) track. */
  readonly track?: VideoTrack;
}

export class AccessUnitReader {
  private readonly sets: Record<SetKind, Map<number, Uint8Array>> = { vps: new Map(), sps: new Map(), pps: new Map() };
  private current: VideoTrack | undefined;

  constructor(readonly codec: VideoCodec) {}

  get track(): VideoTrack | undefined {
    return this.current;
  }

  /**
   * Reads one access unit. Malformed parameter sets are reported through `warn` and left out
   * (the previous track stays); this never throws a GatewayError.
   */
  read(annexB: Uint8Array, warn: (code: string, message: string) => void): AccessUnit {
    const nals: Uint8Array[] = [];
    let key = false;
    let incoming: Array<[SetKind, Uint8Array]> | undefined;
    for (const nal of splitAnnexB(annexB)) {
      const kind = this.setKind(nal);
      if (kind) {
        (incoming ??= []).push([kind, nal]);
        continue;
      }
      if (this.codec === 'avc') {
        const t = nalType(nal);
        if (t === AVC_NAL_AUD || t === AVC_NAL_FILLER) continue;
        if (t === AVC_NAL_IDR) key = true;
      } else {
        const t = hevcNalType(nal);
        if (t === HEVC_NAL_AUD || t === HEVC_NAL_FILLER) continue;
        if (t >= HEVC_IRAP_FIRST && t <= HEVC_IRAP_LAST) key = true;
      }
      nals.push(nal);
    }
    const track = incoming ? this.update(incoming, warn) : undefined;
    return track ? { nals, key, track } : { nals, key };
  }

  private setKind(nal: Uint8Array): SetKind | undefined {
    if (this.codec === 'avc') {
      const t = nalType(nal);
      return t === AVC_NAL_SPS ? 'sps' : t === AVC_NAL_PPS ? 'pps' : undefined;
    }
    const t = hevcNalType(nal);
    return t === HEVC_NAL_VPS ? 'vps' : t === HEVC_NAL_SPS ? 'sps' : t === HEVC_NAL_PPS ? 'pps' : undefined;
  }

  /** Merges in-band parameter sets; a new track when they change the configuration and build. */
  private update(incoming: Array<[SetKind, Uint8Array]>, warn: (code: string, message: string) => void): VideoTrack | undefined {
    let next: Record<SetKind, Map<number, Uint8Array>> | undefined;
    for (const [kind, nal] of incoming) {
      const known = (next ?? this.sets)[kind];
      if (containsBytes(known, nal)) continue;
      let id: number;
      try {
        id = this.setId(kind, nal);
      } catch (e) {
        if (!(e instanceof GatewayError)) throw e;
        warn('bad-parameter-set', e.message);
        continue;
      }
      next ??= { vps: new Map(this.sets.vps), sps: new Map(this.sets.sps), pps: new Map(this.sets.pps) };
      // An owned copy: the NAL is a view into the PES buffer, which is reused.
      next[kind].set(id, nal.slice());
    }
    if (!next) return undefined;
    const complete = next.sps.size > 0 && next.pps.size > 0 && (this.codec === 'avc' || next.vps.size > 0);
    if (!complete) {
      // Keep what came so far: the rest may follow in a later access unit.
      Object.assign(this.sets, next);
      return undefined;
    }
    let track: VideoTrack;
    try {
      const vps = [...next.vps.values()];
      const sps = [...next.sps.values()];
      const pps = [...next.pps.values()];
      const config = this.codec === 'avc' ? buildAvcDecoderConfigurationRecord(sps, pps, 4) : buildHevcDecoderConfigurationRecord(vps, sps, pps, 4);
      track = buildVideoTrack(this.codec, config);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      warn('bad-parameter-set', e.message);
      return undefined;
    }
    this.sets.vps = next.vps;
    this.sets.sps = next.sps;
    this.sets.pps = next.pps;
    if (this.current && sameBytes(this.current.config, track.config)) return undefined;
    this.current = track;
    return track;
  }

  /** seq/pic/video_parameter_set_id, checked (GatewayError when the NAL is malformed). */
  private setId(kind: SetKind, nal: Uint8Array): number {
    if (this.codec === 'avc') {
      if (kind === 'sps') return parseSps(nal).spsId;
      const id = new BitReader(nalToRbsp(nal.subarray(1)), 'codec.avc').ue('pic_parameter_set_id');
      if (id > 255) throw new GatewayError('codec.avc', `pic_parameter_set_id ${id} out of range`, {});
      return id;
    }
    if (kind === 'sps') return parseHevcSps(nal).spsId;
    if (nal.byteLength < 3) throw new GatewayError('codec.hevc', `${kind.toUpperCase()} truncated`, { length: nal.byteLength });
    if (kind === 'vps') return nal[2]! >>> 4;
    const id = new BitReader(nalToRbsp(nal.subarray(2)), 'codec.hevc').ue('pps_pic_parameter_set_id');
    if (id > 63) throw new GatewayError('codec.hevc', `pps_pic_parameter_set_id ${id} out of range`, {});
    return id;
  }
}

function containsBytes(sets: Map<number, Uint8Array>, nal: Uint8Array): boolean {
  for (const s of sets.values()) if (sameBytes(s, nal)) return true;
  return false;
}

