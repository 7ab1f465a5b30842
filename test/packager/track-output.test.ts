/**
 * TrackOutput keeps media sequence numbers without a hole (RFC 8216bis §6.2.2): a track that
 * jumps ahead to stay aligned with its sibling (audio announced late, or a reconnect that numbers
 * on from the other track's last segment) lists the numbers it skipped as EXT-X-GAP segments
 * spanning the sibling's segments of those numbers. Read back with the independent m3u8-parser,
 * as hls.js counts: segment i of a delta update is MEDIA-SEQUENCE + SKIPPED-SEGMENTS + i.
 */
import { describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { buildMediaPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../src/packager/hls/serialize.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { FIRST_SEQUENCE, PACKAGER, fabricatedStreams, feedSegment, feedStream, segmentOf } from './dash/fabricate.js';

const fabricated = fabricatedStreams();

interface ParsedPlaylist {
  mediaSequence: number;
  skip?: { skippedSegments: number };
  segments: { uri: string; duration: number }[];
}

function parse(text: string): ParsedPlaylist {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return parser.manifest as unknown as ParsedPlaylist;
}

/** The number each listed segment carries in its file name. */
function numberOf(uri: string): number {
  return Number(/-(\d+)\.m4s$/.exec(uri)![1]);
}

function playlist(track: TrackOutput, skip: boolean): string {
  return serializeMediaPlaylist(buildMediaPlaylist(track, { window: 8, segmentDuration: PACKAGER.segmentDuration, partDuration: PACKAGER.partDuration, lowLatency: true, skip }));
}

describe('TrackOutput: numbers a track skipped are listed as gaps', () => {
  it('audio that numbers on from the video (reconnect) lists the skipped number as a gap with the video span', () => {
    const output = fabricated();
    feedStream(output, { durations: [180_000, 180_000, 180_000, 180_000] });
    const video = output.videos.get('src')!;
    const next = FIRST_SEQUENCE + 4;
    // The video flushed one more (short) segment than the audio before the publisher dropped.
    feedSegment(video, { sequence: next, startTime: 18 * 90_000, duration: 30_000, timescale: 90_000 });
    // The new session numbers on from the higher of the two.
    feedSegment(video, { sequence: next + 1, startTime: 18 * 90_000 + 30_000, duration: 180_000, timescale: 90_000, discontinuity: true });
    const audioStart = Math.round(((18 * 90_000 + 30_000) * 48_000) / 90_000);
    feedSegment(output.audio, { sequence: next + 1, startTime: audioStart, duration: 96_000, timescale: 48_000, discontinuity: true });

    const gap = output.audio.segments.find((s) => s.sequence === next)!;
    expect(gap.gap).toBe(true);
    expect(gap.timescale).toBe(48_000);
    expect(gap.startTime).toBe(18 * 48_000);
    expect(gap.durationTicks).toBe(16_000);
    expect(output.audio.segments.map((s) => s.sequence)).toEqual([5, 6, 7, 8, 9, 10]);

    for (const skip of [false, true]) {
      const text = playlist(output.audio, skip);
      const parsed = parse(text);
      const first = parsed.mediaSequence + (parsed.skip?.skippedSegments ?? 0);
      parsed.segments.forEach((s, i) => expect(numberOf(s.uri)).toBe(first + i));
      // m3u8-parser does not read EXT-X-GAP: the tag must be among that segment's tags.
      expect(text).toMatch(new RegExp(`#EXT-X-GAP\\n(#[^\\n]*\\n)*seg-[a-z0-9]+-${next}\\.m4s`));
    }
  });

  it('without a sibling segment the gap spans the time between the segments around it', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000] });
    const video = output.videos.get('src')!;
    const last = video.segments[video.segments.length - 1]!;
    const resume = last.startTime + last.durationTicks + 360_000;
    feedSegment(video, { sequence: last.sequence + 3, startTime: resume, duration: 180_000, timescale: 90_000 });
    const gaps = video.segments.filter((s) => s.gap);
    expect(gaps.map((s) => [s.sequence, s.startTime, s.durationTicks])).toEqual([
      [last.sequence + 1, last.startTime + last.durationTicks, 180_000],
      [last.sequence + 2, last.startTime + last.durationTicks + 180_000, 180_000],
    ]);
  });

  it('consecutive numbers add no gap', () => {
    const output = fabricated();
    feedStream(output);
    expect(output.audio.segments.some((s) => s.gap)).toBe(false);
    expect(output.videos.get('src')!.segments.some((s) => s.gap)).toBe(false);
  });
});

describe('TrackOutput: a preload-hinted part that the segment closed before', () => {
  it('is answered with the next segment\'s first part (same init), open or complete', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000] });
    const video = output.videos.get('src')!;
    const last = video.lastSegment!;
    const hinted = last.parts.length; // the hint named this index before the keyframe closed the segment
    expect(video.part(last.sequence, hinted)).toBeUndefined();
    expect(video.hintedPart(last.sequence, hinted)).toBeUndefined(); // nothing after it yet

    const start = last.startTime + last.durationTicks;
    const next = feedSegment(video, { sequence: last.sequence + 1, startTime: start, duration: 180_000, timescale: 90_000, open: true });
    expect(video.hintedPart(last.sequence, hinted)).toBe(next[0]!.bytes);
    video.onSegment(segmentOf(next, { sequence: last.sequence + 1, startTime: start, duration: 180_000, timescale: 90_000 }));
    expect(video.hintedPart(last.sequence, hinted)).toBe(next[0]!.bytes);
    // Only the index right after the last part is an alias; past it there is nothing.
    expect(video.hintedPart(last.sequence, hinted + 1)).toBeUndefined();
  });

  it('is not answered across a new init or a discontinuity', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000] });
    const video = output.videos.get('src')!;
    const last = video.lastSegment!;
    const start = last.startTime + last.durationTicks;
    feedSegment(video, { sequence: last.sequence + 1, startTime: start, duration: 180_000, timescale: 90_000, discontinuity: true, open: true });
    expect(video.hintedPart(last.sequence, last.parts.length)).toBeUndefined();
  });
});
