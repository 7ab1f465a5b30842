/**
 * Real ffmpeg output (libx264 with B-frames + AAC in FLV) through FlvReader and FlvIngest.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/core/media.js';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';
import { FlvReader } from '../../src/flv/reader.js';
import { fixture } from '../helpers/fixtures.js';

describe('ffmpeg FLV through FlvReader + FlvIngest', () => {
  it('yields the expected tracks, key frames, B-frame offsets and seamless AAC timing', async () => {
    const bytes = new Uint8Array(readFileSync(await fixture('av720p30-bframes')));
    const reader = new FlvReader();
    const ingest = new FlvIngest();
    const events: IngestEvent[] = [];
    // Odd chunk size so tags straddle pushes.
    for (let off = 0; off < bytes.byteLength; off += 7919) {
      for (const tag of reader.push(bytes.subarray(off, off + 7919))) {
        if (tag.type === 9) events.push(...ingest.pushVideo(tag.timestamp, tag.payload, 0));
        else if (tag.type === 8) events.push(...ingest.pushAudio(tag.timestamp, tag.payload, 0));
      }
    }
    expect(events.filter((e) => e.type === 'warning')).toEqual([]);
    const tracks = events.flatMap((e) => (e.type === 'track' ? [e.track] : []));
    expect(tracks).toHaveLength(2);
    expect(tracks.find((t) => t.kind === 'video')).toMatchObject({ codec: 'avc', width: 1280, height: 720, fps: 30, codecString: 'avc1.64001f' });
    expect(tracks.find((t) => t.kind === 'audio')).toMatchObject({ sampleRate: 48000, channels: 2, codecString: 'mp4a.40.2' });

    const frames = events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    const video = frames.filter((f) => f.kind === 'video');
    const audio = frames.filter((f) => f.kind === 'audio');
    expect(video).toHaveLength(300);
    expect(video.filter((f) => f.key)).toHaveLength(5); // -g 60 over 10 s
    expect(video[0]!.key).toBe(true);
    expect(video.some((f) => f.pts > f.dts)).toBe(true); // B-frames reorder
    const increasing = (fs: Frame[]): boolean => fs.every((f, i) => i === 0 || f.dts > fs[i - 1]!.dts);
    expect(increasing(video)).toBe(true);
    expect(audio.length).toBeGreaterThan(460);
    expect(audio.every((f, i) => i === 0 || f.dts - audio[i - 1]!.dts === 1024)).toBe(true);
  });
});
