/**
 * TS renditions end to end inside the packager: real H.264 + AAC frames pushed into a LiveStream,
 * the CMAF pipeline (StreamOutput) cuts them, TsRenditionOutput muxes TS segments with the same
 * cut points and sequence numbers; the result must decode with ffmpeg and list correctly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SegmentCache } from '../../../src/cache/segment-cache.js';
import { LiveStream } from '../../../src/core/stream.js';
import type { Frame } from '../../../src/core/media.js';
import { StreamOutput } from '../../../src/packager/stream-output.js';
import { TrackOutput } from '../../../src/packager/track-output.js';
import { MediaClock } from '../../../src/packager/media-clock.js';
import { serializeMediaPlaylist, serializeMultivariantPlaylist } from '../../../src/packager/hls/serialize.js';
import { attachTsOutputs, tsOutputOf, tsSegmentFileName, TsRenditionOutput, TS_CONTENT_TYPE } from '../../../src/packager/hls/ts-output.js';
import { buildTsMediaPlaylist, buildTsMultivariantPlaylist } from '../../../src/packager/hls/ts-playlists.js';
import type { CmafPart } from '../../../src/mux/fmp4/cmaf.js';
import { parseM3u8 } from '../../helpers/m3u8.js';
import { decodeErrors, loadAvFixture, probeStreams, probeVideoFrames, splitPackets } from '../../mux/ts/ts-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fx = loadAvFixture();
const CONFIG = { segmentDuration: 1, partDuration: 0.2, playlistWindow: 2 };

/** Frames of the fixture in arrival order (by wall clock), optionally only one kind. */
function arrival(kind?: 'video' | 'audio'): Frame[] {
  const all = [...(kind !== 'audio' ? fx.videoFrames : []), ...(kind !== 'video' ? fx.audioFrames : [])];
  return all.sort((a, b) => a.wallclock - b.wallclock || (a.kind === 'video' ? -1 : 1));
}

function publish(app: string, key: string, kinds: 'av' | 'video' | 'audio') {
  const cache = new SegmentCache(64 * 1024 * 1024);
  const stream = new LiveStream(app, key);
  const output = new StreamOutput(stream, CONFIG, cache);
  const ts = attachTsOutputs(output, { cache });
  if (kinds !== 'audio') stream.pushTrack(fx.video);
  if (kinds !== 'video') stream.pushTrack(fx.audio);
  const frames = arrival(kinds === 'av' ? undefined : kinds);
  return { cache, stream, output, ts, frames };
}

/** Every TS segment ever produced, from the live window or the cache. */
function bytesOf(p: ReturnType<typeof publish>, rendition: string, sequence: number): Uint8Array {
  const r = p.ts.rendition(rendition)!;
  const live = r.segment(sequence);
  if (live) return live;
  const cached = p.cache.get(`${p.output.path}/${rendition}/${tsSegmentFileName(p.output.session, sequence)}`);
  if (!cached) throw new Error(`segment ${sequence} neither live nor cached`);
  expect(cached.contentType).toBe(TS_CONTENT_TYPE);
  return cached.chunks[0]!;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('TsRenditionOutput (audio + video)', () => {
  const p = publish('live', 'av', 'av');
  const src = p.ts.rendition('src')!;
  const cmafSegments: { sequence: number; duration: number }[] = [];
  p.output.videos.get('src')!.on('segment', (s) => cmafSegments.push({ sequence: s.sequence, duration: s.duration / s.timescale }));
  const produced: number[] = [];
  src.on('segment', (s) => produced.push(s.sequence));
  let liveChecked = false;
  for (const f of p.frames) {
    p.stream.pushFrame(f);
    if (!liveChecked && src.segments.length === 3) {
      // While live: the window's bytes are pinned; older ones already went to the cache.
      liveChecked = true;
      expect(src.segment(src.lastSegment!.sequence)).toBeDefined();
    }
  }
  const beforeEnd = { segments: src.segments.map((s) => s.sequence), ended: src.ended };
  p.stream.end();

  it('attaches once per StreamOutput and is found again', () => {
    expect(tsOutputOf(p.output)).toBe(p.ts);
    expect(attachTsOutputs(p.output, { cache: p.cache })).toBe(p.ts);
    expect(p.ts.list().map((r) => r.id)).toEqual(['src']);
  });

  it('muxes TS segments with the CMAF sequence numbers and durations', () => {
    expect(beforeEnd.ended).toBe(false);
    expect(cmafSegments.length).toBe(4);
    expect(produced).toEqual(cmafSegments.map((s) => s.sequence));
    expect(src.ended).toBe(true);
    // window 2 + 2 pinned extra: all 4 listed; media sequence numbers are the CMAF ones
    expect(src.segments.map((s) => [s.sequence, s.mediaSequence, s.duration])).toEqual(cmafSegments.map((s) => [s.sequence, s.sequence, s.duration]));
    expect(liveChecked).toBe(true);
  });

  it('moves the window into the cache at the end (segment() is empty, the cache serves)', () => {
    for (const s of src.segments) {
      expect(src.segment(s.sequence)).toBeUndefined();
      expect(bytesOf(p, 'src', s.sequence).length).toBe(s.byteLength);
    }
  });

  it('segments concatenated decode silently as h264 + aac with every frame', () => {
    const whole = concat(src.segments.map((s) => bytesOf(p, 'src', s.sequence)));
    const file = join(dir, 'av.ts');
    writeFileSync(file, whole);
    expect(decodeErrors(file)).toBe('');
    const { streams } = probeStreams(file);
    expect(streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
    const v = streams.find((s) => s.codec_name === 'h264')!;
    expect(Number(v.nb_read_packets)).toBe(fx.videoFrames.length);
    // The listed durations add up to where the longer track ends (the tracks end together: the
    // fixture's audio runs 91 ms past its video).
    const total = src.segments.reduce((n, s) => n + s.duration, 0);
    const ends = (frames: readonly { dts: number }[], timescale: number, last: number): number => (frames[frames.length - 1]!.dts + last) / timescale;
    const start = fx.videoFrames[0]!.dts / fx.video.timescale;
    const videoEnd = ends(fx.videoFrames, fx.video.timescale, fx.videoFrames[1]!.dts - fx.videoFrames[0]!.dts);
    expect(total).toBeCloseTo(Math.max(videoEnd, ends(fx.audioFrames, fx.audio.timescale, 1024)) - start, 2);
    expect(Number(v.duration)).toBeCloseTo(videoEnd - start, 1);
    // continuity counters carry across segment boundaries
    const last = new Map<number, number>();
    for (const pkt of splitPackets(whole)) {
      const prev = last.get(pkt.pid);
      if (prev !== undefined) expect(pkt.cc).toBe((prev + 1) & 15);
      last.set(pkt.pid, pkt.cc);
    }
  });

  it('each segment starts with a keyframe', () => {
    for (const s of src.segments) {
      const file = join(dir, `av-${s.sequence}.ts`);
      writeFileSync(file, bytesOf(p, 'src', s.sequence));
      const frames = probeVideoFrames(file);
      expect(frames.reduce((a, b) => (b.time < a.time ? b : a)).key).toBe(true);
    }
  });

  it('media playlist: version 3, EXTINF = video durations, PROGRAM-DATE-TIME, ENDLIST, no LL tags', () => {
    const text = serializeMediaPlaylist(buildTsMediaPlaylist(src, { window: CONFIG.playlistWindow, segmentDuration: CONFIG.segmentDuration }));
    const m = parseM3u8(text);
    expect(m.version).toBe(3);
    expect(m.endList).toBe(true);
    expect(m.mediaSequence).toBe(2);
    expect(m.segments.map((s) => s.uri)).toEqual([2, 3].map((n) => `ts-${p.output.session}-${n}.ts`));
    expect(m.segments.map((s) => s.duration)).toEqual(cmafSegments.slice(2).map((s) => Math.round(s.duration * 1000) / 1000));
    expect(m.segments.every((s) => s.dateTimeString !== undefined)).toBe(true);
    expect(text).not.toMatch(/EXT-X-(PART|MAP|SERVER-CONTROL|PRELOAD-HINT)/);
    // PROGRAM-DATE-TIME agrees with the CMAF playlist's
    const cmafInfo = p.output.videos.get('src')!.segments.find((s) => s.sequence === 2)!;
    expect(Date.parse(m.segments[0]!.dateTimeString!)).toBe(Math.round(cmafInfo.programDateTime));
  });

  it('multivariant: one muxed variant with both codecs, resolution, frame rate, measured bandwidth', () => {
    const text = serializeMultivariantPlaylist(buildTsMultivariantPlaylist(p.output, p.ts));
    const m = parseM3u8(text);
    expect(m.playlists!.length).toBe(1);
    const v = m.playlists![0]!;
    expect(v.uri).toBe('src/ts.m3u8');
    expect(v.attributes.CODECS).toBe(`${fx.video.codecString},${fx.audio.codecString}`);
    expect(v.attributes.RESOLUTION).toEqual({ width: 320, height: 240 });
    expect(v.attributes['FRAME-RATE']).toBe(25);
    expect(v.attributes.AUDIO).toBeUndefined();
    expect(v.attributes.BANDWIDTH).toBe(Math.round(src.peakBitrate));
    expect(src.peakBitrate).toBeGreaterThan(src.averageBitrate * 0.99);
    expect(m.version).toBe(3);
  });
});

describe('TsRenditionOutput, single-track streams', () => {
  it('audio only: the source rendition carries AAC alone and lists it', () => {
    const p = publish('live', 'audio', 'audio');
    for (const f of p.frames) p.stream.pushFrame(f);
    p.stream.end();
    const src = p.ts.rendition('src')!;
    expect(src.segments.length).toBeGreaterThanOrEqual(3);
    expect(src.segments.map((s) => s.sequence)).toEqual(p.output.audio.segments.map((s) => s.sequence));
    // 4.03 s of audio in 1 s segments: 5 segments, the first already out of the listing
    const all = Array.from({ length: src.lastSegment!.sequence + 1 }, (_, n) => bytesOf(p, 'src', n));
    const file = join(dir, 'audio.ts');
    writeFileSync(file, concat(all));
    expect(decodeErrors(file)).toBe('');
    const { streams } = probeStreams(file);
    expect(streams.map((s) => s.codec_name)).toEqual(['aac']);
    expect(Number(streams[0]!.nb_read_packets)).toBe(fx.audioFrames.length);
    const m = parseM3u8(serializeMultivariantPlaylist(buildTsMultivariantPlaylist(p.output, p.ts)));
    expect(m.playlists!.map((v) => [v.uri, v.attributes.CODECS])).toEqual([['src/ts.m3u8', fx.audio.codecString]]);
  });

  it('video only: decodes, CODECS names video alone', () => {
    const p = publish('live', 'video', 'video');
    for (const f of p.frames) p.stream.pushFrame(f);
    p.stream.end();
    const src = p.ts.rendition('src')!;
    expect(src.segments.length).toBe(4);
    const file = join(dir, 'video.ts');
    writeFileSync(file, concat(src.segments.map((s) => bytesOf(p, 'src', s.sequence))));
    expect(decodeErrors(file)).toBe('');
    expect(probeStreams(file).streams.map((s) => s.codec_name)).toEqual(['h264']);
    const m = parseM3u8(serializeMultivariantPlaylist(buildTsMultivariantPlaylist(p.output, p.ts)));
    expect(m.playlists![0]!.attributes.CODECS).toBe(fx.video.codecString);
  });

  it('attached mid-stream: starts at the next whole segment, with a keyframe', () => {
    const cache = new SegmentCache(64 * 1024 * 1024);
    const stream = new LiveStream('live', 'late');
    const output = new StreamOutput(stream, CONFIG, cache);
    stream.pushTrack(fx.video);
    stream.pushTrack(fx.audio);
    const frames = arrival();
    const cutAt = frames.findIndex((f) => f.kind === 'video' && f.dts >= 1.5 * 90000);
    for (const f of frames.slice(0, cutAt)) stream.pushFrame(f);
    const ts = attachTsOutputs(output, { cache });
    for (const f of frames.slice(cutAt)) stream.pushFrame(f);
    stream.end();
    const src = ts.rendition('src')!;
    expect(src.segments.map((s) => s.sequence)).toEqual([2, 3]);
    expect(src.segments.map((s) => s.mediaSequence)).toEqual([2, 3]);
    const file = join(dir, 'late.ts');
    const first = cache.get(`live/late/src/${tsSegmentFileName(output.session, 2)}`)!.chunks[0]!;
    writeFileSync(file, first);
    expect(decodeErrors(file)).toBe('');
    expect(probeVideoFrames(file).reduce((a, b) => (b.time < a.time ? b : a)).key).toBe(true);
  });
});

describe('TsRenditionOutput pairing rules (driven through TrackOutputs)', () => {
  function rig(window = 3, extraSegments?: number) {
    const cache = new SegmentCache(1 << 24);
    const clock = new MediaClock();
    const mk = (id: string, kind: 'video' | 'audio'): TrackOutput => new TrackOutput(id, kind, { window: 3, cache, cacheKey: `a/b/${id}`, clock, session: 's1' });
    const video = mk('src', 'video');
    const audio = mk('audio', 'audio');
    video.onInit({ kind: 'video', id: 0, track: fx.video, bytes: new Uint8Array(0) });
    audio.onInit({ kind: 'audio', id: 0, track: fx.audio, bytes: new Uint8Array(0) });
    const ts = new TsRenditionOutput('src', video, audio, { window, extraSegments, cache, cacheKey: 'a/b/src', session: 's1' });
    return { video, audio, ts, cache };
  }
  const gops = [0, 1, 2, 3].map((g) => fx.videoFrames.filter((f) => f.dts >= g * 90000 && f.dts < (g + 1) * 90000));
  const audioOf = (g: number): Frame[] => fx.audioFrames.filter((f) => f.dts >= g * 48000 && f.dts < (g + 1) * 48000);

  function part(kind: 'video' | 'audio', segment: number, frames: Frame[]): CmafPart {
    const timescale = kind === 'video' ? 90000 : 48000;
    const last = frames[frames.length - 1]!;
    return {
      kind, segment, index: 0, startTime: frames[0]!.dts, duration: last.dts - frames[0]!.dts + (kind === 'video' ? 3600 : 1024),
      timescale, independent: true, discontinuity: false, initId: 0, bytes: new Uint8Array(10), wallclock: frames[0]!.wallclock, frames,
    };
  }
  function finish(out: TrackOutput, p: CmafPart): void {
    out.onSegment({
      kind: p.kind, sequence: p.segment, startTime: p.startTime, duration: p.duration, timescale: p.timescale, initId: 0,
      discontinuity: false, chunks: [p.bytes], byteLength: p.bytes.length, parts: [p], wallclock: p.wallclock,
    });
  }

  it('waits for audio N after video N, then muxes both', () => {
    const r = rig();
    const v0 = part('video', 0, gops[0]!);
    const a0 = part('audio', 0, audioOf(0));
    r.video.onPart(v0);
    r.audio.onPart(a0);
    finish(r.video, v0);
    expect(r.ts.segments.length).toBe(0);
    finish(r.audio, a0);
    expect(r.ts.segments.map((s) => s.sequence)).toEqual([0]);
    const pids = new Set(splitPackets(r.ts.segment(0)!).map((p) => p.pid));
    expect([...pids].sort()).toEqual([0, 0x100, 0x101, 0x1000]);
  });

  it('gives up on audio N once video N+1 completed (video-only segment N, no stall)', () => {
    const r = rig();
    const v0 = part('video', 0, gops[0]!);
    const v1 = part('video', 1, gops[1]!);
    r.video.onPart(v0);
    finish(r.video, v0);
    r.video.onPart(v1);
    finish(r.video, v1);
    expect(r.ts.segments.map((s) => s.sequence)).toEqual([0]);
    expect(new Set(splitPackets(r.ts.segment(0)!).map((p) => p.pid)).has(0x101)).toBe(false);
    // audio 0 arriving late is ignored; audio 1 completes segment 1
    const a0 = part('audio', 0, audioOf(0));
    r.audio.onPart(a0);
    finish(r.audio, a0);
    const a1 = part('audio', 1, audioOf(1));
    r.audio.onPart(a1);
    finish(r.audio, a1);
    expect(r.ts.segments.map((s) => s.sequence)).toEqual([0, 1]);
  });

  it('keeps window + extra segments pinned and moves older ones to the cache while live', () => {
    const r = rig(1, 1);
    const parts = [0, 1, 2].map((g) => part('video', g, gops[g]!));
    for (const p of parts) {
      r.video.onPart(p);
      finish(r.video, p);
    }
    r.audio.end(); // audio track without media from here: video alone completes segments
    expect(r.ts.segments.map((s) => s.sequence)).toEqual([1, 2]);
    expect(r.ts.segment(0)).toBeUndefined();
    expect(r.ts.segment(2)).toBeDefined();
    expect(r.cache.get('a/b/src/ts-s1-0.ts')?.contentType).toBe('video/mp2t');
    expect(r.cache.get('a/b/src/ts-s1-2.ts')).toBeUndefined();
    expect(r.ts.ended).toBe(false);
    const m = parseM3u8(serializeMediaPlaylist(buildTsMediaPlaylist(r.ts, { window: 1, segmentDuration: 1 })));
    expect(m.mediaSequence).toBe(2);
    expect(m.endList).toBeFalsy();
  });

  it('a segment the muxer rejects leaves a gap: numbering stays contiguous, the next is a discontinuity', () => {
    const r = rig();
    const bad: Frame[] = gops[1]!.map((f, i) => (i === 0 ? { ...f, data: new Uint8Array([0, 0, 0, 99, 0x65]) } : f));
    const parts = [part('video', 0, gops[0]!), part('video', 1, bad), part('video', 2, gops[2]!)];
    for (const p of parts) {
      r.video.onPart(p);
      finish(r.video, p);
    }
    r.video.end();
    r.audio.end();
    expect(r.ts.muxErrors).toBe(1);
    expect(r.ts.lastError?.stage).toBe('codec.avc');
    expect(r.ts.segments.map((s) => [s.sequence, s.mediaSequence, s.discontinuity])).toEqual([
      [0, 0, false],
      [2, 1, true],
    ]);
    const text = serializeMediaPlaylist(buildTsMediaPlaylist(r.ts, { window: 3, segmentDuration: 1 }));
    expect(text).toContain('#EXT-X-DISCONTINUITY\n');
    expect(parseM3u8(text).segments.map((s) => s.uri)).toEqual(['ts-s1-0.ts', 'ts-s1-2.ts']);
    expect(r.ts.ended).toBe(true);
  });
});
