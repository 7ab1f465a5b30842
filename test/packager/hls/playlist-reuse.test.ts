/**
 * A live media playlist is rendered for every part that lands, and the builder and serializer
 * reuse what they wrote for a segment while its lines stay the same (playlists.ts hlsSegmentOf,
 * serialize.ts linesOf). Every rendering must equal one made from scratch: across parts,
 * segments, the window sliding (the first listed segment gains its EXT-X-MAP), parts leaving the
 * live edge, a new init after a discontinuity, and delta updates.
 */
import { describe, expect, it } from 'vitest';
import { CMAF_FILES, WEBVTT_FILES, buildMediaPlaylist, type MediaPlaylistOptions } from '../../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../../src/packager/hls/serialize.js';
import type { CmafPart } from '../../../src/mux/fmp4/cmaf.js';
import { parseM3u8 } from '../../helpers/m3u8.js';
import { FIRST_START_SECONDS, PACKAGER, VIDEO_720P, fabricatedStreams, feedInit, makePart, segmentOf } from '../dash/fabricate.js';

const fabricated = fabricatedStreams();
const LIVE: MediaPlaylistOptions = { window: PACKAGER.playlistWindow, segmentDuration: 2, partDuration: 0.5, lowLatency: true };
/**
 * The playlists of the video track: the live window, a delta update (listing from the start, so
 * that segments older than CAN-SKIP-UNTIL, 6 target durations, are skipped), every segment from the
 * first (GStreamer), classic HLS, AES-128 keys (segments modelled afresh), and the subtitles
 * naming (WebVTT files, no EXT-X-MAP, so only the discontinuity tells a first listed segment).
 */
const VARIANTS: readonly MediaPlaylistOptions[] = [
  LIVE,
  { ...LIVE, fromStart: true, skip: true },
  { ...LIVE, fromStart: true },
  { ...LIVE, lowLatency: false },
  { ...LIVE, keyOf: (sequence) => ({ uri: `key-${sequence >> 2}.key`, iv: `0x${sequence.toString(16).padStart(32, '0')}` }) },
  { ...LIVE, files: WEBVTT_FILES },
];

describe('media playlist: reused segment lines', () => {
  it('renders exactly what a fresh model renders, part after part, through a window slide and a new init', () => {
    const output = fabricated();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    let at = FIRST_START_SECONDS * 90_000;
    let compared = 0;
    let maps = 0;
    let withDiscontinuity = 0;
    let skipped = 0;
    for (let sequence = 1; sequence <= 16; sequence++) {
      // A publisher that came back with a new configuration: a new init and a discontinuity.
      const rejoined = sequence === 9;
      if (rejoined) feedInit(video, VIDEO_720P, 1);
      const parts: CmafPart[] = [];
      for (let index = 0; index < 4; index++) {
        const made = makePart(video, sequence, index, at, 45_000, 90_000, 500);
        const part = rejoined ? { ...made, discontinuity: true } : made;
        parts.push(part);
        video.onPart(part);
        at += 45_000;
        for (const options of VARIANTS) {
          const text = serializeMediaPlaylist(buildMediaPlaylist(video, options));
          // The reference: a naming of its own (models are reused per naming) and a model
          // cloned (structuredClone: new objects, so no line written before is reused).
          const fresh = buildMediaPlaylist(video, { ...options, files: { ...(options.files ?? CMAF_FILES) } });
          expect(text).toBe(serializeMediaPlaylist(structuredClone(fresh)));
          const parsed = parseM3u8(text);
          if (parsed.segments.length > 0) compared++;
          maps += (text.match(/#EXT-X-MAP/g) ?? []).length;
          withDiscontinuity += text.includes('#EXT-X-DISCONTINUITY\n') ? 1 : 0;
          skipped += text.includes('#EXT-X-SKIP:') ? 1 : 0;
        }
      }
      video.onSegment({ ...segmentOf(parts, { sequence, startTime: at - 180_000, duration: 180_000, timescale: 90_000, initId: video.currentInitId, discontinuity: rejoined }) });
    }
    // Every variant rendered with segments listed at nearly every step, both inits were listed,
    // the discontinuity was seen (then left the window), and delta updates skipped segments.
    expect(compared).toBeGreaterThan(300);
    expect(maps).toBeGreaterThan(compared);
    expect(withDiscontinuity).toBeGreaterThan(0);
    expect(skipped).toBeGreaterThan(0);
  });

  it('reuses the model of a segment whose lines did not change, and not of one whose did', () => {
    const output = fabricated();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    let at = 0;
    const feed = (sequence: number): void => {
      const parts = [0, 1, 2, 3].map((index) => makePart(video, sequence, index, at + index * 45_000, 45_000, 90_000));
      for (const p of parts) video.onPart(p);
      video.onSegment(segmentOf(parts, { sequence, startTime: at, duration: 180_000, timescale: 90_000 }));
      at += 180_000;
    };
    for (let s = 1; s <= 5; s++) feed(s);
    const before = buildMediaPlaylist(video, LIVE).segments;
    expect(buildMediaPlaylist(video, LIVE).segments).toEqual(before);
    for (let i = 0; i < before.length; i++) expect(buildMediaPlaylist(video, LIVE).segments[i]).toBe(before[i]);
    feed(6);
    const after = buildMediaPlaylist(video, LIVE).segments;
    // Window 4: segments 3..6 now, the last three with their parts. 3 became the first listed
    // (EXT-X-MAP) and left the live edge (no parts): a new model. 4 and 5 did not change.
    expect(after.map((s) => s.sequence)).toEqual([3, 4, 5, 6]);
    expect(before[1]!.parts).toBeDefined();
    expect(after[0]).not.toBe(before[1]);
    expect(after[0]!.map).toBeDefined();
    expect(after[0]!.parts).toBeUndefined();
    expect(after[1]).toBe(before[2]);
    expect(after[2]).toBe(before[3]);
  });
});
