/**
 * The slate encoded once (slate-clip.ts) and played in real time (slate-feed.ts): one GOP of the
 * picture from a real ffmpeg, looped with timestamps going on, and AAC silence every 1024 samples,
 * in timestamp order; a looped GOP is a seamless stream for the ingest (no timestamp warnings).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FlvIngest } from '../../src/flv/ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO } from '../../src/flv/reader.js';
import { parseVideoTagBody } from '../../src/flv/tag.js';
import { encodeSlateClip, type SlateClip } from '../../src/slate/slate-clip.js';
import { encodeSlateClipTs } from '../../src/slate/slate-clip-ts.js';
import type { Track } from '../../src/core/media.js';
import { playSlateClip } from '../../src/slate/slate-feed.js';
import { slateArgs } from '../../src/slate/slate-manager.js';
import { ffmpegPath } from '../helpers/tools.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('slate clip', () => {
  it('is one GOP (keyframe first, fps × segment duration frames) and a silence frame, from a real ffmpeg', async () => {
    const format = { width: 320, height: 180, fps: 25, sampleRate: 44_100, channels: 1 };
    const clip = await encodeSlateClip(ffmpegPath(), slateArgs(format, { segmentDuration: 2 }), format, 50);
    expect(clip.video.length).toBe(50);
    expect(clip.loopMs).toBe(2000);
    expect(clip.video[0]!.ms).toBe(0);
    expect(parseVideoTagBody(clip.video[0]!.payload)).toMatchObject({ kind: 'frame', key: true });
    expect(clip.video.slice(1).every((t) => parseVideoTagBody(t.payload).kind === 'frame' && !(parseVideoTagBody(t.payload) as { key: boolean }).key)).toBe(true);
    expect(clip.sampleRate).toBe(44_100);
    expect(clip.silence?.byteLength).toBeGreaterThan(2);
  }, 60_000);

  it('of an HEVC stream is HEVC (x265 through MPEG-TS into Enhanced RTMP tags), and the ingest reads it as such', async () => {
    const format = { videoCodec: 'hevc' as const, width: 320, height: 180, fps: 25, sampleRate: 48_000, channels: 2 };
    const clip = await encodeSlateClipTs(ffmpegPath(), slateArgs(format, { segmentDuration: 2 }), format, 50);
    expect(clip.video.length).toBe(50);
    expect(clip.loopMs).toBe(2000);
    expect(clip.video.map((t) => t.ms)).toEqual(Array.from({ length: 50 }, (_, i) => i * 40));
    expect(parseVideoTagBody(clip.videoHeader)).toMatchObject({ kind: 'sequence-header', codec: 'hevc' });
    const ingest = new FlvIngest();
    const tracks: Track[] = [];
    const keys: boolean[] = [];
    const warnings: string[] = [];
    const take = (events: ReturnType<FlvIngest['pushVideo']>): void => {
      for (const e of events) {
        if (e.type === 'track') tracks.push(e.track);
        if (e.type === 'frame' && e.frame.kind === 'video') keys.push(e.frame.key);
        if (e.type === 'warning') warnings.push(e.message);
      }
    };
    take(ingest.pushVideo(0, clip.videoHeader, 0));
    take(ingest.pushAudio(0, clip.audioHeader!, 0));
    for (const t of clip.video) take(ingest.pushVideo(t.ms, t.payload, 0));
    take(ingest.pushAudio(0, clip.silence!, 0));
    expect(warnings).toEqual([]);
    expect(tracks.find((t) => t.kind === 'video')).toMatchObject({ codec: 'hevc', width: 320, height: 180 });
    expect(tracks.find((t) => t.kind === 'audio')).toMatchObject({ codec: 'aac', sampleRate: 48_000, channels: 2 });
    expect(keys).toEqual([true, ...new Array<boolean>(49).fill(false)]);
    expect(clip.silenceSamples).toBe(1024);
  }, 60_000);

  it('plays looped, in timestamp order, at once; the ingest takes it without a warning', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    const frame = (key: boolean): Uint8Array => Uint8Array.of((key ? 1 : 2) << 4 | 7, 1, 0, 0, 0, 0, 0, 0, 2, key ? 0x65 : 0x41, 0x88);
    // An AVC sequence header: FrameType 1 | CodecID 7, AVCPacketType 0, CompositionTime 0, avcC.
    const avcc = Buffer.from('0142c01effe100196742c01eda0280bfe5c044000003000400000300f23c58ba8001000468ce3c80', 'hex');
    const header = Uint8Array.of((1 << 4) | 7, 0, 0, 0, 0, ...avcc);
    const clip: SlateClip = {
      videoHeader: header,
      video: [{ ms: 0, payload: frame(true) }, { ms: 40, payload: frame(false) }],
      loopMs: 80,
      audioHeader: Uint8Array.of(0xaf, 0x00, 0x11, 0x90),
      silence: Uint8Array.of(0xaf, 0x01, 0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c),
      sampleRate: 48_000,
    };
    const tags: [number, number][] = [];
    const ingest = new FlvIngest();
    const warnings: string[] = [];
    const feed = playSlateClip(clip, (type, ms, payload) => {
      tags.push([type, ms]);
      const events = type === FLV_TAG_VIDEO ? ingest.pushVideo(ms, payload, 0) : ingest.pushAudio(ms, payload, 0);
      for (const e of events) if (e.type === 'warning') warnings.push(e.message);
    });
    // The sequence headers and the first frames at once, before any timer ran.
    expect(tags.slice(0, 2)).toEqual([[FLV_TAG_VIDEO, 0], [FLV_TAG_AUDIO, 0]]);
    vi.advanceTimersByTime(170);
    feed.close();
    const video = tags.filter(([t]) => t === FLV_TAG_VIDEO).map(([, ms]) => ms);
    expect(video).toEqual([0, 0, 40, 80, 120, 160]);
    const audio = tags.filter(([t]) => t === FLV_TAG_AUDIO).map(([, ms]) => ms);
    expect(audio).toEqual([0, 0, 21, 43, 64, 85, 107, 128, 149]);
    // Timestamp order across both.
    const all = tags.slice(2).map(([, ms]) => ms);
    expect(all).toEqual([...all].sort((a, b) => a - b));
    expect(warnings).toEqual([]);
    // Closed: nothing more.
    const count = tags.length;
    vi.advanceTimersByTime(200);
    expect(tags.length).toBe(count);
  });
});
