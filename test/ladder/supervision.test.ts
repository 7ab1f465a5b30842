import { describe, expect, it } from 'vitest';
import { restartDelayMs } from '../../src/ladder/backoff.js';
import { buildTranscodeArgs, filterGraph, selectExpression } from '../../src/ladder/ffmpeg-args.js';
import type { TranscodedRendition } from '../../src/ladder/ladder.js';
import { LineRing } from '../../src/ladder/line-ring.js';
import { defaultSlotCount, TranscodeSlots } from '../../src/ladder/slots.js';

describe('restartDelayMs', () => {
  it('1 s, 2 s, 4 s ... capped at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100, 5000].map((n) => restartDelayMs(n))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
    expect(restartDelayMs(3, { initialMs: 10, maxMs: 25 })).toBe(25);
  });
});

describe('LineRing', () => {
  it('keeps the last N lines across split writes, clipped', () => {
    const ring = new LineRing(2, 16);
    ring.push('first\nsec');
    ring.push('ond\r\nthird\n');
    ring.push('x'.repeat(40));
    expect(ring.tail()).toEqual(['second', 'third', `${'x'.repeat(16)}...`]);
    expect(ring.last()).toBe(`${'x'.repeat(16)}...`);
    ring.clear();
    expect(ring.tail()).toEqual([]);
  });
});

describe('TranscodeSlots', () => {
  it('caps concurrent transcodes and explains the refusal', () => {
    const slots = new TranscodeSlots(1);
    const a = slots.acquire('live/a');
    expect(a.ok).toBe(true);
    expect(slots.acquire('live/b')).toEqual({ ok: false, reason: 'all 1 transcode slots in use; passthrough only' });
    if (a.ok) {
      a.lease.release();
      a.lease.release();
    }
    expect(slots.inUse).toBe(0);
    expect(slots.acquire('live/b').ok).toBe(true);
    expect(defaultSlotCount(1)).toBe(1);
    expect(defaultSlotCount(8)).toBe(7);
  });
});

describe('ffmpeg arguments', () => {
  const r240: TranscodedRendition = { kind: 'transcode', name: '240p', width: 426, height: 240, fps: 30, decimate: true, maxBitrate: 400_000, profile: 'baseline', level: '3.0' };
  const r720: TranscodedRendition = { kind: 'transcode', name: '720p', width: 1280, height: 720, fps: 60, decimate: false, maxBitrate: 3_000_000, profile: 'high' };

  it('one decode, split, select only where decimating, scale per rung', () => {
    expect(filterGraph([r720, r240], 60)).toBe(
      "[0:v]split=2[s0][s1];[s0]scale=1280:720,setsar=1[v0];[s1]select='isnan(prev_selected_t)+key+gte(t-prev_selected_t,0.025000)',scale=426:240,setsar=1[v1]",
    );
    // Unknown source rate: assume it is at most twice the cap (1/25 - 1/100).
    expect(selectExpression(25, undefined)).toBe("select='isnan(prev_selected_t)+key+gte(t-prev_selected_t,0.030000)'");
  });

  it('pins the alignment and latency flags, one FLV pipe per rung', () => {
    const args = buildTranscodeArgs([r720, r240], { preset: 'ultrafast' });
    const joined = args.join(' ');
    expect(joined).toContain('-f flv -i pipe:0');
    expect(joined).toContain('-copyts -vsync passthrough');
    expect(joined).not.toContain('nobuffer');
    expect(args.filter((a) => a === 'source').length).toBe(2);
    expect(args.filter((a) => a === 'zerolatency').length).toBe(2);
    expect(args.slice(-2)).toEqual(['flv', 'pipe:4']);
    expect(joined).toContain('-profile:v high -pix_fmt yuv420p');
    expect(joined).toContain('-profile:v baseline -level:v 3.0');
    expect(joined).toContain('-maxrate 400000 -bufsize 800000');
    expect(joined).toContain('-flush_packets 1 -f flv pipe:3');
    expect(() => buildTranscodeArgs([r720], { preset: 'fast;rm -rf' })).toThrow(RangeError);
  });
});
