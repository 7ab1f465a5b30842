/**
 * Immutable media bytes that left a live window (or belong to an ended stream), bounded in
 * bytes with an LRU. What a live playlist still lists is not here: the packager pins it.
 */
import { LRUCache } from 'lru-cache';
import { collectGarbage } from '../core/gc.js';

export interface CachedObject {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  readonly contentType: string;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class SegmentCache {
  private readonly lru: LRUCache<string, CachedObject>;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  private droppedSinceCollect = 0;
  private collectPending = false;
  /** Full collections asked for because dropped media reached `collectEveryBytes`. */
  collections = 0;
  private readonly collectEveryBytes: number;

  /**
   * `collectEveryBytes`: media dropped from the cache between two requested full collections
   * (default a quarter of the bound, within 16..32 MiB): what may wait, dead, for V8 to free it.
   * It is the only bound on that: CMAF segments are resizable ArrayBuffers
   * (core/block-writer.ts), which V8 does not count as external memory, so nothing else makes it
   * collect for them; the cap keeps a large cache from holding hundreds of MB of dead segments.
   */
  constructor(maxBytes: number, collectEveryBytes = Math.min(32 * 1024 * 1024, Math.max(16 * 1024 * 1024, maxBytes / 4))) {
    this.collectEveryBytes = collectEveryBytes;
    this.lru = new LRUCache<string, CachedObject>({
      maxSize: maxBytes,
      sizeCalculation: (value) => Math.max(1, value.byteLength),
      dispose: (value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
        this.dropped(value.byteLength);
      },
    });
  }

  /**
   * Dropped media is only freed by a full GC (see core/gc.ts): ask for one every
   * `collectEveryBytes`, after the current event (never inside a request or a frame).
   */
  private dropped(bytes: number): void {
    this.droppedSinceCollect += bytes;
    if (this.droppedSinceCollect >= this.collectEveryBytes && !this.collectPending) {
      this.collectPending = true;
      setImmediate(() => {
        this.collectPending = false;
        this.droppedSinceCollect = 0;
        this.collections++;
        collectGarbage();
      });
    }
  }

  set(key: string, value: CachedObject): void {
    if (value.byteLength > this.lru.maxSize) {
      // Too large to keep: dropped at once, and counted like any other dropped media.
      this.dropped(value.byteLength);
      return;
    }
    this.lru.set(key, value);
  }

  get(key: string): CachedObject | undefined {
    const value = this.lru.get(key);
    if (value) this.hits++;
    else this.misses++;
    return value;
  }

  /** Drops every entry below a prefix (a stream forgotten by the operator). */
  deletePrefix(prefix: string): void {
    for (const key of this.lru.keys()) if (key.startsWith(prefix)) this.lru.delete(key);
  }

  stats(): CacheStats {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
