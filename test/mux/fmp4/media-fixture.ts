/**
 * Real encoded media for the fMP4 tests, made on demand with ffmpeg (nothing binary committed)
 * and cached per machine in the OS temp dir:
 *  - AVC + AAC in FLV (ffmpeg's RTMP-shaped output), parsed with a few lines of FLV tag reading;
 *  - HEVC in MP4 (FLV cannot carry HEVC in ffmpeg 5), hvcC and samples taken out with mp4box.
 * Also an mp4box wrapper that parses our output.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFile, MP4BoxBuffer, type Movie, type Sample } from 'mp4box';
import type { AudioTrack, VideoTrack } from '../../../src/core/media.js';

export interface TestSample {
  readonly dts: number;
  readonly pts: number;
  readonly key: boolean;
  readonly data: Uint8Array;
}

export interface VideoFixture {
  readonly track: VideoTrack;
  readonly samples: readonly TestSample[];
}

export interface AudioFixture {
  readonly track: AudioTrack;
  readonly samples: readonly TestSample[];
}

const DIR = join(tmpdir(), 'streamgate-fmp4-fixtures-v1');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function ffmpegBinary(): string {
  if (isExecutable('/usr/bin/ffmpeg')) return '/usr/bin/ffmpeg';
  const require = createRequire(import.meta.url);
  return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

function makeOnce(name: string, args: readonly string[]): string {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, name);
  if (existsSync(file)) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  const ext = name.split('.').pop()!;
  const r = spawnSync(ffmpegBinary(), ['-v', 'error', '-y', ...args, '-f', ext, tmp], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed for ${name}: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

/** Runs `ffmpeg -v error -i file -f null -` and returns stderr (empty when it decodes cleanly). */
export function ffmpegDecodeErrors(file: string): string {
  const r = spawnSync(ffmpegBinary(), ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${String(r.status)}`}`;
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** 1 s of 320x240 testsrc, x264 High with B-frames (positive CTS), AAC-LC 44.1 kHz stereo. */
export function loadAvcAacFixture(): { video: VideoFixture; audio: AudioFixture } {
  const file = makeOnce('avc-aac-320x240.flv', [
    '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', '1',
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '2', '-g', '25', '-threads', '1',
    '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
  ]);
  const flv = new Uint8Array(readFileSync(file));
  const view = new DataView(flv.buffer, flv.byteOffset, flv.byteLength);
  let avcC: Uint8Array | undefined;
  let asc: Uint8Array | undefined;
  const video: TestSample[] = [];
  const audioPayloads: { ms: number; data: Uint8Array }[] = [];
  let at = view.getUint32(5) + 4; // header, then PreviousTagSize0
  while (at + 11 <= flv.length) {
    const type = flv[at]!;
    const size = (flv[at + 1]! << 16) | (flv[at + 2]! << 8) | flv[at + 3]!;
    const ms = ((flv[at + 7]! << 24) | (flv[at + 4]! << 16) | (flv[at + 5]! << 8) | flv[at + 6]!) >>> 0;
    const body = flv.subarray(at + 11, at + 11 + size);
    at += 11 + size + 4;
    if (type === 9 && (body[0]! & 0x0f) === 7) {
      const cts = ((body[2]! << 16) | (body[3]! << 8) | body[4]!) << 8 >> 8;
      if (body[1] === 0) avcC = body.slice(5);
      else if (body[1] === 1) {
        video.push({ dts: ms * 90, pts: (ms + cts) * 90, key: body[0]! >> 4 === 1, data: body.slice(5) });
      }
    } else if (type === 8 && body[0]! >> 4 === 10) {
      if (body[1] === 0) asc = body.slice(2);
      else audioPayloads.push({ ms, data: body.slice(2) });
    }
  }
  if (!avcC || !asc) throw new Error('fixture lacks sequence headers');
  const sampleRate = AAC_RATES[((asc[0]! & 0x07) << 1) | (asc[1]! >> 7)]!;
  const channels = (asc[1]! >> 3) & 0x0f;
  const objectType = asc[0]! >> 3;
  const first = Math.round((audioPayloads[0]!.ms * sampleRate) / 1000);
  const audio: TestSample[] = audioPayloads.map((p, i) => ({ dts: first + i * 1024, pts: first + i * 1024, key: true, data: p.data }));
  return {
    video: {
      track: {
        kind: 'video', codec: 'avc', timescale: 90_000, width: 320, height: 240, fps: 25,
        codecString: `avc1.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`,
        config: avcC, parameterSets: [], nalLengthSize: (avcC[4]! & 3) + 1,
      },
      samples: video,
    },
    audio: {
      track: {
        kind: 'audio', codec: 'aac', timescale: sampleRate, sampleRate, channels, objectType,
        codecString: `mp4a.40.${objectType}`, config: asc, samplesPerFrame: 1024,
      },
      samples: audio,
    },
  };
}

/** 1 s of 320x240 (or `width`x`height`) testsrc in HEVC (x265, B-frames), the hvcC and samples read back with mp4box. */
export function loadHevcFixture(width = 320, height = 240): VideoFixture {
  const file = makeOnce(`hevc-${width}x${height}.mp4`, [
    '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=25`, '-t', '1',
    '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:bframes=2:keyint=25:pools=1:frame-threads=1',
    '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p',
  ]);
  const bytes = new Uint8Array(readFileSync(file));
  // The hvcC box is found by its type bytes: the size precedes them.
  let hvcC: Uint8Array | undefined;
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (bytes[i] === 0x68 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43) {
      const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(i - 4);
      hvcC = bytes.slice(i + 4, i - 4 + size);
      break;
    }
  }
  if (!hvcC) throw new Error('no hvcC in HEVC fixture');
  const parsed = parseMp4(bytes, { withData: true });
  const info = parsed.info.videoTracks[0]!;
  const samples = parsed.samples.get(info.id)!.map((s) => ({
    dts: Math.round((s.dts * 90_000) / s.timescale),
    pts: Math.round((s.cts * 90_000) / s.timescale),
    key: s.is_sync,
    data: s.data!.slice(),
  }));
  return {
    track: {
      kind: 'video', codec: 'hevc', timescale: 90_000, width, height, fps: 25,
      codecString: info.codec, config: hvcC, parameterSets: [], nalLengthSize: (hvcC[21]! & 3) + 1,
    },
    samples,
  };
}

export interface ParsedMp4 {
  readonly info: Movie;
  /** Per track id, every sample mp4box found (across all fragments). */
  readonly samples: Map<number, Sample[]>;
  readonly errors: string[];
}

/** Parses a whole file (init + fragments concatenated) with mp4box. */
export function parseMp4(bytes: Uint8Array, opts: { withData?: boolean } = {}): ParsedMp4 {
  const file = createFile(opts.withData ?? false);
  const errors: string[] = [];
  const samples = new Map<number, Sample[]>();
  let info: Movie | undefined;
  file.onError = (module: string, message: string) => errors.push(`${module}: ${message}`);
  file.onReady = (movie: Movie) => {
    info = movie;
    for (const t of movie.tracks) {
      samples.set(t.id, []);
      file.setExtractionOptions(t.id, undefined, { nbSamples: 100_000 });
    }
    file.start();
  };
  file.onSamples = (id: number, _user: unknown, got: Sample[]) => {
    samples.get(id)!.push(...got);
  };
  const copy = bytes.slice();
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy.buffer, 0), true);
  file.flush();
  if (!info) throw new Error(`mp4box did not find a moov: ${errors.join('; ')}`);
  return { info, samples, errors };
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sample durations from the next dts; the last sample repeats the previous duration. */
export function withDurations(samples: readonly TestSample[]): { duration: number; key: boolean; compositionOffset: number; data: Uint8Array }[] {
  return samples.map((s, i) => {
    const next = samples[i + 1];
    const duration = next ? next.dts - s.dts : i > 0 ? s.dts - samples[i - 1]!.dts : 1;
    return { duration, key: s.key, compositionOffset: s.pts - s.dts, data: s.data };
  });
}

/** Splits into runs of `n` samples (the last may be shorter). */
export function chunk<T>(items: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
