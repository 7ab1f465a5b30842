import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { StreamRegistry } from '../../src/core/stream.js';
import { attachIngestCheckers, checkerOf, IngestChecker, type IngestWarning } from '../../src/observe/ingest-checker.js';
import { AUDIO, fabricateAv, VIDEO } from './media.js';

function run(frames: ReturnType<typeof fabricateAv>, segmentDuration = 2): { checker: IngestChecker; raised: IngestWarning[] } {
  const raised: IngestWarning[] = [];
  const checker = new IngestChecker({ segmentDuration, onWarning: (w) => raised.push(w) });
  checker.onTrack(VIDEO, frames[0]!.wallclock);
  checker.onTrack(AUDIO, frames[0]!.wallclock);
  for (const f of frames) checker.onFrame(f);
  return { checker, raised };
}

const codes = (ws: readonly IngestWarning[]): string[] => ws.map((w) => w.code).sort();

describe('IngestChecker', () => {
  it('a clean 2 s GOP without B-frames raises nothing', () => {
    const { checker } = run(fabricateAv({ seconds: 20, gop: 2 }));
    expect(checker.warnings).toEqual([]);
    checker.check(1_000_000 + 20_000, { videocodecid: 7, audiocodecid: 10 });
    expect(checker.warnings).toEqual([]);
  });

  it('a 5 s keyframe interval with B-frames raises keyframe-interval and b-frames', () => {
    const { checker, raised } = run(fabricateAv({ seconds: 16, gop: 5, bframes: true }));
    expect(codes(checker.warnings)).toEqual(['b-frames', 'keyframe-interval']);
    // Once each, however often seen.
    expect(codes(raised)).toEqual(['b-frames', 'keyframe-interval']);
    const kf = checker.warnings.find((w) => w.code === 'keyframe-interval')!;
    expect(kf.message).toMatch(/5\.0 s/);
    expect(kf.obs).toMatch(/Keyframe Interval/);
    expect(checker.warnings.find((w) => w.code === 'b-frames')!.severity).toBe('info');
    const view = checker.view();
    expect(view[0]).toMatchObject({ code: expect.any(String), message: expect.any(String), obs: expect.any(String), since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  it('irregular keyframes (1 s, 2 s, 1 s ...) raise keyframe-irregular', () => {
    const frames = fabricateAv({ seconds: 12, gop: 100 }).map((f) => {
      if (f.kind !== 'video') return f;
      const t = f.dts / 90_000;
      const key = [0, 1, 3, 4, 6, 7, 9, 10].some((k) => Math.abs(t - k) < 1e-6);
      return { ...f, key };
    });
    const { checker } = run(frames);
    expect(codes(checker.warnings)).toEqual(['keyframe-irregular']);
  });

  it('timestamps going back and jumping forward', () => {
    const frames = fabricateAv({ seconds: 6, gop: 2 });
    const video = frames.filter((f) => f.kind === 'video');
    const back = { ...video[50]!, dts: video[10]!.dts, pts: video[10]!.dts, wallclock: video[50]!.wallclock + 1 };
    const jump = { ...video[61]!, dts: video[61]!.dts + 3 * 90_000, pts: video[61]!.dts + 3 * 90_000, wallclock: video[61]!.wallclock + 1 };
    const checker = new IngestChecker({ segmentDuration: 2 });
    checker.onTrack(VIDEO, 0);
    for (const f of [...video.slice(0, 51), back, ...video.slice(51, 61), jump]) checker.onFrame(f);
    expect(codes(checker.warnings)).toEqual(['timestamps-backwards', 'timestamps-jump']);
  });

  it('ingest warnings (clamped timestamps) are mapped too', () => {
    const checker = new IngestChecker({ segmentDuration: 2 });
    checker.onIngestWarning('timestamp-backwards', 'video timestamp went back 40 ms; clamped', 5);
    checker.onIngestWarning('no-sequence-header', 'x', 5);
    expect(codes(checker.warnings)).toEqual(['timestamps-backwards']);
  });

  it('audio drifting 800 ms from video for over 2 s raises av-drift; 300 ms does not', () => {
    expect(codes(run(fabricateAv({ seconds: 8, gop: 2, audioOffset: 0.8 })).checker.warnings)).toEqual(['av-drift']);
    expect(run(fabricateAv({ seconds: 8, gop: 2, audioOffset: 0.3 })).checker.warnings).toEqual([]);
  });

  it('a second at 3x the average bitrate raises bitrate-spike', () => {
    const frames = fabricateAv({ seconds: 12, gop: 2, videoBytes: (i, key) => (i >= 240 && i < 270 ? 16_000 : key ? 8000 : 4000) });
    expect(codes(run(frames).checker.warnings)).toEqual(['bitrate-spike']);
  });

  it('unsupported profile and codecs', () => {
    const checker = new IngestChecker({ segmentDuration: 2 });
    checker.onTrack({ ...VIDEO, codecString: 'avc1.f4001f' }, 0);
    expect(checker.warnings.map((w) => w.code)).toEqual(['unsupported-codec']);
    expect(checker.warnings[0]!.message).toMatch(/profile_idc 244/);
    const mp3 = new IngestChecker({ segmentDuration: 2 });
    mp3.check(0, { videocodecid: 7, audiocodecid: 2 });
    expect(mp3.warnings[0]!.message).toMatch(/Audio codec 2/);
  });

  it('metadata announcing video without a video track raises missing-video-header after 2 s', () => {
    const checker = new IngestChecker({ segmentDuration: 2, startedAt: 0 });
    checker.onTrack(AUDIO, 0);
    checker.check(1500, { videocodecid: 7, audiocodecid: 10 });
    expect(checker.warnings).toEqual([]);
    checker.check(2500, { videocodecid: 7, audiocodecid: 10 });
    expect(codes(checker.warnings)).toEqual(['missing-video-header']);
  });

  it('attachIngestCheckers subscribes to published streams and logs each warning once', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }));
    const streams = new StreamRegistry();
    const detach = attachIngestCheckers(streams, { segmentDuration: 2, logger, checkIntervalMs: 0 });
    const stream = streams.publish('live', 'cam')!;
    stream.pushTrack(VIDEO);
    stream.pushTrack(AUDIO);
    for (const f of fabricateAv({ seconds: 12, gop: 5, bframes: true })) stream.pushFrame(f);
    expect(codes(checkerOf(stream)!.warnings)).toEqual(['b-frames', 'keyframe-interval']);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ stream: 'live/cam', code: expect.any(String), obs: expect.any(String) });
    detach();
  });
});
