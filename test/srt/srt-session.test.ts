/**
 * An SRT caller's MPEG-TS with several audio tracks, through SrtPublishSession (no sockets: the
 * bytes as the relay hands them over) into the real publish path and packager: every audio track
 * is a rendition with its language, cut and numbered like the video, across a reconnect too, up to
 * the bound. The TS is ffmpeg's (its ISO_639_language_descriptors included); the CMAF that comes
 * out is checked by ffprobe and ffmpeg.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SegmentCache } from '../../src/cache/segment-cache.js';
import { MAX_AUDIO_RENDITIONS } from '../../src/core/audio-renditions.js';
import { silentLogger } from '../../src/core/logger.js';
import { PublishPath } from '../../src/core/publish.js';
import { StreamRegistry } from '../../src/core/stream.js';
import { buildMultivariantPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMultivariantPlaylist } from '../../src/packager/hls/serialize.js';
import { OutputRegistry } from '../../src/packager/output-registry.js';
import type { StreamOutput } from '../../src/packager/stream-output.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { SrtPublishSession } from '../../src/srt/srt-session.js';
import { decodeErrors, probe } from '../helpers/media-check.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { ffmpegPath } from '../helpers/tools.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'srt-session-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const VIDEO = ['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'];
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-threads', '1', '-pix_fmt', 'yuv420p'];
let languages: Uint8Array;
let nineTracks: Uint8Array;

beforeAll(async () => {
  const make = async (name: string, args: string[]): Promise<Uint8Array> => {
    const file = join(dir, name);
    await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-y', ...args, '-f', 'mpegts', file], { timeout: 60_000 });
    return new Uint8Array(readFileSync(file));
  };
  // English and French commentary: ffmpeg writes an ISO_639_language_descriptor per audio PID.
  languages = await make('languages.ts', [
    ...VIDEO, '-f', 'lavfi', '-i', 'sine=f=440', '-f', 'lavfi', '-i', 'sine=f=660',
    '-map', '0', '-map', '1', '-map', '2', ...X264, '-c:a', 'aac',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra', '-t', '3',
  ]);
  // One audio track more than a stream carries, no languages.
  const audioMaps = Array.from({ length: MAX_AUDIO_RENDITIONS + 1 }, () => ['-map', '1']).flat();
  nineTracks = await make('nine.ts', [...VIDEO, '-f', 'lavfi', '-i', 'sine=f=440', '-map', '0', ...audioMaps, ...X264, '-c:a', 'aac', '-b:a', '32k', '-t', '2']);
}, 120_000);

interface Gateway {
  readonly streams: StreamRegistry;
  readonly outputs: OutputRegistry;
  readonly path: PublishPath;
  readonly warnings: string[];
}

const gateways: Gateway[] = [];
afterEach(() => {
  for (const g of gateways.splice(0)) g.outputs.close();
});

function gateway(reconnectGrace = 0): Gateway {
  const streams = new StreamRegistry();
  const outputs = new OutputRegistry(streams, { segmentDuration: 1, partDuration: 0.2, playlistWindow: 20, endedStreamTtl: 60, reconnectGrace }, new SegmentCache(1 << 26));
  const warnings: string[] = [];
  const path = new PublishPath({ registry: streams, onWarning: (_s, code, message) => warnings.push(`${code}: ${message}`) });
  const g = { streams, outputs, path, warnings };
  gateways.push(g);
  return g;
}

/** One caller publishing `bytes` as the relay delivers them (1316-byte SRT messages), then leaving. */
async function publishTs(g: Gateway, key: string, bytes: Uint8Array): Promise<void> {
  const session = new SrtPublishSession({ streamid: `live/${key}`, peer: '127.0.0.1:40000', publishPath: g.path, logger: silentLogger(), close: () => undefined });
  session.begin();
  for (let at = 0; at < bytes.byteLength; at += 1316) session.data(bytes.subarray(at, at + 1316));
  // authorize() answers on a later tick; the bytes meanwhile were held.
  await new Promise((resolve) => setImmediate(resolve));
  session.end('end of file');
}

function sequences(track: TrackOutput): number[] {
  return track.segments.filter((s) => !s.gap).map((s) => s.sequence);
}

/** Init and segment bytes of a track as they are made (the CMAF a player would fetch). */
function recordBytes(output: StreamOutput, id: string): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  const attach = (track: TrackOutput): void => {
    track.on('init', (i) => pieces.push(i.bytes));
    track.on('segment', (s) => pieces.push(...s.chunks));
  };
  const now = output.rendition(id);
  if (now) attach(now);
  else output.stream.onAudioRendition((rid) => rid === id && attach(output.rendition(id)!));
  return pieces;
}

describe('SrtPublishSession: several audio tracks', () => {
  it('every audio PID becomes a rendition in its language, cut and numbered like the video; the CMAF decodes as AAC', async () => {
    const g = gateway();
    let fra: Uint8Array[] = [];
    g.outputs.on('output', (o) => (fra = recordBytes(o, 'audio-fra')));
    await publishTs(g, 'langs', languages);
    const output = g.outputs.get('live', 'langs')!;
    expect(g.warnings).toEqual([]);
    expect(output.audio.language).toBe('eng');
    expect([...output.audioRenditions.keys()]).toEqual(['audio-fra']);
    const alt = output.audioRenditions.get('audio-fra')!;
    expect(alt.language).toBe('fra');

    const video = output.videos.get('src')!;
    expect(sequences(video)).toEqual([0, 1, 2]);
    expect(sequences(output.audio)).toEqual(sequences(video));
    expect(sequences(alt)).toEqual(sequences(video));
    for (const [i, s] of alt.segments.entries()) {
      const v = video.segments[i]!;
      const a = output.audio.segments[i]!;
      // At the video's cut ± one AAC frame; the first segment starts with the first audio frame
      // after the first keyframe (ffmpeg's audio starts a little later).
      expect(Math.abs(s.startTime / s.timescale - v.startTime / v.timescale)).toBeLessThan(i === 0 ? 0.1 : 1024 / s.timescale);
      expect([s.startTime, s.durationTicks, s.parts.length]).toEqual([a.startTime, a.durationTicks, a.parts.length]);
    }

    const group = parseM3u8(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).mediaGroups!.AUDIO!['audio']!;
    expect(Object.values(group).map((a) => [a.language, a.default, a.uri])).toEqual([
      ['en', true, 'audio/index.m3u8'],
      ['fr', false, 'audio-fra/index.m3u8'],
    ]);

    const file = join(dir, 'fra.mp4');
    writeFileSync(file, Buffer.concat(fra));
    expect(await decodeErrors(file)).toBe('');
    const streams = (await probe(file)).streams;
    expect(streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
  });

  it('a reconnect within the grace continues every audio rendition: same TrackOutputs, numbers going on, a discontinuity', async () => {
    const g = gateway(30);
    await publishTs(g, 'again', languages);
    const output = g.outputs.get('live', 'again')!;
    const alt = output.audioRenditions.get('audio-fra')!;
    const lastBefore = alt.segments.at(-1)!.sequence;
    expect(output.suspendedAt).toBeDefined();
    await publishTs(g, 'again', languages);
    expect(g.outputs.get('live', 'again')).toBe(output);
    expect(output.audioRenditions.get('audio-fra')).toBe(alt);
    const video = output.videos.get('src')!;
    expect(sequences(alt)).toEqual(sequences(video));
    expect(sequences(output.audio)).toEqual(sequences(video));
    const firstAfter = alt.segments.find((s) => s.sequence > lastBefore)!;
    expect(firstAfter.discontinuity).toBe(true);
    expect(alt.segments.at(-1)!.sequence).toBeGreaterThanOrEqual(lastBefore + 3);
    // The media timeline goes on (the second publish was rebased past the first).
    expect(firstAfter.startTime / firstAfter.timescale).toBeGreaterThanOrEqual(2.9);
  });

  it(`carries ${MAX_AUDIO_RENDITIONS} audio tracks and drops a further one with a warning`, async () => {
    const g = gateway();
    await publishTs(g, 'nine', nineTracks);
    const output = g.outputs.get('live', 'nine')!;
    expect(output.audio.track).toBeDefined();
    expect([...output.audioRenditions.keys()]).toEqual(Array.from({ length: MAX_AUDIO_RENDITIONS - 1 }, (_, i) => `audio-${i + 2}`));
    expect(g.warnings).toEqual([expect.stringMatching(new RegExp(`^extra-track: audio track on PID \\d+ dropped: at most ${MAX_AUDIO_RENDITIONS} audio tracks per stream are carried$`))]);
    const video = output.videos.get('src')!;
    for (const alt of output.audioRenditions.values()) expect(sequences(alt)).toEqual(sequences(video));
    // No languages: numbered names, LANGUAGE "und".
    const group = parseM3u8(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).mediaGroups!.AUDIO!['audio']!;
    expect(Object.keys(group)).toEqual(Array.from({ length: MAX_AUDIO_RENDITIONS }, (_, i) => `Audio ${i + 1}`));
    expect(new Set(Object.values(group).map((a) => a.language))).toEqual(new Set(['und']));
  });
});
