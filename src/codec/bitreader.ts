/**
 * MSB-first bit reader over an RBSP (raw byte sequence payload), with the exp-Golomb codes of
 * H.264 §9.1 / H.265 §9.2. Every read is bounds-checked: reading past the end throws a
 * GatewayError instead of silently returning zeros, so a truncated SPS cannot yield garbage.
 */
import { GatewayError, type ErrorStage } from '../core/errors.js';

export class BitReader {
  private readonly data: Uint8Array;
  private readonly stage: ErrorStage;
  /** Absolute bit position from the start of `data`. */
  private pos = 0;

  constructor(data: Uint8Array, stage: ErrorStage = 'codec.avc') {
    this.data = data;
    this.stage = stage;
  }

  get bitPosition(): number {
    return this.pos;
  }

  get bitsLeft(): number {
    return this.data.byteLength * 8 - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.bitsLeft) {
      throw new GatewayError(this.stage, `bitstream truncated reading ${what}`, {
        offset: this.pos >>> 3,
        bit: this.pos & 7,
        need: n,
        left: this.bitsLeft,
      });
    }
  }

  /** Reads `n` (0..32) bits as an unsigned integer. */
  u(n: number, what = 'bits'): number {
    if (n < 0 || n > 32) throw new GatewayError(this.stage, `invalid bit count ${n}`, { what });
    this.need(n, what);
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.pos >>> 3]!;
      const bit = (byte >>> (7 - (this.pos & 7))) & 1;
      // Multiply instead of shift so 32-bit values stay unsigned.
      v = v * 2 + bit;
      this.pos++;
    }
    return v;
  }

  flag(what = 'flag'): boolean {
    return this.u(1, what) === 1;
  }

  skipBits(n: number, what = 'skipped bits'): void {
    this.need(n, what);
    this.pos += n;
  }

  /** ue(v), H.264 §9.1: leadingZeroBits zeros, a one, then leadingZeroBits info bits. */
  ue(what = 'ue(v)'): number {
    let zeros = 0;
    while (!this.flag(what)) {
      zeros++;
      // 2^32 - 2 is the largest value any syntax element may carry (H.264 §7.2 / §9.1).
      if (zeros > 31) throw new GatewayError(this.stage, `exp-Golomb code too long in ${what}`, { offset: this.pos >>> 3 });
    }
    if (zeros === 0) return 0;
    return 2 ** zeros - 1 + this.u(zeros, what);
  }

  /** se(v), H.264 §9.1.1 Table 9-3: k -> (-1)^(k+1) * ceil(k / 2). */
  se(what = 'se(v)'): number {
    const k = this.ue(what);
    return k % 2 === 1 ? (k + 1) / 2 : k === 0 ? 0 : -(k / 2);
  }

  byteAlign(): void {
    this.pos = (this.pos + 7) & ~7;
    if (this.pos > this.data.byteLength * 8) this.pos = this.data.byteLength * 8;
  }
}

/**
 * NAL unit payload -> RBSP: removes emulation_prevention_three_byte (H.264 §7.4.1: a 0x03 that
 * follows two zero bytes). Returns the input view itself when there is nothing to remove,
 * so the common case allocates nothing.
 */
export function nalToRbsp(nal: Uint8Array): Uint8Array {
  let first = -1;
  for (let i = 2; i < nal.byteLength; i++) {
    if (nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) {
      first = i;
      break;
    }
  }
  if (first < 0) return nal;
  const out = new Uint8Array(nal.byteLength);
  out.set(nal.subarray(0, first), 0);
  let n = first;
  let zeros = 0;
  for (let i = first + 1; i < nal.byteLength; i++) {
    const b = nal[i]!;
    if (b === 3 && zeros >= 2) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
