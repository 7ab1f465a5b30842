/**
 * Ranges written one after the other into one growing block per segment, so that a CMAF segment
 * written part by part (`styp`, then each `moof`+`mdat`) is one contiguous buffer instead of
 * twenty-one separate ones.
 *
 * Why:
 * - a segment GET sends one buffer instead of twenty-one pieces: Node's per-write cost dominated
 *   a 100 KB response;
 * - a block is an ES2024 resizable `ArrayBuffer` (V8 11.3 in Node 20): V8 reserves its address
 *   space once and commits pages as it grows, straight from the kernel, and unmaps them when the
 *   block is collected. The media bytes then never go through glibc's malloc, whose free lists
 *   fragmented with parts of every size and held freed memory in RSS;
 * - a block's pages take RSS only once written: nothing is held in RSS for a segment that has not
 *   been written yet.
 *
 * Such memory is not counted as external memory by V8 (it is not in
 * `process.memoryUsage().arrayBuffers`), so V8's heuristics do not collect for it: what is
 * dropped is freed at the next full collection, which the segment cache asks for after it has
 * dropped a bounded number of bytes (cache/segment-cache.ts).
 *
 * Each block costs one or two kernel memory mappings (committed pages, and the rest of the
 * reservation); past `maxLiveBlocks` live blocks, ranges are plain buffers of their own, as
 * before, so that a cache of very many small segments cannot exhaust `vm.max_map_count`.
 */

/** ES2024 resizable ArrayBuffer (TypeScript's lib here predates it). */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
type ResizableArrayBufferConstructor = new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

const PAGE = 4096;
const RESERVE_ALIGN = 64 * 1024;
/** Bytes committed to a block at a time. */
const GROW_STEP = 64 * 1024;

export interface BlockWriterOptions {
  /** Smallest reservation of a block. */
  readonly minReserveBytes?: number;
  /** Largest reservation made from the segments seen (a larger single range gets its own size). */
  readonly maxReserveBytes?: number;
  /** Live blocks (of every writer) past which ranges are plain buffers. */
  readonly maxLiveBlocks?: number;
}

/** Blocks not yet collected, over every writer: each holds kernel mappings. */
let liveBlocks = 0;
const blockCollected = new FinalizationRegistry<undefined>(() => {
  liveBlocks--;
});

/** Whether this runtime has resizable ArrayBuffers. */
export const GROWABLE_BLOCKS = typeof (ArrayBuffer.prototype as Partial<ResizableArrayBuffer>).resize === 'function';

export class BlockWriter {
  private block: ResizableArrayBuffer | undefined;
  /** Bytes of `block` handed out. */
  private used = 0;
  /** Reservation of the next block: twice the last segment, so the next one almost always fits. */
  private reserveBytes: number;
  private readonly minReserveBytes: number;
  private readonly maxReserveBytes: number;
  private readonly maxLiveBlocks: number;
  /** Blocks this writer made (for tests and metrics). */
  blocks = 0;

  constructor(options: BlockWriterOptions = {}) {
    this.minReserveBytes = options.minReserveBytes ?? 256 * 1024;
    this.maxReserveBytes = options.maxReserveBytes ?? 64 * 1024 * 1024;
    this.maxLiveBlocks = options.maxLiveBlocks ?? 12_000;
    this.reserveBytes = this.minReserveBytes;
  }

  /** The next range starts a new block: a segment begins. */
  startBlock(): void {
    this.block = undefined;
  }

  /** `bytes` fresh bytes (zeroed), right after the previous range of the block when it has room. */
  allocate(bytes: number): Uint8Array {
    let block = this.block;
    if (!block || this.used + bytes > block.maxByteLength) {
      block = this.block = this.newBlock(bytes);
      if (!block) return new Uint8Array(bytes);
      this.used = 0;
    }
    const at = this.used;
    const end = at + bytes;
    if (end > block.byteLength) {
      try {
        // Committed a step at a time (a resize is a system call); pages not yet written to
        // cost no RSS.
        block.resize(Math.min(block.maxByteLength, Math.ceil(end / GROW_STEP) * GROW_STEP));
      } catch {
        // The kernel refused the pages (an address-space limit): a plain buffer, as before blocks.
        this.block = undefined;
        return new Uint8Array(bytes);
      }
    }
    this.used = end;
    return new Uint8Array(block, at, bytes);
  }

  /** A block (segment) of `bytes` was completed: the next reservations are sized from it. */
  noteBlock(bytes: number): void {
    const wanted = Math.ceil((2 * bytes) / RESERVE_ALIGN) * RESERVE_ALIGN;
    this.reserveBytes = Math.min(this.maxReserveBytes, Math.max(this.minReserveBytes, wanted));
  }

  private newBlock(first: number): ResizableArrayBuffer | undefined {
    if (!GROWABLE_BLOCKS || liveBlocks >= this.maxLiveBlocks) return undefined;
    const reserve = Math.max(this.reserveBytes, Math.ceil(first / PAGE) * PAGE);
    let block: ResizableArrayBuffer;
    try {
      block = new (ArrayBuffer as unknown as ResizableArrayBufferConstructor)(0, { maxByteLength: reserve });
    } catch {
      // No address space for the reservation (RLIMIT_AS, vm.max_map_count): plain buffers.
      return undefined;
    }
    liveBlocks++;
    blockCollected.register(block, undefined);
    this.blocks++;
    return block;
  }
}

/** Blocks of every writer not yet collected. */
export function liveBlockCount(): number {
  return liveBlocks;
}

/**
 * `ranges` with neighbours that touch in the same memory joined into one view: a segment's `styp`
 * and parts written one after the other into a block come out as one buffer.
 */
export function joinAdjacent(ranges: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let current: Uint8Array | undefined;
  for (const r of ranges) {
    if (r.byteLength === 0) continue;
    if (current && current.buffer === r.buffer && current.byteOffset + current.byteLength === r.byteOffset) {
      current = new Uint8Array(current.buffer, current.byteOffset, current.byteLength + r.byteLength);
      continue;
    }
    if (current) out.push(current);
    current = r;
  }
  if (current) out.push(current);
  return out;
}
