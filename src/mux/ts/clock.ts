/**
 * The 90 kHz clock of one MPEG-TS program: 33-bit PTS/DTS (ISO/IEC 13818-1 §2.4.3.7) unwrapped
 * into monotonic numbers, shared by every elementary stream so audio and video stay comparable.
 *
 * Unwrapping is per stream (each PID continues from its own previous value, so B-frame reordering
 * and a PID that wraps before the others are fine); a stream's first value is taken nearest to the
 * latest value of any stream, so all streams land on the same timeline.
 *
 * Output values are the unwrapped input ("as they come", first one at its 33-bit value) plus an
 * offset that stays 0 unless the source jumps. A step larger than `maxJump` on a stream is a
 * discontinuity (encoder restart, splice): if another stream already jumped to the same new
 * timeline, this one joins it (same offset, so sync is kept); otherwise a new timeline starts
 * where the output left off (like the RTMP clock, src/flv/clock.ts). Output is never negative.
 */
import { TIMESTAMP_MODULO } from './packet.js';

const HALF_MODULO = TIMESTAMP_MODULO / 2;
/** Timelines remembered for streams that have not jumped yet. */
const MAX_TIMELINES = 8;

export interface TsClockReading {
  /** Unwrapped, re-based 90 kHz ticks (never negative). */
  ticks: number;
  /** Set when this reading started a new timeline: the raw jump (ticks) that was hidden. */
  discontinuity?: number;
}

interface Timeline {
  /** Added to unwrapped values to get output values. */
  offset: number;
  /** Latest unwrapped value read on this timeline (any stream). */
  lastRaw: number;
}

interface StreamClock {
  last33: number;
  lastRaw: number;
  timeline: Timeline;
}

export class TsClock {
  private readonly maxJump: number;
  private readonly streams = new Map<number, StreamClock>();
  private timelines: Timeline[] = [];
  /** Latest unwrapped value of any stream: where a new stream's first value is unwrapped to. */
  private reference: number | undefined;
  /** Highest output so far, where a new timeline continues from. */
  private maxOut = 0;

  /** @param maxJump ticks (90 kHz) a stream may step either way before it counts as a jump. */
  constructor(maxJump: number) {
    this.maxJump = maxJump;
  }

  /** Unwraps a 33-bit timestamp of stream `id` (the PID). */
  read(id: number, ts33: number): TsClockReading {
    const ts = ((ts33 % TIMESTAMP_MODULO) + TIMESTAMP_MODULO) % TIMESTAMP_MODULO;
    const stream = this.streams.get(id);
    let raw: number;
    if (stream) {
      raw = stream.lastRaw + signedStep(ts - stream.last33);
    } else if (this.reference === undefined) {
      raw = ts;
    } else {
      raw = this.reference + signedStep(ts - (this.reference % TIMESTAMP_MODULO));
      if (raw < 0) raw += TIMESTAMP_MODULO;
    }
    const reading: TsClockReading = { ticks: 0 };
    let timeline = stream?.timeline;
    if (!stream || Math.abs(raw - stream.lastRaw) > this.maxJump) {
      // A new stream, or a jump: join a timeline that is near this value, or start one.
      timeline = this.timelines.find((t) => Math.abs(raw - t.lastRaw) <= this.maxJump);
      if (!timeline) {
        const first = this.timelines.length === 0;
        timeline = { offset: first ? 0 : this.maxOut - raw, lastRaw: raw };
        if (!first) reading.discontinuity = stream ? raw - stream.lastRaw : raw - (this.reference ?? raw);
        this.timelines.unshift(timeline);
        if (this.timelines.length > MAX_TIMELINES) this.timelines.length = MAX_TIMELINES;
      }
    }
    if (stream) {
      stream.last33 = ts;
      stream.lastRaw = raw;
      stream.timeline = timeline!;
    } else {
      this.streams.set(id, { last33: ts, lastRaw: raw, timeline: timeline! });
    }
    timeline!.lastRaw = raw;
    this.reference = raw;
    const out = Math.max(0, raw + timeline!.offset);
    if (out > this.maxOut) this.maxOut = out;
    reading.ticks = out;
    return reading;
  }

  /** Forgets a stream (its PID left the program): its next value is read as a new stream's. */
  forget(id: number): void {
    this.streams.delete(id);
  }
}

/** A 33-bit difference as the step of smallest magnitude (wrap either way). */
function signedStep(diff: number): number {
  let d = diff % TIMESTAMP_MODULO;
  if (d > HALF_MODULO) d -= TIMESTAMP_MODULO;
  else if (d <= -HALF_MODULO) d += TIMESTAMP_MODULO;
  return d;
}
