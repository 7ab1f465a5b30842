/**
 * Bytes per second over a sliding window, in fixed buckets (a ring indexed by bucket number), so
 * adding is O(1) and memory is fixed whatever the frame rate.
 */
export class SlidingByteRate {
  private readonly bucketMs: number;
  private readonly windowMs: number;
  private readonly ids: Float64Array;
  private readonly sums: Float64Array;
  private firstAt: number | undefined;

  constructor(windowMs = 5000, bucketMs = 250) {
    this.bucketMs = bucketMs;
    const n = Math.max(1, Math.ceil(windowMs / bucketMs));
    this.windowMs = n * bucketMs;
    this.ids = new Float64Array(n).fill(-1);
    this.sums = new Float64Array(n);
  }

  add(bytes: number, at: number): void {
    this.firstAt ??= at;
    const id = Math.floor(at / this.bucketMs);
    const slot = id % this.ids.length;
    if (this.ids[slot] !== id) {
      this.ids[slot] = id;
      this.sums[slot] = 0;
    }
    this.sums[slot] += bytes;
  }

  /** Bits per second over the window ending at `now` (over the time since the first byte when shorter). */
  bitsPerSecond(now: number): number {
    if (this.firstAt === undefined) return 0;
    const current = Math.floor(now / this.bucketMs);
    const oldest = current - this.ids.length;
    let bytes = 0;
    for (let i = 0; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      if (id > oldest && id <= current) bytes += this.sums[i]!;
    }
    const spanMs = Math.min(this.windowMs, Math.max(this.bucketMs, now - this.firstAt));
    return (bytes * 8 * 1000) / spanMs;
  }
}
