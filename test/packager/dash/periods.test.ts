/**
 * DASH across a publisher reconnect (a new Period per publish session, contiguous on the media
 * timeline) and across gaps (TrackOutput.addGap: a hole in the SegmentTimeline, never a listed
 * segment that would 404). Every MPD is read back by the independent mpd-parser and by our own
 * reader (src/latency/manifests.ts), and each resolved URL is checked against the packager state.
 */
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'mpd-parser';
import { StreamRegistry } from '../../../src/core/stream.js';
import { buildMpd, type MpdOptions } from '../../../src/packager/dash/mpd.js';
import { PERIOD_CONTINUITY } from '../../../src/packager/dash/model.js';
import { serializeMpd } from '../../../src/packager/dash/serialize.js';
import type { StreamOutput } from '../../../src/packager/stream-output.js';
import type { SegmentInfo, TrackOutput } from '../../../src/packager/track-output.js';
import { expandTemplate, parseMpdRepresentation } from '../../../src/latency/manifests.js';
import { AUDIO_STEREO, FIRST_SEQUENCE, PACKAGER, SESSION, T0, VIDEO_720P, feedInit, feedSegment, feedStream, fabricatedStreams, mpdOptionsAt } from './fabricate.js';

const NOW = T0 + 40_000;
const MPD_URL = 'http://gw.test/live/cam/index.mpd';
const OPTIONS: MpdOptions = mpdOptionsAt(NOW);

const fabricated = fabricatedStreams();

function stream(): StreamOutput {
  return fabricated();
}

function mpdText(output: StreamOutput, options: Partial<MpdOptions> = {}): string {
  return serializeMpd(buildMpd(output, { ...OPTIONS, ...options }));
}

/**
 * The publisher drops and publishes again within the grace window (what OutputRegistry does),
 * `away` seconds of wall clock after its media ended (media time 0 is T0 in fabricated streams).
 */
function reconnect(output: StreamOutput, away = 0): void {
  output.suspend();
  const again = new StreamRegistry().publish(output.app, output.key)!;
  const end = output.mediaEndSeconds();
  again.continueAfter(end);
  const now = vi.spyOn(Date, 'now').mockReturnValue(T0 + (end + away) * 1000);
  try {
    output.resume(again);
  } finally {
    now.mockRestore();
  }
}

/** Presentation time - media time of the Period a media instant (seconds) belongs to. */
function offsetAt(output: StreamOutput, seconds: number): number {
  let offset = 0;
  for (const m of output.periodMarks) if (m.start <= seconds + 0.001) offset = m.offset;
  return offset;
}

/**
 * Sequence numbers as listed, without a live timeline's head (the stream's first segment, listed
 * ahead of the window for GStreamer: see timelineHead in mpd.ts) when it is older than the window.
 */
function windowed(track: TrackOutput, listed: readonly SegmentInfo[]): number[] {
  const seqs = listed.map((s) => s.sequence);
  const head = track.firstSegment;
  const windowStart = track.segments[Math.max(0, track.segments.length - PACKAGER.playlistWindow)]?.sequence ?? 0;
  return head && seqs[0] === head.sequence && head.sequence < windowStart ? seqs.slice(1) : seqs;
}

/** Segments after the reconnect: video and audio cut at the same instants, a new init each. */
function feedAfter(output: StreamOutput, options: { count: number; videoStart?: number; audioStart?: number; initId?: number; width?: number }): void {
  const video = output.videos.get('src')!;
  const initId = options.initId ?? video.currentInitId + 1;
  if (options.width === undefined) feedInit(video, VIDEO_720P, initId);
  // Another configuration: other init bytes (the fabricated ones are all alike otherwise).
  else video.onInit({ kind: 'video', id: initId, track: { ...VIDEO_720P, width: options.width }, bytes: new Uint8Array([0, 0, 0, 9, 0x66, 0x74, 0x79, 0x70, options.width & 0xff]) });
  feedInit(output.audio, AUDIO_STEREO, initId);
  const lastV = video.lastSegment!;
  const lastA = output.audio.lastSegment!;
  let v = options.videoStart ?? lastV.startTime + lastV.durationTicks;
  let a = options.audioStart ?? lastA.startTime + lastA.durationTicks;
  let sequence = Math.max(video.openSequence!, output.audio.openSequence!);
  for (let i = 0; i < options.count; i++) {
    feedSegment(video, { sequence, startTime: v, duration: 180_000, timescale: 90_000, initId, discontinuity: i === 0, partBytes: 2000 });
    feedSegment(output.audio, { sequence, startTime: a, duration: 96_000, timescale: 48_000, initId, discontinuity: i === 0, partBytes: 400 });
    v += 180_000;
    a += 96_000;
    sequence++;
  }
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

function field(o: object, name: string): unknown {
  return (o as Record<string, unknown>)[name];
}

/** The packager's segment a resolved DASH URL names (by number or by time), or undefined. */
function segmentOfUrl(track: TrackOutput, url: string): SegmentInfo | undefined {
  const path = new URL(url).pathname;
  const byNumber = new RegExp(`^/live/cam/${track.id}/seg-${SESSION}-(\\d+)\\.m4s$`).exec(path);
  const known = track.firstSegment ? [track.firstSegment, ...track.segments] : track.segments;
  if (byNumber) return known.find((s) => s.sequence === Number(byNumber[1]) && !s.gap);
  const byTime = new RegExp(`^/live/cam/${track.id}/seg-${SESSION}-t(\\d+)\\.m4s$`).exec(path);
  if (byTime) return known.find((s) => s.startTime === Number(byTime[1]) && !s.gap);
  return undefined;
}

/**
 * mpd-parser's view of a track: every URL names a real (non-gap) segment, at its presentation
 * time (media time + its Period's offset: availabilityStartTime is media time 0).
 */
function checkParsed(output: StreamOutput, track: TrackOutput, playlist: ParsedPlaylist): SegmentInfo[] {
  const found: SegmentInfo[] = [];
  for (const s of playlist.segments) {
    const info = segmentOfUrl(track, s.resolvedUri);
    expect(info, s.resolvedUri).toBeDefined();
    const media = info!.startTime / info!.timescale;
    expect(field(s, 'presentationTime') as number).toBeCloseTo(media + offsetAt(output, media), 3);
    expect(s.duration).toBeCloseTo(info!.duration, 6);
    expect(s.map?.resolvedUri).toBe(new URL(`${track.id}/init-${SESSION}-${info!.initId}.mp4`, MPD_URL).href);
    found.push(info!);
  }
  return found;
}

interface ReadPeriod {
  readonly id: string | undefined;
  readonly start: number;
  readonly segments: { url: string; presentationStart: number; presentationEnd: number; init: string }[];
}

/** Our own reader, Period by Period, for one Representation: URLs and presentation times. */
function readOwn(text: string, id: string): ReadPeriod[] {
  const periods = (text.match(/<Period\b/g) ?? []).length;
  const out: ReadPeriod[] = [];
  for (let k = 0; k < periods; k++) {
    const info = parseMpdRepresentation(text, id, k);
    if (!info) continue;
    out.push({
      id: info.periodId,
      start: info.periodStart,
      segments: info.segments.map((s) => {
        const presentationStart = info.periodStart + (s.t - info.presentationTimeOffset) / info.timescale;
        return { url: new URL(expandTemplate(info.media, s), MPD_URL).href, presentationStart, presentationEnd: presentationStart + s.d / info.timescale, init: info.initialization };
      }),
    });
  }
  return out;
}

describe('multi-Period MPD across a publisher reconnect', () => {
  it('each Period declares the configuration of its own init, not the current one (dash.js drops a Representation whose codecs changed)', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output, 0);
    // The stand-in (slate) or the returning encoder: another profile, size and channel count.
    const video = output.videos.get('src')!;
    const initId = video.currentInitId + 1;
    feedAfter(output, { count: 2, initId });
    video.onInit({ kind: 'video', id: initId, track: { ...VIDEO_720P, codecString: 'avc1.42c01f', width: 640, height: 360 }, bytes: new Uint8Array([0, 0, 0, 9, 0x66, 0x74, 0x79, 0x70, 1]) });
    output.audio.onInit({ kind: 'audio', id: initId, track: { ...AUDIO_STEREO, channels: 1 }, bytes: new Uint8Array([0, 0, 0, 9, 0x66, 0x74, 0x79, 0x70, 2]) });

    const [p0, p1] = buildMpd(output, OPTIONS).periods;
    const videoOf = (p: typeof p0) => p!.adaptationSets[0]!.representations[0]!;
    expect([videoOf(p0).codecs, videoOf(p0).width, videoOf(p0).height]).toEqual([VIDEO_720P.codecString, 1280, 720]);
    expect([videoOf(p1).codecs, videoOf(p1).width, videoOf(p1).height]).toEqual(['avc1.42c01f', 640, 360]);
    expect(p0!.adaptationSets[1]!.audioChannelConfiguration?.[0]?.value).toBe(String(AUDIO_STEREO.channels));
    expect(p1!.adaptationSets[1]!.audioChannelConfiguration?.[0]?.value).toBe('1');
  });

  it('a reconnect with a new init starts a new Period: media time continues, Period@start = old end + time away', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] }); // sequences 5..7, 10 s .. 16 s
    const video = output.videos.get('src')!;
    const endOfFirst = output.mediaEndSeconds();
    reconnect(output, 3); // back 3 s (wall clock) after the old media ended
    feedAfter(output, { count: 2, width: 1920 }); // sequences 8..9, media 16 s .. 20 s, another init

    const mpd = buildMpd(output, OPTIONS);
    expect(mpd.type).toBe('dynamic');
    expect(mpd.periods.map((p) => p.id)).toEqual(['0', '1']);
    const [p0, p1] = mpd.periods;
    expect(p0!.start).toBe(0);
    // availabilityStartTime + Period@start is the wall clock the new media began at.
    expect(endOfFirst).toBe(16);
    expect(p1!.start).toBe(19);
    // AdaptationSet ids stable across Periods; each Period has its own init and offset.
    expect(p0!.adaptationSets.map((a) => a.id)).toEqual([0, 1]);
    expect(p1!.adaptationSets.map((a) => a.id)).toEqual([0, 1]);
    const t0 = p0!.adaptationSets[0]!.representations[0]!.segmentTemplate;
    const t1 = p1!.adaptationSets[0]!.representations[0]!.segmentTemplate;
    expect(t0.initialization).toBe(`$RepresentationID$/init-${SESSION}-0.mp4`);
    expect(t1.initialization).toBe(`$RepresentationID$/init-${SESSION}-1.mp4`);
    expect(t0.presentationTimeOffset).toBe(0);
    // presentationTimeOffset: the media time at Period@start, where the new media continues.
    expect(t1.presentationTimeOffset).toBe(16 * 90_000);
    expect(t1.startNumber).toBe(8);
    expect(t1.timeline[0]!.t).toBe(16 * 90_000);
    expect(p1!.adaptationSets[1]!.representations[0]!.segmentTemplate.presentationTimeOffset).toBe(16 * 48_000);
    // Time away, and for video a different init (resolution changed): not continuous.
    expect(p1!.adaptationSets[0]!.supplementalProperties).toBeUndefined();
    expect(p1!.adaptationSets[1]!.supplementalProperties).toBeUndefined();

    const text = serializeMpd(mpd);
    // mpd-parser: one timeline, every segment of both Periods, a discontinuity at the join.
    const m = parseMpd(text);
    const v = checkParsed(output, video, m.playlists[0]!);
    expect(windowed(video, v)).toEqual([FIRST_SEQUENCE + 1, FIRST_SEQUENCE + 2, 8, 9]);
    const joinAt = v.findIndex((s) => s.sequence === 8);
    expect(m.playlists[0]!.segments.map((s, i) => Boolean(field(s, 'discontinuity')) === (i === joinAt))).not.toContain(false);
    const a = checkParsed(output, output.audio, audioPlaylist(m));
    expect(windowed(output.audio, a)).toEqual([FIRST_SEQUENCE + 1, FIRST_SEQUENCE + 2, 8, 9]);

    // Our reader: the second Period begins the time away after the first one's media ends, its
    // first segment exactly at its start; URLs resolve.
    const own = readOwn(text, 'src');
    expect(own.map((p) => p.id)).toEqual(['0', '1']);
    const lastOfFirst = own[0]!.segments[own[0]!.segments.length - 1]!;
    expect(own[1]!.start - lastOfFirst.presentationEnd).toBeCloseTo(3, 6);
    expect(own[1]!.segments[0]!.presentationStart).toBeCloseTo(own[1]!.start, 6);
    for (const p of own) for (const s of p.segments) expect(segmentOfUrl(video, s.url)).toBeDefined();
    expect(own[1]!.segments[0]!.init).toBe(`src/init-${SESSION}-1.mp4`);
  });

  it('period-continuity only where media continues on the same tick with the same init bytes', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output);
    // Video continues exactly (same init bytes in the fabricated stream); audio starts 10 ms late.
    const lastA = output.audio.lastSegment!;
    feedAfter(output, { count: 2, audioStart: lastA.startTime + lastA.durationTicks + 480 });
    const text = mpdText(output);
    const [, p1] = buildMpd(output, OPTIONS).periods;
    expect(p1!.adaptationSets[0]!.supplementalProperties).toEqual([{ schemeIdUri: PERIOD_CONTINUITY, value: '0' }]);
    expect(p1!.adaptationSets[1]!.supplementalProperties).toBeUndefined();
    expect(text).toContain(`<SupplementalProperty schemeIdUri="urn:mpeg:dash:period-continuity:2015" value="0"/>`);
    expect(text.match(/period-continuity/g)).toHaveLength(1);
    // A late audio start is a hole at the Period's start: the S carries its real t.
    const audioTemplate = p1!.adaptationSets[1]!.representations[0]!.segmentTemplate;
    expect(audioTemplate.timeline[0]!.t).toBe(lastA.startTime + lastA.durationTicks + 480);
    checkParsed(output, output.audio, audioPlaylist(parseMpd(text)));

    // The same media continuing after time away is not continuous: the presentation has a gap.
    const away = stream();
    feedStream(away, { durations: [180_000, 180_000, 180_000] });
    reconnect(away, 0.5);
    feedAfter(away, { count: 2 });
    expect(mpdText(away)).not.toContain('period-continuity');
  });

  it('the new Period is listed only once every track has a segment in it', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output);
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P, 1);
    feedSegment(video, { sequence: 8, startTime: 16 * 90_000, duration: 180_000, timescale: 90_000, initId: 1, discontinuity: true });
    expect(buildMpd(output, OPTIONS).periods.map((p) => p.id)).toEqual(['0']);
    feedInit(output.audio, AUDIO_STEREO, 1);
    feedSegment(output.audio, { sequence: 8, startTime: 16 * 48_000, duration: 96_000, timescale: 48_000, initId: 1, discontinuity: true });
    expect(buildMpd(output, OPTIONS).periods.map((p) => p.id)).toEqual(['0', '1']);
  });

  it('the old Period drops out as its segments leave the window; ids and starts stay', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output);
    feedAfter(output, { count: 3 });
    const before = buildMpd(output, OPTIONS).periods;
    expect(before.map((p) => [p.id, p.start])).toEqual([
      ['0', 0],
      ['1', 16],
    ]);
    const video = output.videos.get('src')!;
    for (let sequence = 11; sequence <= 12; sequence++) {
      feedSegment(video, { sequence, startTime: (16 + (sequence - 8) * 2) * 90_000, duration: 180_000, timescale: 90_000, initId: video.currentInitId });
      feedSegment(output.audio, { sequence, startTime: (16 + (sequence - 8) * 2) * 48_000, duration: 96_000, timescale: 48_000, initId: output.audio.currentInitId });
    }
    const after = buildMpd(output, OPTIONS);
    expect(after.periods.map((p) => [p.id, p.start])).toEqual([['1', 16]]);
    const m = parseMpd(serializeMpd(after));
    expect(windowed(video, checkParsed(output, video, m.playlists[0]!))).toEqual([9, 10, 11, 12]);
  });

  it('two reconnects: three Periods, unique ids, each starting where the previous ended', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000] });
    reconnect(output);
    feedAfter(output, { count: 1 });
    reconnect(output);
    feedAfter(output, { count: 1 });
    const mpd = buildMpd(output, OPTIONS);
    expect(mpd.periods.map((p) => p.id)).toEqual(['0', '1', '2']);
    expect(mpd.periods.map((p) => p.start)).toEqual([0, 14, 16]);
    const m = parseMpd(serializeMpd(mpd));
    expect(windowed(output.videos.get('src')!, checkParsed(output, output.videos.get('src')!, m.playlists[0]!))).toEqual([5, 6, 7, 8]);
  });

  it('LL: only the newest Period announces the segment in progress', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output);
    feedAfter(output, { count: 1 });
    const video = output.videos.get('src')!;
    feedSegment(video, { sequence: 9, startTime: 18 * 90_000, duration: 180_000, timescale: 90_000, initId: video.currentInitId, open: true, parts: 2 });
    const mpd = buildMpd(output, { ...OPTIONS, lowLatency: true });
    const [p0, p1] = mpd.periods;
    const entries = (p: typeof p0): number => p!.adaptationSets[0]!.representations[0]!.segmentTemplate.timeline.reduce((n, e) => n + 1 + (e.r ?? 0), 0);
    expect(entries(p0)).toBe(3);
    expect(entries(p1)).toBe(2); // segment 8 and the one in progress
    expect(p1!.adaptationSets[0]!.producerReferenceTimes?.[0]!.presentationTime).toBe(16 * 90_000);
  });

  it('LL: a new Period is listed from its first parts (every track), not a whole segment later', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output);
    const video = output.videos.get('src')!;
    feedInit(video, VIDEO_720P, 1);
    feedSegment(video, { sequence: 8, startTime: 16 * 90_000, duration: 36_000, timescale: 90_000, initId: 1, discontinuity: true, open: true, parts: 2 });
    const ll = { ...OPTIONS, lowLatency: true };
    // The video has parts, the audio none yet: no AdaptationSet may appear late, so not yet.
    expect(buildMpd(output, ll).periods.map((p) => p.id)).toEqual(['0']);
    feedInit(output.audio, AUDIO_STEREO, 1);
    feedSegment(output.audio, { sequence: 8, startTime: 16 * 48_000, duration: 19_200, timescale: 48_000, initId: 1, discontinuity: true, open: true, parts: 2 });
    const mpd = buildMpd(output, ll);
    expect(mpd.periods.map((p) => p.id)).toEqual(['0', '1']);
    const template = mpd.periods[1]!.adaptationSets[0]!.representations[0]!.segmentTemplate;
    // Only the segment in progress, announced at its first part's time with a predicted duration.
    expect(template.startNumber).toBe(8);
    expect(template.timeline).toEqual([{ t: 16 * 90_000, d: 180_000, r: 0 }]);
    // mpd-parser resolves it to segment 8 of the new session.
    const parsed = parse(serializeMpd(mpd), { manifestUri: MPD_URL });
    const last = parsed.playlists!.find((p) => p.attributes.NAME === 'src' && p.segments.some((x) => x.resolvedUri.endsWith(`seg-${SESSION}-8.m4s`)));
    expect(last).toBeDefined();
    // Without low latency, the Period waits for a complete segment, as before.
    expect(buildMpd(output, OPTIONS).periods.map((p) => p.id)).toEqual(['0']);
  });

  it('LL: nothing is announced in progress while the publisher is away', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    const count = (): number => buildMpd(output, { ...OPTIONS, lowLatency: true }).periods[0]!.adaptationSets[0]!.representations[0]!.segmentTemplate.timeline.reduce((n, e) => n + 1 + (e.r ?? 0), 0);
    const live = count();
    output.suspend();
    expect(count()).toBe(live - 1);
  });

  it('static once ended: both Periods, the first at 0, the second after the time away', () => {
    const output = stream();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    reconnect(output, 2);
    feedAfter(output, { count: 2 });
    output.finish();
    const mpd = buildMpd(output, OPTIONS);
    expect(mpd.type).toBe('static');
    // Listed: 12 s .. 16 s of the first session, 2 s away, then 16 s .. 20 s of media.
    expect(mpd.periods.map((p) => [p.id, p.start])).toEqual([
      ['0', 0],
      ['1', 6],
    ]);
    expect(mpd.mediaPresentationDuration).toBe(10);
    const t1 = mpd.periods[1]!.adaptationSets[0]!.representations[0]!.segmentTemplate;
    expect(t1.presentationTimeOffset).toBe(16 * 90_000);
    expect(parseMpd(serializeMpd(mpd)).playlists[0]!.segments).toHaveLength(4);
  });
});

describe('gaps (TrackOutput.addGap) in the MPD', () => {
  /** A rung with segments 5..10 where 7 and 8 are gaps; `newInit`: it came back with another init. */
  function withGaps(newInit: boolean): { output: StreamOutput; rung: TrackOutput } {
    const output = stream();
    feedStream(output, { audio: false, durations: [180_000, 180_000, 180_000, 180_000, 180_000, 180_000] });
    const rung = output.addVideoRendition('360p', { subscribe: () => () => undefined });
    feedInit(rung, { ...VIDEO_720P, width: 640, height: 360 }, 0);
    for (let sequence = 5; sequence <= 10; sequence++) {
      const start = (10 + (sequence - 5) * 2) * 90_000;
      if (sequence === 7 || sequence === 8) rung.addGap(sequence, start, 180_000, 90_000);
      else {
        if (sequence === 9 && newInit) feedInit(rung, { ...VIDEO_720P, width: 640, height: 360 }, 1);
        feedSegment(rung, { sequence, startTime: start, duration: 180_000, timescale: 90_000, initId: rung.currentInitId, discontinuity: sequence === 9 });
      }
    }
    return { output, rung };
  }

  it('a gap is a hole in the timeline with an explicit t after it; $Time$ keeps every URL right', () => {
    const { output, rung } = withGaps(false);
    // A window of 6: sequences 5..10, of which 7 and 8 are gaps.
    const mpd = buildMpd(output, { ...OPTIONS, window: 6 });
    const rep = mpd.periods[0]!.adaptationSets[0]!.representations.find((r) => r.id === '360p')!;
    expect(rep.segmentTemplate.timeline).toEqual([
      { t: 10 * 90_000, d: 180_000, r: 1 },
      { t: 18 * 90_000, d: 180_000, r: 1 },
    ]);
    expect(rep.segmentTemplate.media).toBe(`$RepresentationID$/seg-${SESSION}-t$Time$.m4s`);
    // The source rendition has no gap: still $Number$.
    const src = mpd.periods[0]!.adaptationSets[0]!.representations.find((r) => r.id === 'src')!;
    expect(src.segmentTemplate.media).toBe(`$RepresentationID$/seg-${SESSION}-$Number$.m4s`);
    const text = serializeMpd(mpd);
    expect(text).toContain('<S t="900000" d="180000" r="1"/>\n            <S t="1620000" d="180000" r="1"/>');

    const m = parseMpd(text);
    const playlist = m.playlists.find((p) => p.attributes.NAME === '360p')!;
    expect(checkParsed(output, rung, playlist).map((s) => s.sequence)).toEqual([5, 6, 9, 10]);
    const own = readOwn(text, '360p');
    expect(own[0]!.segments.map((s) => segmentOfUrl(rung, s.url)?.sequence)).toEqual([5, 6, 9, 10]);
  });

  it('a gap before a new init: the gaps are never listed, even before the rung is back', () => {
    const { output, rung } = withGaps(true);
    const mpd = buildMpd(output, { ...OPTIONS, window: 6 });
    const rep = mpd.periods[0]!.adaptationSets[0]!.representations.find((r) => r.id === '360p')!;
    expect(rep.segmentTemplate.startNumber).toBe(9);
    expect(rep.segmentTemplate.initialization).toBe(`$RepresentationID$/init-${SESSION}-1.mp4`);
    expect(rep.segmentTemplate.media).toBe(`$RepresentationID$/seg-${SESSION}-$Number$.m4s`);

    // While the transcoder restarts: 5, 6 listed, the gaps 7, 8 not, nothing after them.
    const early = stream();
    feedStream(early, { audio: false, durations: [180_000, 180_000, 180_000, 180_000] });
    const r2 = early.addVideoRendition('360p', { subscribe: () => () => undefined });
    feedInit(r2, { ...VIDEO_720P, width: 640, height: 360 }, 0);
    feedSegment(r2, { sequence: 5, startTime: 10 * 90_000, duration: 180_000, timescale: 90_000 });
    feedSegment(r2, { sequence: 6, startTime: 12 * 90_000, duration: 180_000, timescale: 90_000 });
    r2.addGap(7, 14 * 90_000, 180_000, 90_000);
    r2.addGap(8, 16 * 90_000, 180_000, 90_000);
    const m = parseMpd(mpdText(early, { lowLatency: true }));
    const playlist = m.playlists.find((p) => p.attributes.NAME === '360p')!;
    expect(checkParsed(early, r2, playlist).map((s) => s.sequence)).toEqual([5, 6]);
    expect(rung.segments.filter((s) => s.gap).map((s) => s.sequence)).toEqual([7, 8]);
  });
});
