/**
 * TsDemuxer on real MPEG-TS from ffmpeg (made at test time, 2 s of 320x180) checked against
 * ffprobe's reading of the same bytes, plus synthetic streams (packet.ts builders) for the edge
 * cases: PMT updates, ADTS frames across PES packets, bounded PES, size bound, audio timing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachNal, hevcNalType, nalType } from '../../src/codec/annexb.js';
import { buildAdtsHeader } from '../../src/codec/adts.js';
import type { AudioTrack, Frame, Track, VideoTrack } from '../../src/core/media.js';
import { buildFragment, buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../src/mux/fmp4/init.js';
import { TsClock } from '../../src/mux/ts/clock.js';
import { TsDemuxer, type TsDemuxEvent } from '../../src/mux/ts/demuxer.js';
import {
  PAT_PID,
  PMT_PID,
  TIMESTAMP_MODULO,
  TS_PACKET_SIZE,
  buildPatSection,
  buildPmtSection,
  maxPayloadSize,
  writePacketHeader,
  writePesHeader,
  writePsiPacket,
  type PmtStream,
} from '../../src/mux/ts/packet.js';
import { ffmpegPath, ffprobePath } from '../helpers/tools.js';

const run = promisify(execFile);
const WALLCLOCK = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------------
// Fixtures and ffprobe

interface ProbeStream {
  index: number;
  id: string;
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  tags?: { language?: string };
}

interface ProbePacket {
  stream_index: number;
  codec_type: string;
  pts: number;
  dts: number;
  size: string;
  flags: string;
}

interface Fixture {
  bytes: Uint8Array;
  streams: ProbeStream[];
  packets: ProbePacket[];
}

const dir = mkdtempSync(join(tmpdir(), 'ts-demuxer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SOURCE = ['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25'];
const sine = (hz: number, rate: number): string[] => ['-f', 'lavfi', '-i', `sine=frequency=${hz}:sample_rate=${rate}`];
const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '30', '-threads', '1', '-pix_fmt', 'yuv420p'];
const X265 = ['-c:v', 'libx265', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error:pools=1:frame-threads=1'];
const AAC = ['-c:a', 'aac', '-b:a', '64k'];

const SPECS = {
  avc: [...SOURCE, ...sine(440, 44100), '-t', '2', ...X264, ...AAC, '-ac', '1'],
  hevc: [...SOURCE, ...sine(440, 48000), '-t', '2', ...X265, ...AAC, '-ac', '2'],
  languages: [
    ...SOURCE, ...sine(440, 48000), ...sine(880, 48000), '-t', '2', '-map', '0', '-map', '1', '-map', '2',
    ...X264, ...AAC, '-ac', '1', '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra',
  ],
  // 2^33 ticks = 95443.72 s; ffmpeg starts video at +1.4 s: the clock wraps ~0.8 s into the file.
  wrap: [...SOURCE, ...sine(440, 44100), '-t', '2', ...X264, ...AAC, '-ac', '1', '-output_ts_offset', '95441.5'],
  // What follows `avc` when the publisher changes resolution: same PIDs, time going on.
  smaller: ['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25', ...sine(440, 44100), '-t', '1', ...X264, ...AAC, '-ac', '1', '-output_ts_offset', '2'],
} as const;

const fixtures = {} as Record<keyof typeof SPECS, Fixture>;

async function makeFixture(name: keyof typeof SPECS): Promise<Fixture> {
  const file = join(dir, `${name}.ts`);
  await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-y', ...SPECS[name], '-f', 'mpegts', file], { timeout: 60_000 });
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-show_packets', '-show_streams', '-of', 'json', file], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const probe = JSON.parse(stdout) as { streams: ProbeStream[]; packets: ProbePacket[] };
  return { bytes: new Uint8Array(readFileSync(file)), streams: probe.streams, packets: probe.packets };
}

beforeAll(async () => {
  // One at a time: the machine has 2 cores and other test files run next to this one.
  for (const name of Object.keys(SPECS) as Array<keyof typeof SPECS>) fixtures[name] = await makeFixture(name);
}, 120_000);

// ---------------------------------------------------------------------------------------------
// Helpers

/** Demuxes `bytes` cut into chunks of `size(i)` bytes, then flushes. */
function demux(bytes: Uint8Array, size: (i: number) => number = () => bytes.byteLength, demuxer = new TsDemuxer()): TsDemuxEvent[] {
  const events: TsDemuxEvent[] = [];
  let at = 0;
  for (let i = 0; at < bytes.byteLength; i++) {
    const n = Math.max(1, size(i));
    events.push(...demuxer.push(bytes.subarray(at, at + n), WALLCLOCK));
    at += n;
  }
  events.push(...demuxer.flush(WALLCLOCK));
  return events;
}

function framesOf(events: TsDemuxEvent[], pid?: number): Frame[] {
  return events.flatMap((e) => (e.type === 'frame' && (pid === undefined || e.pid === pid) ? [e.frame] : []));
}
function tracksOf(events: TsDemuxEvent[]): Array<{ pid: number; track: Track; language?: string }> {
  return events.flatMap((e) => (e.type === 'track' ? [{ pid: e.pid, track: e.track, ...(e.language ? { language: e.language } : {}) }] : []));
}
function warningsOf(events: TsDemuxEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'warning' ? [e.code] : []));
}

function pidOf(fx: Fixture, type: 'video' | 'audio', nth = 0): number {
  return Number(fx.streams.filter((s) => s.codec_type === type)[nth]!.id);
}
function probedPackets(fx: Fixture, pid: number): ProbePacket[] {
  const index = fx.streams.find((s) => Number(s.id) === pid)!.index;
  return fx.packets.filter((p) => p.stream_index === index);
}
function probedStream(fx: Fixture, pid: number): ProbeStream {
  return fx.streams.find((s) => Number(s.id) === pid)!;
}

/** Deterministic bytes (xorshift), for garbage that is the same on every run. */
function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function nalTypes(frame: Frame, codec: 'avc' | 'hevc'): number[] {
  const types: number[] = [];
  forEachNal(frame.data, 4, (nal) => {
    types.push(codec === 'avc' ? nalType(nal) : hevcNalType(nal));
  });
  return types;
}

function expectStrictlyIncreasing(values: number[]): void {
  for (let i = 1; i < values.length; i++) if (!(values[i]! > values[i - 1]!)) expect.fail(`not increasing at ${i}: ${values[i - 1]} -> ${values[i]}`);
}

/** init + one fragment of the frames, decoded by ffmpeg: stderr (empty when clean) and the frame count. */
async function decodeAsFmp4(name: string, track: Track, frames: Frame[]): Promise<{ errors: string; packets: number }> {
  const samples = frames.map((f, i) => ({
    duration: i + 1 < frames.length ? frames[i + 1]!.dts - f.dts : i > 0 ? f.dts - frames[i - 1]!.dts : 1,
    key: f.key,
    compositionOffset: f.pts - f.dts,
    data: f.data,
  }));
  const file = join(dir, name);
  writeFileSync(file, concat([buildInitSegment(track), buildSegmentHeader(), buildFragment({ kind: track.kind, sequenceNumber: 1, baseMediaDecodeTime: frames[0]!.dts, samples })]));
  let errors: string;
  try {
    errors = (await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-'], { timeout: 60_000 })).stderr;
  } catch (e) {
    errors = `ffmpeg failed: ${(e as { stderr?: string }).stderr ?? String(e)}`;
  }
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], { timeout: 60_000 });
  return { errors: errors.trim(), packets: Number(stdout.trim()) };
}

const AVC_PROFILE_IDC: Record<string, number> = { Baseline: 66, 'Constrained Baseline': 66, Main: 77, High: 100 };
const HEVC_PROFILE_IDC: Record<string, number> = { Main: 1, 'Main 10': 2 };

/** Video frames: the same number, order, timestamps and key flags as ffprobe's packets. */
function expectVideoMatchesProbe(frames: Frame[], packets: ProbePacket[], codec: 'avc' | 'hevc'): void {
  expect(frames.length).toBe(packets.length);
  frames.forEach((f, i) => {
    const p = packets[i]!;
    expect({ i, cts: f.pts - f.dts, key: f.key }).toEqual({ i, cts: p.pts - p.dts, key: p.flags.startsWith('K') });
    expect(f.wallclock).toBe(WALLCLOCK);
    const types = nalTypes(f, codec);
    // Parameter sets and AUDs live in the track, not in the samples.
    const excluded = codec === 'avc' ? [7, 8, 9] : [32, 33, 34, 35];
    expect(types.filter((t) => excluded.includes(t))).toEqual([]);
    if (f.key) expect(types.some((t) => (codec === 'avc' ? t === 5 : t >= 16 && t <= 21))).toBe(true);
  });
  expectStrictlyIncreasing(frames.map((f) => f.dts));
}

/** Audio frames: the same count as ffprobe's ADTS packets, timed within 2 ticks, raw AAC sizes. */
function expectAudioMatchesProbe(frames: Frame[], packets: ProbePacket[], sampleRate: number): void {
  expect(frames.length).toBe(packets.length);
  frames.forEach((f, i) => {
    const p = packets[i]!;
    expect(Math.abs((f.dts * 90_000) / sampleRate - p.pts)).toBeLessThanOrEqual(2);
    expect(f.data.byteLength).toBe(Number(p.size) - 7); // ffprobe's packets keep the ADTS header
    expect(f.key).toBe(true);
    expect(f.pts).toBe(f.dts);
    if (i > 0) expect(f.dts - frames[i - 1]!.dts).toBe(1024);
  });
}

// ---------------------------------------------------------------------------------------------
// Real streams from ffmpeg

describe('TsDemuxer on ffmpeg MPEG-TS', () => {
  it('H.264 with B-frames + AAC 44.1 kHz mono: frames, timestamps and flags as ffprobe reads them', async () => {
    const fx = fixtures.avc;
    const events = demux(fx.bytes);
    expect(warningsOf(events)).toEqual([]);
    const vpid = pidOf(fx, 'video');
    const apid = pidOf(fx, 'audio');
    const tracks = tracksOf(events);
    expect(tracks.map((t) => [t.pid, t.track.kind])).toEqual([[vpid, 'video'], [apid, 'audio']]);
    const video = tracks[0]!.track as VideoTrack;
    const vs = probedStream(fx, vpid);
    const profile = AVC_PROFILE_IDC[vs.profile!]!.toString(16).padStart(2, '0');
    const level = vs.level!.toString(16).padStart(2, '0');
    expect(video).toMatchObject({ codec: 'avc', timescale: 90_000, width: vs.width, height: vs.height, nalLengthSize: 4 });
    expect(video.codecString).toMatch(new RegExp(`^avc1\\.${profile}[0-9a-f]{2}${level}$`));
    expect(video.parameterSets.map((ps) => ps[0]! & 0x1f)).toEqual([7, 8]);
    const audio = tracks[1]!.track as AudioTrack;
    const as = probedStream(fx, apid);
    expect(audio).toMatchObject({ codec: 'aac', sampleRate: Number(as.sample_rate), channels: as.channels, timescale: 44_100, codecString: 'mp4a.40.2' });

    // The track comes before the first frame of its PID.
    const firstVideo = events.findIndex((e) => e.type === 'frame' && e.pid === vpid);
    const videoTrackAt = events.findIndex((e) => e.type === 'track' && e.pid === vpid);
    expect(videoTrackAt).toBeGreaterThanOrEqual(0);
    expect(videoTrackAt).toBeLessThan(firstVideo);

    const vframes = framesOf(events, vpid);
    const vpackets = probedPackets(fx, vpid);
    expectVideoMatchesProbe(vframes, vpackets, 'avc');
    // No wrap in this file: the 90 kHz values are exactly those of the PES headers.
    expect(vframes.map((f) => [f.dts, f.pts])).toEqual(vpackets.map((p) => [p.dts, p.pts]));
    expect(vframes.some((f) => f.pts > f.dts)).toBe(true); // B-frames
    expectAudioMatchesProbe(framesOf(events, apid), probedPackets(fx, apid), 44_100);

    // The frames and the avcC make a file ffmpeg decodes cleanly.
    const decoded = await decodeAsFmp4('avc.mp4', video, vframes);
    expect(decoded).toEqual({ errors: '', packets: vframes.length });
    const decodedAudio = await decodeAsFmp4('aac.mp4', audio, framesOf(events, apid));
    expect(decodedAudio).toEqual({ errors: '', packets: framesOf(events, apid).length });
  });

  it('HEVC + AAC 48 kHz stereo: hvcC built from in-band VPS/SPS/PPS, frames as ffprobe reads them', async () => {
    const fx = fixtures.hevc;
    const events = demux(fx.bytes);
    expect(warningsOf(events)).toEqual([]);
    const vpid = pidOf(fx, 'video');
    const apid = pidOf(fx, 'audio');
    const tracks = tracksOf(events);
    expect(tracks.map((t) => [t.pid, t.track.kind])).toEqual([[vpid, 'video'], [apid, 'audio']]);
    const video = tracks[0]!.track as VideoTrack;
    const vs = probedStream(fx, vpid);
    expect(video).toMatchObject({ codec: 'hevc', width: vs.width, height: vs.height, nalLengthSize: 4 });
    expect(video.codecString).toMatch(new RegExp(`^hvc1\\.${HEVC_PROFILE_IDC[vs.profile!]}\\.[0-9a-f]+\\.L${vs.level}(\\.|$)`));
    expect(video.parameterSets.map((ps) => (ps[0]! >> 1) & 0x3f)).toEqual([32, 33, 34]);
    const as = probedStream(fx, apid);
    expect(tracks[1]!.track).toMatchObject({ sampleRate: Number(as.sample_rate), channels: as.channels, timescale: 48_000 });

    const vframes = framesOf(events, vpid);
    expectVideoMatchesProbe(vframes, probedPackets(fx, vpid), 'hevc');
    expect(vframes.map((f) => [f.dts, f.pts])).toEqual(probedPackets(fx, vpid).map((p) => [p.dts, p.pts]));
    expectAudioMatchesProbe(framesOf(events, apid), probedPackets(fx, apid), 48_000);

    // Our hvcC (buildHevcDecoderConfigurationRecord) and the samples decode cleanly in ffmpeg.
    const decoded = await decodeAsFmp4('hevc.mp4', video, vframes);
    expect(decoded).toEqual({ errors: '', packets: vframes.length });
  });

  it('two AAC PIDs are two tracks, each with its ISO 639 language', () => {
    const fx = fixtures.languages;
    const demuxer = new TsDemuxer();
    const events = demux(fx.bytes, undefined, demuxer);
    expect(warningsOf(events)).toEqual([]);
    const audioPids = [pidOf(fx, 'audio', 0), pidOf(fx, 'audio', 1)];
    // The program's audio in PMT order, languages from the ISO_639_language_descriptors.
    expect(demuxer.programAudio).toEqual([{ pid: audioPids[0], language: 'eng' }, { pid: audioPids[1], language: 'fra' }]);
    const audioTracks = tracksOf(events).filter((t) => t.track.kind === 'audio');
    expect(audioTracks.map((t) => [t.pid, t.language])).toEqual(audioPids.map((pid) => [pid, probedStream(fx, pid).tags?.language]));
    expect(audioTracks.map((t) => t.language)).toEqual(['eng', 'fra']);
    expect(tracksOf(events).find((t) => t.track.kind === 'video')!.language).toBeUndefined();
    for (const pid of audioPids) expectAudioMatchesProbe(framesOf(events, pid), probedPackets(fx, pid), 48_000);
  });

  it('unwraps PTS/DTS across the 33-bit wrap: monotonic, same steps as ffprobe, audio and video in sync', () => {
    const fx = fixtures.wrap;
    const events = demux(fx.bytes);
    expect(warningsOf(events)).toEqual([]);
    const vpid = pidOf(fx, 'video');
    const apid = pidOf(fx, 'audio');
    const vframes = framesOf(events, vpid);
    const vpackets = probedPackets(fx, vpid);
    expectVideoMatchesProbe(vframes, vpackets, 'avc');
    // The file starts before the wrap and ends after it: values go on past 2^33.
    expect(vframes[0]!.dts).toBeLessThan(TIMESTAMP_MODULO);
    expect(vframes[0]!.dts).toBeGreaterThan(TIMESTAMP_MODULO - 3 * 90_000);
    expect(vframes.at(-1)!.dts).toBeGreaterThan(TIMESTAMP_MODULO);
    expect(vframes.map((f) => f.dts - vframes[0]!.dts)).toEqual(vpackets.map((p) => p.dts - vpackets[0]!.dts));
    const aframes = framesOf(events, apid);
    const apackets = probedPackets(fx, apid);
    // ffprobe shows the same timeline minus 2^33 (negative before the wrap).
    const wrapAt44k = Math.round((TIMESTAMP_MODULO * 44_100) / 90_000);
    expectAudioMatchesProbe(aframes.map((f) => ({ ...f, dts: f.dts - wrapAt44k, pts: f.pts - wrapAt44k })), apackets, 44_100);
    expectStrictlyIncreasing(aframes.map((f) => f.dts));
    expect(aframes.at(-1)!.dts).toBeGreaterThan(wrapAt44k);
    // Same origin: audio's first instant relative to video's is ffprobe's.
    const offset = (aframes[0]!.dts * 90_000) / 44_100 - vframes[0]!.dts;
    expect(Math.abs(offset - (apackets[0]!.pts - vpackets[0]!.dts))).toBeLessThanOrEqual(2);
  });

  it('gives identical events for 1-byte, 7-byte and random chunks', () => {
    for (const fx of [fixtures.avc, fixtures.hevc, fixtures.languages, fixtures.wrap]) {
      const whole = demux(fx.bytes);
      expect(demux(fx.bytes, () => 1)).toEqual(whole);
      expect(demux(fx.bytes, () => 7)).toEqual(whole);
      const sizes = noise(fx.bytes.byteLength, 99);
      expect(demux(fx.bytes, (i) => (sizes[i % sizes.length]! * 7) % 1500)).toEqual(whole);
    }
  });

  it('announces a new track when the in-band SPS changes (resolution change), before its first frame', () => {
    const first = fixtures.avc;
    const second = fixtures.smaller;
    const vpid = pidOf(first, 'video');
    const events = demux(concat([first.bytes, second.bytes]));
    const videoTracks = tracksOf(events).filter((t) => t.pid === vpid);
    expect(videoTracks.map((t) => [(t.track as VideoTrack).width, (t.track as VideoTrack).height])).toEqual([[320, 180], [160, 90]]);
    const secondTrackAt = events.findIndex((e) => e.type === 'track' && e.pid === vpid && (e.track as VideoTrack).width === 160);
    const firstSmallFrame = events.findIndex((e, i) => i > secondTrackAt && e.type === 'frame' && e.pid === vpid);
    expect(firstSmallFrame).toBeGreaterThan(secondTrackAt);
    expect(events[firstSmallFrame]).toMatchObject({ frame: { key: true } });
    // The second file's counters start over: continuity warnings, and the first file's last
    // (unbounded) video PES, cut by one, is dropped. Its audio starts 120 ms before the first
    // file's ends (AAC priming): dropped until it catches up.
    expect(new Set(warningsOf(events))).toEqual(new Set(['continuity-error', 'audio-resync']));
    const frames = framesOf(events, vpid);
    expect(frames.length).toBe(probedPackets(first, vpid).length - 1 + probedPackets(second, vpid).length);
    expectStrictlyIncreasing(frames.map((f) => f.dts));
    // The audio track is the same (44.1 kHz mono): no new audio track event.
    expect(tracksOf(events).filter((t) => t.track.kind === 'audio')).toHaveLength(1);
  });

  it('completes the last (unbounded) video PES on flush', () => {
    const fx = fixtures.avc;
    const d = new TsDemuxer();
    const pushed = d.push(fx.bytes, WALLCLOCK);
    const flushed = d.flush(WALLCLOCK);
    const vpid = pidOf(fx, 'video');
    expect(framesOf(pushed, vpid)).toHaveLength(probedPackets(fx, vpid).length - 1);
    expect(framesOf(flushed, vpid)).toHaveLength(1);
    expect(d.flush(WALLCLOCK)).toEqual([]);
  });
});

describe('TsDemuxer on damaged ffmpeg MPEG-TS', () => {
  /** Offsets of the 188-byte packets of `pid` (all the fixtures are packet aligned from 0). */
  function packetsOfPid(bytes: Uint8Array, pid: number): number[] {
    const out: number[] = [];
    for (let at = 0; at + TS_PACKET_SIZE <= bytes.byteLength; at += TS_PACKET_SIZE) {
      if ((((bytes[at + 1]! & 0x1f) << 8) | bytes[at + 2]!) === pid) out.push(at);
    }
    return out;
  }
  const pusi = (bytes: Uint8Array, at: number): boolean => (bytes[at + 1]! & 0x40) !== 0;

  it('resynchronises after garbage at the start (one warning), then reads everything', () => {
    const fx = fixtures.avc;
    const clean = demux(fx.bytes);
    const garbage = noise(1000, 7);
    const events = demux(concat([garbage, fx.bytes]));
    expect(warningsOf(events)).toEqual(['sync-lost']);
    expect(events.filter((e) => e.type !== 'warning')).toEqual(clean);
    expect(demux(concat([garbage, fx.bytes]), () => 5)).toEqual(events);
  });

  it('resynchronises after garbage between packets and after a torn packet', () => {
    const fx = fixtures.avc;
    const clean = demux(fx.bytes);
    const vpid = pidOf(fx, 'video');
    const cut = packetsOfPid(fx.bytes, vpid).filter((at) => at > 150 * TS_PACKET_SIZE && !pusi(fx.bytes, at))[0]!;
    // Between packets: nothing is lost, one warning.
    const between = demux(concat([fx.bytes.subarray(0, cut), noise(77, 3), fx.bytes.subarray(cut)]));
    expect(warningsOf(between)).toEqual(['sync-lost']);
    expect(between.filter((e) => e.type !== 'warning')).toEqual(clean);
    // A video packet torn (its first 100 bytes lost): resync, and the PES it belonged to goes.
    const torn = demux(concat([fx.bytes.subarray(0, cut), fx.bytes.subarray(cut + 100)]));
    expect(warningsOf(torn)).toEqual(['sync-lost', 'continuity-error']);
    expect(framesOf(torn, vpid).length).toBe(framesOf(clean, vpid).length - 1);
    expect(framesOf(torn, vpid).at(-1)).toEqual(framesOf(clean, vpid).at(-1));
    expect(framesOf(torn, pidOf(fx, 'audio'))).toEqual(framesOf(clean, pidOf(fx, 'audio')));
  });

  it('warns on a lost packet (continuity counter), drops that PES only, and goes on', () => {
    const fx = fixtures.avc;
    const vpid = pidOf(fx, 'video');
    const apid = pidOf(fx, 'audio');
    const clean = demux(fx.bytes);
    const offsets = packetsOfPid(fx.bytes, vpid);
    const lost = offsets.filter((at, i) => i > offsets.length / 2 && !pusi(fx.bytes, at))[0]!;
    const events = demux(concat([fx.bytes.subarray(0, lost), fx.bytes.subarray(lost + TS_PACKET_SIZE)]));
    expect(warningsOf(events)).toEqual(['continuity-error']);
    const before = framesOf(clean, vpid);
    const after = framesOf(events, vpid);
    expect(after.length).toBe(before.length - 1);
    expect(after.at(-1)).toEqual(before.at(-1));
    expect(framesOf(events, apid)).toEqual(framesOf(clean, apid));
    // A duplicated packet (same continuity counter) is ignored without a warning.
    const dup = offsets[10]!;
    const duplicated = demux(concat([fx.bytes.subarray(0, dup + TS_PACKET_SIZE), fx.bytes.subarray(dup)]));
    expect(duplicated).toEqual(clean);
  });

  it('drops video before the first parameter sets with one warning; the track comes with the next IDR', () => {
    const fx = fixtures.avc;
    const vpid = pidOf(fx, 'video');
    const offsets = packetsOfPid(fx.bytes, vpid);
    const starts = offsets.filter((at) => pusi(fx.bytes, at));
    // Remove every packet of the first video PES (the IDR with SPS/PPS).
    const from = starts[0]!;
    const to = starts[1]!;
    const parts: Uint8Array[] = [];
    for (let at = 0; at < fx.bytes.byteLength; at += TS_PACKET_SIZE) {
      if (at >= from && at < to && offsets.includes(at)) continue;
      parts.push(fx.bytes.subarray(at, at + TS_PACKET_SIZE));
    }
    const events = demux(concat(parts));
    expect(warningsOf(events).filter((w) => w === 'no-sequence-header')).toEqual(['no-sequence-header']);
    const frames = framesOf(events, vpid);
    expect(frames.length).toBe(probedPackets(fx, vpid).length - 30); // -g 30: the next IDR is frame 30
    expect(frames[0]!.key).toBe(true);
    const trackAt = events.findIndex((e) => e.type === 'track' && e.pid === vpid);
    expect(trackAt).toBeLessThan(events.findIndex((e) => e.type === 'frame' && e.pid === vpid));
  });
});

// ---------------------------------------------------------------------------------------------
// Synthetic streams

const AUDIO_A = 0x101;
const AUDIO_B = 0x102;
/** 48 kHz stereo AAC-LC ADTS fields. */
const ADTS_48K = { objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2 };

class TsWriter {
  private readonly cc = new Map<number, number>();

  private next(pid: number): number {
    const cc = ((this.cc.get(pid) ?? -1) + 1) & 0x0f;
    this.cc.set(pid, cc);
    return cc;
  }

  psi(pid: number, section: Uint8Array): Uint8Array {
    const out = new Uint8Array(TS_PACKET_SIZE);
    writePsiPacket(out, 0, pid, this.next(pid), section);
    return out;
  }

  pat(): Uint8Array {
    return this.psi(PAT_PID, buildPatSection());
  }

  pmt(streams: PmtStream[], version = 0): Uint8Array {
    return this.psi(PMT_PID, buildPmtSection({ pcrPid: streams[0]!.pid, streams, version }));
  }

  /** One PES (bounded unless `unbounded`) split into packets. */
  pes(pid: number, pts: number, payload: Uint8Array, opts: { unbounded?: boolean; streamId?: number } = {}): Uint8Array {
    const header = new Uint8Array(14);
    writePesHeader(header, 0, { streamId: opts.streamId ?? 0xc0, pts, payloadLength: opts.unbounded ? 0 : payload.byteLength, dataAlignment: true });
    const pes = concat([header, payload]);
    const packets: Uint8Array[] = [];
    for (let at = 0; at < pes.byteLength; ) {
      const n = Math.min(maxPayloadSize(false, false), pes.byteLength - at);
      const p = new Uint8Array(TS_PACKET_SIZE);
      const body = writePacketHeader(p, 0, { pid, payloadUnitStart: at === 0, continuityCounter: this.next(pid), payloadLength: n });
      p.set(pes.subarray(at, at + n), body);
      packets.push(p);
      at += n;
    }
    return concat(packets);
  }
}

function adtsFrame(size: number, fill: number): Uint8Array {
  return concat([buildAdtsHeader(ADTS_48K, size), new Uint8Array(size).fill(fill)]);
}

/** 90 kHz PTS of the n-th 1024-sample frame at 48 kHz after `base`. */
const at48k = (base: number, n: number): number => base + Math.round((n * 1024 * 90_000) / 48_000);

describe('TsDemuxer on synthetic streams', () => {
  it('warns once per PID about unsupported stream types and re-reads a new PMT version', () => {
    const w = new TsWriter();
    const d = new TsDemuxer();
    const v0: PmtStream[] = [{ streamType: 0x0f, pid: AUDIO_A }, { streamType: 0x03, pid: 0x1ff }];
    let events = d.push(concat([w.pat(), w.pmt(v0), w.pes(AUDIO_A, 90_000, adtsFrame(20, 1)), w.pat(), w.pmt(v0)]), 0);
    expect(warningsOf(events)).toEqual(['unsupported-codec']);
    expect(events.find((e) => e.type === 'warning')).toMatchObject({ message: 'stream type 0x03 on PID 511 is not supported; dropped' });
    expect(tracksOf(events).map((t) => t.pid)).toEqual([AUDIO_A]);
    expect(framesOf(events)).toHaveLength(1);
    // Version 1 adds a second AAC PID; the first keeps its state (no new track, seamless time).
    const v1: PmtStream[] = [...v0, { streamType: 0x0f, pid: AUDIO_B }];
    events = d.push(concat([w.pmt(v1, 1), w.pes(AUDIO_A, at48k(90_000, 1), adtsFrame(20, 2)), w.pes(AUDIO_B, at48k(90_000, 1), adtsFrame(30, 3))]), 0);
    expect(warningsOf(events)).toEqual([]);
    expect(tracksOf(events).map((t) => t.pid)).toEqual([AUDIO_B]);
    expect(framesOf(events, AUDIO_A).map((f) => f.dts)).toEqual([48_000 + 1024]);
    expect(framesOf(events, AUDIO_B).map((f) => f.dts)).toEqual([48_000 + 1024]);
    // Version 2 drops PID A: its packets are ignored from then on.
    events = d.push(concat([w.pmt([{ streamType: 0x0f, pid: AUDIO_B }], 2), w.pes(AUDIO_A, at48k(90_000, 2), adtsFrame(20, 4))]), 0);
    expect(events).toEqual([]);
  });

  it('carries an ADTS frame split across two PES packets; PTS belongs to the first frame starting in the PES', () => {
    const w = new TsWriter();
    const frames = [adtsFrame(100, 1), adtsFrame(120, 2), adtsFrame(90, 3)];
    const all = concat(frames);
    const split = frames[0]!.byteLength + 50;
    const base = 900_000;
    const bytes = concat([
      w.pat(),
      w.pmt([{ streamType: 0x0f, pid: AUDIO_A }]),
      w.pes(AUDIO_A, base, all.subarray(0, split)),
      // The second PES starts inside frame 1: its PTS is frame 2's.
      w.pes(AUDIO_A, at48k(base, 2), all.subarray(split)),
    ]);
    const events = demux(bytes);
    expect(warningsOf(events)).toEqual([]);
    const out = framesOf(events, AUDIO_A);
    expect(out.map((f) => f.dts)).toEqual([480_000, 481_024, 482_048]);
    expect(out.map((f) => [f.data.byteLength, f.data[0]])).toEqual([[100, 1], [120, 2], [90, 3]]);
    expect(demux(bytes, () => 1)).toEqual(events);
  });

  it('emits a bounded PES as soon as its PES_packet_length is reached', () => {
    const w = new TsWriter();
    const d = new TsDemuxer();
    d.push(concat([w.pat(), w.pmt([{ streamType: 0x0f, pid: AUDIO_A }])]), 0);
    const bounded = d.push(w.pes(AUDIO_A, 90_000, concat([adtsFrame(300, 1), adtsFrame(10, 2)])), 0);
    expect(framesOf(bounded)).toHaveLength(2);
    // Unbounded (PES_packet_length 0): it ends with the next PUSI, or at the end of the stream.
    const unbounded = d.push(w.pes(AUDIO_A, at48k(90_000, 2), adtsFrame(50, 3), { unbounded: true }), 0);
    expect(framesOf(unbounded)).toHaveLength(0);
    expect(framesOf(d.flush(0))).toHaveLength(1);
  });

  it('drops a PES above the size bound with a warning and goes on', () => {
    const w = new TsWriter();
    const d = new TsDemuxer({ maxPesBytes: 4096 });
    const big = concat(Array.from({ length: 8 }, (_, i) => adtsFrame(1000, i)));
    const events = demux(concat([w.pat(), w.pmt([{ streamType: 0x0f, pid: AUDIO_A }]), w.pes(AUDIO_A, 90_000, big), w.pes(AUDIO_A, 200_000, adtsFrame(10, 9))]), undefined, d);
    expect(warningsOf(events)).toEqual(['pes-too-large']);
    expect(framesOf(events).map((f) => f.data[0])).toEqual([9]);
  });

  it('times audio like FlvIngest: seamless within half a frame, re-anchored forward, dropped while behind', () => {
    const w = new TsWriter();
    const base = 90_000;
    const pes = (n: number, jitter: number, fill: number): Uint8Array => w.pes(AUDIO_A, at48k(base, n) + jitter, adtsFrame(10, fill));
    const events = demux(concat([
      w.pat(),
      w.pmt([{ streamType: 0x0f, pid: AUDIO_A }]),
      pes(0, 0, 0),
      pes(1, 900, 1), // +10 ms jitter (< half a frame = 10.7 ms): seamless
      pes(2, -900, 2),
      pes(53, 0, 3), // 1 s gap: re-anchored with a warning
      pes(40, 0, 4), // 13 frames back: dropped (warned once)
      pes(41, 0, 5),
      pes(54, 0, 6), // caught up: seamless again
    ]));
    expect(warningsOf(events)).toEqual(['audio-resync', 'audio-resync']);
    expect(framesOf(events).map((f) => [f.data[0], f.dts - 48_000])).toEqual([[0, 0], [1, 1024], [2, 2048], [3, 53 * 1024], [6, 54 * 1024]]);
  });

  it('accepts a continuity jump flagged by discontinuity_indicator, warns on an unflagged one', () => {
    const w = new TsWriter();
    const d = new TsDemuxer();
    d.push(concat([w.pat(), w.pmt([{ streamType: 0x0f, pid: AUDIO_A }])]), 0);
    const pes = (pts: number, fill: number, cc: number, discontinuity: boolean): Uint8Array => {
      const body = w.pes(AUDIO_A, pts, adtsFrame(20, fill));
      // Rewrite as one packet with an adaptation field: flags byte, then stuffing.
      const p = new Uint8Array(TS_PACKET_SIZE).fill(0xff);
      const payload = body.subarray(TS_PACKET_SIZE - (14 + 27)); // writePacketHeader stuffs before the payload
      p.set([0x47, 0x40 | (AUDIO_A >> 8), AUDIO_A & 0xff, 0x30 | cc]);
      p[4] = TS_PACKET_SIZE - 5 - payload.byteLength;
      p[5] = discontinuity ? 0x80 : 0x00;
      p.set(payload, TS_PACKET_SIZE - payload.byteLength);
      return p;
    };
    expect(framesOf(d.push(pes(90_000, 1, 0, false), 0))).toHaveLength(1);
    const flagged = d.push(pes(at48k(90_000, 1), 2, 9, true), 0);
    expect(warningsOf(flagged)).toEqual([]);
    expect(framesOf(flagged)).toHaveLength(1);
    const unflagged = d.push(pes(at48k(90_000, 2), 3, 3, false), 0);
    expect(warningsOf(unflagged)).toEqual(['continuity-error']);
    expect(framesOf(unflagged)).toHaveLength(1); // a whole PES in one packet: nothing was lost
  });

  it('strips the ADTS CRC (protection_absent 0) from the raw AAC frame', () => {
    const w = new TsWriter();
    const payload = new Uint8Array(30).fill(7);
    const header = buildAdtsHeader(ADTS_48K, payload.byteLength + 2);
    header[1] = header[1]! & 0xfe; // protection_absent 0: a 16-bit CRC follows the header
    const events = demux(concat([w.pat(), w.pmt([{ streamType: 0x0f, pid: AUDIO_A }]), w.pes(AUDIO_A, 90_000, concat([header, Uint8Array.of(0xab, 0xcd), payload]))]));
    expect(warningsOf(events)).toEqual([]);
    expect(framesOf(events).map((f) => Array.from(f.data))).toEqual([Array.from(payload)]);
  });

  it('is not confused by PSI spread over packets, stuffing, null packets and adaptation fields', () => {
    const w = new TsWriter();
    const nullPacket = new Uint8Array(TS_PACKET_SIZE).fill(0xff);
    nullPacket.set([0x47, 0x1f, 0xff, 0x10]);
    const events = demux(concat([nullPacket, w.pat(), nullPacket, w.pmt([{ streamType: 0x0f, pid: AUDIO_A }]), w.pes(AUDIO_A, 90_000, adtsFrame(500, 1)), nullPacket]));
    expect(warningsOf(events)).toEqual([]);
    expect(framesOf(events)).toHaveLength(1);
  });
});

describe('TsClock', () => {
  it('unwraps each PID on its own, on a shared reference (a wrap on one PID before the other)', () => {
    const clock = new TsClock(900_000);
    const M = TIMESTAMP_MODULO;
    expect(clock.read(1, M - 9000).ticks).toBe(M - 9000);
    expect(clock.read(2, M - 12_000).ticks).toBe(M - 12_000);
    expect(clock.read(1, 1000).ticks).toBe(M + 1000); // video wrapped
    expect(clock.read(2, M - 5000).ticks).toBe(M - 5000); // audio not yet
    expect(clock.read(2, 2000).ticks).toBe(M + 2000);
    expect(clock.read(1, M - 1000).ticks).toBe(M - 1000); // B-frame reordering across the wrap
    expect(clock.read(3, 4000).ticks).toBe(M + 4000); // a new PID joins the shared timeline
  });

  it('re-bases a jump so output continues; a second PID jumping the same way joins the new timeline', () => {
    const clock = new TsClock(900_000);
    clock.read(1, 1_000_000);
    clock.read(2, 1_000_500);
    const jump = clock.read(1, 50_000_000);
    expect(jump.discontinuity).toBe(50_000_000 - 1_000_000);
    expect(jump.ticks).toBe(1_000_500);
    const joined = clock.read(2, 50_001_000);
    expect(joined.discontinuity).toBeUndefined();
    expect(joined.ticks).toBe(1_001_500);
    expect(clock.read(1, 50_003_600).ticks).toBe(1_004_100);
  });

  it('never goes negative when a PID starts just before the wrap and the first one just after', () => {
    const clock = new TsClock(900_000);
    expect(clock.read(1, 3000).ticks).toBe(3000);
    const early = clock.read(2, TIMESTAMP_MODULO - 3000);
    expect(early.ticks).toBeGreaterThanOrEqual(0);
    expect(clock.read(2, 1000).ticks).toBe(early.ticks + 4000);
  });
});
