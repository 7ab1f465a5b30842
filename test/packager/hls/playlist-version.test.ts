/**
 * StreamOutput.mediaPlaylistVersion: a track's media playlist is rendered again only when it may
 * differ in more than its rendition reports. Checked against the renderer itself: with video and
 * audio parts interleaved (as a publisher sends them), through segments and the first audio
 * segment (when the audio rendition report appears), whenever the version stays the same a
 * fresh render differs at most in its EXT-X-RENDITION-REPORT lines; the other track's parts
 * never change it, and each of its own does.
 */
import { describe, expect, it } from 'vitest';
import { buildMediaPlaylist, type MediaPlaylistOptions } from '../../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../../src/packager/hls/serialize.js';
import type { TrackOutput } from '../../../src/packager/track-output.js';
import type { CmafPart } from '../../../src/mux/fmp4/cmaf.js';
import { AUDIO_STEREO, PACKAGER, VIDEO_720P, fabricateOutput, feedInit, makePart, segmentOf } from '../dash/fabricate.js';

const LIVE: MediaPlaylistOptions = { window: PACKAGER.playlistWindow, segmentDuration: 2, partDuration: 0.5, lowLatency: true };
const REPORT = /^#EXT-X-RENDITION-REPORT:.*$/gm;

describe('StreamOutput.mediaPlaylistVersion', () => {
  it("changes with the track's own parts and segments and with a new rendition report, not with the other track's parts", () => {
    const { output } = fabricateOutput();
    const video = output.videos.get('src')!;
    const audio = output.audio;
    feedInit(video, VIDEO_720P);
    feedInit(audio, AUDIO_STEREO);
    const render = (track: TrackOutput): string => serializeMediaPlaylist(buildMediaPlaylist(track, LIVE, output.trackOutputs()));
    const tracks = [video, audio];
    const last = new Map(tracks.map((t) => [t, { version: output.mediaPlaylistVersion(t), text: render(t) }]));
    let steps = 0;
    let unchanged = 0;
    let reportsMoved = 0;
    /** After `changed` got a part or segment: every track's playlist checked against its version. */
    const check = (changed: TrackOutput): void => {
      steps++;
      for (const t of tracks) {
        const before = last.get(t)!;
        const version = output.mediaPlaylistVersion(t);
        const text = render(t);
        if (t === changed) expect(version, `step ${steps}: ${t.id} changed, its version did not`).not.toBe(before.version);
        if (version === before.version) {
          unchanged++;
          expect(text.replace(REPORT, ''), `step ${steps}: ${t.id}: same version, different playlist`).toBe(before.text.replace(REPORT, ''));
          if (text !== before.text) reportsMoved++;
        }
        last.set(t, { version, text });
      }
    };

    // 0.5 s parts: video at 90 kHz, audio at 48 kHz; four parts a segment. A track's first
    // segment gives the other's playlist its rendition report: two steps change the playlist
    // of the track that did not change.
    let sequence = 0;
    for (; sequence < 6; sequence++) {
      const videoParts: CmafPart[] = [];
      const audioParts: CmafPart[] = [];
      for (let i = 0; i < 4; i++) {
        const v = makePart(video, sequence, i, (sequence * 4 + i) * 45_000, 45_000, 90_000);
        videoParts.push(v);
        video.onPart(v);
        check(video);
        const a = makePart(audio, sequence, i, (sequence * 4 + i) * 24_000, 24_000, 48_000);
        audioParts.push(a);
        audio.onPart(a);
        check(audio);
      }
      video.onSegment(segmentOf(videoParts, { sequence, startTime: sequence * 180_000, duration: 180_000, timescale: 90_000 }));
      check(video);
      audio.onSegment(segmentOf(audioParts, { sequence, startTime: sequence * 96_000, duration: 96_000, timescale: 48_000 }));
      check(audio);
    }
    expect(render(video)).toMatch(/#EXT-X-RENDITION-REPORT:URI="\.\.\/audio\/index\.m3u8",LAST-MSN=5/);
    expect(steps).toBe(6 * 10);
    // Every other step leaves the other track's playlist as it was, its reports aside...
    expect(unchanged).toBe(steps - 2);
    // ...and those reports did move under an unchanged version (the saving), except while
    // the other track had no segment yet.
    expect(reportsMoved).toBeGreaterThan(steps / 2);
  });

  it('tells track outputs apart: a rendition added again does not take the old one\'s renderings', () => {
    const [first, again] = [fabricateOutput().output, fabricateOutput().output];
    for (const o of [first, again]) feedInit(o.videos.get('src')!, VIDEO_720P);
    expect(first.videos.get('src')!.version).toBe(again.videos.get('src')!.version);
    expect(first.mediaPlaylistVersion(first.videos.get('src')!)).not.toBe(again.mediaPlaylistVersion(again.videos.get('src')!));
  });
});
