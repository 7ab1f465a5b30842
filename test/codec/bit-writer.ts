/** Test-only MSB-first bit writer with exp-Golomb, for hand-built SPS / ASC vectors. */
export class BitWriter {
  private readonly bits: number[] = [];

  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }

  flag(b: boolean): this {
    return this.u(1, b ? 1 : 0);
  }

  ue(v: number): this {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    this.u(len, 0);
    return this.u(len + 1, x);
  }

  se(v: number): this {
    return this.ue(v <= 0 ? -2 * v : 2 * v - 1);
  }

  /** rbsp_trailing_bits: a one, then zeros to the byte boundary. */
  trailing(): this {
    this.bits.push(1);
    return this.align();
  }

  align(): this {
    while (this.bits.length % 8) this.bits.push(0);
    return this;
  }

  get length(): number {
    return this.bits.length;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => {
      if (b) out[i >> 3]! |= 0x80 >> (i & 7);
    });
    return out;
  }
}

/** RBSP -> NAL payload: inserts emulation_prevention_three_byte where H.264 §7.4.1 requires. */
export function rbspToNal(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
