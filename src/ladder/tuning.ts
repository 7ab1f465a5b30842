/**
 * The ladder keeps real time on the machine it runs on: the transcoder measures how fast its
 * ffmpeg turns input into every rung (encode speed, ×realtime) and how long a fed frame waits for
 * all of them (lag). When a run falls behind, it is replaced at the next source keyframe by one
 * that does less work: first a faster x264 preset (the renditions stay the same), and only at
 * `ultrafast` the costliest rung is dropped. Pure: measurements in, plans out.
 */
import type { TranscodedRendition } from './ladder.js';

/** x264 presets, slowest first (x264 --fullhelp). */
export const X264_PRESETS = ['placebo', 'veryslow', 'slower', 'slow', 'medium', 'fast', 'faster', 'veryfast', 'superfast', 'ultrafast'] as const;

/** Speed gained per preset step towards ultrafast (a rough, deliberately modest figure for x264 at these sizes). */
const SPEEDUP_PER_PRESET_STEP = 1.5;
/** Headroom kept over real time when choosing how far to step. */
const SPEED_HEADROOM = 1.15;
/** A run younger than this is not judged: ffmpeg's start (process, decoder and encoders) takes a moment. */
export const TUNING_SETTLE_MS = 4_000;
/** Lag (wall time the oldest fed frame has waited for every rung) at which a run counts as behind. */
export const TUNING_LAG_MS = 1_500;
/** Window over which encode speed is measured. */
export const SPEED_WINDOW_MS = 4_000;

export interface TuningPlan {
  readonly preset: string;
  readonly rungs: readonly TranscodedRendition[];
}

export interface TuningStep {
  readonly plan: TuningPlan;
  /** Rungs no longer made. */
  readonly dropped: readonly string[];
  /** What changed, for the log and /api/streams. */
  readonly change: string;
}

/** Behind: old enough to judge, the oldest frame waited too long, and the output is not catching up. */
export function fallingBehind(runAgeMs: number, lagMs: number, speed: number | undefined): boolean {
  return runAgeMs >= TUNING_SETTLE_MS && lagMs >= TUNING_LAG_MS && (speed === undefined || speed < 1);
}

/**
 * The next, lighter plan for a run measured at `speed` (undefined: no output at all). Presets
 * first, as many steps as the shortfall needs; at ultrafast, the rung with the most pixels per
 * second goes (never the last one). Undefined when nothing lighter is left.
 */
export function lighterPlan(plan: TuningPlan, speed: number | undefined): TuningStep | undefined {
  const at = X264_PRESETS.indexOf(plan.preset as (typeof X264_PRESETS)[number]);
  const fastest = X264_PRESETS.length - 1;
  if (at >= 0 && at < fastest) {
    const needed = speed !== undefined && speed > 0 ? SPEED_HEADROOM / speed : Infinity;
    let steps = 1;
    while (at + steps < fastest && SPEEDUP_PER_PRESET_STEP ** steps < needed) steps++;
    const preset = X264_PRESETS[at + steps]!;
    return { plan: { preset, rungs: plan.rungs }, dropped: [], change: `preset ${plan.preset} -> ${preset}` };
  }
  if (plan.rungs.length <= 1) return undefined;
  let costliest = plan.rungs[0]!;
  for (const r of plan.rungs) if (pixelRate(r) > pixelRate(costliest)) costliest = r;
  const rungs = plan.rungs.filter((r) => r !== costliest);
  return { plan: { preset: plan.preset, rungs }, dropped: [costliest.name], change: `dropped ${costliest.name} (${costliest.width}x${costliest.height}@${costliest.fps ?? 30})` };
}

function pixelRate(r: TranscodedRendition): number {
  return r.width * r.height * (r.fps ?? 30);
}

/**
 * Encode speed (×realtime) from samples of (wall ms, output media ms): media time produced over
 * wall time elapsed, across the samples in the last `windowMs`. Undefined with fewer than two.
 */
export class SpeedMeter {
  private readonly samples: { at: number; media: number }[] = [];

  constructor(private readonly windowMs = SPEED_WINDOW_MS) {}

  /** A sample closer than a sixteenth of the window to the previous one is ignored (called per frame). */
  record(at: number, media: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && at - last.at < this.windowMs / 16) return;
    this.samples.push({ at, media });
    while (this.samples.length > 2 && this.samples[0]!.at < at - this.windowMs) this.samples.shift();
  }

  clear(): void {
    this.samples.length = 0;
  }

  get speed(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < this.windowMs / 4) return undefined;
    return Math.max(0, (last.media - first.media) / (last.at - first.at));
  }
}
