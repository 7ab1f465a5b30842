/**
 * BlockWriter: consecutive ranges in one growing block per segment, never overlapping, committed
 * only as written; plain buffers past the live-block bound. joinAdjacent merges only touching views.
 */
import { describe, expect, it } from 'vitest';
import { BlockWriter, GROWABLE_BLOCKS, joinAdjacent, liveBlockCount } from '../../src/core/block-writer.js';

/** A small deterministic generator (property tests repeat exactly). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

describe('BlockWriter', () => {
  it('runs on a runtime with resizable ArrayBuffers (Node 20)', () => {
    expect(GROWABLE_BLOCKS).toBe(true);
  });

  it('puts the ranges of a block one after the other, committing 64 KiB at a time', () => {
    const w = new BlockWriter({ minReserveBytes: 256 * 1024 });
    w.startBlock();
    const a = w.allocate(40);
    const b = w.allocate(5000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(40);
    expect(a.buffer.byteLength).toBe(64 * 1024);
    const c0 = w.allocate(64 * 1024);
    expect(c0.byteOffset).toBe(5040);
    expect(a.buffer.byteLength).toBe(128 * 1024);
    expect([...a.subarray(0, 4), ...b.subarray(4996)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(a).toBeInstanceOf(Uint8Array);
    // A new segment starts a new block.
    w.startBlock();
    const c = w.allocate(10);
    expect(c.buffer).not.toBe(a.buffer);
    expect(c.byteOffset).toBe(0);
    expect(w.blocks).toBe(2);
  });

  it('goes on in a new block when the reservation is full, and fits a range larger than any reservation', () => {
    const w = new BlockWriter({ minReserveBytes: 64 * 1024, maxReserveBytes: 128 * 1024 });
    const first = w.allocate(60 * 1024);
    const spill = w.allocate(8 * 1024);
    expect(spill.buffer).not.toBe(first.buffer);
    const big = w.allocate(1_000_000);
    expect(big.byteLength).toBe(1_000_000);
    expect(big.buffer).not.toBe(spill.buffer);
    // A block of its own (not a plain buffer handed out after a failed resize).
    expect(w.blocks).toBe(3);
    // Reservations follow the segments seen (twice the last one), within the bounds.
    w.noteBlock(100_000);
    w.startBlock();
    const r = w.allocate(1).buffer as ArrayBuffer & { maxByteLength: number };
    expect(r.maxByteLength).toBe(128 * 1024);
  });

  it('past the live-block bound, hands out plain buffers of their own', () => {
    const w = new BlockWriter({ maxLiveBlocks: liveBlockCount() });
    const a = w.allocate(100);
    const b = w.allocate(100);
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.buffer.byteLength).toBe(100);
    expect(w.blocks).toBe(0);
  });

  it('when a block cannot be reserved, hands out plain buffers instead of failing', () => {
    // V8 refuses a reservation this large (RangeError), as the kernel would past RLIMIT_AS.
    const w = new BlockWriter({ minReserveBytes: Number.MAX_SAFE_INTEGER, maxReserveBytes: Number.MAX_SAFE_INTEGER });
    const a = w.allocate(100);
    expect(a.byteLength).toBe(100);
    expect(a.buffer.byteLength).toBe(100);
    expect(w.blocks).toBe(0);
  });

  it('when a block cannot grow, hands out a plain buffer and goes on in a new block', () => {
    const w = new BlockWriter({ minReserveBytes: 256 * 1024 });
    const first = w.allocate(10);
    const proto = ArrayBuffer.prototype as ArrayBuffer & { resize(n: number): void };
    const resize = proto.resize;
    let refused = 0;
    proto.resize = function (this: ArrayBuffer, n: number): void {
      refused++;
      throw new RangeError(`refused ${n}`);
    };
    let plain: Uint8Array;
    try {
      plain = w.allocate(70 * 1024); // past the first 64 KiB step: a resize
    } finally {
      proto.resize = resize;
    }
    expect(refused).toBe(1);
    expect(plain.buffer).not.toBe(first.buffer);
    expect(plain.buffer.byteLength).toBe(70 * 1024);
    const next = w.allocate(10);
    expect(next.buffer).not.toBe(first.buffer);
    expect(next.byteOffset).toBe(0);
    expect(w.blocks).toBe(2);
  });

  it('property: ranges have the size asked for, stay inside their block and never overlap', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const next = random(seed);
      const w = new BlockWriter({ minReserveBytes: 16 * 1024, maxReserveBytes: 256 * 1024 });
      const ranges: Uint8Array[] = [];
      for (let i = 0; i < 300; i++) {
        if (next() < 0.05) w.startBlock();
        if (next() < 0.05) w.noteBlock(Math.floor(next() * 100_000));
        const size = 1 + Math.floor(next() * (next() < 0.05 ? 300_000 : 3000));
        const r = w.allocate(size);
        expect(r.byteLength).toBe(size);
        expect(r.byteOffset + r.byteLength).toBeLessThanOrEqual(r.buffer.byteLength);
        r.fill(i & 0xff);
        ranges.push(r);
      }
      // Writing each range touched no other: every range still holds its own fill.
      ranges.forEach((r, i) => expect(r.every((v) => v === (i & 0xff)), `seed ${seed} range ${i}`).toBe(true));
    }
  });
});

describe('joinAdjacent', () => {
  it('joins views that touch in the same memory, and nothing else', () => {
    const one = new Uint8Array(100);
    const other = new Uint8Array(100);
    const joined = joinAdjacent([one.subarray(0, 10), one.subarray(10, 30), one.subarray(31, 40), other.subarray(40, 50), one.subarray(40, 50), new Uint8Array(0), one.subarray(50, 60)]);
    expect(joined.map((v) => [v.buffer === one.buffer ? 'one' : 'other', v.byteOffset, v.byteLength])).toEqual([
      ['one', 0, 30],
      ['one', 31, 9],
      ['other', 40, 10],
      ['one', 40, 20],
    ]);
    expect(joinAdjacent([])).toEqual([]);
  });
});
