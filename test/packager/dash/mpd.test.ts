import { describe, expect, it } from 'vitest';
import { parse } from 'mpd-parser';
import {
  buildMpd,
  channelConfigurationOf,
  frameRateOf,
  latencyTargets,
  listedSegments,
  timelineOf,
  type MpdOptions,
} from '../../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../../src/packager/dash/serialize.js';
import { buildMediaPlaylist } from '../../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../../src/packager/hls/serialize.js';
import type { StreamOutput } from '../../../src/packager/stream-output.js';
import type { TrackOutput } from '../../../src/packager/track-output.js';
import { parseM3u8 } from '../../helpers/m3u8.js';
import { AUDIO_STEREO, FIRST_SEQUENCE, PACKAGER, SESSION, T0, VIDEO_720P, VIDEO_DURATIONS, feedInit, feedSegment, feedStream, fabricatedStreams, mpdOptionsAt } from './fabricate.js';

const NOW = T0 + 25_000;
const MPD_URL = 'http://gw.test/live/cam/index.mpd';
const OPTIONS: MpdOptions = mpdOptionsAt(NOW);

const fabricated = fabricatedStreams();

function stream(): StreamOutput {
  return fabricated();
}

function mpdText(output: StreamOutput, options: Partial<MpdOptions> = {}): string {
  return serializeMpd(buildMpd(output, { ...OPTIONS, ...options }));
}

type Parsed = ReturnType<typeof parse>;
type ParsedPlaylist = Parsed['playlists'][number];

function parseMpd(text: string): Parsed {
  return parse(text, { manifestUri: MPD_URL, NOW });
}

function audioPlaylist(m: Parsed): ParsedPlaylist {
  const group = Object.values(m.mediaGroups.AUDIO)[0]!;
  return Object.values(group)[0]!.playlists[0]! as ParsedPlaylist;
}

/** The HLS media playlist of `track`, parsed, with URIs resolved like a player would. */
function hlsSegments(output: StreamOutput, track: TrackOutput): { uri: string; duration: number; map?: string }[] {
  const playlistUrl = new URL(`${track.id}/index.m3u8`, MPD_URL).href;
  const text = serializeMediaPlaylist(
    buildMediaPlaylist(track, { window: PACKAGER.playlistWindow, segmentDuration: 2, partDuration: 0.5, lowLatency: false }, output.tracks()),
  );
  let map: string | undefined;
  return parseM3u8(text).segments.map((s) => {
    if (s.map) map = new URL(s.map.uri, playlistUrl).href;
    return { uri: new URL(s.uri, playlistUrl).href, duration: s.duration, map };
  });
}

function dashSegments(p: ParsedPlaylist): { uri: string; duration: number; map?: string }[] {
  return p.segments.map((s) => ({ uri: s.resolvedUri, duration: s.duration, map: s.map?.resolvedUri }));
}

/** Fields mpd-parser sets that test/types/parsers.d.ts does not declare. */
function field(o: object, name: 'endList' | 'presentationTime'): unknown {
  return (o as Record<string, unknown>)[name];
}

function numberOf(uri: string): number {
  return Number(/seg-[0-9a-z]+-(\d+)\.m4s$/.exec(uri)![1]);
}

describe('SegmentTimeline run-length form', () => {
  it('writes t on the first S, r for equal contiguous d, t again after a gap', () => {
    expect(
      timelineOf([
        { start: 100, duration: 10 },
        { start: 110, duration: 10 },
        { start: 120, duration: 10 },
        { start: 130, duration: 9 },
        { start: 139, duration: 10 },
        { start: 200, duration: 10 },
        { start: 210, duration: 10 },
      ]),
    ).toEqual([{ t: 100, d: 10, r: 2 }, { d: 9, r: 0 }, { d: 10, r: 0 }, { t: 200, d: 10, r: 1 }]);
    expect(timelineOf([])).toEqual([]);
  });

  it('expands back to the exact segment list (property)', async () => {
    const fc = await import('fast-check');
    fc.assert(
      fc.property(fc.array(fc.record({ gap: fc.nat(5), d: fc.integer({ min: 1, max: 4 }) }), { maxLength: 40 }), fc.nat(1_000_000), (items, start) => {
        const spans: { start: number; duration: number }[] = [];
        let at = start;
        for (const i of items) {
          at += i.gap;
          spans.push({ start: at, duration: i.d });
          at += i.d;
        }
        const expanded: { start: number; duration: number }[] = [];
        let t = 0;
        for (const e of timelineOf(spans)) {
          if (e.t !== undefined) t = e.t;
          for (let k = 0; k <= (e.r ?? 0); k++) {
            expanded.push({ start: t, duration: e.d });
            t += e.d;
          }
        }
        expect(expanded).toEqual(spans);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});

describe('attribute helpers', () => {
  it('frame rates: integers, NTSC N/1001, other fractions', () => {
    expect(frameRateOf(30)).toBe('30');
    expect(frameRateOf(25)).toBe('25');
    expect(frameRateOf(29.97)).toBe('30000/1001');
    expect(frameRateOf(30000 / 1001)).toBe('30000/1001');
    expect(frameRateOf(23.976)).toBe('24000/1001');
    expect(frameRateOf(59.94)).toBe('60000/1001');
    expect(frameRateOf(12.5)).toBe('25/2');
    expect(frameRateOf(undefined)).toBeUndefined();
    expect(frameRateOf(0)).toBeUndefined();
    expect(frameRateOf(Number.NaN)).toBeUndefined();
  });

  it('channel configuration: CICP index, 7.1 = 12, plain count otherwise', () => {
    expect(channelConfigurationOf(1)).toEqual({ schemeIdUri: 'urn:mpeg:mpegB:cicp:ChannelConfiguration', value: '1' });
    expect(channelConfigurationOf(2).value).toBe('2');
    expect(channelConfigurationOf(6).value).toBe('6');
    expect(channelConfigurationOf(8).value).toBe('12');
    expect(channelConfigurationOf(7)).toEqual({ schemeIdUri: 'urn:mpeg:dash:23003:3:audio_channel_configuration:2011', value: '7' });
  });

  it('latency envelope is ordered min <= target <= max', () => {
    for (const [seg, part] of [[2, 0.2], [2, 0.5], [6, 1], [1, 0.1]] as const) {
      const l = latencyTargets(seg, part);
      expect(l.min).toBeLessThanOrEqual(l.target);
      expect(l.target).toBeLessThanOrEqual(l.max);
      expect(l.target).toBeGreaterThanOrEqual(1000);
    }
  });
});

describe('buildMpd: live', () => {
  it('golden MPD', async () => {
    const output = stream();
    feedStream(output);
    await expect(mpdText(output)).toMatchFileSnapshot('./golden/live.mpd');
  });

  it('lists the same files, numbers and durations as the HLS playlists (mpd-parser)', () => {
    const output = stream();
    feedStream(output);
    const text = mpdText(output);
    const m = parseMpd(text);
    expect(m.minimumUpdatePeriod).toBe(2000);
    expect(m.playlists).toHaveLength(1);
    const video = m.playlists[0]!;
    expect(video.attributes['CODECS']).toBe('avc1.64001f');
    expect(video.attributes['RESOLUTION']).toEqual({ width: 1280, height: 720 });
    expect(video.attributes['FRAME-RATE']).toBe(30);
    const src = output.videos.get('src')!;
    expect(dashSegments(video)).toEqual(hlsSegments(output, src));
    const audio = audioPlaylist(m);
    expect(audio.attributes['CODECS']).toBe('mp4a.40.2');
    expect(dashSegments(audio)).toEqual(hlsSegments(output, output.audio));

    // Numbers: the window's last 4 segments, in order; d is exact in ticks.
    const listed = src.segments.slice(-PACKAGER.playlistWindow);
    expect(video.segments.map((s) => numberOf(s.uri))).toEqual(listed.map((s) => s.sequence));
    expect(video.segments.map((s) => s.duration)).toEqual(listed.map((s) => s.durationTicks / 90_000));
    expect(text).toContain(`startNumber="${listed[0]!.sequence}"`);
    expect(text).toContain(`<S t="${listed[0]!.startTime}" d="${listed[0]!.durationTicks}"/>`);
  });

  it('MPD-level timing attributes', () => {
    const output = stream();
    feedStream(output);
    const mpd = buildMpd(output, OPTIONS);
    expect(mpd.type).toBe('dynamic');
    expect(mpd.availabilityStartTime).toBe(T0);
    expect(mpd.publishTime).toBe(NOW);
    expect(mpd.timeShiftBufferDepth).toBe(8);
    expect(mpd.suggestedPresentationDelay).toBe(6);
    expect(mpd.maxSegmentDuration).toBe(2.002);
    expect(mpd.utcTimings).toEqual([{ schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'http://gw.test/api/time' }]);
    expect(mpd.serviceDescriptions).toBeUndefined();
  });

  it('one Representation per video rendition, each with its own template', () => {
    const output = stream();
    feedStream(output);
    const rung = output.createTrackOutput('360p', 'video');
    output.videos.set('360p', rung);
    const small = { ...VIDEO_720P, width: 640, height: 360, codecString: 'avc1.4d401e', fps: 30000 / 1001 };
    feedInit(rung, small, 3);
    let at = 10 * 90_000;
    VIDEO_DURATIONS.forEach((d, i) => {
      feedSegment(rung, { sequence: FIRST_SEQUENCE + i, startTime: at, duration: d, timescale: 90_000, initId: 3, partBytes: 500 });
      at += d;
    });
    const text = mpdText(output);
    expect(text).toContain('<Representation id="360p" bandwidth="8136" codecs="avc1.4d401e" width="640" height="360" frameRate="30000/1001" sar="1:1">');
    expect(text).toContain(`initialization="$RepresentationID$/init-${SESSION}-3.mp4"`);
    const m = parseMpd(text);
    expect(m.playlists.map((p) => p.attributes['NAME']).sort()).toEqual(['360p', 'src']);
    const p360 = m.playlists.find((p) => p.attributes['NAME'] === '360p')!;
    expect(dashSegments(p360)).toEqual(hlsSegments(output, rung));
  });

  it('a rendition without a complete segment is left out; an unmeasured one gets a 1 Mbit/s guess', () => {
    const output = stream();
    feedStream(output);
    const rung = output.createTrackOutput('360p', 'video');
    output.videos.set('360p', rung);
    feedInit(rung, VIDEO_720P);
    expect(mpdText(output)).not.toContain('id="360p"');
    const mpd = buildMpd(output, OPTIONS);
    expect(mpd.periods[0]!.adaptationSets[0]!.representations.map((r) => r.id)).toEqual(['src']);

    const zero = stream();
    feedStream(zero, { audio: false, durations: [180_000] });
    zero.videos.get('src')!.peakBitrate = 0;
    expect(buildMpd(zero, OPTIONS).periods[0]!.adaptationSets[0]!.representations[0]!.bandwidth).toBe(1_000_000);
  });

  it('codec change inside the window: only the run sharing the newest init is listed', () => {
    const output = stream();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P, 0);
    feedSegment(video, { sequence: 1, startTime: 0, duration: 180_000, timescale: 90_000, initId: 0 });
    feedSegment(video, { sequence: 2, startTime: 180_000, duration: 180_000, timescale: 90_000, initId: 0 });
    feedInit(video, { ...VIDEO_720P, width: 1920, height: 1080, codecString: 'avc1.640028' }, 1);
    feedSegment(video, { sequence: 3, startTime: 360_000, duration: 180_000, timescale: 90_000, initId: 1, discontinuity: true });
    feedSegment(video, { sequence: 4, startTime: 540_000, duration: 90_000, timescale: 90_000, initId: 1 });
    expect(listedSegments(video, 4).map((s) => s.sequence)).toEqual([3, 4]);
    const text = mpdText(output);
    expect(text).toContain(`startNumber="3" initialization="$RepresentationID$/init-${SESSION}-1.mp4"`);
    expect(text).toContain('width="1920" height="1080"');
    const m = parseMpd(text);
    expect(m.playlists[0]!.segments.map((s) => numberOf(s.uri))).toEqual([3, 4]);
  });

  it('a gap (discontinuity with the same init) is a new S@t', () => {
    const output = stream();
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P);
    feedSegment(video, { sequence: 1, startTime: 0, duration: 180_000, timescale: 90_000 });
    feedSegment(video, { sequence: 2, startTime: 900_000, duration: 180_000, timescale: 90_000, discontinuity: true });
    const text = mpdText(output);
    expect(text).toContain('<S t="0" d="180000"/>\n            <S t="900000" d="180000"/>');
    const m = parseMpd(text);
    expect(m.playlists[0]!.segments.map((s) => numberOf(s.uri))).toEqual([1, 2]);
  });
});

describe('buildMpd: audio-only and video-only', () => {
  it('audio-only: one audio AdaptationSet (golden), parses', async () => {
    const output = stream();
    feedStream(output, { video: false });
    const text = mpdText(output);
    await expect(text).toMatchFileSnapshot('./golden/audio-only.mpd');
    expect(text).not.toContain('contentType="video"');
    const m = parseMpd(text);
    expect(dashSegments(audioPlaylist(m))).toEqual(hlsSegments(output, output.audio));
  });

  it('video-only: no audio AdaptationSet, parses', () => {
    const output = stream();
    feedStream(output, { audio: false });
    const text = mpdText(output);
    expect(text).not.toContain('contentType="audio"');
    const m = parseMpd(text);
    expect(dashSegments(m.playlists[0]!)).toEqual(hlsSegments(output, output.videos.get('src')!));
  });

  it('5.1 audio signals CICP 6', () => {
    const output = stream();
    feedInit(output.audio, { ...AUDIO_STEREO, channels: 6 });
    feedSegment(output.audio, { sequence: 0, startTime: 0, duration: 96_000, timescale: 48_000 });
    expect(mpdText(output)).toContain('<AudioChannelConfiguration schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration" value="6"/>');
  });
});

describe('buildMpd: low latency', () => {
  it('golden MPD with the in-progress segment announced', async () => {
    const output = stream();
    feedStream(output);
    // Segment 12 in progress: two of its parts produced (video), none yet (audio).
    feedSegment(output.videos.get('src')!, { sequence: 12, startTime: 2_339_820, duration: 90_000, timescale: 90_000, parts: 2, open: true });
    await expect(mpdText(output, { lowLatency: true })).toMatchFileSnapshot('./golden/live-ll.mpd');
  });

  it('LL attributes: ServiceDescription, availabilityTimeOffset, ProducerReferenceTime', () => {
    const output = stream();
    feedStream(output);
    const mpd = buildMpd(output, { ...OPTIONS, lowLatency: true });
    expect(mpd.serviceDescriptions).toEqual([{ id: 0, latency: { target: 2500, min: 1250, max: 6500, referenceId: 0 }, playbackRate: { min: 0.9, max: 1.1 } }]);
    expect(mpd.suggestedPresentationDelay).toBe(2.5);
    // A new MPD within two chunks: the next segment is listed only once the open one is done.
    expect(mpd.minimumUpdatePeriod).toBe(1);
    const [videoSet, audioSet] = mpd.periods[0]!.adaptationSets;
    const st = videoSet!.representations[0]!.segmentTemplate;
    expect(st.availabilityTimeOffset).toBe(1.5);
    expect(st.availabilityTimeComplete).toBe(false);
    expect(audioSet!.representations[0]!.segmentTemplate.availabilityTimeComplete).toBe(false);
    const first = output.videos.get('src')!.segments.slice(-4)[0]!;
    expect(videoSet!.producerReferenceTimes).toEqual([
      {
        id: 0,
        type: 'encoder',
        wallClockTime: T0 + (first.startTime / 90_000) * 1000,
        presentationTime: first.startTime,
        utcTiming: { schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'http://gw.test/api/time' },
      },
    ]);
    expect(audioSet!.producerReferenceTimes).toBeUndefined();
  });

  it('mpd-parser sees the HLS segments plus the one in progress (same URL the chunked route serves)', () => {
    const output = stream();
    feedStream(output);
    const src = output.videos.get('src')!;
    const m = parseMpd(mpdText(output, { lowLatency: true }));
    const video = dashSegments(m.playlists[0]!);
    const hls = hlsSegments(output, src);
    expect(video.slice(0, -1)).toEqual(hls);
    const open = video[video.length - 1]!;
    expect(open.uri).toBe(new URL(`src/seg-${SESSION}-${src.openSequence}.m4s`, MPD_URL).href);
    // Predicted no shorter than the target: players never re-request it for a too-short guess.
    expect(open.duration).toBeGreaterThanOrEqual(2);
  });

  it('the prediction grows with what the open segment already holds', () => {
    const output = stream();
    feedStream(output, { audio: false });
    const src = output.videos.get('src')!;
    const last = src.lastSegment!;
    feedSegment(src, { sequence: last.sequence + 1, startTime: last.startTime + last.durationTicks, duration: 225_000, timescale: 90_000, parts: 5, open: true });
    const st = buildMpd(output, { ...OPTIONS, lowLatency: true }).periods[0]!.adaptationSets[0]!.representations[0]!.segmentTemplate;
    const lastEntry = st.timeline[st.timeline.length - 1]!;
    expect(lastEntry.d).toBe(225_000 + 45_000);
  });

  it('no open segment is announced across an init change, nor once ended', () => {
    const output = stream();
    feedStream(output, { audio: false });
    const src = output.videos.get('src')!;
    const listed = (): number => parseMpd(mpdText(output, { lowLatency: true })).playlists[0]!.segments.length;
    expect(listed()).toBe(5);
    feedInit(src, { ...VIDEO_720P, width: 640, height: 360 }, 1);
    expect(listed()).toBe(4);
    output.close();
    expect(mpdText(output, { lowLatency: true })).toContain('type="static"');
    expect(listed()).toBe(4);
  });
});

describe('buildMpd: ended', () => {
  it('static golden MPD: duration of the listed segments, no update period, no LL', async () => {
    const output = stream();
    feedStream(output);
    output.close();
    const text = mpdText(output, { lowLatency: true });
    await expect(text).toMatchFileSnapshot('./golden/ended.mpd');
    expect(text).toContain('type="static"');
    expect(text).not.toContain('minimumUpdatePeriod');
    expect(text).not.toContain('availabilityTimeComplete');
    expect(text).not.toContain('ServiceDescription');
    const m = parseMpd(text);
    const video = m.playlists[0]!;
    expect(field(video, 'endList')).toBe(true);
    expect(dashSegments(video)).toEqual(hlsSegments(output, output.videos.get('src')!));
    const listed = output.videos.get('src')!.segments.slice(-4);
    const total = listed.reduce((n, s) => n + s.durationTicks, 0) / 90_000;
    expect(m.duration).toBeCloseTo(total, 3);
    // The presentation starts at the first listed segment: presentationTimeOffset points there.
    expect(text).toContain(`presentationTimeOffset="${listed[0]!.startTime}"`);
    expect(field(video.segments[0]!, 'presentationTime')).toBe(0);
  });

  it('static once every track ended even if the output did not record it', () => {
    const output = stream();
    feedStream(output);
    for (const t of output.tracks()) t.end();
    expect(buildMpd(output, OPTIONS).type).toBe('static');
  });
});
