/**
 * One rendition's MPEG-TS muxer: turns the frames of one segment into a self-contained TS
 * segment (PAT + PMT first, then video and audio PES interleaved by decode time), keeping the
 * continuity counters and PMT version across the segments of the rendition (ISO/IEC 13818-1
 * §2.4.3.3: continuity_counter runs on per PID; HLS players check it across segment boundaries).
 *
 * Pure and synchronous: frames in, bytes out. Every PES is sized before anything is written,
 * so a segment is ONE allocation; payload bytes are copied once, from views of the frames.
 */
import { GatewayError } from '../../core/errors.js';
import { VIDEO_TIMESCALE, type AudioTrack, type Frame, type VideoTrack } from '../../core/media.js';
import { ADTS_HEADER_LENGTH, adtsFieldsOf, writeAdtsHeader } from '../../codec/adts.js';
import { appendAnnexBPieces } from '../../codec/annexb.js';
import {
  AUDIO_PID,
  ID3_METADATA_DESCRIPTOR,
  ID3_PID,
  PAT_PID,
  PMT_PID,
  STREAM_ID_AUDIO,
  STREAM_ID_PRIVATE_1,
  STREAM_ID_VIDEO,
  STREAM_TYPE,
  TS_BODY_SIZE,
  TS_PACKET_SIZE,
  VIDEO_PID,
  buildPatSection,
  buildPmtSection,
  maxPayloadSize,
  pesHasDts,
  pesHeaderSize,
  writePacketHeader,
  writePesHeader,
  writePsiPacket,
  type PmtStream,
} from './packet.js';

export interface TsSegmentInput {
  /** The video track of the rendition and the segment's frames in decode order (90 kHz). */
  readonly video?: { readonly track: VideoTrack; readonly frames: readonly Frame[] };
  /** The audio track and the segment's frames in decode order (sample-rate ticks). */
  readonly audio?: { readonly track: AudioTrack; readonly frames: readonly Frame[] };
  /**
   * Timed ID3 metadata: declared in the PMT when present (a stream keeps declaring it once it
   * had some, so its program does not change back), each tag one PES at its PTS (90 kHz).
   */
  readonly id3?: { readonly tags: readonly { readonly pts: number; readonly tag: Uint8Array }[] };
}

export interface TsMuxerOptions {
  /** Longest run of AAC frames one audio PES carries, 90 kHz ticks (default 90 ms). */
  readonly maxAudioPesDuration?: number;
  /** How far the PCR runs behind the DTS of the PES it precedes, 90 kHz ticks (default 0.7 s). */
  readonly pcrDelay?: number;
  /** Upper bound on one segment's size in bytes (default 256 MiB). */
  readonly maxSegmentBytes?: number;
}

/** 90 ms: a few AAC frames per PES cut the 14-byte header and packet padding overhead (Apple's muxers group similarly). */
const DEFAULT_AUDIO_PES_DURATION = 8100;
/** ffmpeg's default max_delay: PCR leads decoding by 0.7 s so the T-STD buffers fill before the first DTS. */
const DEFAULT_PCR_DELAY = 63_000;
const DEFAULT_MAX_SEGMENT_BYTES = 256 * 1024 * 1024;
/** Largest PES payload with PES_packet_length set: 0xFFFF minus the flag bytes and a PTS. */
const MAX_AUDIO_PES_PAYLOAD = 0xffff - 3 - 5;

interface PesUnit {
  readonly pid: number;
  readonly streamId: number;
  readonly pts: number;
  readonly dts: number;
  readonly pieces: Uint8Array[];
  readonly payloadLength: number;
  readonly pcr: number | undefined;
  readonly randomAccess: boolean;
  /** PES_packet_length is written for audio and metadata; video uses 0 (unbounded, §2.4.3.7). */
  readonly boundedLength: boolean;
}

export class TsSegmentMuxer {
  private readonly continuity = new Map<number, number>();
  private readonly maxAudioPesDuration: number;
  private readonly pcrDelay: number;
  private readonly maxSegmentBytes: number;
  private pmtVersion = 0;
  private lastProgram: string | undefined;
  private readonly headerScratch = new Uint8Array(pesHeaderSize(true));

  constructor(options: TsMuxerOptions = {}) {
    this.maxAudioPesDuration = options.maxAudioPesDuration ?? DEFAULT_AUDIO_PES_DURATION;
    this.pcrDelay = options.pcrDelay ?? DEFAULT_PCR_DELAY;
    this.maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  }

  /** Muxes one segment; the first PES is the segment's first video frame when there is video. */
  mux(input: TsSegmentInput): Uint8Array {
    const { video, audio } = input;
    if (!video && !audio) throw new GatewayError('mux.ts', 'segment has neither a video nor an audio track');
    const pcrPid = video ? VIDEO_PID : AUDIO_PID;
    const streams: PmtStream[] = [];
    if (video) streams.push({ streamType: video.track.codec === 'hevc' ? STREAM_TYPE.hevc : STREAM_TYPE.avc, pid: VIDEO_PID });
    if (audio) streams.push({ streamType: STREAM_TYPE.aacAdts, pid: AUDIO_PID });
    if (input.id3) streams.push({ streamType: STREAM_TYPE.metadata, pid: ID3_PID, descriptors: ID3_METADATA_DESCRIPTOR });
    this.updatePmtVersion(pcrPid, streams);

    const videoUnits = video ? this.videoUnits(video.track, video.frames) : [];
    const audioUnits = audio ? this.audioUnits(audio.track, audio.frames, !video) : [];
    const id3Units = input.id3 ? input.id3.tags.map((t) => id3Unit(t.pts, t.tag)) : [];

    let packets = 2; // PAT + PMT
    for (const u of videoUnits) packets += packetCount(u);
    for (const u of audioUnits) packets += packetCount(u);
    for (const u of id3Units) packets += packetCount(u);
    const size = packets * TS_PACKET_SIZE;
    if (size > this.maxSegmentBytes) {
      throw new GatewayError('mux.ts', 'segment exceeds the size limit', { size, limit: this.maxSegmentBytes });
    }

    const out = new Uint8Array(size);
    let at = writePsiPacket(out, 0, PAT_PID, this.nextCounter(PAT_PID), buildPatSection());
    at = writePsiPacket(out, at, PMT_PID, this.nextCounter(PMT_PID), buildPmtSection({ pcrPid, streams, version: this.pmtVersion }));
    // Interleave by decode time; video first on ties so a segment opens with its keyframe, and
    // metadata after the media of its instant.
    let v = 0;
    let a = 0;
    let m = 0;
    while (v < videoUnits.length || a < audioUnits.length || m < id3Units.length) {
      const takeVideo = a >= audioUnits.length || (v < videoUnits.length && videoUnits[v]!.dts <= audioUnits[a]!.dts);
      const media = takeVideo ? videoUnits[v] : audioUnits[a];
      if (m < id3Units.length && (media === undefined || id3Units[m]!.dts < media.dts)) {
        at = this.writeUnit(out, at, id3Units[m++]!);
        continue;
      }
      at = this.writeUnit(out, at, media!);
      if (takeVideo) v++;
      else a++;
    }
    if (at !== size) throw new GatewayError('mux.ts', 'segment size mismatch', { written: at, size });
    return out;
  }

  /** §2.4.4.9: version_number changes whenever the program definition does. */
  private updatePmtVersion(pcrPid: number, streams: readonly PmtStream[]): void {
    const program = `${pcrPid}:${streams.map((s) => `${s.pid}/${s.streamType}`).join(',')}`;
    if (this.lastProgram !== undefined && this.lastProgram !== program) this.pmtVersion = (this.pmtVersion + 1) & 0x1f;
    this.lastProgram = program;
  }

  private nextCounter(pid: number): number {
    const cc = this.continuity.get(pid) ?? 0;
    this.continuity.set(pid, (cc + 1) & 0x0f);
    return cc;
  }

  private pcrFor(dts90: number): number {
    return Math.max(0, dts90 - this.pcrDelay);
  }

  private videoUnits(track: VideoTrack, frames: readonly Frame[]): PesUnit[] {
    // The HTTP side offers no TS for such streams (http/ts-routes.ts); this guards other callers.
    if (track.codec === 'av1' || track.codec === 'vp9') throw new GatewayError('mux.ts', `MPEG-TS carriage of ${track.codec} is not supported`);
    const codec = track.codec;
    const units: PesUnit[] = new Array(frames.length);
    const scale = track.timescale === VIDEO_TIMESCALE ? 1 : VIDEO_TIMESCALE / track.timescale;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const pieces: Uint8Array[] = [];
      const payloadLength = appendAnnexBPieces(
        f.data,
        { codec, nalLengthSize: track.nalLengthSize, key: f.key, parameterSets: track.parameterSets },
        pieces,
      );
      const dts = Math.round(f.dts * scale);
      units[i] = {
        pid: VIDEO_PID,
        streamId: STREAM_ID_VIDEO,
        pts: Math.round(f.pts * scale),
        dts,
        pieces,
        payloadLength,
        // PCR in every video PES: at 10+ fps that is well inside the 100 ms of §2.7.2.
        pcr: this.pcrFor(dts),
        randomAccess: f.key,
        boundedLength: false,
      };
    }
    return units;
  }

  /**
   * AAC frames grouped into PES packets of up to `maxAudioPesDuration`; the PES carries the PTS
   * of its first frame, so a group also ends where timestamps are not contiguous.
   */
  private audioUnits(track: AudioTrack, frames: readonly Frame[], carriesPcr: boolean): PesUnit[] {
    if (frames.length === 0) return [];
    // The HTTP side offers no TS for such streams (http/ts-routes.ts); this guards other callers.
    if (track.codec !== 'aac') throw new GatewayError('mux.ts', `MPEG-TS carriage of ${track.codec} audio is not supported`);
    const config = adtsFieldsOf(track);
    const to90k = VIDEO_TIMESCALE / track.timescale;
    const frameTicks = track.samplesPerFrame;
    const maxTicks = this.maxAudioPesDuration / to90k;
    const units: PesUnit[] = [];
    let i = 0;
    while (i < frames.length) {
      const first = frames[i]!;
      let end = i + 1;
      let bytes = ADTS_HEADER_LENGTH + first.data.length;
      while (end < frames.length) {
        const next = frames[end]!;
        const contiguous = next.dts === frames[end - 1]!.dts + frameTicks;
        const withinDuration = next.dts + frameTicks - first.dts <= maxTicks;
        const fits = bytes + ADTS_HEADER_LENGTH + next.data.length <= MAX_AUDIO_PES_PAYLOAD;
        if (!contiguous || !withinDuration || !fits) break;
        bytes += ADTS_HEADER_LENGTH + next.data.length;
        end++;
      }
      const headers = new Uint8Array(ADTS_HEADER_LENGTH * (end - i));
      const pieces: Uint8Array[] = [];
      for (let k = i; k < end; k++) {
        const data = frames[k]!.data;
        const h = (k - i) * ADTS_HEADER_LENGTH;
        writeAdtsHeader(headers, h, config, data.length);
        pieces.push(headers.subarray(h, h + ADTS_HEADER_LENGTH), data);
      }
      const dts = Math.round(first.dts * to90k);
      units.push({
        pid: AUDIO_PID,
        streamId: STREAM_ID_AUDIO,
        pts: Math.round(first.pts * to90k),
        dts,
        pieces,
        payloadLength: bytes,
        pcr: carriesPcr ? this.pcrFor(dts) : undefined,
        randomAccess: carriesPcr,
        boundedLength: true,
      });
      i = end;
    }
    return units;
  }

  /** Packetizes one PES: header + pieces copied across 184-byte payloads, stuffing in the last packet. */
  private writeUnit(out: Uint8Array, at: number, unit: PesUnit): number {
    const headerEnd = writePesHeader(this.headerScratch, 0, {
      streamId: unit.streamId,
      pts: unit.pts,
      dts: unit.dts,
      payloadLength: unit.boundedLength ? unit.payloadLength : 0,
      dataAlignment: true,
    });
    const header = this.headerScratch.subarray(0, headerEnd);
    let remaining = header.length + unit.payloadLength;
    let piece: Uint8Array = header;
    let pieceIndex = -1; // -1: the PES header
    let pieceOffset = 0;
    let first = true;
    while (remaining > 0) {
      const pcr = first ? unit.pcr : undefined;
      const randomAccess = first && unit.randomAccess;
      const length = Math.min(remaining, maxPayloadSize(pcr !== undefined, randomAccess));
      let p = writePacketHeader(out, at, {
        pid: unit.pid,
        payloadUnitStart: first,
        continuityCounter: this.nextCounter(unit.pid),
        payloadLength: length,
        randomAccess,
        pcr,
      });
      let need = length;
      while (need > 0) {
        if (pieceOffset >= piece.length) {
          piece = unit.pieces[++pieceIndex]!;
          pieceOffset = 0;
          continue;
        }
        const take = Math.min(need, piece.length - pieceOffset);
        out.set(take === piece.length ? piece : piece.subarray(pieceOffset, pieceOffset + take), p);
        p += take;
        pieceOffset += take;
        need -= take;
      }
      at += TS_PACKET_SIZE;
      remaining -= length;
      first = false;
    }
    return at;
  }
}

/** One ID3 tag as a PES of private_stream_1 with its PTS (Apple's Timed Metadata spec §3). */
function id3Unit(pts: number, tag: Uint8Array): PesUnit {
  if (tag.byteLength > MAX_AUDIO_PES_PAYLOAD) throw new GatewayError('mux.ts', 'ID3 tag too large for one PES', { size: tag.byteLength });
  return { pid: ID3_PID, streamId: STREAM_ID_PRIVATE_1, pts, dts: pts, pieces: [tag], payloadLength: tag.byteLength, pcr: undefined, randomAccess: false, boundedLength: true };
}

function packetCount(unit: PesUnit): number {
  const total = pesHeaderSize(pesHasDts(unit)) + unit.payloadLength;
  const firstCapacity = maxPayloadSize(unit.pcr !== undefined, unit.randomAccess);
  return total <= firstCapacity ? 1 : 1 + Math.ceil((total - firstCapacity) / TS_BODY_SIZE);
}
