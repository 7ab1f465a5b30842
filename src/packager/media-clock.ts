/**
 * Maps media time to wall-clock time for one stream: EXT-X-PROGRAM-DATE-TIME, the MPD's
 * availabilityStartTime and latency read-outs all derive from this one anchor, so they agree.
 */
export class MediaClock {
  private anchorWallclock: number | undefined;
  private anchorSeconds = 0;

  /** The first frame that reaches a packager anchors the clock. */
  anchor(ticks: number, timescale: number, wallclock: number): void {
    if (this.anchorWallclock !== undefined) return;
    this.anchorWallclock = wallclock;
    this.anchorSeconds = ticks / timescale;
  }

  get anchored(): boolean {
    return this.anchorWallclock !== undefined;
  }

  /** Wall clock (ms since epoch) of a media instant. */
  wallclockAt(ticks: number, timescale: number): number {
    return (this.anchorWallclock ?? Date.now()) + (ticks / timescale - this.anchorSeconds) * 1000;
  }

  /** Wall clock of media time zero (DASH availabilityStartTime). */
  get epochMs(): number {
    return (this.anchorWallclock ?? Date.now()) - this.anchorSeconds * 1000;
  }
}
