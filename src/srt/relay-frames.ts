/**
 * The framing native/srt-relay.c writes on its stdout, parsed from chunks of any size.
 *
 *   type u8 | connection id u32 BE | payload length u32 BE | payload
 *
 *   0 READY  conn 0; payload = the bound UDP port as decimal text
 *   1 OPEN   payload = JSON {"streamid": string, "peer": "IP:PORT"}
 *   2 DATA   payload = one SRT message (MPEG-TS, usually 1316 bytes)
 *   3 CLOSE  payload = a short reason text
 *
 * Pure: no I/O. A DATA payload is a view into the pushed chunk when the whole frame is inside it,
 * else the one copy that joins its pieces; either way it is never overwritten by this reader.
 * A corrupt stream (unknown type, payload over 1 MiB, bad READY/OPEN payload) throws a
 * GatewayError with stage 'srt'; the reader then stays failed (the stream has lost sync).
 */
import { readU32 } from '../core/bytes.js';
import { GatewayError } from '../core/errors.js';

export type RelayFrame =
  | { type: 'ready'; port: number }
  | { type: 'open'; conn: number; streamid: string; peer: string }
  | { type: 'data'; conn: number; data: Uint8Array }
  | { type: 'close'; conn: number; reason: string };

export const RELAY_FRAME_HEADER_BYTES = 9;
/** Largest payload accepted; the relay's are at most ~3 KiB (an OPEN with a 512-byte escaped stream id). */
export const RELAY_MAX_PAYLOAD_BYTES = 1024 * 1024;

const TYPE_READY = 0;
const TYPE_OPEN = 1;
const TYPE_DATA = 2;
const TYPE_CLOSE = 3;

const utf8 = new TextDecoder('utf-8');

export class RelayFrameReader {
  /** Header bytes of a frame split across chunks. */
  private readonly header = new Uint8Array(RELAY_FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Payload of a frame split across chunks, allocated once its header is known. */
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private type = 0;
  private conn = 0;
  /** Stream offset of the frame being read, for error context. */
  private frameOffset = 0;
  private consumed = 0;
  private failed: GatewayError | undefined;

  /** Parses every frame completed by `chunk` (oldest first). */
  push(chunk: Uint8Array): RelayFrame[] {
    if (this.failed) throw this.failed;
    try {
      return this.parse(chunk);
    } catch (err) {
      this.failed =
        err instanceof GatewayError ? err : new GatewayError('srt', `relay frame: ${(err as Error).message}`, { offset: this.frameOffset });
      throw this.failed;
    }
  }

  /** True when no partial frame is buffered (the stream ended on a frame boundary). */
  get idle(): boolean {
    return this.headerFill === 0 && this.payload === undefined;
  }

  private parse(chunk: Uint8Array): RelayFrame[] {
    const frames: RelayFrame[] = [];
    const base = this.consumed;
    this.consumed += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (this.headerFill === 0 && this.payload === undefined) {
        // At a frame boundary: a frame wholly inside the chunk is parsed in place.
        const left = chunk.length - off;
        if (left >= RELAY_FRAME_HEADER_BYTES) {
          this.frameOffset = base + off;
          const type = chunk[off]!;
          const conn = readU32(chunk, off + 1);
          const len = readU32(chunk, off + 5);
          this.check(type, len);
          if (left - RELAY_FRAME_HEADER_BYTES >= len) {
            const start = off + RELAY_FRAME_HEADER_BYTES;
            frames.push(this.frame(type, conn, chunk.subarray(start, start + len)));
            off = start + len;
            continue;
          }
        }
        this.frameOffset = base + off;
      }
      if (this.payload === undefined) {
        const n = Math.min(RELAY_FRAME_HEADER_BYTES - this.headerFill, chunk.length - off);
        this.header.set(chunk.subarray(off, off + n), this.headerFill);
        this.headerFill += n;
        off += n;
        if (this.headerFill < RELAY_FRAME_HEADER_BYTES) break;
        this.type = this.header[0]!;
        this.conn = readU32(this.header, 1);
        const len = readU32(this.header, 5);
        this.check(this.type, len);
        this.payload = new Uint8Array(len);
        this.payloadFill = 0;
      }
      const need = this.payload.length - this.payloadFill;
      const n = Math.min(need, chunk.length - off);
      this.payload.set(chunk.subarray(off, off + n), this.payloadFill);
      this.payloadFill += n;
      off += n;
      if (this.payloadFill < this.payload.length) break;
      const payload = this.payload;
      this.payload = undefined;
      this.headerFill = 0;
      frames.push(this.frame(this.type, this.conn, payload));
    }
    return frames;
  }

  private check(type: number, len: number): void {
    if (type > TYPE_CLOSE) throw new GatewayError('srt', 'unknown relay frame type', { type, offset: this.frameOffset });
    if (len > RELAY_MAX_PAYLOAD_BYTES) {
      throw new GatewayError('srt', 'relay frame payload too large', { type, length: len, max: RELAY_MAX_PAYLOAD_BYTES, offset: this.frameOffset });
    }
  }

  private frame(type: number, conn: number, payload: Uint8Array): RelayFrame {
    switch (type) {
      case TYPE_DATA:
        return { type: 'data', conn, data: payload };
      case TYPE_CLOSE:
        return { type: 'close', conn, reason: utf8.decode(payload) };
      case TYPE_OPEN:
        return { type: 'open', conn, ...this.openPayload(payload) };
      case TYPE_READY: {
        const text = utf8.decode(payload);
        const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
        if (!(port <= 65535)) throw new GatewayError('srt', 'relay READY without a port', { payload: text.slice(0, 40), offset: this.frameOffset });
        return { type: 'ready', port };
      }
      default:
        throw new GatewayError('srt', 'unknown relay frame type', { type, offset: this.frameOffset });
    }
  }

  private openPayload(payload: Uint8Array): { streamid: string; peer: string } {
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(payload));
    } catch {
      throw new GatewayError('srt', 'relay OPEN payload is not JSON', { offset: this.frameOffset });
    }
    const o = parsed as { streamid?: unknown; peer?: unknown } | null;
    if (typeof o !== 'object' || o === null || typeof o.streamid !== 'string' || typeof o.peer !== 'string') {
      throw new GatewayError('srt', 'relay OPEN payload lacks streamid/peer', { offset: this.frameOffset });
    }
    return { streamid: o.streamid, peer: o.peer };
  }
}
