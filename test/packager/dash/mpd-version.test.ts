/**
 * StreamOutput.mpdVersion: an MPD is rendered again only when it may differ. Checked against the
 * renderer itself: part by part through segments that run short, on time and late (past the
 * target, where the predicted S@d of the segment in progress grows), whenever mpdVersion stays the
 * same a fresh render gives the same text; and between segments it stays the same for most parts.
 */
import { describe, expect, it } from 'vitest';
import { buildMpd } from '../../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../../src/packager/dash/serialize.js';
import { AUDIO_STEREO, fabricateOutput, feedInit, makePart, PACKAGER, segmentOf, T0, VIDEO_720P } from './fabricate.js';
import type { CmafPart } from '../../../src/mux/fmp4/cmaf.js';

const COUNTS = [12, 20, 27, 20, 33, 20];

describe('StreamOutput.mpdVersion', () => {
  it('changes whenever the rendered MPD would, and not with every part', () => {
    const { output } = fabricateOutput();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    feedInit(output.audio, AUDIO_STEREO);
    // The defaults: 2 s segments, 0.1 s parts.
    const { playlistWindow } = PACKAGER;
    const segmentDuration = 2;
    const partDuration = 0.1;
    const render = (): string =>
      serializeMpd(buildMpd(output, { segmentDuration, partDuration, window: playlistWindow, utcTimingUrl: '/api/time', lowLatency: true, now: T0 + 60_000 }));
    const version = (): string => output.mpdVersion(segmentDuration, partDuration);

    let lastVersion = version();
    let lastText = render();
    let steps = 0;
    let unchanged = 0;
    const check = (): void => {
      steps++;
      const v = version();
      const text = render();
      if (v === lastVersion) {
        unchanged++;
        expect(text, `step ${steps}: same mpdVersion, different MPD`).toBe(lastText);
      }
      lastVersion = v;
      lastText = text;
    };

    // Segments of 12, 20 (on target), 27 and 33 parts of 0.1 s.
    const timescale = 90_000;
    const partTicks = 9_000;
    let start = 0;
    let sequence = 0;
    for (const count of COUNTS) {
      const parts: CmafPart[] = [];
      for (let i = 0; i < count; i++) {
        const part = makePart(video, sequence, i, start + i * partTicks, partTicks, timescale);
        parts.push(part);
        video.onPart(part);
        check();
      }
      video.onSegment(segmentOf(parts, { sequence, startTime: start, duration: count * partTicks, timescale }));
      check();
      start += count * partTicks;
      sequence++;
    }
    expect(steps).toBe(COUNTS.reduce((a, b) => a + b, 0) + COUNTS.length);
    // Most parts change nothing an MPD shows: the first of a segment and the late ones do.
    expect(unchanged).toBeGreaterThan(steps / 2);
  });
});
