/**
 * One publisher's RTMP clock: 32-bit millisecond timestamps (RTMP §5.3.1.2.1, FLV Timestamp +
 * TimestampExtended) unwrapped into a monotonic-ish extended millisecond clock.
 *
 * Audio and video share one instance so they stay in sync: each message is unwrapped relative to
 * the previous message of either kind, so interleaving across the 2^32 boundary is fine; a
 * publisher whose clock wraps at 2^31 (ffmpeg) is unwrapped as well.
 * A jump larger than `maxJumpMs` either way (publisher restarted its clock, encoder glitch) is
 * treated as a discontinuity: the clock is re-based so output continues where it left off.
 */

const WRAP = 2 ** 32;
const HALF_WRAP = 2 ** 31;

export interface ClockReading {
  /** Extended, re-based milliseconds (never negative). */
  ms: number;
  /** Set when this reading was re-based: the raw jump in ms that was hidden. */
  discontinuityMs?: number;
}

export class RtmpClock {
  private readonly maxJumpMs: number;
  private last32: number | undefined;
  private lastExtended = 0;
  private offset = 0;
  private lastOut = 0;

  constructor(maxJumpMs: number) {
    this.maxJumpMs = maxJumpMs;
  }

  read(timestamp32: number): ClockReading {
    const ts = timestamp32 >>> 0;
    let extended: number;
    if (this.last32 === undefined) {
      extended = ts;
      this.offset = 0;
    } else {
      let diff = ts - this.last32;
      // A step of more than half the range is the counter wrapping (either direction).
      if (diff < -HALF_WRAP) diff += WRAP;
      else if (diff > HALF_WRAP) diff -= WRAP;
      // ffmpeg's FLV muxer (and so its RTMP output) masks timestamps to 31 bits
      // (libavformat/flvenc.c: "timestamps are 32 bits _signed_"): its clock wraps at 2^31.
      else if (Math.abs(diff + HALF_WRAP) <= this.maxJumpMs) diff += HALF_WRAP;
      else if (Math.abs(diff - HALF_WRAP) <= this.maxJumpMs) diff -= HALF_WRAP;
      extended = this.lastExtended + diff;
    }
    const first = this.last32 === undefined;
    this.last32 = ts;
    this.lastExtended = extended;
    let out = extended + this.offset;
    const reading: ClockReading = { ms: 0 };
    if (!first && Math.abs(out - this.lastOut) > this.maxJumpMs) {
      reading.discontinuityMs = out - this.lastOut;
      this.offset = this.lastOut - extended;
      out = this.lastOut;
    }
    this.lastOut = out;
    reading.ms = Math.max(0, out);
    return reading;
  }
}
