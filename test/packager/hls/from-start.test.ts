/**
 * The media playlist served to GStreamer (MediaPlaylistOptions.fromStart, http/client-quirks.ts):
 * every segment since the stream's first, so that its legacy hlsdemux (TIME segment starting at
 * 0 at the first listed segment) agrees with qtdemux (tfdt). Everyone else keeps the window.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist, type MediaPlaylistOptions } from '../../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../../src/packager/hls/serialize.js';
import type { StreamOutput } from '../../../src/packager/stream-output.js';
import { parseM3u8 } from '../../helpers/m3u8.js';
import { FIRST_SEQUENCE, PACKAGER, fabricatedStreams, feedStream } from '../dash/fabricate.js';

const OPTIONS: MediaPlaylistOptions = { window: PACKAGER.playlistWindow, segmentDuration: 2, partDuration: 0.5, lowLatency: true };
const DURATIONS = Array.from({ length: 12 }, (_, i) => (i % 3 === 2 ? 180_180 : 180_000));

const fabricated = fabricatedStreams();

function stream(durations: readonly number[] = DURATIONS): StreamOutput {
  const output = fabricated();
  feedStream(output, { durations });
  return output;
}

describe('media playlist fromStart (GStreamer)', () => {
  it('never goes back: MEDIA-SEQUENCE is the first segment number from the first playlist on, as segments leave the window', () => {
    const seen: number[] = [];
    for (let n = 1; n <= DURATIONS.length; n++) {
      const output = stream(DURATIONS.slice(0, n));
      const m = parseM3u8(serializeMediaPlaylist(buildMediaPlaylist(output.videos.get('src')!, { ...OPTIONS, fromStart: true })));
      seen.push(m.mediaSequence!);
      expect(m.segments).toHaveLength(n);
    }
    expect(new Set(seen)).toEqual(new Set([FIRST_SEQUENCE]));
  });

  it('lists every segment from the first, with exact durations, while the default lists the window', () => {
    const output = stream();
    const src = output.videos.get('src')!;
    const window = parseM3u8(serializeMediaPlaylist(buildMediaPlaylist(src, OPTIONS)));
    expect(window.mediaSequence).toBe(FIRST_SEQUENCE + DURATIONS.length - PACKAGER.playlistWindow);
    expect(window.segments).toHaveLength(PACKAGER.playlistWindow);

    const full = parseM3u8(serializeMediaPlaylist(buildMediaPlaylist(src, { ...OPTIONS, fromStart: true })));
    expect(full.mediaSequence).toBe(FIRST_SEQUENCE);
    expect(full.segments.map((s) => s.uri)).toEqual(DURATIONS.map((_, i) => expect.stringMatching(new RegExp(`-${FIRST_SEQUENCE + i}\\.m4s$`))));
    expect(full.segments.map((s) => s.duration)).toEqual(DURATIONS.map((d) => Number((d / 90_000).toFixed(3))));
    // Parts only near the live edge, as in the window playlist.
    expect(full.segments.slice(0, -3).every((s) => (s.parts ?? []).length === 0)).toBe(true);
    expect(full.segments.at(-1)!.parts?.length ?? 0).toBe(window.segments.at(-1)!.parts?.length ?? 0);
  });

  it('is the window itself while nothing has left it', () => {
    const output = stream(DURATIONS.slice(0, 3));
    const src = output.videos.get('src')!;
    expect(serializeMediaPlaylist(buildMediaPlaylist(src, { ...OPTIONS, fromStart: true }))).toBe(serializeMediaPlaylist(buildMediaPlaylist(src, OPTIONS)));
  });
});
