/**
 * Availability delay of parts and segments: seconds from the arrival of the frame that closes a
 * part/segment to the moment the packager announces it. The closing frame is the first frame of
 * the next part (a part is cut when a frame past its boundary arrives; a segment when the next
 * segment's first keyframe arrives), and its arrival is that part's `wallclock`. So each delay
 * is known one part later: announced-at of part N minus wallclock of part N+1.
 *
 *   frame F arrives ──▶ part N closed, 'part' event (t_N)     part N+1 = [F ...] 'part' event
 *        wallclock(F)                                          ▶ delay(N) = t_N - wallclock(F)
 */
export class AvailabilityTracker {
  private partAnnouncedAt: number | undefined;
  private segmentAnnouncedAt: number | undefined;
  private segmentSequence: number | undefined;

  /**
   * A part was announced at `now`. Returns the delays this part's first frame settles: the
   * previous part's, and the previous segment's when this part opens the next segment.
   */
  onPart(part: { readonly segment: number; readonly index: number; readonly wallclock: number }, now: number): { part?: number; segment?: number } {
    const out: { part?: number; segment?: number } = {};
    if (this.partAnnouncedAt !== undefined) out.part = Math.max(0, (this.partAnnouncedAt - part.wallclock) / 1000);
    if (part.index === 0 && this.segmentAnnouncedAt !== undefined && this.segmentSequence === part.segment - 1) {
      out.segment = Math.max(0, (this.segmentAnnouncedAt - part.wallclock) / 1000);
    }
    if (part.index === 0) this.segmentAnnouncedAt = undefined;
    this.partAnnouncedAt = now;
    return out;
  }

  onSegment(segment: { readonly sequence: number }, now: number): void {
    this.segmentAnnouncedAt = now;
    this.segmentSequence = segment.sequence;
  }

  /** A configuration change or the end: the next part does not close the previous one. */
  reset(): void {
    this.partAnnouncedAt = undefined;
    this.segmentAnnouncedAt = undefined;
    this.segmentSequence = undefined;
  }
}
