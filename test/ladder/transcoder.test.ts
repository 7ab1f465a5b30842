import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame, VideoTrack } from '../../src/core/media.js';
import { LiveStream } from '../../src/core/stream.js';
import { selectLadder, type TranscodedRendition } from '../../src/ladder/ladder.js';
import { Transcoder, type TranscoderStatus } from '../../src/ladder/transcoder.js';
import { fixture } from '../helpers/fixtures.js';
import { readFlvSource, until } from './flv-source.js';
import { loadHevcFixture } from '../mux/fmp4/media-fixture.js';

const RUNGS = selectLadder({ width: 1280, height: 720, fps: 30, bitrate: 2_500_000, hasVideo: true }).filter(
  (r): r is TranscodedRendition => r.kind === 'transcode',
);

function collect(t: Transcoder): { tracks: Map<string, VideoTrack>; frames: Map<string, Frame[]>; statuses: TranscoderStatus[] } {
  const tracks = new Map<string, VideoTrack>();
  const frames = new Map<string, Frame[]>();
  const statuses: TranscoderStatus[] = [];
  t.on('rungTrack', (name, track) => tracks.set(name, track));
  t.on('rungFrame', (name, frame) => {
    let list = frames.get(name);
    if (!list) frames.set(name, (list = []));
    list.push(frame);
  });
  t.on('status', (s) => statuses.push(s));
  return { tracks, frames, statuses };
}

function alive(pid: number): boolean {
  // After 'close' Node has reaped the child: no /proc entry, not even a zombie.
  return existsSync(`/proc/${pid}`);
}

describe('Transcoder (real ffmpeg)', () => {
  it('makes every rung with keyframes exactly at the source keyframes, same frame count, no orphan', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const stream = new LiveStream('live', 'ladder');
    const t = new Transcoder(RUNGS, { maxLagMs: 120_000, drainTimeoutMs: 100_000, preset: 'ultrafast', label: stream.path });
    const got = collect(t);
    const pids: number[] = [];
    t.on('spawn', (pid) => pids.push(pid));
    stream.subscribe(t);
    // Fed as fast as the file reads: the lag bound is lifted for that.
    for (const ev of src.events) {
      if (ev.type === 'track') stream.pushTrack(ev.track);
      else stream.pushFrame(ev.frame);
    }
    stream.end();
    await t.stop();

    expect(RUNGS.map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['480p 854x480', '360p 640x360', '240p 426x240']);
    const srcKeys = src.videoFrames.filter((f) => f.key).map((f) => f.dts);
    expect(srcKeys.length).toBe(5);
    for (const r of RUNGS) {
      const frames = got.frames.get(r.name) ?? [];
      expect(frames.length, r.name).toBe(src.videoFrames.length);
      expect(frames.map((f) => f.dts)).toEqual(src.videoFrames.map((f) => f.dts));
      expect(frames.filter((f) => f.key).map((f) => f.dts), r.name).toEqual(srcKeys);
      const track = got.tracks.get(r.name)!;
      expect([track.width, track.height]).toEqual([r.width, r.height]);
      expect(track.codecString.startsWith('avc1.')).toBe(true);
      // VBV cap: bytes over the whole run stay under maxrate (+ one buffer of slack).
      const bits = frames.reduce((n, f) => n + f.data.byteLength * 8, 0);
      const seconds = src.videoFrames.length / 30;
      expect(bits).toBeLessThan(r.maxBitrate * seconds + r.maxBitrate * 2);
    }
    expect(got.tracks.get('240p')!.codecString.slice(5, 7)).toBe('42'); // baseline profile_idc 66
    expect(t.status().state).toBe('stopped');
    expect(t.pids()).toEqual([]);
    expect(pids.length).toBe(1);
    expect(pids.every((p) => !alive(p))).toBe(true);
  }, 120_000);

  it('restarts after ffmpeg is killed mid-stream and frames flow again from the next keyframe', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const stream = new LiveStream('live', 'crash');
    const t = new Transcoder(RUNGS.slice(-1), { maxLagMs: 120_000, backoff: { initialMs: 1, maxMs: 1 }, preset: 'ultrafast' });
    const got = collect(t);
    const pids: number[] = [];
    t.on('spawn', (pid) => pids.push(pid));
    stream.subscribe(t);
    const frames = src.events;
    const firstKeyAfter = (ms: number): number => frames.findIndex((e) => e.type === 'frame' && e.frame.kind === 'video' && e.frame.key && e.frame.dts >= ms * 90);
    const feed = (from: number, to: number): void => {
      for (const ev of frames.slice(from, to)) {
        if (ev.type === 'track') stream.pushTrack(ev.track);
        else stream.pushFrame(ev.frame);
      }
    };
    const cut1 = firstKeyAfter(3000);
    feed(0, cut1);
    const out = (): Frame[] => got.frames.get('240p') ?? [];
    await until(t, ['rungFrame'], () => out().length > 0);
    const killed = pids[0]!;
    process.kill(killed, 'SIGKILL');
    await until(t, ['status'], () => t.status().state === 'restarting');
    expect(t.status().lastError).toMatch(/signal SIGKILL/);
    // Back-off is 1 ms; wait for it to arm by watching for the state after a keyframe.
    const before = out().length;
    let i = cut1;
    while (t.pids().length === 0 && i < frames.length) {
      feed(i, i + 1);
      i++;
      if (t.pids().length === 0) await new Promise<void>((r) => setImmediate(r));
    }
    expect(t.status()).toMatchObject({ state: 'running', restarts: 1 });
    feed(i, frames.length);
    stream.end();
    await t.stop();
    const after = out().slice(before);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]!.key).toBe(true);
    const srcKeys = new Set(src.videoFrames.filter((f) => f.key).map((f) => f.dts));
    for (const f of out()) if (f.key) expect(srcKeys.has(f.dts)).toBe(true);
    // dts strictly increasing across the restart
    for (let k = 1; k < out().length; k++) expect(out()[k]!.dts).toBeGreaterThan(out()[k - 1]!.dts);
    expect(pids.length).toBe(2);
    expect(pids.every((p) => !alive(p))).toBe(true);
  }, 120_000);

  it('HEVC (fed as fMP4, one moov): a new configuration mid-stream hands over to a new run from its keyframe, without counting a restart', async () => {
    // An encoder that changes its resolution: 1 s at 320x240, then 1 s at 256x144.
    const a = loadHevcFixture();
    const b = loadHevcFixture(256, 144);
    const stream = new LiveStream('live', 'switch');
    const t = new Transcoder(RUNGS.slice(-1), { maxLagMs: 120_000, drainTimeoutMs: 100_000, preset: 'ultrafast' });
    const got = collect(t);
    const pids: number[] = [];
    t.on('spawn', (pid) => pids.push(pid));
    stream.subscribe(t);
    const feed = (fixture: typeof a, offset: number): void => {
      stream.pushTrack(fixture.track);
      for (const s of fixture.samples) stream.pushFrame({ kind: 'video', dts: s.dts + offset, pts: s.pts + offset, key: s.key, data: s.data, wallclock: Date.now() });
    };
    const second = 90_000 + 7_200; // past the first part's last presentation time
    feed(a, 0);
    feed(b, second);
    stream.end();
    await t.stop();

    expect(pids.length).toBe(2);
    expect(t.status()).toMatchObject({ state: 'stopped', restarts: 0 });
    const out = got.frames.get('240p') ?? [];
    const keys = out.filter((f) => f.key).map((f) => f.dts);
    // Each part's first (key) frame starts a run's output, on the source's decode instant.
    expect(keys).toEqual([a.samples[0]!.dts, b.samples[0]!.dts + second]);
    // Every frame of both parts came out: the new run's output waited for the old run's flush.
    expect(out.filter((f) => f.dts >= second).length).toBe(b.samples.length);
    expect(out.filter((f) => f.dts < second).length).toBe(a.samples.length);
    for (let k = 1; k < out.length; k++) expect(out[k]!.dts).toBeGreaterThan(out[k - 1]!.dts);
    expect(t.pids()).toEqual([]);
    expect(pids.every((p) => !alive(p))).toBe(true);
  }, 120_000);

  it('kills an ffmpeg that falls behind by more than maxLagMs and backs off', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const stream = new LiveStream('live', 'slow');
    // Fed a whole file at once with a 1 ms bound: certainly "behind".
    const t = new Transcoder(RUNGS, { maxLagMs: 1 });
    const pids: number[] = [];
    t.on('spawn', (pid) => pids.push(pid));
    stream.subscribe(t);
    for (const ev of src.events) {
      if (ev.type === 'track') stream.pushTrack(ev.track);
      else stream.pushFrame(ev.frame);
    }
    await until(t, ['status'], () => t.status().state === 'restarting');
    expect(t.status().lastError).toMatch(/more than 1 ms behind its input/);
    expect(t.stderrTail()).toBeInstanceOf(Array);
    await t.stop();
    expect(t.status().state).toBe('stopped');
    expect(pids.length).toBe(1);
    expect(alive(pids[0]!)).toBe(false);
  }, 60_000);

  it('reports failed when ffmpeg is missing, disabled with no rungs', () => {
    expect(new Transcoder(RUNGS, { ffmpegPath: null }).status()).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/ffmpeg not found/) });
    expect(new Transcoder([], {}).status().state).toBe('disabled');
  });

  it('a binary that cannot start is failed, not retried', async () => {
    const stream = new LiveStream('live', 'nobin');
    const t = new Transcoder(RUNGS.slice(-1), { ffmpegPath: '/nonexistent/ffmpeg' });
    stream.subscribe(t);
    const src = readFlvSource(await fixture('av360p-short'));
    for (const ev of src.events.slice(0, 20)) {
      if (ev.type === 'track') stream.pushTrack(ev.track);
      else stream.pushFrame(ev.frame);
    }
    await until(t, ['status'], () => t.status().state === 'failed');
    expect(t.status().lastError).toMatch(/cannot start ffmpeg/);
    await t.stop();
    expect(t.status().state).toBe('failed');
  });
});
