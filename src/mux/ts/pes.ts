/**
 * PES packets, reading side (ISO/IEC 13818-1 §2.4.3.6-7): reassembly from transport packet
 * payloads and header parsing. The writer is `writePesHeader` in `packet.ts`.
 *
 * Reassembly copies each payload once into a per-PID buffer that grows by doubling up to a bound
 * and is reused for every PES: nothing is allocated per packet, and no view into the caller's
 * chunks (or the demuxer's packet carry) is kept.
 */
import { GatewayError } from '../../core/errors.js';
import { readTimestamp } from './packet.js';
import { readU16 } from '../../core/bytes.js';

const PES_PREFIX_LENGTH = 6;
const INITIAL_CAPACITY = 16 * 1024;

/**
 * What `PesAssembler.append` found: more bytes are needed (or no PES is being collected);
 * PES_packet_length is reached, the PES is complete; the PES would exceed the size bound and
 * was dropped.
 */
export type PesAppend = 'pending' | 'complete' | 'too-large';

export class PesAssembler {
  private buf: Uint8Array;
  private len = 0;
  /** 6 + PES_packet_length; 0 while unknown or unbounded. */
  private expected = 0;
  private collecting = false;

  constructor(private readonly maxBytes: number) {
    this.buf = new Uint8Array(Math.min(INITIAL_CAPACITY, maxBytes));
  }

  /** A PES is being collected (its start was seen, it was not completed or dropped since). */
  get active(): boolean {
    return this.collecting;
  }

  get length(): number {
    return this.len;
  }

  /** The PES announced a length (PES_packet_length > 0) and fewer bytes than that arrived. */
  get short(): boolean {
    return this.expected > 0 && this.len < this.expected;
  }

  /** Starts a new PES (the previous one, if any, is discarded: take it with `take` first). */
  start(): void {
    this.collecting = true;
    this.len = 0;
    this.expected = 0;
  }

  /** Drops what was collected; bytes are ignored until the next `start`. */
  drop(): void {
    this.collecting = false;
    this.len = 0;
    this.expected = 0;
  }

  /** Appends `data[from, to)` (one packet's payload). */
  append(data: Uint8Array, from: number, to: number): PesAppend {
    if (!this.collecting) return 'pending';
    const n = to - from;
    const need = this.len + n;
    if (need > this.buf.byteLength) {
      if (need > this.maxBytes) {
        this.drop();
        return 'too-large';
      }
      let capacity = this.buf.byteLength * 2;
      while (capacity < need) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.maxBytes));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    const buf = this.buf;
    let at = this.len;
    for (let i = from; i < to; i++) buf[at++] = data[i]!;
    const before = this.len;
    this.len = at;
    if (before < PES_PREFIX_LENGTH && at >= PES_PREFIX_LENGTH) {
      const packetLength = readU16(buf, 4);
      this.expected = packetLength > 0 ? PES_PREFIX_LENGTH + packetLength : 0;
    }
    return this.expected > 0 && at >= this.expected ? 'complete' : 'pending';
  }

  /**
   * Ends the current PES and returns it as a view into the reused buffer, cut at
   * PES_packet_length when one was given: valid until the next `append`. Undefined when no PES
   * was being collected.
   */
  take(): Uint8Array | undefined {
    if (!this.collecting) return undefined;
    const end = this.expected > 0 ? Math.min(this.expected, this.len) : this.len;
    this.collecting = false;
    this.len = 0;
    this.expected = 0;
    return this.buf.subarray(0, end);
  }
}

export interface PesHeader {
  readonly streamId: number;
  /** PES_packet_length (0: unbounded). */
  readonly packetLength: number;
  /** Offset of the first elementary stream byte. */
  readonly payloadOffset: number;
  /** 33-bit 90 kHz values as written. */
  readonly pts?: number;
  readonly dts?: number;
  readonly dataAlignment: boolean;
}

/**
 * stream_ids whose PES packets carry no optional header (§2.4.3.7: program_stream_map,
 * padding_stream, private_stream_2, ECM, EMM, program_stream_directory, DSMCC, H.222.1 type E).
 */
const NO_OPTIONAL_HEADER = new Set([0xbc, 0xbe, 0xbf, 0xf0, 0xf1, 0xff, 0xf2, 0xf8]);

/** Parses the header of a complete PES packet. */
export function parsePesHeader(pes: Uint8Array): PesHeader {
  if (pes.byteLength < PES_PREFIX_LENGTH) throw new GatewayError('mux.ts', 'PES packet truncated', { length: pes.byteLength });
  if (pes[0] !== 0 || pes[1] !== 0 || pes[2] !== 1) {
    throw new GatewayError('mux.ts', 'PES packet without start code prefix', { bytes: hex(pes.subarray(0, 3)) });
  }
  const streamId = pes[3]!;
  const packetLength = readU16(pes, 4);
  if (NO_OPTIONAL_HEADER.has(streamId)) return { streamId, packetLength, payloadOffset: PES_PREFIX_LENGTH, dataAlignment: false };
  if (pes.byteLength < 9) throw new GatewayError('mux.ts', 'PES header truncated', { streamId, length: pes.byteLength });
  if ((pes[6]! & 0xc0) !== 0x80) throw new GatewayError('mux.ts', 'PES header without the 10 marker bits', { streamId });
  if ((pes[6]! & 0x30) !== 0) throw new GatewayError('mux.ts', 'PES payload is scrambled', { streamId });
  const headerDataLength = pes[8]!;
  const payloadOffset = 9 + headerDataLength;
  if (payloadOffset > pes.byteLength) throw new GatewayError('mux.ts', 'PES header overruns the packet', { streamId, headerDataLength });
  const flags = pes[7]! >>> 6;
  let pts: number | undefined;
  let dts: number | undefined;
  if (flags === 2 || flags === 3) {
    if (headerDataLength < (flags === 3 ? 10 : 5)) throw new GatewayError('mux.ts', 'PES header too short for its PTS/DTS', { streamId, headerDataLength });
    pts = readTimestamp(pes, 9);
    if (flags === 3) dts = readTimestamp(pes, 14);
  }
  return { streamId, packetLength, payloadOffset, pts, dts, dataAlignment: (pes[6]! & 0x04) !== 0 };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
