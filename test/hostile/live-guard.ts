/**
 * The invariant every hostile test checks: while the attack runs, the live stream keeps being
 * served with no gap. The source rendition's TrackOutput must keep producing segments whose
 * sequence numbers are consecutive and whose media times tile (each starts where the previous
 * ended, no discontinuity), and the media playlist must answer 200 naming the newest segment.
 */
import { expect } from 'vitest';
import type { SegmentInfo, TrackOutput } from '../../src/packager/track-output.js';
import { segmentFileName } from '../../src/packager/track-output.js';
import { untilUpdate } from '../helpers/events.js';
import { settlesWithin } from './raw-rtmp.js';

export interface MemorySample {
  readonly rssMb: number;
  readonly arrayBuffersMb: number;
}

export function memorySample(): MemorySample {
  const m = process.memoryUsage();
  return { rssMb: m.rss / 2 ** 20, arrayBuffersMb: m.arrayBuffers / 2 ** 20 };
}

export class LiveGuard {
  /** Every segment the source track completed since the guard was attached, in order. */
  readonly segments: SegmentInfo[] = [];
  private readonly track: TrackOutput;
  private readonly playlistUrl: string;

  constructor(track: TrackOutput, playlistUrl: string) {
    this.track = track;
    this.playlistUrl = playlistUrl;
    track.on('update', this.record);
    this.record();
  }

  detach(): void {
    this.track.off('update', this.record);
  }

  get lastSequence(): number {
    return this.segments.at(-1)?.sequence ?? -1;
  }

  private readonly record = (): void => {
    for (const s of this.track.segments) if (s.sequence > this.lastSequence) this.segments.push(s);
  };

  /** Waits (bounded) until `count` more segments than `after` completed. */
  async waitForSegments(after: number, count: number, boundMs = 20_000): Promise<void> {
    const ok = await settlesWithin(untilUpdate(this.track, () => this.lastSequence >= after + count), boundMs);
    expect(ok, `no new segment within ${boundMs} ms after sequence ${after}: the live stream stalled`).toBe(true);
  }

  async expectPlaylistServes(): Promise<void> {
    const res = await fetch(this.playlistUrl);
    const text = await res.text();
    expect(res.status).toBe(200);
    const last = this.track.lastSegment;
    if (last) expect(text).toContain(segmentFileName(this.track.session, last.sequence));
  }

  /** Consecutive sequence numbers, each segment starting where the previous one ended. */
  expectNoGap(): void {
    for (let i = 1; i < this.segments.length; i++) {
      const prev = this.segments[i - 1]!;
      const cur = this.segments[i]!;
      expect(cur.sequence, `sequence after ${prev.sequence}`).toBe(prev.sequence + 1);
      expect(cur.discontinuity, `segment ${cur.sequence} is marked discontinuous`).toBe(false);
      expect(cur.startTime, `segment ${cur.sequence} does not start where ${prev.sequence} ended`).toBe(prev.startTime + prev.durationTicks);
    }
  }

  /**
   * Runs `attack` and proves the stream was live before and after it: playlist 200 on both
   * sides, two new segments after the attack, no gap anywhere. Logs and bounds RSS growth.
   */
  async across<T>(label: string, rssBoundMb: number, attack: () => Promise<T>): Promise<T> {
    await this.expectPlaylistServes();
    const before = this.lastSequence;
    const m0 = memorySample();
    const result = await attack();
    const m1 = memorySample();
    await this.waitForSegments(this.lastSequence, 2);
    await this.expectPlaylistServes();
    this.expectNoGap();
    const m2 = memorySample();
    console.log(
      `[hostile] ${label}: RSS ${m0.rssMb.toFixed(0)} -> ${m1.rssMb.toFixed(0)} MB (after recovery ${m2.rssMb.toFixed(0)} MB, bound +${rssBoundMb} MB); ` +
        `arrayBuffers ${m0.arrayBuffersMb.toFixed(0)} -> ${m1.arrayBuffersMb.toFixed(0)} MB; segments ${before} -> ${this.lastSequence}`,
    );
    expect(m1.rssMb - m0.rssMb, `${label}: RSS grew more than ${rssBoundMb} MB`).toBeLessThan(rssBoundMb);
    expect(this.lastSequence).toBeGreaterThanOrEqual(before + 2);
    return result;
  }
}
