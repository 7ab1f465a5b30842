import { describe, expect, it } from 'vitest';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { collectGarbage } from '../../src/core/gc.js';

const object = (bytes: number) => ({ chunks: [new Uint8Array(bytes)], byteLength: bytes, contentType: 'video/iso.segment' });
const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SegmentCache', () => {
  it('stays within its byte bound, evicting the least recently used', () => {
    const cache = new SegmentCache(3000);
    cache.set('a', object(1000));
    cache.set('b', object(1000));
    cache.set('c', object(1000));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('d', object(1000));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 3000, evictions: 1 });
    cache.set('huge', object(4000)); // larger than the bound: not kept, nothing evicted for it
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.stats().entries).toBe(3);
  });

  it('asks for one full collection per `collectEveryBytes` of dropped media, after the current event', async () => {
    const cache = new SegmentCache(4000, 2500);
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, object(1000));
    cache.set('e', object(1000)); // drops a: 1000 dropped
    cache.set('f', object(1000)); // drops b: 2000
    await nextTurn();
    expect(cache.collections).toBe(0);
    cache.set('g', object(1000)); // drops c: 3000 >= 2500
    cache.set('h', object(1000)); // drops d: one collection is already pending
    expect(cache.collections).toBe(0);
    await nextTurn();
    expect(cache.collections).toBe(1);
    cache.deletePrefix(''); // operator deletes count as dropped media too
    await nextTurn();
    expect(cache.collections).toBe(2);
    cache.set('too-big', object(5000)); // larger than the bound: dropped at once, counted
    await nextTurn();
    expect(cache.collections).toBe(3);
  });

  it('by default asks for a collection every quarter of its bound, within 16..32 MiB', async () => {
    const MiB = 1024 * 1024;
    // Only the sizes count: no memory behind them.
    const mib = () => ({ chunks: [], byteLength: MiB, contentType: 'video/iso.segment' });
    for (const [bound, every] of [
      [32, 16],
      [100, 25],
      [4096, 32],
    ] as const) {
      const cache = new SegmentCache(bound * MiB);
      let n = 0;
      while (n < bound) cache.set(`s${n++}`, mib()); // full, nothing dropped yet
      for (let dropped = 1; dropped < every; dropped++) cache.set(`s${n++}`, mib()); // each drops one MiB
      await nextTurn();
      expect(cache.collections, `bound ${bound} MiB, ${every - 1} MiB dropped`).toBe(0);
      cache.set(`s${n++}`, mib());
      await nextTurn();
      expect(cache.collections, `bound ${bound} MiB, ${every} MiB dropped`).toBe(1);
    }
  });

  it('collectGarbage runs a full collection (Node lets the flag be set at run time)', async () => {
    const ref = ((): WeakRef<object> => new WeakRef({ media: new Uint8Array(1024) }))();
    await nextTurn(); // a WeakRef target is kept alive until the job that made it ends
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
