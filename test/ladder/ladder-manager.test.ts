import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame, Track } from '../../src/core/media.js';
import { LiveStream } from '../../src/core/stream.js';
import { selectLadder } from '../../src/ladder/ladder.js';
import { LadderManager, type RenditionSource } from '../../src/ladder/ladder-manager.js';
import { TranscodeSlots } from '../../src/ladder/slots.js';
import { Transcoder } from '../../src/ladder/transcoder.js';
import { fixture } from '../helpers/fixtures.js';
import { readFlvSource, type FlvSource } from './flv-source.js';

function feed(stream: LiveStream, src: FlvSource, filter: (kind: 'video' | 'audio') => boolean = () => true): void {
  for (const ev of src.events) {
    if (ev.type === 'track') {
      if (filter(ev.track.kind)) stream.pushTrack(ev.track);
    } else if (filter(ev.frame.kind)) stream.pushFrame(ev.frame);
  }
}

/** A manager whose transcoders never spawn: for the decision logic alone. */
function dryManager(slots = new TranscodeSlots(4)): LadderManager {
  return new LadderManager({ slots, createTranscoder: (rungs, opts) => new Transcoder(rungs, { ...opts, ffmpegPath: null }) });
}

describe('LadderManager', () => {
  it('measures the bitrate over the first GOPs and selects from it', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const m = dryManager();
    const stream = new LiveStream('live', 'measured');
    const ladder = m.attach(stream);
    feed(stream, src);
    const info = ladder.info();
    expect(info.phase).toBe('selected');
    expect(info.bitrateFrom).toBe('measured');
    // The fixture is 1500k CBR-ish with a 2 s GOP.
    expect(info.bitrate!).toBeGreaterThan(1_000_000);
    expect(info.bitrate!).toBeLessThan(2_000_000);
    expect(info.renditions).toEqual(selectLadder({ width: 1280, height: 720, fps: 30, bitrate: info.bitrate!, hasVideo: true }));
    expect(info.renditions.length).toBeGreaterThan(1);
    expect(info.transcoder?.state).toBe('failed');
  });

  it('an encoder that sends its own renditions (multitrack) is not transcoded, and the reason says so', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const m = dryManager();
    const stream = new LiveStream('live', 'multi');
    const ladder = m.attach(stream);
    stream.videoRendition('track1');
    feed(stream, src);
    expect(ladder.info()).toMatchObject({ phase: 'selected', reason: 'the encoder sends its own renditions (multitrack): none transcoded' });
    expect(ladder.info().renditions.map((r) => r.name)).toEqual(['src']);
    expect(ladder.info().transcoder).toBeUndefined();
    await m.stopAll();
  });

  it('uses metadata videodatarate (kbit/s) when present', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const m = dryManager();
    const stream = new LiveStream('live', 'meta');
    stream.metadata['videodatarate'] = 4000;
    const ladder = m.attach(stream);
    feed(stream, src);
    expect(ladder.info()).toMatchObject({ bitrate: 4_000_000, bitrateFrom: 'metadata' });
    expect(ladder.info().renditions.map((r) => r.name)).toEqual(['src', '480p', '360p', '240p']);
  });

  it('audio-only, passthrough config and no free slot give passthrough with a reason', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const slots = new TranscodeSlots(0);
    const m = new LadderManager({ slots, config: { apps: { studio: 'passthrough' } } });
    const a = new LiveStream('live', 'radio');
    const la = m.attach(a);
    feed(a, src, (k) => k === 'audio');
    expect(la.info()).toMatchObject({ phase: 'selected', reason: 'audio-only stream', renditions: [{ kind: 'passthrough', name: 'src' }] });

    const b = new LiveStream('studio', 'cam');
    const lb = m.attach(b);
    feed(b, src);
    expect(lb.info().reason).toBe('passthrough by app config');
    expect(lb.info().renditions.length).toBe(1);

    const c = new LiveStream('live', 'busy');
    const lc = m.attach(c);
    feed(c, src);
    expect(lc.info().reason).toBe('all 0 transcode slots in use; passthrough only');
    expect(lc.info().renditions.map((r) => r.name)).toEqual(['src']);
    expect(lc.info().transcoder).toBeUndefined();
    await m.stopAll();
  });

  it('runs a real ladder: rungs packaged via the hook, ended with the source, slot freed, no child left', async () => {
    const src = readFlvSource(await fixture('av720p30'));
    const slots = new TranscodeSlots(1);
    const received = new Map<string, { tracks: Track[]; frames: Frame[]; ended: boolean }>();
    const m = new LadderManager({
      slots,
      transcoder: { preset: 'ultrafast', maxLagMs: 120_000, drainTimeoutMs: 100_000 },
      addVideoRendition: (_stream, id, source: RenditionSource) => {
        const r = { tracks: [] as Track[], frames: [] as Frame[], ended: false };
        received.set(id, r);
        source.subscribe({ onTrack: (t) => r.tracks.push(t), onFrame: (f) => r.frames.push(f), onEnd: () => (r.ended = true) });
      },
    });
    const stream = new LiveStream('live', 'real');
    stream.metadata['videodatarate'] = 1500;
    const ladder = m.attach(stream);
    const pids: number[] = [];
    feed(stream, src);
    const t = ladder.transcoderInstance!;
    pids.push(...t.pids());
    expect(slots.inUse).toBe(1);
    stream.end();
    await ladder.stop();
    expect([...received.keys()]).toEqual(['360p', '240p']);
    const srcKeys = src.videoFrames.filter((f) => f.key).map((f) => f.dts);
    for (const [id, r] of received) {
      expect(r.ended, id).toBe(true);
      expect(r.tracks.length).toBe(1);
      expect(r.frames.length).toBe(src.videoFrames.length);
      expect(r.frames.filter((f) => f.key).map((f) => f.dts)).toEqual(srcKeys);
    }
    expect(slots.inUse).toBe(0);
    expect(m.get('live/real')).toBeUndefined();
    expect(pids.length).toBe(1);
    expect(existsSync(`/proc/${pids[0]}`)).toBe(false);
  }, 120_000);
});
