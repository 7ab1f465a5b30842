/**
 * Collects the PES payloads of one PID from an MPEG-TS byte stream (ISO/IEC 13818-1 §2.4.3.2
 * packet header, §2.4.3.5 adaptation field, §2.4.3.6 PES header). Push-driven: any split of the
 * input works; 188-byte packets are re-synced on the 0x47 sync byte.
 *
 * ```
 * 0x47 | TEI PUSI prio PID(13) | scrambling(2) AFC(2) CC(4) | [adaptation field] | payload
 * ```
 */
import { GatewayError } from '../core/errors.js';
// The packet layout is the muxer's (mux/ts/packet.ts); this is its reading side.
import { SYNC_BYTE as SYNC, TS_PACKET_SIZE } from '../mux/ts/packet.js';

export class TsPesCollector {
  private readonly carry = new Uint8Array(TS_PACKET_SIZE);
  private carryFill = 0;
  private parts: Uint8Array[] = [];
  private partBytes = 0;
  /** A PES start has been seen (continuation packets before it are dropped). */
  private started = false;

  constructor(
    private readonly pid = 0x100,
    private readonly maxPesBytes = 8 * 1024 * 1024,
  ) {}

  /** Returns each completed PES packet's payload (after the PES header). */
  push(data: Uint8Array): Uint8Array[] {
    const done: Uint8Array[] = [];
    let off = 0;
    if (this.carryFill > 0) {
      const take = Math.min(TS_PACKET_SIZE - this.carryFill, data.byteLength);
      this.carry.set(data.subarray(0, take), this.carryFill);
      this.carryFill += take;
      off = take;
      if (this.carryFill < TS_PACKET_SIZE) return done;
      this.packet(this.carry, done);
      this.carryFill = 0;
    }
    while (off < data.byteLength) {
      if (data[off] !== SYNC) {
        off++;
        continue;
      }
      if (data.byteLength - off < TS_PACKET_SIZE) {
        this.carry.set(data.subarray(off));
        this.carryFill = data.byteLength - off;
        break;
      }
      this.packet(data.subarray(off, off + TS_PACKET_SIZE), done);
      off += TS_PACKET_SIZE;
    }
    return done;
  }

  /** The PES still being collected (call at the end of a segment). */
  flush(): Uint8Array[] {
    const out = this.assemble();
    return out ? [out] : [];
  }

  private packet(p: Uint8Array, done: Uint8Array[]): void {
    const pid = ((p[1]! & 0x1f) << 8) | p[2]!;
    if (pid !== this.pid) return;
    const pusi = (p[1]! & 0x40) !== 0;
    const afc = (p[3]! >> 4) & 3;
    let at = 4;
    if (afc === 2 || afc === 0) return; // no payload
    if (afc === 3) at += 1 + p[4]!;
    if (at >= TS_PACKET_SIZE) return;
    let payload = p.subarray(at);
    if (pusi) {
      const prev = this.assemble();
      if (prev) done.push(prev);
      // PES: 00 00 01 stream_id len(2) flags(2) header_data_length(1) ...
      if (payload.byteLength < 9 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) {
        throw new GatewayError('mux.ts', 'PES start code missing', { pid });
      }
      const headerEnd = 9 + payload[8]!;
      if (headerEnd > payload.byteLength) throw new GatewayError('mux.ts', 'PES header overruns packet', { pid });
      payload = payload.subarray(headerEnd);
      this.partBytes = 0;
      this.parts = [];
      this.started = true;
    } else if (!this.started) {
      return;
    }
    if (this.partBytes + payload.byteLength > this.maxPesBytes) throw new GatewayError('mux.ts', 'PES too large', { pid, size: this.partBytes });
    // Copy: callers may reuse the pushed chunk.
    this.parts.push(payload.slice());
    this.partBytes += payload.byteLength;
  }

  private assemble(): Uint8Array | undefined {
    if (!this.started || this.partBytes === 0) return undefined;
    const out = new Uint8Array(this.partBytes);
    let o = 0;
    for (const part of this.parts) {
      out.set(part, o);
      o += part.byteLength;
    }
    this.parts = [];
    this.partBytes = 0;
    return out;
  }
}
