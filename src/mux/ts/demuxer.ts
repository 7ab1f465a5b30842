/**
 * MPEG-TS (ISO/IEC 13818-1) bytes -> the stage contract of core/media.ts (Track + Frame), for SRT
 * ingest (ffmpeg `-f mpegts srt://…`, OBS). The TS counterpart of FlvIngest.
 *
 * Pure and stateful: no I/O, never throws on bad input. Anything wrong becomes a 'warning' event
 * and the broken part is dropped; the demuxer goes on with the next packet. Chunk boundaries do
 * not matter: the same bytes give the same events however they are split.
 *
 *   bytes ─ sync (0x47 every 188 bytes, resync on loss) ─ packets ─┬─ PID 0: PAT ─ PMT PID
 *                                                                   ├─ PMT: elementary PIDs
 *                                                                   └─ ES PIDs: PES ─ frames
 *
 * Program: the first program of the PAT; a new PMT version is read again (streams that stay keep
 * their state). Stream types 0x1B (H.264), 0x24 (HEVC) and 0x0F (AAC in ADTS); every PID is its
 * own track (`pid` on the events), the caller picks which to use.
 *
 * Timing: one TsClock for all PIDs (33-bit PTS/DTS unwrapped on a shared timeline, see clock.ts).
 * Video dts/pts are those 90 kHz values (DTS defaults to PTS). Audio dts = pts * sampleRate / 90000
 * for the first ADTS frame of a PES, then exactly samplesPerFrame per frame while that stays
 * within half a frame of the PES time, re-anchored otherwise: FlvIngest's approach.
 */
import { readU32, sameBytes } from '../../core/bytes.js';
import { placeAudioFrame, type AudioTimingState } from '../../core/audio-timing.js';
import { GatewayError } from '../../core/errors.js';
import { VIDEO_TIMESCALE, type AudioTrack, type Frame, type Track, type VideoCodec } from '../../core/media.js';
import { annexBToAvcc } from '../../codec/annexb.js';
import { audioSpecificConfigFromAdts, parseAdtsFrames, type AdtsFrame } from '../../codec/adts.js';
import { buildAudioTrack } from '../../codec/tracks.js';
import { AccessUnitReader } from './access-unit.js';
import { TsClock } from './clock.js';
import { PAT_PID, STREAM_TYPE, SYNC_BYTE, TIMESTAMP_MODULO, TS_PACKET_SIZE } from './packet.js';
import { PesAssembler, parsePesHeader } from './pes.js';
import { SectionAssembler, parsePat, parsePmt, type PmtStream } from './psi.js';

export type TsDemuxEvent =
  | { type: 'track'; pid: number; track: Track; language?: string }
  | { type: 'frame'; pid: number; frame: Frame }
  | { type: 'warning'; code: string; message: string };

export interface TsDemuxerOptions {
  /** A timestamp step larger than this (either way) on a PID starts a new timeline. Default 10 s. */
  maxTimestampJumpMs?: number;
  /** A PES larger than this is dropped with a warning. Default 8 MiB. */
  maxPesBytes?: number;
}

const DEFAULT_MAX_TIMESTAMP_JUMP_MS = 10_000;
const DEFAULT_MAX_PES_BYTES = 8 * 1024 * 1024;
const NULL_PID = 0x1fff;
const PID_COUNT = 0x2000;
/** The largest ADTS frame (aac_frame_length is 13 bits): a longer carry is junk. */
const MAX_ADTS_CARRY = 0x1fff;
/** A composition offset (pts - dts) beyond this is nonsense: pts falls back to dts. */
const MAX_COMPOSITION_OFFSET = 10 * VIDEO_TIMESCALE;

interface EsBase {
  readonly pid: number;
  readonly streamType: number;
  language: string | undefined;
  readonly pes: PesAssembler;
}

interface VideoEs extends EsBase {
  readonly kind: 'video';
  readonly reader: AccessUnitReader;
  lastDts: number | undefined;
  /** The last parameter set warning: repeated ones (every keyframe brings the same sets) are not. */
  lastSetWarning: string | undefined;
}

interface AudioEs extends EsBase, AudioTimingState {
  readonly kind: 'audio';
  track: AudioTrack | undefined;
  /** The start of an ADTS frame that continues in the next PES (an owned copy). */
  carry: Uint8Array | undefined;
}

type Es = VideoEs | AudioEs;

export class TsDemuxer {
  private readonly clock: TsClock;
  private readonly maxPesBytes: number;
  private readonly warnedOnce = new Set<string>();
  /** Events of the current push/flush call (the section callbacks append here). */
  private events: TsDemuxEvent[] = [];
  private wallclock = 0;

  // Packet framing.
  /** A packet, or the bytes needed to decide about one, carried over from the previous chunk. */
  private readonly carry = new Uint8Array(TS_PACKET_SIZE * 3);
  private carryLength = 0;
  private synced = false;
  /** Inside a run of bytes skipped while hunting for the sync byte (warned once per run). */
  private hunting = false;
  /** Stream offset of the next byte to consume, for messages. */
  private position = 0;
  /** Inside a run of packets with transport_error_indicator set (warned once per run). */
  private inTransportErrors = false;

  // Program.
  /** Last continuity_counter per PID, -1 when none yet. */
  private readonly continuity = new Int8Array(PID_COUNT).fill(-1);
  private readonly pat: SectionAssembler;
  private pmt: SectionAssembler | undefined;
  private pmtPid = -1;
  private programNumber = -1;
  private pmtVersion = -1;
  /** CRC_32 of the PMT section in use: a changed PMT without a new version is read again too. */
  private pmtCrc = -1;
  private readonly streams = new Map<number, Es>();

  constructor(opts: TsDemuxerOptions = {}) {
    this.clock = new TsClock((opts.maxTimestampJumpMs ?? DEFAULT_MAX_TIMESTAMP_JUMP_MS) * (VIDEO_TIMESCALE / 1000));
    this.maxPesBytes = Math.max(1024, opts.maxPesBytes ?? DEFAULT_MAX_PES_BYTES);
    this.pat = new SectionAssembler(
      (section) => this.onPatSection(section),
      (message) => this.warn('malformed-psi', `PAT: ${message}`),
    );
  }

  /** Feeds the next bytes of the transport stream (any size, any boundaries). */
  push(chunk: Uint8Array, wallclock: number): TsDemuxEvent[] {
    this.events = [];
    this.wallclock = wallclock;
    let off = 0;
    if (this.carryLength > 0) {
      // Join the carried bytes with the start of this chunk, enough to decide about (at most)
      // two packets; once the cursor is past the carried part, continue in the chunk itself.
      const have = this.carryLength;
      const take = Math.min(chunk.byteLength, this.carry.byteLength - have);
      this.carry.set(chunk.subarray(0, take), have);
      const end = have + take;
      const at = this.scan(this.carry, 0, end, false, have);
      if (at < have) {
        // Not enough bytes for a decision: everything left is in `carry` already.
        this.carry.copyWithin(0, at, end);
        this.carryLength = end - at;
        return this.events;
      }
      this.carryLength = 0;
      off = at - have;
    }
    const at = this.scan(chunk, off, chunk.byteLength, false, Infinity);
    const rest = chunk.byteLength - at;
    if (rest > 0) {
      this.carry.set(chunk.subarray(at), 0);
      this.carryLength = rest;
    }
    return this.events;
  }

  /** End of stream: completes the PES packets still open and reports what could not be used. */
  flush(wallclock: number): TsDemuxEvent[] {
    this.events = [];
    this.wallclock = wallclock;
    if (this.carryLength > 0) {
      const at = this.scan(this.carry, 0, this.carryLength, true, Infinity);
      if (at < this.carryLength) {
        this.warn('truncated-packet', `${this.carryLength - at} bytes at the end of the stream are not a whole packet; dropped`);
        this.position += this.carryLength - at;
      }
      this.carryLength = 0;
    }
    for (const es of this.streams.values()) {
      this.completePes(es, true);
      if (es.kind === 'audio' && es.carry) {
        this.warn('truncated-adts', `PID ${es.pid}: ADTS frame cut by the end of the stream; dropped`);
        es.carry = undefined;
      }
    }
    return this.events;
  }

  // -------------------------------------------------------------------------------------------
  // Packet framing

  /**
   * Consumes whole packets from `data[start, end)`. Returns where it stopped: bytes from there on
   * are not enough to decide (a partial packet, or a sync candidate without the next packet's
   * sync byte to confirm it). With `final`, a candidate needs no confirmation. Stops as soon as
   * the cursor reaches `stopAt` (the end of the carried bytes).
   */
  private scan(data: Uint8Array, start: number, end: number, final: boolean, stopAt: number): number {
    let at = start;
    while (at < end && at < stopAt) {
      if (this.synced) {
        if (data[at] !== SYNC_BYTE) {
          this.synced = false;
          continue;
        }
        if (end - at < TS_PACKET_SIZE) return at;
        this.packet(data, at);
        at += TS_PACKET_SIZE;
        this.position += TS_PACKET_SIZE;
        continue;
      }
      // Hunting: a sync byte counts when the next packet starts with one too (or at the end).
      if (data[at] === SYNC_BYTE) {
        if (end - at > TS_PACKET_SIZE) {
          if (data[at + TS_PACKET_SIZE] === SYNC_BYTE) {
            this.synced = true;
            this.hunting = false;
            continue;
          }
        } else if (final && end - at === TS_PACKET_SIZE) {
          this.synced = true;
          this.hunting = false;
          continue;
        } else {
          return at;
        }
      }
      if (!this.hunting) {
        this.hunting = true;
        this.warn('sync-lost', `no MPEG-TS sync byte at stream offset ${this.position} (0x${data[at]!.toString(16).padStart(2, '0')}); resynchronising`);
      }
      at++;
      this.position++;
    }
    return at;
  }

  /** One 188-byte transport packet at `data[p]` (§2.4.3.2). */
  private packet(data: Uint8Array, p: number): void {
    const b1 = data[p + 1]!;
    const b3 = data[p + 3]!;
    const pid = ((b1 & 0x1f) << 8) | data[p + 2]!;
    if (pid === NULL_PID) return;
    if (b1 & 0x80) {
      // transport_error_indicator: the packet is known to be damaged. Skipping it makes the next
      // one on its PID look discontinuous, which drops the PES it belonged to.
      if (!this.inTransportErrors) {
        this.inTransportErrors = true;
        this.warn('transport-error', `packet with transport_error_indicator on PID ${pid} (offset ${this.position}); dropped`);
      }
      return;
    }
    this.inTransportErrors = false;
    const pusi = (b1 & 0x40) !== 0;
    const afc = (b3 >> 4) & 3;
    const end = p + TS_PACKET_SIZE;
    let payload = p + 4;
    let discontinuity = false;
    if (afc & 2) {
      const length = data[payload]!;
      // adaptation_field_length: 0..183 with payload after it, 183 without (§2.4.3.5).
      if (length > (afc === 3 ? 182 : 183)) {
        this.warn('malformed-packet', `adaptation_field_length ${length} on PID ${pid} overruns the packet; dropped`);
        return;
      }
      if (length > 0) discontinuity = (data[payload + 1]! & 0x80) !== 0;
      payload += 1 + length;
    }
    if ((afc & 1) === 0) return; // no payload: continuity_counter does not advance
    const es = pid === PAT_PID || pid === this.pmtPid ? undefined : this.streams.get(pid);
    if (pid !== PAT_PID && pid !== this.pmtPid && !es) return;
    // continuity_counter (§2.4.3.3): +1 per packet with payload; one duplicate is allowed.
    const cc = b3 & 0x0f;
    const last = this.continuity[pid]!;
    this.continuity[pid] = cc;
    let lost = false;
    if (last >= 0 && !discontinuity) {
      if (cc === last) return; // duplicate packet
      if (cc !== ((last + 1) & 0x0f)) lost = true;
    }
    if ((b3 & 0xc0) !== 0) {
      this.warnOnce(`scrambled-${pid}`, 'scrambled', `PID ${pid} is scrambled; dropped`);
      return;
    }
    if (pid === PAT_PID || pid === this.pmtPid) {
      const assembler = pid === PAT_PID ? this.pat : this.pmt!;
      if (lost) {
        this.warn('continuity-error', `continuity counter jumped ${last} -> ${cc} on PID ${pid} (offset ${this.position})`);
        assembler.reset();
      }
      assembler.push(data, payload, end, pusi);
      return;
    }
    this.esPayload(es!, data, payload, end, pusi, lost, last, cc);
  }

  // -------------------------------------------------------------------------------------------
  // PSI

  private onPatSection(section: Uint8Array): void {
    let pat;
    try {
      pat = parsePat(section);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.warn('malformed-psi', e.message);
      return;
    }
    if (!pat.currentNext) return;
    const program = pat.programs[0];
    if (!program) {
      this.warnOnce('no-program', 'no-program', 'PAT lists no program');
      return;
    }
    if (program.pmtPid === this.pmtPid && program.programNumber === this.programNumber) return;
    if (program.pmtPid === PAT_PID || program.pmtPid === NULL_PID) {
      this.warn('malformed-psi', `PAT points the PMT to reserved PID ${program.pmtPid}`);
      return;
    }
    // A new program: its PMT decides which streams stay.
    this.pmtPid = program.pmtPid;
    this.programNumber = program.programNumber;
    this.pmtVersion = -1;
    this.pmtCrc = -1;
    this.continuity[program.pmtPid] = -1;
    this.pmt = new SectionAssembler(
      (s) => this.onPmtSection(s),
      (message) => this.warn('malformed-psi', `PMT: ${message}`),
    );
  }

  /** The video codec the program (PMT) declares, before any of its frames arrive; undefined without video. */
  get programVideo(): VideoCodec | undefined {
    for (const es of this.streams.values()) if (es.kind === 'video') return es.reader.codec;
    return undefined;
  }

  /**
   * The program's audio elementary streams in PMT order (a later PMT version's new ones after
   * those that stayed), with the language of their ISO_639_language_descriptor (§2.6.18).
   */
  get programAudio(): readonly { readonly pid: number; readonly language: string | undefined }[] {
    const out: { pid: number; language: string | undefined }[] = [];
    for (const es of this.streams.values()) if (es.kind === 'audio') out.push({ pid: es.pid, language: es.language });
    return out;
  }

  private onPmtSection(section: Uint8Array): void {
    let pmt;
    try {
      pmt = parsePmt(section);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.warn('malformed-psi', e.message);
      return;
    }
    // Several programs may share a PMT PID: only the one from the PAT counts.
    if (!pmt.currentNext || pmt.programNumber !== this.programNumber) return;
    const crc = readU32(section, section.byteLength - 4);
    if (pmt.version === this.pmtVersion && crc === this.pmtCrc) return;
    this.pmtVersion = pmt.version;
    this.pmtCrc = crc;
    const wanted = new Map<number, PmtStream>();
    for (const s of pmt.streams) {
      if (s.pid === PAT_PID || s.pid === this.pmtPid || s.pid === NULL_PID) {
        this.warnOnce(`reserved-pid-${s.pid}`, 'malformed-psi', `PMT maps an elementary stream to PID ${s.pid}; ignored`);
        continue;
      }
      if (!codecOf(s.streamType)) {
        this.warnOnce(`unsupported-${s.pid}`, 'unsupported-codec', `stream type 0x${s.streamType.toString(16).padStart(2, '0')} on PID ${s.pid} is not supported; dropped`);
        continue;
      }
      if (!wanted.has(s.pid)) wanted.set(s.pid, s);
    }
    for (const [pid, es] of this.streams) {
      const s = wanted.get(pid);
      if (s && s.streamType === es.streamType) continue;
      // Gone or changed type: what it was collecting belongs to the old program definition.
      this.streams.delete(pid);
      this.clock.forget(pid);
    }
    for (const [pid, s] of wanted) {
      const es = this.streams.get(pid);
      if (es) {
        if (es.language !== s.language) {
          es.language = s.language;
          const track = es.kind === 'video' ? es.reader.track : es.track;
          if (track) this.emitTrack(es, track);
        }
        continue;
      }
      this.continuity[pid] = -1;
      this.streams.set(pid, this.newEs(s));
    }
  }

  private newEs(s: PmtStream): Es {
    const codec = codecOf(s.streamType)!;
    const base = { pid: s.pid, streamType: s.streamType, language: s.language, pes: new PesAssembler(this.maxPesBytes) };
    if (codec === 'aac') return { ...base, kind: 'audio', track: undefined, lastDts: undefined, nextDts: undefined, dropping: false, carry: undefined };
    return { ...base, kind: 'video', reader: new AccessUnitReader(codec), lastDts: undefined, lastSetWarning: undefined };
  }

  // -------------------------------------------------------------------------------------------
  // PES

  private esPayload(es: Es, data: Uint8Array, from: number, to: number, pusi: boolean, lost: boolean, last: number, cc: number): void {
    if (lost) {
      const dropping = es.pes.active;
      this.warn('continuity-error', `continuity counter jumped ${last} -> ${cc} on PID ${es.pid} (offset ${this.position})${dropping ? '; partial PES dropped' : ''}`);
      es.pes.drop();
      if (es.kind === 'audio') es.carry = undefined;
    }
    if (pusi) {
      this.completePes(es, false);
      es.pes.start();
    }
    switch (es.pes.append(data, from, to)) {
      case 'complete':
        this.completePes(es, false);
        break;
      case 'too-large':
        this.warn('pes-too-large', `PES on PID ${es.pid} exceeds ${this.maxPesBytes} bytes; dropped`);
        break;
      case 'pending':
        break;
    }
  }

  /** Ends the PES being collected on `es` (next PUSI, its length reached, or end of stream). */
  private completePes(es: Es, endOfStream: boolean): void {
    if (!es.pes.active) return;
    if (es.pes.short) {
      const got = es.pes.length;
      es.pes.drop();
      this.warn('pes-truncated', `PES on PID ${es.pid} ended after ${got} bytes, before its PES_packet_length${endOfStream ? ' (end of stream)' : ''}; dropped`);
      return;
    }
    const pes = es.pes.take()!;
    let header;
    try {
      header = parsePesHeader(pes);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.warn('malformed-pes', `PID ${es.pid}: ${e.message}`);
      if (es.kind === 'audio') es.carry = undefined;
      return;
    }
    const payload = pes.subarray(header.payloadOffset);
    if (payload.byteLength === 0) return;
    if (es.kind === 'video') this.videoPes(es, payload, header.pts, header.dts);
    else this.audioPes(es, payload, header.pts);
  }

  // -------------------------------------------------------------------------------------------
  // Video

  private videoPes(es: VideoEs, payload: Uint8Array, pts33: number | undefined, dts33: number | undefined): void {
    const au = es.reader.read(payload, (code, message) => {
      if (message === es.lastSetWarning) return;
      es.lastSetWarning = message;
      this.warn(code, `PID ${es.pid}: ${message}`);
    });
    if (au.track) this.emitTrack(es, au.track);
    if (au.nals.length === 0) return;
    if (!es.reader.track) {
      this.warnOnce(`video-before-config-${es.pid}`, 'no-sequence-header', `${es.reader.codec} video on PID ${es.pid} before its parameter sets; dropped`);
      return;
    }
    if (pts33 === undefined) {
      this.warnOnce(`no-pts-${es.pid}`, 'missing-timestamp', `video PES without PTS on PID ${es.pid}; dropped`);
      return;
    }
    let data: Uint8Array;
    try {
      data = annexBToAvcc(au.nals, es.reader.track.nalLengthSize);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.warn('malformed-access-unit', `PID ${es.pid}: ${e.message}`);
      return;
    }
    let dts = this.readClock(es.pid, dts33 ?? pts33);
    let composition = 0;
    if (dts33 !== undefined) {
      composition = (pts33 - dts33 + TIMESTAMP_MODULO) % TIMESTAMP_MODULO;
      if (composition > MAX_COMPOSITION_OFFSET) {
        // pts before dts (or absurdly far after): not presentable as sent.
        this.warnOnce(`bad-cts-${es.pid}`, 'timestamp-order', `video PTS before DTS on PID ${es.pid}; PTS set to DTS`);
        composition = 0;
      }
    }
    if (es.lastDts !== undefined && dts <= es.lastDts) {
      // The segmenter and muxers need strictly increasing decode times.
      if (dts < es.lastDts) {
        this.warnOnce(`timestamp-backwards-${es.pid}`, 'timestamp-backwards', `video timestamp on PID ${es.pid} went back ${Math.round((es.lastDts - dts) / 90)} ms; clamped`);
      }
      dts = es.lastDts + 1;
    }
    let pts = dts + composition;
    if (pts < dts) pts = dts;
    es.lastDts = dts;
    this.events.push({ type: 'frame', pid: es.pid, frame: { kind: 'video', dts, pts, key: au.key, data, wallclock: this.wallclock } });
  }

  // -------------------------------------------------------------------------------------------
  // Audio

  private audioPes(es: AudioEs, payload: Uint8Array, pts33: number | undefined): void {
    let data = payload;
    const carried = es.carry?.byteLength ?? 0;
    if (es.carry) {
      data = new Uint8Array(carried + payload.byteLength);
      data.set(es.carry, 0);
      data.set(payload, carried);
      es.carry = undefined;
    }
    const { frames, consumed, skipped } = parseAdtsFrames(data);
    if (skipped > 0) this.warn('adts-resync', `PID ${es.pid}: ${skipped} bytes without an ADTS sync word skipped`);
    const rest = data.byteLength - consumed;
    if (rest > 0) {
      if (rest <= MAX_ADTS_CARRY) es.carry = data.slice(consumed);
      else this.warn('adts-resync', `PID ${es.pid}: ${rest} bytes of a broken ADTS frame dropped`);
    }
    if (frames.length === 0) return;
    const ptsTicks = pts33 === undefined ? undefined : this.readClock(es.pid, pts33);
    // PTS belongs to the first frame that starts in this PES (§2.4.3.7); a frame carried over
    // from the previous PES starts before it.
    let firstOwn = frames.findIndex((f) => f.payload.byteOffset - f.header.headerLength - data.byteOffset >= carried);
    if (firstOwn < 0) firstOwn = frames.length;
    for (let i = 0; i < frames.length; i++) this.adtsFrame(es, frames[i]!, ptsTicks, i - firstOwn);
  }

  private adtsFrame(es: AudioEs, frame: AdtsFrame, ptsTicks: number | undefined, index: number): void {
    const { header, payload } = frame;
    if (header.rawDataBlocks !== 1) {
      this.warnOnce(`adts-blocks-${es.pid}`, 'unsupported-codec', `PID ${es.pid}: ADTS frames with ${header.rawDataBlocks} raw data blocks are not supported; dropped`);
      return;
    }
    if (payload.byteLength === 0) return;
    const track = this.audioTrackFor(es, frame);
    if (!track) return;
    const { sampleRate, samplesPerFrame } = track;
    let anchor: number | undefined;
    if (ptsTicks !== undefined) anchor = ticksToRate(ptsTicks, sampleRate) + index * samplesPerFrame;
    if (anchor === undefined && es.nextDts === undefined) {
      this.warnOnce(`no-pts-${es.pid}`, 'missing-timestamp', `audio PES without PTS on PID ${es.pid}; dropped`);
      return;
    }
    const placed = placeAudioFrame(es, anchor, samplesPerFrame, sampleRate);
    if (placed.dts === undefined) {
      if (placed.behindMs !== undefined) this.warn('audio-resync', `PID ${es.pid}: audio timestamp ${placed.behindMs} ms behind the audio clock; dropping until it catches up`);
      return;
    }
    if (placed.forwardMs !== undefined) this.warn('audio-resync', `PID ${es.pid}: audio re-anchored ${placed.forwardMs} ms forward to the PES timestamp`);
    const dts = placed.dts;
    this.events.push({ type: 'frame', pid: es.pid, frame: { kind: 'audio', dts, pts: dts, key: true, data: payload.slice(), wallclock: this.wallclock } });
  }

  /** The track for this ADTS frame's header: a new one (and a track event) when it changed. */
  private audioTrackFor(es: AudioEs, frame: AdtsFrame): AudioTrack | undefined {
    const config = audioSpecificConfigFromAdts(frame.header);
    const current = es.track;
    if (current && sameBytes(current.config, config)) return current;
    let track: AudioTrack;
    try {
      track = buildAudioTrack(config);
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      this.warnOnce(`bad-adts-${es.pid}:${e.message}`, 'bad-sequence-header', `PID ${es.pid}: ${e.message}`);
      return undefined;
    }
    // A new sample rate is a new timescale: the previous dts values mean nothing in it.
    if (!current || current.sampleRate !== track.sampleRate) {
      es.lastDts = undefined;
      es.nextDts = undefined;
      es.dropping = false;
    }
    es.track = track;
    this.emitTrack(es, track);
    return track;
  }

  // -------------------------------------------------------------------------------------------

  private readClock(pid: number, ts33: number): number {
    const reading = this.clock.read(pid, ts33);
    if (reading.discontinuity !== undefined) {
      this.warn('timestamp-jump', `timestamp on PID ${pid} jumped ${Math.round(reading.discontinuity / 90)} ms; re-based to stay continuous`);
    }
    return reading.ticks;
  }

  private emitTrack(es: Es, track: Track): void {
    this.events.push(es.language === undefined ? { type: 'track', pid: es.pid, track } : { type: 'track', pid: es.pid, track, language: es.language });
  }

  private warn(code: string, message: string): void {
    this.events.push({ type: 'warning', code, message });
  }

  private warnOnce(key: string, code: string, message: string): void {
    if (this.warnedOnce.has(key)) return;
    this.warnedOnce.add(key);
    this.warn(code, message);
  }
}

function codecOf(streamType: number): VideoCodec | 'aac' | undefined {
  switch (streamType) {
    case STREAM_TYPE.avc:
      return 'avc';
    case STREAM_TYPE.hevc:
      return 'hevc';
    case STREAM_TYPE.aacAdts:
      return 'aac';
    default:
      return undefined;
  }
}

/** 90 kHz ticks -> sample-rate ticks, rounded, exact for any 53-bit input. */
function ticksToRate(ticks: number, rate: number): number {
  const seconds = Math.floor(ticks / VIDEO_TIMESCALE);
  const rest = ticks - seconds * VIDEO_TIMESCALE;
  return seconds * rate + Math.round((rest * rate) / VIDEO_TIMESCALE);
}


