/**
 * The golden MPDs are written by our own serializer: an independent reader (mpd-parser, the
 * parser of Video.js/VHS) must read each of them, with the segments we meant to list.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'mpd-parser';

const DIR = join(import.meta.dirname, 'golden');
// The golden streams' clock: availabilityStartTime 2026-01-02T03:04:05Z, published 25 s later.
const NOW = Date.parse('2026-01-02T03:04:30.000Z');

function read(name: string): ReturnType<typeof parse> {
  return parse(readFileSync(join(DIR, name), 'utf8'), { manifestUri: 'http://127.0.0.1/live/key/index.mpd', NOW });
}

describe('golden MPDs read by mpd-parser', () => {
  it.each(['live.mpd', 'live-ll.mpd', 'ended.mpd'])('%s: video and audio, every segment a 2 s CMAF file with its init', (name) => {
    const mpd = read(name);
    const videos = mpd.playlists;
    const audio = Object.values(mpd.mediaGroups.AUDIO).flatMap((g) => Object.values(g)).flatMap((g) => g.playlists);
    expect(videos.length).toBeGreaterThanOrEqual(1);
    expect(audio.length).toBe(1);
    for (const p of [...videos, ...audio]) {
      expect(p.segments.length, `${String(p.attributes['NAME'])} segments`).toBeGreaterThanOrEqual(2);
      for (const s of p.segments) {
        expect(s.resolvedUri).toMatch(/^http:\/\/127\.0\.0\.1\/live\/key\/(src|audio|[0-9]+p)\/seg-[0-9a-z]+-\d+\.m4s$/);
        expect(s.map?.resolvedUri).toMatch(/\/init-[0-9a-z]+-\d+\.mp4$/);
      }
      const numbers = p.segments.map((s) => s.number);
      expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    }
    if (name !== 'ended.mpd') expect(mpd.minimumUpdatePeriod).toBeGreaterThan(0);
  });

  it('audio-only.mpd: one audio rendition and no video', () => {
    const mpd = read('audio-only.mpd');
    const audio = Object.values(mpd.mediaGroups.AUDIO).flatMap((g) => Object.values(g)).flatMap((g) => g.playlists);
    expect(audio.length + mpd.playlists.length).toBe(1);
    const only = audio[0] ?? mpd.playlists[0]!;
    expect(only.segments.length).toBeGreaterThanOrEqual(2);
  });
});
