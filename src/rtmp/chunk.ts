/**
 * RTMP chunk stream (Adobe RTMP spec §5.3): splits the byte stream into messages (ChunkReader)
 * and messages into chunks (ChunkWriter).
 *
 * Chunk = basic header | message header | [extended timestamp] | payload (<= chunk size)
 *
 * Basic header (§5.3.1.1), fmt in the top 2 bits:
 *   csid 2..63       : |fmt| csid  |                       1 byte
 *   csid 64..319     : |fmt|   0   | csid-64 |             2 bytes
 *   csid 64..65599   : |fmt|   1   | (csid-64) LE 16 bits| 3 bytes
 *
 * Message header (§5.3.1.2):
 *   fmt 0 (11): timestamp(3) length(3) type(1) stream id(4, little endian)
 *   fmt 1  (7): timestamp delta(3) length(3) type(1)
 *   fmt 2  (3): timestamp delta(3)
 *   fmt 3  (0): everything from the previous header of this chunk stream
 * A 3-byte timestamp field of 0xFFFFFF means a 4-byte extended timestamp follows (§5.3.1.3).
 */
import { GatewayError } from '../core/errors.js';
import { readU24, readU32, writeU24, writeU32 } from '../core/bytes.js';

export interface RtmpMessage {
  /** Chunk stream id it arrived on (2..65599). */
  csid: number;
  type: number;
  /** Message stream id. */
  streamId: number;
  /** 32-bit RTMP clock as received, absolute (deltas already summed, mod 2^32). */
  timestamp: number;
  payload: Uint8Array;
}

export const DEFAULT_CHUNK_SIZE = 128;
/** First allocation for a message spread over several chunks; it doubles as bytes arrive. */
const INITIAL_PAYLOAD_CAPACITY = 64 * 1024;
/** §5.4.1: chunk size is 31 bits, but no message is longer than 0xFFFFFF, so neither is a useful chunk. */
export const MAX_CHUNK_SIZE = 0xffffff;
const EXTENDED_TIMESTAMP = 0xffffff;
const MIN_CSID = 2;
const MAX_CSID = 65599;
const MESSAGE_HEADER_SIZE = [11, 7, 3, 0] as const;
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_ABORT = 2;

export interface ChunkReaderOptions {
  /** Largest message length accepted from a header (e.g. 16 MiB). */
  readonly maxMessageSize: number;
  /** Distinct chunk stream ids a peer may use (default 64; OBS and ffmpeg use fewer than 10). */
  readonly maxChunkStreams?: number;
  /**
   * Bound on the bytes held for partially received messages across all chunk streams
   * (each is allocated whole from its header). Default 2 * maxMessageSize.
   */
  readonly maxBufferedBytes?: number;
}

/** What a chunk stream remembers from its previous header (§5.3.1.2: fmt 1-3 inherit it). */
interface ChunkStreamState {
  type: number;
  streamId: number;
  length: number;
  /** Absolute timestamp of the last message started on this chunk stream. */
  timestamp: number;
  /**
   * The previous header's timestamp field: the delta a fmt 3 header that starts a new message
   * repeats. After a fmt 0 header it is that header's absolute timestamp: spec-literal, and what
   * ffmpeg's writer assumes (rtmppkt.c picks fmt 3 when the new delta equals the previous
   * `ts_field`) and its reader and SRS compute.
   */
  timestampField: number;
  /** The previous header carried an extended timestamp, so a fmt 3 header does too. */
  extended: boolean;
  /** Message being assembled (undefined between messages). */
  partial: Uint8Array | undefined;
  received: number;
}

type Phase = 'basic' | 'header' | 'payload';

/**
 * Push-driven chunk reader: feed it any split of the byte stream, get whole messages.
 * Applies Set Chunk Size (§5.4.1) and Abort (§5.4.2) itself and still returns them.
 *
 * Payloads: a message that fits in one chunk and arrived within one push is a view of the
 * pushed buffer (no copy); otherwise it is assembled into one allocation sized from its header.
 * Callers must therefore not reuse a buffer after pushing it (Node's socket buffers are fresh
 * per 'data' event).
 */
export class ChunkReader {
  /** Total bytes pushed: the sequence number for Acknowledgement (§5.4.3). */
  bytesReceived = 0;
  /** Current incoming chunk size (changed by Set Chunk Size). */
  chunkSize = DEFAULT_CHUNK_SIZE;

  private readonly maxMessageSize: number;
  private readonly maxChunkStreams: number;
  private readonly maxBufferedBytes: number;
  private readonly streams = new Map<number, ChunkStreamState>();
  private buffered = 0;

  // Header accumulation: at most 3 (basic) + 11 (message) + 4 (extended) bytes.
  private readonly header = new Uint8Array(18);
  private headerLength = 0;
  private headerNeed = 1;
  private phase: Phase = 'basic';
  private fmt = 0;
  private csid = 0;
  private basicLength = 1;
  /** Stream offset of the current chunk's first byte (for errors). */
  private chunkOffset = 0;
  // Current chunk payload.
  private current: ChunkStreamState | undefined;
  private chunkRemaining = 0;

  constructor(options: ChunkReaderOptions) {
    this.maxMessageSize = Math.min(options.maxMessageSize, MAX_CHUNK_SIZE);
    this.maxChunkStreams = options.maxChunkStreams ?? 64;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 2 * options.maxMessageSize;
  }

  push(data: Uint8Array): RtmpMessage[] {
    const out: RtmpMessage[] = [];
    const base = this.bytesReceived;
    this.bytesReceived += data.byteLength;
    let pos = 0;
    while (pos < data.byteLength) {
      if (this.phase === 'payload') {
        pos = this.readPayload(data, pos, base, out);
        continue;
      }
      // Header bytes: copy into the small header buffer until we know and have the full header.
      if (this.headerLength === 0) this.chunkOffset = base + pos;
      const take = Math.min(this.headerNeed - this.headerLength, data.byteLength - pos);
      this.header.set(data.subarray(pos, pos + take), this.headerLength);
      this.headerLength += take;
      pos += take;
      if (this.headerLength < this.headerNeed) break;
      this.advanceHeader(out);
    }
    return out;
  }

  /** `type` is the message type when the header got that far. */
  private fail(message: string, type?: number): never {
    throw new GatewayError('rtmp.chunk', message, {
      offset: this.chunkOffset,
      csid: this.csid,
      type: type ?? this.streams.get(this.csid)?.type ?? 'unknown',
    });
  }

  /**
   * Called whenever `headerNeed` bytes are in `header`: either learns that more header bytes
   * are needed (raises `headerNeed`) or completes the header and moves on to the payload.
   */
  private advanceHeader(out: RtmpMessage[]): void {
    const h = this.header;
    if (this.phase === 'basic') {
      const low = h[0]! & 0x3f;
      const basicLength = low === 0 ? 2 : low === 1 ? 3 : 1;
      if (this.headerLength < basicLength) {
        this.headerNeed = basicLength;
        return;
      }
      this.fmt = h[0]! >>> 6;
      this.basicLength = basicLength;
      this.csid = basicLength === 1 ? low : basicLength === 2 ? 64 + h[1]! : 64 + h[1]! + (h[2]! << 8);
      const known = this.streams.get(this.csid);
      if (!known) {
        if (this.fmt !== 0) this.fail(`fmt ${this.fmt} chunk on a chunk stream never started with fmt 0`);
        if (this.streams.size >= this.maxChunkStreams) this.fail(`more than ${this.maxChunkStreams} chunk streams`);
      }
      // fmt 3 carries an extended timestamp when the previous header of this chunk stream did.
      const extended = this.fmt === 3 && known !== undefined && known.extended ? 4 : 0;
      this.headerNeed = basicLength + MESSAGE_HEADER_SIZE[this.fmt as 0 | 1 | 2 | 3] + extended;
      this.phase = 'header';
      if (this.headerLength < this.headerNeed) return;
    }
    if (this.fmt <= 2 && this.headerNeed === this.basicLength + MESSAGE_HEADER_SIZE[this.fmt as 0 | 1 | 2]) {
      if (readU24(h, this.basicLength) === EXTENDED_TIMESTAMP) {
        this.headerNeed += 4; // §5.3.1.3: extended timestamp follows
        return;
      }
    }
    this.completeHeader(out);
  }

  private completeHeader(out: RtmpMessage[]): void {
    const h = this.header;
    let p = this.basicLength;
    const fmt = this.fmt;
    let state = this.streams.get(this.csid);
    if (fmt <= 2) {
      let field = readU24(h, p);
      p += 3;
      let length = state?.length ?? 0;
      let type = state?.type ?? 0;
      let streamId = state?.streamId ?? 0;
      if (fmt <= 1) {
        length = readU24(h, p);
        type = h[p + 3]!;
        p += 4;
        if (fmt === 0) {
          // §5.3.1.2.1: message stream id is stored little-endian.
          streamId = (h[p]! | (h[p + 1]! << 8) | (h[p + 2]! << 16) | (h[p + 3]! << 24)) >>> 0;
          p += 4;
        }
      }
      const extended = field === EXTENDED_TIMESTAMP;
      if (extended) field = readU32(h, p);
      if (length > this.maxMessageSize) {
        this.fail(`message length ${length} exceeds limit ${this.maxMessageSize}`, type);
      }
      if (!state) {
        state = {
          type,
          streamId,
          length,
          timestamp: 0,
          timestampField: 0,
          extended,
          partial: undefined,
          received: 0,
        };
        this.streams.set(this.csid, state);
      }
      if (state.partial) {
        // A new header while a message is incomplete: the old one is abandoned (ffmpeg does the same).
        this.dropPartial(state);
      }
      state.type = type;
      state.streamId = streamId;
      state.length = length;
      state.extended = extended;
      state.timestampField = field;
      state.timestamp = fmt === 0 ? field : (state.timestamp + field) >>> 0;
      this.startMessage(state, out);
    } else {
      // fmt 3: continuation of the partial message, or a new message repeating the last header.
      if (!state) this.fail('fmt 3 chunk on an unknown chunk stream');
      if (state.extended) {
        // Continuations repeat the extended timestamp (ffmpeg, librtmp); ignore its value there.
        if (!state.partial) state.timestampField = readU32(h, p);
      }
      if (!state.partial) {
        state.timestamp = (state.timestamp + state.timestampField) >>> 0;
        this.startMessage(state, out);
      } else {
        this.beginChunk(state);
      }
    }
  }

  private startMessage(state: ChunkStreamState, out: RtmpMessage[]): void {
    state.received = 0;
    state.partial = undefined;
    if (state.length === 0) {
      this.resetHeader();
      this.emit(state, new Uint8Array(0), out);
      return;
    }
    this.beginChunk(state);
  }

  private beginChunk(state: ChunkStreamState): void {
    this.current = state;
    this.chunkRemaining = Math.min(this.chunkSize, state.length - state.received);
    this.phase = 'payload';
    this.headerLength = 0;
  }

  private resetHeader(): void {
    this.phase = 'basic';
    this.headerLength = 0;
    this.headerNeed = 1;
    this.current = undefined;
  }

  private readPayload(data: Uint8Array, pos: number, base: number, out: RtmpMessage[]): number {
    const state = this.current!;
    const available = data.byteLength - pos;
    // Whole message in one chunk and in this buffer: hand out a view, no copy.
    if (!state.partial && state.received === 0 && this.chunkRemaining === state.length && available >= state.length) {
      const payload = data.subarray(pos, pos + state.length);
      this.resetHeader();
      this.emit(state, payload, out);
      return pos + state.length;
    }
    const take = Math.min(available, this.chunkRemaining);
    // Memory follows the bytes that arrived, not the length a header claims: a peer announcing
    // 16 MiB messages and sending a few bytes holds a few bytes (the buffer at most doubles).
    const needed = state.received + take;
    const capacity = state.partial?.byteLength ?? 0;
    if (needed > capacity) {
      const grown = Math.min(state.length, Math.max(needed, capacity * 2, Math.min(state.length, INITIAL_PAYLOAD_CAPACITY)));
      if (this.buffered + grown - capacity > this.maxBufferedBytes) {
        this.chunkOffset = base + pos;
        this.fail(`partial messages would hold more than ${this.maxBufferedBytes} bytes`, state.type);
      }
      const next = new Uint8Array(grown);
      if (state.partial) next.set(state.partial.subarray(0, state.received));
      state.partial = next;
      this.buffered += grown - capacity;
    }
    const partial = state.partial!;
    partial.set(data.subarray(pos, pos + take), state.received);
    state.received += take;
    this.chunkRemaining -= take;
    if (this.chunkRemaining === 0) {
      this.resetHeader();
      if (state.received === state.length) {
        const payload = partial;
        this.dropPartial(state);
        this.emit(state, payload, out);
      }
    }
    return pos + take;
  }

  private dropPartial(state: ChunkStreamState): void {
    if (state.partial) this.buffered -= state.partial.byteLength;
    state.partial = undefined;
    state.received = 0;
  }

  private emit(state: ChunkStreamState, payload: Uint8Array, out: RtmpMessage[]): void {
    const message: RtmpMessage = {
      csid: this.csid,
      type: state.type,
      streamId: state.streamId,
      timestamp: state.timestamp,
      payload,
    };
    this.applyControl(message);
    out.push(message);
  }

  /** Protocol control messages that change how we parse (§5.4.1, §5.4.2). */
  private applyControl(message: RtmpMessage): void {
    if (message.type === TYPE_SET_CHUNK_SIZE) {
      if (message.payload.byteLength < 4) this.fail('Set Chunk Size payload shorter than 4 bytes', 1);
      const size = readU32(message.payload, 0);
      // §5.4.1: the top bit must be 0, and 0 is meaningless.
      if (size === 0 || size > 0x7fffffff) this.fail(`invalid chunk size ${size}`, 1);
      // No message exceeds 0xFFFFFF bytes, so a larger chunk size behaves like 0xFFFFFF: clamp.
      this.chunkSize = Math.min(size, MAX_CHUNK_SIZE);
    } else if (message.type === TYPE_ABORT) {
      if (message.payload.byteLength < 4) this.fail('Abort payload shorter than 4 bytes', 2);
      const aborted = this.streams.get(readU32(message.payload, 0));
      if (aborted) this.dropPartial(aborted);
    }
  }
}

export interface OutgoingMessage {
  readonly csid: number;
  readonly type: number;
  readonly streamId: number;
  /** 32-bit RTMP clock (ms). */
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

interface WriterStreamState {
  streamId: number;
  timestamp: number;
}

function basicHeaderLength(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

function writeBasicHeader(out: Uint8Array, o: number, fmt: number, csid: number): number {
  if (csid < 64) {
    out[o] = (fmt << 6) | csid;
    return o + 1;
  }
  if (csid < 320) {
    out[o] = fmt << 6;
    out[o + 1] = csid - 64;
    return o + 2;
  }
  out[o] = (fmt << 6) | 1;
  out[o + 1] = (csid - 64) & 0xff;
  out[o + 2] = (csid - 64) >>> 8;
  return o + 3;
}

/** A planned message: header choice made, size known. */
interface Plan {
  readonly msg: OutgoingMessage;
  readonly fmt: 0 | 1;
  /** The 3-byte field value or the extended value. */
  readonly field: number;
  readonly extended: boolean;
  readonly size: number;
}

/**
 * Writes messages as chunks. Headers: fmt 0, or fmt 1 (delta) when the chunk stream's previous
 * message had the same message stream id and an earlier-or-equal timestamp; never fmt 2/3 for a
 * new message, so readers never have to guess what "the previous delta" was. Continuations are
 * fmt 3 and repeat the extended timestamp (what ffmpeg and librtmp expect).
 * Every encoded buffer must be sent, in order: the writer's per-chunk-stream state assumes so.
 */
export class ChunkWriter {
  private size = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, WriterStreamState>();

  get chunkSize(): number {
    return this.size;
  }

  /** Call after sending Set Chunk Size (§5.4.1). 1..0xFFFFFF. */
  set chunkSize(n: number) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK_SIZE) {
      throw new GatewayError('rtmp.chunk', `invalid outgoing chunk size ${n}`, {});
    }
    this.size = n;
  }

  encode(msg: OutgoingMessage): Uint8Array {
    const plan = this.plan(msg);
    const out = new Uint8Array(plan.size);
    this.write(plan, out, 0);
    return out;
  }

  /** Several messages in one allocation. */
  encodeMany(messages: readonly OutgoingMessage[]): Uint8Array {
    const plans = messages.map((m) => this.plan(m));
    let total = 0;
    for (const p of plans) total += p.size;
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of plans) o = this.write(p, out, o);
    return out;
  }

  private plan(msg: OutgoingMessage): Plan {
    const { csid, type, streamId, timestamp, payload } = msg;
    if (!Number.isInteger(csid) || csid < MIN_CSID || csid > MAX_CSID) {
      throw new GatewayError('rtmp.chunk', `chunk stream id ${csid} out of range 2..65599`, { csid, type });
    }
    if (!Number.isInteger(type) || type < 0 || type > 255) {
      throw new GatewayError('rtmp.chunk', `message type ${type} out of range`, { csid, type });
    }
    if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
      throw new GatewayError('rtmp.chunk', `message stream id ${streamId} out of range`, { csid, type });
    }
    if (!Number.isInteger(timestamp) || timestamp < 0 || timestamp > 0xffffffff) {
      throw new GatewayError('rtmp.chunk', `timestamp ${timestamp} is not a 32-bit unsigned integer`, { csid, type });
    }
    if (payload.byteLength > 0xffffff) {
      throw new GatewayError('rtmp.chunk', `message length ${payload.byteLength} exceeds 0xFFFFFF`, { csid, type });
    }
    const prev = this.streams.get(csid);
    const useDelta = prev !== undefined && prev.streamId === streamId && timestamp >= prev.timestamp;
    const fmt = useDelta ? 1 : 0;
    const field = useDelta ? timestamp - prev.timestamp : timestamp;
    const extended = field >= EXTENDED_TIMESTAMP;
    const basic = basicHeaderLength(csid);
    const ext = extended ? 4 : 0;
    const chunks = Math.max(1, Math.ceil(payload.byteLength / this.size));
    const size = basic + MESSAGE_HEADER_SIZE[fmt] + ext + payload.byteLength + (chunks - 1) * (basic + ext);
    if (prev) {
      prev.streamId = streamId;
      prev.timestamp = timestamp;
    } else {
      this.streams.set(csid, { streamId, timestamp });
    }
    return { msg, fmt, field, extended, size };
  }

  private write(plan: Plan, out: Uint8Array, start: number): number {
    const { csid, type, streamId, payload } = plan.msg;
    let o = writeBasicHeader(out, start, plan.fmt, csid);
    writeU24(out, o, plan.extended ? EXTENDED_TIMESTAMP : plan.field);
    writeU24(out, o + 3, payload.byteLength);
    out[o + 6] = type;
    o += 7;
    if (plan.fmt === 0) {
      // §5.3.1.2.1: little-endian message stream id.
      out[o] = streamId & 0xff;
      out[o + 1] = (streamId >>> 8) & 0xff;
      out[o + 2] = (streamId >>> 16) & 0xff;
      out[o + 3] = (streamId >>> 24) & 0xff;
      o += 4;
    }
    if (plan.extended) {
      writeU32(out, o, plan.field);
      o += 4;
    }
    let sent = 0;
    for (;;) {
      const n = Math.min(this.size, payload.byteLength - sent);
      out.set(payload.subarray(sent, sent + n), o);
      o += n;
      sent += n;
      if (sent >= payload.byteLength) break;
      o = writeBasicHeader(out, o, 3, csid);
      if (plan.extended) {
        writeU32(out, o, plan.field);
        o += 4;
      }
    }
    return o;
  }
}
