/**
 * Alternative audio renditions in the HLS multivariant playlist and the MPD, read back by the
 * independent m3u8-parser and mpd-parser: every audio track in the one audio group (LANGUAGE,
 * NAME, DEFAULT, URI) that every video variant refers to, and one audio AdaptationSet per track
 * (@lang, Role main/alternate), over the same numbered files.
 */
import { parse } from 'mpd-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMpd } from '../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../src/packager/dash/serialize.js';
import { audioGroupOf, languageName } from '../../src/packager/audio-group.js';
import { buildMediaPlaylist, buildMultivariantPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist, serializeMultivariantPlaylist } from '../../src/packager/hls/serialize.js';
import type { OutputRegistry } from '../../src/packager/output-registry.js';
import type { StreamOutput } from '../../src/packager/stream-output.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { AUDIO_STEREO, FIRST_SEQUENCE, FIRST_START_SECONDS, PACKAGER, SESSION, T0, VIDEO_DURATIONS, fabricateOutput, feedInit, feedSegment, feedStream, mpdOptionsAt } from './dash/fabricate.js';

const BASE = 'http://gw.test/live/cam/';
const NOW = T0 + 25_000;

const registries: OutputRegistry[] = [];
afterEach(() => {
  for (const r of registries.splice(0)) r.close();
});

/**
 * A stream with video, its audio in `languages[0]` and one alternative audio rendition per further
 * language, made as a publish makes them (LiveStream.audioRendition), fed segments cut at the
 * video's instants.
 */
function streamWith(languages: readonly (string | undefined)[], ids: readonly string[] = []): StreamOutput {
  const { registry, streams, output } = fabricateOutput();
  registries.push(registry);
  const live = streams.get('live', 'cam')!;
  feedStream(output);
  output.audio.language = languages[0];
  languages.slice(1).forEach((language, i) => {
    live.audioRendition(ids[i] ?? `audio-${i + 2}`);
    const alt = [...output.audioRenditions.values()][i]!;
    alt.language = language;
    feedAudio(alt);
  });
  return output;
}

/** The same segments as the fabricated stream's audio (feedStream), into `track`. */
function feedAudio(track: TrackOutput, channels = 2): void {
  feedInit(track, { ...AUDIO_STEREO, channels });
  let videoAt = FIRST_START_SECONDS * 90_000;
  let sequence = FIRST_SEQUENCE;
  for (const d of VIDEO_DURATIONS) {
    const a0 = Math.round((videoAt * 48_000) / 90_000);
    const a1 = Math.round(((videoAt + d) * 48_000) / 90_000);
    feedSegment(track, { sequence, startTime: a0, duration: a1 - a0, timescale: 48_000, partBytes: 300 });
    videoAt += d;
    sequence++;
  }
}

function multivariant(output: StreamOutput): { text: string; parsed: ReturnType<typeof parseM3u8> } {
  const text = serializeMultivariantPlaylist(buildMultivariantPlaylist(output));
  return { text, parsed: parseM3u8(text) };
}

function numbers(uris: readonly string[]): number[] {
  return uris.map((u) => Number(/seg-[0-9a-z]+-(\d+)\.m4s$/.exec(u)![1]));
}

describe('HLS: alternative audio renditions in the audio group', () => {
  it('lists every audio track with its LANGUAGE and NAME, the first DEFAULT=YES, all in the group every variant refers to', () => {
    const output = streamWith(['eng', 'fra'], ['audio-fra']);
    const { text, parsed } = multivariant(output);
    const group = parsed.mediaGroups!.AUDIO!['audio']!;
    expect(Object.keys(group)).toEqual(['English', 'French']);
    expect(group['English']).toMatchObject({ language: 'en', default: true, autoselect: true, uri: 'audio/index.m3u8' });
    expect(group['French']).toMatchObject({ language: 'fr', default: false, autoselect: true, uri: 'audio-fra/index.m3u8' });
    expect(text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"');
    expect(text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="French",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio-fra/index.m3u8"');
    expect(parsed.playlists!.length).toBeGreaterThan(0);
    for (const p of parsed.playlists!) {
      expect(p.attributes.AUDIO).toBe('audio');
      expect(p.attributes.CODECS).toBe('avc1.64001f,mp4a.40.2');
    }
  });

  it('the alternative rendition has its own media playlist over the same numbers and spans, with rendition reports', () => {
    const output = streamWith(['eng', 'fra'], ['audio-fra']);
    const alt = output.rendition('audio-fra')!;
    expect(alt).toBe(output.audioRenditions.get('audio-fra'));
    const options = { window: PACKAGER.playlistWindow, segmentDuration: 2, partDuration: 0.5, lowLatency: true };
    const read = (t: TrackOutput) => parseM3u8(serializeMediaPlaylist(buildMediaPlaylist(t, options, output.tracks())));
    const main = read(output.audio);
    const other = read(alt);
    const video = read(output.videos.get('src')!);
    expect(numbers(other.segments.map((s) => s.uri))).toEqual(numbers(video.segments.map((s) => s.uri)));
    expect(other.segments.map((s) => s.duration)).toEqual(main.segments.map((s) => s.duration));
    const url = new URL('audio-fra/index.m3u8', BASE);
    expect(new URL(other.segments[0]!.uri, url).href).toBe(`${BASE}audio-fra/seg-${SESSION}-${other.mediaSequence}.m4s`);
    expect(new URL(other.segments[0]!.map!.uri, url).href).toBe(`${BASE}audio-fra/init-${SESSION}-0.mp4`);
    expect(output.ready).toBe(true);
  });

  it('without languages: LANGUAGE="und", numbered names; one language twice: unique names', () => {
    const und = multivariant(streamWith([undefined, undefined])).parsed.mediaGroups!.AUDIO!['audio']!;
    expect(Object.entries(und).map(([name, a]) => [name, a.language, a.default, a.uri])).toEqual([
      ['Audio 1', 'und', true, 'audio/index.m3u8'],
      ['Audio 2', 'und', false, 'audio-2/index.m3u8'],
    ]);
    const twice = audioGroupOf(streamWith(['eng', 'eng', 'fra'], ['audio-eng', 'audio-fra']));
    expect(twice.map((a) => [a.output.id, a.name, a.language, a.isDefault])).toEqual([
      ['audio', 'English', 'eng', true],
      ['audio-eng', 'English (2)', 'eng', false],
      ['audio-fra', 'French', 'fra', false],
    ]);
  });

  it('a stream with one audio track lists it as before: NAME "audio", LANGUAGE "und" (its language when known)', () => {
    expect(multivariant(streamWith([undefined])).text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"');
    expect(multivariant(streamWith(['deu'])).text).toContain('NAME="German",LANGUAGE="de",DEFAULT=YES');
    expect(languageName('fra')).toBe('French');
  });

  it('BANDWIDTH covers the largest audio rendition; CODECS names every audio format of the group', () => {
    const output = streamWith(['eng', 'spa'], ['audio-spa']);
    const alt = output.audioRenditions.get('audio-spa')!;
    alt.track = { ...AUDIO_STEREO, objectType: 5, codecString: 'mp4a.40.5' };
    alt.peakBitrate = output.audio.peakBitrate * 3;
    const video = output.videos.get('src')!;
    const { parsed } = multivariant(output);
    expect(parsed.playlists![0]!.attributes.CODECS).toBe('avc1.64001f,mp4a.40.2,mp4a.40.5');
    expect(parsed.playlists![0]!.attributes.BANDWIDTH).toBe(Math.round(video.peakBitrate + alt.peakBitrate));
  });
});

describe('DASH: one audio AdaptationSet per audio track', () => {
  it('@lang and Role main/alternate per AdaptationSet, each over its own files with the same numbers (mpd-parser)', () => {
    const output = streamWith(['eng', 'fra'], ['audio-fra']);
    const xml = serializeMpd(buildMpd(output, mpdOptionsAt(NOW)));
    const sets = [...xml.matchAll(/<AdaptationSet [^>]*contentType="audio"[^>]*>[\s\S]*?<\/AdaptationSet>/g)].map((m) => m[0]);
    expect(sets).toHaveLength(2);
    expect(sets[0]).toMatch(/id="1"[^>]*lang="en"/);
    expect(sets[0]).toContain('<Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>');
    expect(sets[1]).toMatch(/id="2"[^>]*lang="fr"/);
    expect(sets[1]).toContain('<Role schemeIdUri="urn:mpeg:dash:role:2011" value="alternate"/>');

    const mpd = parse(xml, { manifestUri: `${BASE}index.mpd`, NOW });
    const audio = mpd.mediaGroups.AUDIO['audio']!;
    expect(Object.entries(audio).map(([label, a]) => [label, a.language, a.default])).toEqual([
      ['en (main)', 'en', true],
      ['fr (alternate)', 'fr', false],
    ]);
    const eng = audio['en (main)']!.playlists[0]!;
    const fra = audio['fr (alternate)']!.playlists[0]!;
    expect(fra.segments.every((s) => s.resolvedUri.startsWith(`${BASE}audio-fra/seg-${SESSION}-`))).toBe(true);
    expect(fra.segments[0]!.map!.resolvedUri).toBe(`${BASE}audio-fra/init-${SESSION}-0.mp4`);
    expect(numbers(fra.segments.map((s) => s.resolvedUri))).toEqual(numbers(eng.segments.map((s) => s.resolvedUri)));
    const video = mpd.playlists[0]!;
    expect(numbers(fra.segments.map((s) => s.resolvedUri))).toEqual(numbers(video.segments.map((s) => s.resolvedUri)));
  });

  it('a stream with one audio track keeps its one AdaptationSet: id 1, lang und, Role main', () => {
    const xml = serializeMpd(buildMpd(streamWith([undefined]), mpdOptionsAt(NOW)));
    const sets = [...xml.matchAll(/<AdaptationSet [^>]*contentType="audio"[^>]*>/g)].map((m) => m[0]);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatch(/id="1"[^>]*lang="und"/);
  });
});
