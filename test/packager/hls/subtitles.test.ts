/**
 * Subtitles from onTextData (packager/hls/subtitles.ts): cues last until the next text (at most
 * MAX_CUE_SECONDS), each WebVTT file holds the cues overlapping its segment and is read back by
 * ffmpeg's WebVTT demuxer (an independent parser); the subtitles playlist follows the video's
 * segments, and the multivariant playlist declares the rendition (m3u8-parser).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { fromAmfCuePoint } from '../../../src/metadata/timed-event.js';
import { buildMultivariantPlaylist, buildSubtitlesPlaylist } from '../../../src/packager/hls/playlists.js';
import { vttSpanOf } from '../../../src/http/hls-routes.js';
import { serializeMediaPlaylist, serializeMultivariantPlaylist } from '../../../src/packager/hls/serialize.js';
import { buildWebVtt, MAX_CUE_SECONDS, parseVttFileName, textCuesOf, vttFileName, vttTime } from '../../../src/packager/hls/subtitles.js';
import { ffmpegPath } from '../../helpers/tools.js';
import { FIRST_SEQUENCE, PACKAGER, fabricatedStreams, feedSegment, feedStream } from '../dash/fabricate.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-vtt-'));
const fabricated = fabricatedStreams();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (t: string, at: number, language?: string) => fromAmfCuePoint('onTextData', { text: t, ...(language ? { language } : {}) }, at);

/** The cues of a WebVTT file as ffmpeg reads them: [start, end, text] in seconds. */
function ffmpegCues(vtt: string): [number, number, string][] {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.vtt`);
  writeFileSync(file, vtt);
  const r = spawnSync(ffmpegPath(), ['-v', 'error', '-i', file, '-f', 'srt', '-'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const seconds = (t: string): number => {
    const [h, m, s] = t.replace(',', '.').split(':');
    return Number(h) * 3600 + Number(m) * 60 + Number(s);
  };
  return r.stdout
    .trim()
    .split(/\n\n+/)
    .filter((b) => b.includes('-->'))
    .map((b) => {
      const lines = b.split('\n');
      const [from, to] = lines[1]!.split(' --> ');
      return [seconds(from!), seconds(to!), lines.slice(2).join('\n')];
    });
}

describe('WebVTT subtitles from onTextData', () => {
  it('cues last until the next text, at most MAX_CUE_SECONDS; non-text events are not cues', () => {
    const cues = textCuesOf([text('one', 10, 'eng'), fromAmfCuePoint('onCuePoint', { name: 'x' }, 10.5), text('two', 11.5), text('three', 30)]);
    expect(cues).toEqual([
      { start: 10, end: 11.5, text: 'one', language: 'eng' },
      { start: 11.5, end: 11.5 + MAX_CUE_SECONDS, text: 'two' },
      { start: 30, end: 30 + MAX_CUE_SECONDS, text: 'three' },
    ]);
    expect(vttTime(3725.5)).toBe('01:02:05.500');
  });

  it('a segment file holds the cues overlapping it, escaped; ffmpeg reads them at their media times', () => {
    const cues = textCuesOf([text('before', 1), text('a <b> & c', 9.5), text('inside', 11)]);
    const vtt = buildWebVtt(cues, 10, 12);
    expect(vtt.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:10.000\n')).toBe(true);
    expect(vtt).not.toContain('before');
    expect(ffmpegCues(vtt)).toEqual([
      [9.5, 11, 'a <b> & c'],
      [11, 15, 'inside'],
    ]);
    // No cue in the segment: a valid, empty file.
    expect(ffmpegCues(buildWebVtt(cues, 100, 102))).toEqual([]);
  });

  it('a cue repeated in several files has one identifier there, whatever end each file gives it', () => {
    const identified = (vtt: string): [string, string][] => {
      const lines = vtt.split('\n');
      return lines.flatMap((line, i) => (line.includes(' --> ') ? [[lines[i - 1]!, line] as [string, string]] : []));
    };
    // Written before the next text came: the cue lasts MAX_CUE_SECONDS; after: until that text.
    const before = identified(buildWebVtt(textCuesOf([text('one', 10)]), 10, 10.1));
    const after = identified(buildWebVtt(textCuesOf([text('one', 10), text('two', 12)]), 10.1, 12.1));
    expect(before).toEqual([['text-10000', '00:00:10.000 --> 00:00:14.000']]);
    expect(after).toEqual([
      ['text-10000', '00:00:10.000 --> 00:00:12.000'],
      ['text-12000', '00:00:12.000 --> 00:00:16.000'],
    ]);
    // Two texts at one instant: each its own identifier, in every file alike.
    const twin = textCuesOf([text('a', 20), text('b', 20)]);
    expect(identified(buildWebVtt(twin, 19, 21)).map(([id]) => id)).toEqual(['text-20000', 'text-20000-1']);
    // ffmpeg's WebVTT demuxer reads a file with identifiers as before.
    expect(ffmpegCues(buildWebVtt(twin, 19, 21)).map((c) => c[2])).toEqual(['a', 'b']);
  });

  it('the subtitles playlist follows the video segments; the multivariant playlist declares the rendition', () => {
    const output = fabricated();
    feedStream(output, { durations: [180_000, 180_000, 180_000] });
    const video = output.videos.get('src')!;
    expect(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).not.toContain('SUBTITLES');
    output.addTimedEvent(text('hello', video.segments[1]!.startTime / 90_000 + 0.5, 'fra'));

    const parser = new Parser();
    parser.push(serializeMediaPlaylist(buildSubtitlesPlaylist(video, { ...PACKAGER, window: PACKAGER.playlistWindow, lowLatency: false })));
    parser.end();
    const media = parser.manifest as unknown as { mediaSequence: number; segments: { uri: string; duration: number }[] };
    expect(media.mediaSequence).toBe(FIRST_SEQUENCE);
    expect(media.segments.map((s) => s.uri)).toEqual(video.segments.map((s) => vttFileName(video.session, s.sequence)));
    expect(media.segments.map((s) => s.duration)).toEqual(video.segments.map((s) => Number(s.duration.toFixed(3))));
    expect(parseVttFileName(media.segments[0]!.uri)).toEqual({ session: video.session, sequence: FIRST_SEQUENCE });

    const master = new Parser();
    master.push(serializeMultivariantPlaylist(buildMultivariantPlaylist(output)));
    master.end();
    const m = master.manifest as unknown as { mediaGroups: { SUBTITLES: Record<string, Record<string, { language: string; uri: string; default: boolean }>> }; playlists: { attributes: Record<string, unknown> }[] };
    expect(m.mediaGroups.SUBTITLES['subs']!['French']).toMatchObject({ language: 'fr', uri: 'subtitles/index.m3u8', default: false });
    expect(m.playlists[0]!.attributes['SUBTITLES']).toBe('subs');
  });
});

describe('LL-HLS subtitles', () => {
  it('while live the subtitles playlist lists a VTT per part of the video, with its blocking reload and preload hint', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000, 180_000] });
    const video = output.videos.get('src')!;
    output.addTimedEvent(text('hello', video.segments[1]!.startTime / 90_000 + 0.5, 'eng'));
    const open = FIRST_SEQUENCE + 3;
    const openStart = video.segments[2]!.startTime + 180_000;
    feedSegment(video, { sequence: open, startTime: openStart, duration: 180_000, timescale: 90_000, parts: 4, open: true });

    const text8216 = serializeMediaPlaylist(buildSubtitlesPlaylist(video, { ...PACKAGER, window: PACKAGER.playlistWindow, lowLatency: true }));
    const parser = new Parser();
    parser.push(text8216);
    parser.end();
    type Part = { uri: string; duration: number; independent?: boolean };
    const media = parser.manifest as unknown as {
      segments: { uri: string; parts?: Part[]; map?: unknown }[];
      partInf: { partTarget: number };
      serverControl: { canBlockReload: boolean; partHoldBack: number };
      preloadSegment: { parts: Part[]; preloadHints: { type: string; uri: string }[] };
    };
    // m3u8-parser (an independent parser): parts of whole segments, of the one in progress, the hint.
    expect(media.serverControl.canBlockReload).toBe(true);
    expect(media.serverControl.partHoldBack).toBeGreaterThanOrEqual(3 * media.partInf.partTarget);
    expect(media.segments.every((s) => s.map === undefined)).toBe(true);
    expect(media.segments[0]!.parts!.map((p) => p.uri)).toEqual([0, 1, 2, 3].map((i) => vttFileName(video.session, FIRST_SEQUENCE, i)));
    expect(media.segments.at(-1)!.parts!.map((p) => p.uri)).toEqual([0, 1, 2, 3].map((i) => vttFileName(video.session, FIRST_SEQUENCE + 2, i)));
    expect(media.preloadSegment.parts.map((p) => p.uri)).toEqual([0, 1, 2, 3].map((i) => vttFileName(video.session, open, i)));
    expect(media.preloadSegment.preloadHints).toEqual([{ type: 'PART', uri: vttFileName(video.session, open, 4) }]);
    expect(text8216).not.toContain('.m4s');

    // Each part's file covers the part's media time; the segment's covers the segment.
    const part1 = parseVttFileName(vttFileName(video.session, FIRST_SEQUENCE + 1, 1))!;
    expect(part1).toEqual({ session: video.session, sequence: FIRST_SEQUENCE + 1, part: 1 });
    const span = vttSpanOf(video, part1.sequence, part1.part)!;
    expect([span.start, span.end]).toEqual([12.5, 13]);
    expect(ffmpegCues(buildWebVtt(textCuesOf(output.timedEvents), span.start, span.end))).toEqual([[12.5, 16.5, 'hello']]);
    expect(vttSpanOf(video, FIRST_SEQUENCE + 1, undefined)).toEqual({ start: 12, end: 14 });
    expect(vttSpanOf(video, open, 3)).toEqual({ start: 16 + 1.5, end: 18 });
    // The hinted part, the segment in progress as a whole, and numbers outside the window: none yet.
    expect([vttSpanOf(video, open, 4), vttSpanOf(video, open, undefined), vttSpanOf(video, FIRST_SEQUENCE - 1, 0)]).toEqual([undefined, undefined, undefined]);
  });

  it('once the stream ended, the subtitles playlist has no parts and ends', () => {
    const output = fabricated();
    feedStream(output, { audio: false, durations: [180_000, 180_000] });
    const video = output.videos.get('src')!;
    output.addTimedEvent(text('hello', 10.5, 'eng'));
    video.end();
    const playlist = serializeMediaPlaylist(buildSubtitlesPlaylist(video, { ...PACKAGER, window: PACKAGER.playlistWindow, lowLatency: true }));
    expect(playlist).not.toContain('EXT-X-PART');
    expect(playlist).toContain('#EXT-X-ENDLIST');
  });
});

describe('WebVTT in CMAF (wvtt) for DASH', () => {
  it('mp4box reads a wvtt track whose samples tile each segment: the cues shown, or vtte', async () => {
    const { buildWvttInit, buildWvttSegment } = await import('../../../src/mux/fmp4/wvtt.js');
    const { parseMp4 } = await import('../../mux/fmp4/media-fixture.js');
    const { concatBytes } = await import('../../../src/core/bytes.js');
    const ts = 90_000;
    const cues = [
      { start: 10.5 * ts, end: 11.5 * ts, text: 'one' },
      { start: 11 * ts, end: 13 * ts, text: 'two' },
    ];
    const file = concatBytes([buildWvttInit(ts, 'eng'), buildWvttSegment(cues, 10 * ts, 2 * ts, 5), buildWvttSegment(cues, 12 * ts, 2 * ts, 6)]);
    const parsed = parseMp4(file, { withData: true });
    expect(parsed.errors).toEqual([]);
    const track = parsed.info.tracks[0]!;
    expect([track.codec, track.timescale, track.language]).toEqual(['wvtt', ts, 'eng']);
    const samples = parsed.samples.get(track.id)!;
    // Payload texts of a sample: each vttc > payl, or none for vtte.
    const texts = (data: Uint8Array): string[] => {
      const out: string[] = [];
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let at = 0; at < data.byteLength; ) {
        const size = view.getUint32(at);
        const type = new TextDecoder().decode(data.subarray(at + 4, at + 8));
        if (type === 'vttc') out.push(new TextDecoder().decode(data.subarray(at + 16, at + size)));
        at += size;
      }
      return out;
    };
    expect(samples.map((s) => [s.dts / ts, s.duration / ts, texts(s.data!)])).toEqual([
      [10, 0.5, []],
      [10.5, 0.5, ['one']],
      [11, 0.5, ['one', 'two']],
      [11.5, 0.5, ['two']],
      [12, 1, ['two']],
      [13, 1, []],
    ]);
  });
});
