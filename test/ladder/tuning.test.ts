import { describe, expect, it } from 'vitest';
import type { TranscodedRendition } from '../../src/ladder/ladder.js';
import { fallingBehind, lighterPlan, SpeedMeter, TUNING_LAG_MS, TUNING_SETTLE_MS, X264_PRESETS } from '../../src/ladder/tuning.js';

const rung = (name: string, width: number, height: number, fps: number): TranscodedRendition => ({
  kind: 'transcode',
  name,
  width,
  height,
  fps,
  decimate: false,
  maxBitrate: 1_000_000,
  profile: 'main',
});
const LADDER_1080P60 = [rung('720p', 1280, 720, 60), rung('480p', 854, 480, 30), rung('360p', 640, 360, 30), rung('240p', 426, 240, 30)];

describe('fallingBehind', () => {
  it('judges only a settled run whose oldest frame waited too long while the output does not keep up', () => {
    expect(fallingBehind(TUNING_SETTLE_MS, TUNING_LAG_MS, 0.8)).toBe(true);
    expect(fallingBehind(TUNING_SETTLE_MS - 1, TUNING_LAG_MS * 3, 0.5)).toBe(false);
    expect(fallingBehind(TUNING_SETTLE_MS, TUNING_LAG_MS - 1, 0.5)).toBe(false);
    // A burst of lag while the output runs at (or above) real time is a backlog being worked off.
    expect(fallingBehind(TUNING_SETTLE_MS, TUNING_LAG_MS * 2, 1.05)).toBe(false);
    expect(fallingBehind(TUNING_SETTLE_MS, TUNING_LAG_MS, undefined)).toBe(true);
  });
});

describe('lighterPlan', () => {
  it('goes to a faster preset first, keeping every rung, as far as the shortfall needs', () => {
    const slight = lighterPlan({ preset: 'veryfast', rungs: LADDER_1080P60 }, 0.9);
    expect(slight).toEqual({ plan: { preset: 'superfast', rungs: LADDER_1080P60 }, dropped: [], change: 'preset veryfast -> superfast' });
    // 0.5x needs 2.3x (with headroom): two steps of 1.5x.
    expect(lighterPlan({ preset: 'veryfast', rungs: LADDER_1080P60 }, 0.5)?.plan.preset).toBe('ultrafast');
    expect(lighterPlan({ preset: 'medium', rungs: LADDER_1080P60 }, 0.8)?.plan.preset).toBe('fast');
    expect(lighterPlan({ preset: 'medium', rungs: LADDER_1080P60 }, 0.45)?.plan.preset).toBe('veryfast');
    // No output measured at all: straight to the fastest.
    expect(lighterPlan({ preset: 'medium', rungs: LADDER_1080P60 }, undefined)?.plan.preset).toBe('ultrafast');
  });

  it('at ultrafast drops the rung with the most pixels per second, never the last one', () => {
    let plan = { preset: 'ultrafast', rungs: LADDER_1080P60 };
    const dropped: string[] = [];
    for (;;) {
      const step = lighterPlan(plan, 0.7);
      if (!step) break;
      expect(step.plan.preset).toBe('ultrafast');
      expect(step.plan.rungs.length).toBe(plan.rungs.length - 1);
      dropped.push(...step.dropped);
      plan = { ...step.plan, rungs: [...step.plan.rungs] };
    }
    // 720p60 (55 Mpx/s) before 480p30 (12 Mpx/s) and so on down; 240p stays.
    expect(dropped).toEqual(['720p', '480p', '360p']);
    expect(plan.rungs.map((r) => r.name)).toEqual(['240p']);
  });

  it('every preset it names is one x264 knows, and an unknown preset goes to the rungs directly', () => {
    for (const p of X264_PRESETS.slice(0, -1)) expect(X264_PRESETS).toContain(lighterPlan({ preset: p, rungs: LADDER_1080P60 }, 0.99)!.plan.preset);
    expect(lighterPlan({ preset: 'nonsense', rungs: LADDER_1080P60 }, 0.5)?.dropped).toEqual(['720p']);
  });
});

describe('SpeedMeter', () => {
  it('is media time made over wall time across its window', () => {
    const m = new SpeedMeter(4000);
    expect(m.speed).toBeUndefined();
    m.record(0, 10_000);
    m.record(500, 10_250);
    expect(m.speed).toBeUndefined(); // less than a quarter of the window
    for (let t = 1000; t <= 10_000; t += 500) m.record(t, 10_000 + t / 2);
    expect(m.speed).toBeCloseTo(0.5, 6);
    // The window forgets: at full speed for the last 4 s it reads 1.
    for (let t = 10_500; t <= 15_000; t += 500) m.record(t, 15_000 + (t - 10_000));
    expect(m.speed).toBeCloseTo(1, 1);
    m.clear();
    expect(m.speed).toBeUndefined();
  });
});
