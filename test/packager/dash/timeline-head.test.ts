/**
 * The live timeline served to GStreamer (MpdOptions.timelineFromZero, packager/dash/mpd.ts
 * timelineHead): the track's first segment, then the window, addressed by $Time$. Everyone else
 * keeps the plain window with $Number$ URLs shared with HLS.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'mpd-parser';
import { buildMpd, timelineHead, type MpdOptions } from '../../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../../src/packager/dash/serialize.js';
import { listsFromStart } from '../../../src/http/client-quirks.js';
import type { StreamOutput } from '../../../src/packager/stream-output.js';
import { FIRST_SEQUENCE, FIRST_START_SECONDS, PACKAGER, SESSION, T0, VIDEO_DURATIONS, feedStream, fabricatedStreams, mpdOptionsAt } from './fabricate.js';

const NOW = T0 + 25_000;
const OPTIONS: MpdOptions = mpdOptionsAt(NOW);

const fabricated = fabricatedStreams();

function stream(): StreamOutput {
  const output = fabricated();
  feedStream(output);
  return output;
}

describe('timelineFromZero (GStreamer)', () => {
  it('lists the first segment ahead of the slid window, with $Time$ addressing', () => {
    const output = stream();
    const src = output.videos.get('src')!;
    const text = serializeMpd(buildMpd(output, { ...OPTIONS, timelineFromZero: true }));
    expect(text).toContain(`media="$RepresentationID$/seg-${SESSION}-t$Time$.m4s"`);
    const m = parse(text, { manifestUri: 'http://gw.test/live/cam/index.mpd', NOW });
    const video = m.playlists[0]!;
    const listed = src.segments.slice(-PACKAGER.playlistWindow);
    const head = src.firstSegment!;
    expect(head.sequence).toBe(FIRST_SEQUENCE);
    // The head at its own time, then the window: every URL names a real segment start.
    const uris = video.segments.map((s) => s.resolvedUri);
    expect(uris).toEqual([head, ...listed].map((s) => `http://gw.test/live/cam/src/seg-${SESSION}-t${s.startTime}.m4s`));
    expect(video.segments.map((s) => s.duration)).toEqual([head, ...listed].map((s) => s.durationTicks / 90_000));
    expect(head.startTime).toBe(FIRST_START_SECONDS * 90_000);
  });

  it('leaves the default MPD alone ($Number$, the window only)', () => {
    const output = stream();
    const text = serializeMpd(buildMpd(output, OPTIONS));
    expect(text).toContain(`media="$RepresentationID$/seg-${SESSION}-$Number$.m4s"`);
    expect(text).not.toContain('$Time$');
  });

  it('adds nothing while the window still starts with the first segment, nor once ended', () => {
    const output = fabricated();
    feedStream(output, { durations: VIDEO_DURATIONS.slice(0, PACKAGER.playlistWindow) });
    const src = output.videos.get('src')!;
    expect(timelineHead(src, src.segments)).toBeUndefined();
    expect(serializeMpd(buildMpd(output, { ...OPTIONS, timelineFromZero: true }))).not.toContain('$Time$');

    const ended = stream();
    ended.close();
    expect(serializeMpd(buildMpd(ended, { ...OPTIONS, timelineFromZero: true }))).not.toContain('$Time$');
  });

  it('is chosen by User-Agent for GStreamer only', () => {
    expect(listsFromStart('GStreamer souphttpsrc 1.22.0 libsoup/3.2.3')).toBe(true);
    expect(listsFromStart(undefined)).toBe(false);
    for (const ua of ['Lavf/59.27.100', 'VLC/3.0.24 LibVLC/3.0.24', 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0']) {
      expect(listsFromStart(ua)).toBe(false);
    }
  });
});
