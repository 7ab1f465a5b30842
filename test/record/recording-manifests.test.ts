/**
 * Recording manifests from hand-made recorded state: golden text for the VOD / EVENT media
 * playlist and the multivariant playlist, a Period per init run in the static MPD, and every
 * output through m3u8-parser / mpd-parser.
 */
import { parse as parseMpd } from 'mpd-parser';
import { describe, expect, it } from 'vitest';
import type { AudioTrack, VideoTrack } from '../../src/core/media.js';
import { serializeMpd } from '../../src/packager/dash/serialize.js';
import { serializeMultivariantPlaylist } from '../../src/packager/hls/serialize.js';
import {
  buildRecordedMediaPlaylist,
  buildRecordedMpd,
  buildRecordedMultivariant,
  periodBoundaries,
  recordedBitrates,
  serializeRecordedMediaPlaylist,
  type RecordedSegment,
  type RecordedTrack,
} from '../../src/record/recording-manifests.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { parsedField } from './record-fixture.js';

const VIDEO: VideoTrack = {
  kind: 'video', codec: 'avc', timescale: 90_000, width: 640, height: 360, fps: 30, codecString: 'avc1.42c01e',
  config: new Uint8Array([1]), parameterSets: [], nalLengthSize: 4,
};
const AUDIO: AudioTrack = {
  kind: 'audio', codec: 'aac', timescale: 48_000, sampleRate: 48_000, channels: 2, objectType: 2,
  codecString: 'mp4a.40.2', config: new Uint8Array([0x11, 0x90]), samplesPerFrame: 1024,
};
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const SESSION = 'abc';

/** Segments of `seconds` each from media time 10 s, sequence 5 on; `initAt` switches to init 1. */
function segments(timescale: number, durations: readonly number[], options: { initAt?: number; bytesPerSecond?: number } = {}): RecordedSegment[] {
  let at = 10 * timescale;
  return durations.map((d, i) => {
    const ticks = Math.round(d * timescale);
    const sequence = 5 + i;
    const switched = options.initAt !== undefined && sequence >= options.initAt;
    const s: RecordedSegment = {
      sequence,
      startTime: at,
      timescale,
      durationTicks: ticks,
      initId: switched ? 1 : 0,
      discontinuity: options.initAt === sequence,
      byteLength: Math.round(d * (options.bytesPerSecond ?? 100_000)),
      programDateTime: T0 + (at / timescale) * 1000,
    };
    at += ticks;
    return s;
  });
}

const video: RecordedTrack = { id: 'src', session: SESSION, media: VIDEO, segments: segments(90_000, [2, 2, 2.5, 1]) };
const audio: RecordedTrack = { id: 'audio', session: SESSION, media: AUDIO, segments: segments(48_000, [2, 2, 2.5, 1], { bytesPerSecond: 16_000 }) };

describe('recorded media playlist', () => {
  it('VOD: golden text, every segment, ENDLIST', () => {
    const text = serializeRecordedMediaPlaylist(buildRecordedMediaPlaylist(video, { segmentDuration: 2, ended: true }), 'VOD');
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:5',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init-abc-0.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:15.000Z',
        '#EXTINF:2.000,',
        'seg-abc-5.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:17.000Z',
        '#EXTINF:2.000,',
        'seg-abc-6.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:19.000Z',
        '#EXTINF:2.500,',
        'seg-abc-7.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:21.500Z',
        '#EXTINF:1.000,',
        'seg-abc-8.m4s',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
    const parsed = parseM3u8(text);
    expect(parsedField(parsed, 'playlistType')).toBe('VOD');
    expect(parsed.segments).toHaveLength(4);
  });

  it('EVENT while recording: no ENDLIST', () => {
    const text = serializeRecordedMediaPlaylist(buildRecordedMediaPlaylist(video, { segmentDuration: 2, ended: false }), 'EVENT');
    const parsed = parseM3u8(text);
    expect(parsedField(parsed, 'playlistType')).toBe('EVENT');
    expect(parsed.endList).toBeFalsy();
    expect(text).not.toContain('ENDLIST');
  });

  it('a new init gets EXT-X-DISCONTINUITY and a new EXT-X-MAP', () => {
    const switched: RecordedTrack = { ...video, segments: segments(90_000, [2, 2, 2], { initAt: 6 }) };
    const text = serializeRecordedMediaPlaylist(buildRecordedMediaPlaylist(switched, { segmentDuration: 2, ended: true }), 'VOD');
    expect(text).toContain('seg-abc-5.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-abc-1.mp4"\n');
    const parsed = parseM3u8(text);
    expect(parsed.segments.map((s) => s.map?.uri)).toEqual(['init-abc-0.mp4', 'init-abc-1.mp4', 'init-abc-1.mp4']);
    expect(parsed.segments.map((s) => Boolean(s.discontinuity))).toEqual([false, true, false]);
  });
});

describe('recorded multivariant playlist', () => {
  it('golden text: video variant with the audio group', () => {
    const text = serializeMultivariantPlaylist(buildRecordedMultivariant([video, audio]));
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=928000,AVERAGE-BANDWIDTH=928000,CODECS="avc1.42c01e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="audio"',
        'src/index.m3u8',
        '',
      ].join('\n'),
    );
    parseM3u8(text);
  });

  it('audio only, and renditions without segments left out', () => {
    const empty: RecordedTrack = { ...video, segments: [] };
    const mv = buildRecordedMultivariant([empty, audio]);
    expect(mv.variants).toEqual([{ uri: 'audio/index.m3u8', bandwidth: 128_000, averageBandwidth: 128_000, codecs: 'mp4a.40.2' }]);
    expect(mv.audio).toEqual([]);
  });

  it('bitrates: a short tail does not set the peak', () => {
    const tail: RecordedTrack = { ...video, segments: segments(90_000, [2, 0.2], { bytesPerSecond: 1000 }).map((s, i) => (i === 1 ? { ...s, byteLength: 10_000 } : s)) };
    const rate = recordedBitrates(tail);
    expect(rate.peak).toBe(8000);
    expect(rate.average).toBeCloseTo(((2000 + 10_000) * 8) / 2.2, 6);
  });
});

describe('recorded static MPD', () => {
  it('one Period when nothing changes; parses with every segment', () => {
    const mpd = buildRecordedMpd([video, audio], { segmentDuration: 2, now: T0 });
    expect(mpd.type).toBe('static');
    expect(mpd.periods).toHaveLength(1);
    expect(mpd.mediaPresentationDuration).toBe(7.5);
    const rep = mpd.periods[0]!.adaptationSets[0]!.representations[0]!;
    expect(rep.segmentTemplate).toMatchObject({ timescale: 90_000, startNumber: 5, presentationTimeOffset: 900_000, initialization: '$RepresentationID$/init-abc-0.mp4', media: '$RepresentationID$/seg-abc-$Number$.m4s' });
    expect(rep.segmentTemplate.timeline).toEqual([{ t: 900_000, d: 180_000, r: 1 }, { d: 225_000, r: 0 }, { d: 90_000, r: 0 }]);
    const parsed = parseMpd(serializeMpd(mpd), { manifestUri: 'https://example.test/live/cam/abc/index.mpd' });
    expect(parsed.playlists[0]!.segments.map((s) => s.uri)).toEqual(['src/seg-abc-5.m4s', 'src/seg-abc-6.m4s', 'src/seg-abc-7.m4s', 'src/seg-abc-8.m4s']);
    expect(parsed.duration).toBe(7.5);
  });

  it('a Period per init run: each names its own init and starts where its segments do', () => {
    const v: RecordedTrack = { ...video, segments: segments(90_000, [2, 2, 2, 2], { initAt: 7 }) };
    const a: RecordedTrack = { ...audio, segments: segments(48_000, [2, 2, 2, 2]) };
    expect(periodBoundaries([v, a])).toEqual([7]);
    const mpd = buildRecordedMpd([v, a], { segmentDuration: 2, now: T0 });
    expect(mpd.periods.map((p) => p.start)).toEqual([0, 4]);
    const second = mpd.periods[1]!;
    expect(second.adaptationSets[0]!.representations[0]!.segmentTemplate).toMatchObject({ startNumber: 7, presentationTimeOffset: 14 * 90_000, initialization: '$RepresentationID$/init-abc-1.mp4' });
    expect(second.adaptationSets[1]!.representations[0]!.segmentTemplate).toMatchObject({ startNumber: 7, presentationTimeOffset: 14 * 48_000 });
    const parsed = parseMpd(serializeMpd(mpd), { manifestUri: 'https://example.test/r/index.mpd' });
    const uris = parsed.playlists[0]!.segments.map((s) => `${s.map?.uri} ${s.uri}`);
    expect(uris).toEqual([
      'src/init-abc-0.mp4 src/seg-abc-5.m4s',
      'src/init-abc-0.mp4 src/seg-abc-6.m4s',
      'src/init-abc-1.mp4 src/seg-abc-7.m4s',
      'src/init-abc-1.mp4 src/seg-abc-8.m4s',
    ]);
  });
});
