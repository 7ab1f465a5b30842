/**
 * Enhanced RTMP audio end to end below the network: real Opus, FLAC, AC-3 and E-AC-3 packets
 * (ffmpeg's encoders) go in as E-RTMP tag bodies through FlvIngest, out as a CMAF header and
 * fragments, and independent parsers read them back: ffprobe (codec, sample rate, channels, frame
 * count, duration), ffmpeg (a clean decode) and mp4box (the sample entry and its box).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AudioTrack, Frame } from '../../../src/core/media.js';
import { FlvIngest } from '../../../src/flv/ingest.js';
import { buildFragment } from '../../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import { needsRollGroup } from '../../../src/mux/fmp4/audio-entry.js';
import { readFileSync } from 'node:fs';
import { AUDIO_FOURCC, boxPayload, enhancedAudioFixture, type EnhancedAudioCodec } from '../../helpers/audio-fixtures.js';
import { concatBytes, ffmpegDecodeErrors, parseMp4 } from './media-fixture.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The fixture through FlvIngest as E-RTMP v2 tags: SequenceStart (not for AC-3), then CodedFrames. */
function ingest(codec: EnhancedAudioCodec): { track: AudioTrack; frames: Frame[]; warnings: string[] } {
  const fixture = enhancedAudioFixture(codec);
  const fourcc = ascii(AUDIO_FOURCC[codec]);
  const flv = new FlvIngest();
  const events = [];
  if (fixture.sequenceStart) events.push(...flv.pushAudio(0, Uint8Array.from([0x90, ...fourcc, ...fixture.sequenceStart]), 0));
  for (const p of fixture.packets) {
    const body = new Uint8Array(5 + p.data.byteLength);
    body.set([0x91, ...fourcc], 0);
    body.set(p.data, 5);
    events.push(...flv.pushAudio(Math.round(p.ms), body, 0));
  }
  const tracks = events.flatMap((e) => (e.type === 'track' && e.track.kind === 'audio' ? [e.track] : []));
  expect(tracks).toHaveLength(1);
  return {
    track: tracks[0]!,
    frames: events.flatMap((e) => (e.type === 'frame' ? [e.frame] : [])),
    warnings: events.flatMap((e) => (e.type === 'warning' ? [`${e.code}: ${e.message}`] : [])),
  };
}

/** Init segment + fragments of 50 frames, each frame's own duration (as the segmenter passes it). */
function mux(track: AudioTrack, frames: readonly Frame[]): Uint8Array {
  const pieces = [buildInitSegment(track)];
  for (let i = 0, n = 1; i < frames.length; i += 50, n++) {
    const group = frames.slice(i, i + 50);
    pieces.push(
      buildFragment({
        kind: 'audio',
        sequenceNumber: n,
        baseMediaDecodeTime: group[0]!.dts,
        rollGroup: needsRollGroup(track),
        samples: group.map((f, k) => ({ duration: group[k + 1] ? group[k + 1]!.dts - f.dts : (f.duration ?? track.samplesPerFrame), key: true, compositionOffset: 0, data: f.data })),
      }),
    );
  }
  return concatBytes(pieces);
}

function ffprobe(file: string): { codec_name: string; sample_rate: string; channels: number; nb_read_frames: string; duration?: string } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-show_streams', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { streams: [{ codec_name: string; sample_rate: string; channels: number; nb_read_frames: string; duration?: string }] }).streams[0];
}

const CASES: Array<{ codec: EnhancedAudioCodec; name: string; entry: string; box: string; codecString: string; rate: number; channels: number }> = [
  { codec: 'opus', name: 'opus', entry: 'Opus', box: 'dOps', codecString: 'opus', rate: 48_000, channels: 2 },
  { codec: 'flac', name: 'flac', entry: 'fLaC', box: 'dfLa', codecString: 'flac', rate: 44_100, channels: 1 },
  { codec: 'ac3', name: 'ac3', entry: 'ac-3', box: 'dac3', codecString: 'ac-3', rate: 48_000, channels: 6 },
  { codec: 'eac3', name: 'eac3', entry: 'ec-3', box: 'dec3', codecString: 'ec-3', rate: 48_000, channels: 2 },
];

describe.each(CASES)('$entry from Enhanced RTMP into CMAF', (c) => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-ertmp-audio-'));

  it('makes the track and exact, gapless frame times from the packets', () => {
    const fixture = enhancedAudioFixture(c.codec);
    const { track, frames, warnings } = ingest(c.codec);
    expect(warnings).toEqual([]);
    expect(track).toMatchObject({ kind: 'audio', codec: c.codec, codecString: c.codecString, sampleRate: c.rate, timescale: c.rate, channels: c.channels });
    expect(frames).toHaveLength(fixture.packets.length);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.dts - frames[i - 1]!.dts).toBe(frames[i - 1]!.duration);
  });

  it('writes the configuration box ffmpeg writes for the same stream (made from the E-RTMP SequenceStart or the syncframes)', () => {
    const fixture = enhancedAudioFixture(c.codec);
    const { track } = ingest(c.codec);
    const ours = buildInitSegment(track);
    const theirs = new Uint8Array(readFileSync(fixture.file));
    expect(Buffer.from(boxPayload(ours, c.box)).toString('hex')).toBe(Buffer.from(boxPayload(theirs, c.box)).toString('hex'));
  });

  it('is read back by ffprobe and mp4box and decodes cleanly with ffmpeg', () => {
    const fixture = enhancedAudioFixture(c.codec);
    const { track, frames } = ingest(c.codec);
    const bytes = mux(track, frames);
    const file = join(dir, `${c.codec}.mp4`);
    writeFileSync(file, bytes);
    const stream = ffprobe(file);
    expect(stream).toMatchObject({ codec_name: c.name, sample_rate: String(c.rate), channels: c.channels });
    expect(Number(stream.nb_read_frames)).toBe(fixture.packets.length);
    expect(ffmpegDecodeErrors(file)).toBe('');
    const parsed = parseMp4(bytes);
    expect(parsed.errors).toEqual([]);
    const t = parsed.info.audioTracks[0]!;
    expect(t.codec.toLowerCase()).toContain(c.codecString === 'opus' ? 'opus' : c.codecString === 'flac' ? 'flac' : c.codecString);
    expect(t.audio?.sample_rate).toBe(c.rate);
    expect(t.audio?.channel_count).toBe(c.channels);
  });
});
