/**
 * Immutable media bytes that left a live window (or belong to an ended stream), bounded in
 * bytes with an LRU. What a live playlist still lists is not here: the packager pins it.
 */
import { LRUCache } from 'lru-cache';

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

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, CachedObject>({
      maxSize: maxBytes,
      sizeCalculation: (value) => Math.max(1, value.byteLength),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict') this.evictions++;
      },
    });
  }

  set(key: string, value: CachedObject): void {
    if (value.byteLength > this.lru.maxSize) return;
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
