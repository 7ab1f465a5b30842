/**
 * Real H.264 + AAC frames for the MPEG-TS tests, made on demand with ffmpeg (lavfi testsrc2 +
 * sine, libx264 + aac, in FLV as an RTMP publisher would send them) and read back with a few
 * lines of FLV tag parsing. Cached per machine in the OS temp dir. Also ffmpeg/ffprobe runners.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioTrack, Frame, VideoTrack } from '../../../src/core/media.js';

const DIR = join(tmpdir(), 'streamgate-ts-fixtures-v1');

export function ffmpegBinary(): string {
  return existsSync('/usr/bin/ffmpeg') ? '/usr/bin/ffmpeg' : join(process.cwd(), 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
}
export function ffprobeBinary(): string {
  return existsSync('/usr/bin/ffprobe') ? '/usr/bin/ffprobe' : join(process.cwd(), 'node_modules/@ffprobe-installer/linux-x64/ffprobe');
}

/** `ffmpeg -v error` decode of a file: stderr (empty when clean) plus the exit status when not 0. */
export function decodeErrors(file: string): string {
  const r = spawnSync(ffmpegBinary(), ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  return `${r.stderr}${r.status === 0 ? '' : `exit ${String(r.status)}`}`.trim();
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  duration?: string;
  nb_read_packets?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
}

export function probeStreams(file: string): { streams: ProbedStream[]; stderr: string } {
  const r = spawnSync(ffprobeBinary(), ['-v', 'error', '-count_packets', '-print_format', 'json', '-show_streams', file], { encoding: 'utf8' });
  return { streams: (JSON.parse(r.stdout || '{"streams":[]}') as { streams: ProbedStream[] }).streams, stderr: r.stderr };
}

/** Video frame flags in presentation order via ffprobe: [pts_time, key]. */
export function probeVideoFrames(file: string): { time: number; key: boolean }[] {
  const r = spawnSync(ffprobeBinary(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pts_time', '-of', 'csv=p=0', file], { encoding: 'utf8' });
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [key, time] = l.split(',');
      return { key: key === '1', time: Number(time) };
    });
}

export interface AvFixture {
  readonly video: VideoTrack;
  readonly audio: AudioTrack;
  readonly videoFrames: readonly Frame[];
  readonly audioFrames: readonly Frame[];
}

const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** SPS and PPS NAL units out of an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1). */
export function parameterSetsOfAvcC(avcC: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 5;
  const spsCount = avcC[at++]! & 0x1f;
  for (let i = 0; i < spsCount; i++) {
    const n = (avcC[at]! << 8) | avcC[at + 1]!;
    out.push(avcC.slice(at + 2, at + 2 + n));
    at += 2 + n;
  }
  const ppsCount = avcC[at++]!;
  for (let i = 0; i < ppsCount; i++) {
    const n = (avcC[at]! << 8) | avcC[at + 1]!;
    out.push(avcC.slice(at + 2, at + 2 + n));
    at += 2 + n;
  }
  return out;
}

/** 4 s of 320x240@25 (keyframe every second, B-frames) and 48 kHz stereo AAC-LC. */
export function loadAvFixture(): AvFixture {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, 'av-320x240.flv');
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    const r = spawnSync(ffmpegBinary(), [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '4',
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-bf', '2', '-g', '25', '-keyint_min', '25',
      '-sc_threshold', '0', '-threads', '1', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '64k', '-ac', '2',
      '-f', 'flv', tmp,
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg fixture failed: ${r.stderr}`);
    renameSync(tmp, file);
  }
  const flv = new Uint8Array(readFileSync(file));
  const view = new DataView(flv.buffer, flv.byteOffset, flv.byteLength);
  let avcC: Uint8Array | undefined;
  let asc: Uint8Array | undefined;
  const videoFrames: Frame[] = [];
  const audioTags: { ms: number; data: Uint8Array }[] = [];
  let at = view.getUint32(5) + 4; // FLV header, then PreviousTagSize0
  while (at + 11 <= flv.length) {
    const type = flv[at]!;
    const size = (flv[at + 1]! << 16) | (flv[at + 2]! << 8) | flv[at + 3]!;
    const ms = ((flv[at + 7]! << 24) | (flv[at + 4]! << 16) | (flv[at + 5]! << 8) | flv[at + 6]!) >>> 0;
    const body = flv.subarray(at + 11, at + 11 + size);
    at += 11 + size + 4;
    if (type === 9 && (body[0]! & 0x0f) === 7) {
      const cts = (((body[2]! << 16) | (body[3]! << 8) | body[4]!) << 8) >> 8;
      if (body[1] === 0) avcC = body.slice(5);
      else if (body[1] === 1) {
        videoFrames.push({ kind: 'video', dts: ms * 90, pts: (ms + cts) * 90, key: body[0]! >> 4 === 1, data: body.slice(5), wallclock: 1_700_000_000_000 + ms });
      }
    } else if (type === 8 && body[0]! >> 4 === 10) {
      if (body[1] === 0) asc = body.slice(2);
      else audioTags.push({ ms, data: body.slice(2) });
    }
  }
  if (!avcC || !asc) throw new Error('fixture lacks sequence headers');
  const sampleRate = AAC_RATES[((asc[0]! & 0x07) << 1) | (asc[1]! >> 7)]!;
  const channels = (asc[1]! >> 3) & 0x0f;
  const objectType = asc[0]! >> 3;
  const first = Math.round((audioTags[0]!.ms * sampleRate) / 1000);
  const audioFrames: Frame[] = audioTags.map((t, i) => {
    const dts = first + i * 1024;
    return { kind: 'audio', dts, pts: dts, key: true, data: t.data, wallclock: 1_700_000_000_000 + t.ms };
  });
  return {
    video: {
      kind: 'video', codec: 'avc', timescale: 90_000, width: 320, height: 240, fps: 25,
      codecString: `avc1.${hex2(avcC[1]!)}${hex2(avcC[2]!)}${hex2(avcC[3]!)}`,
      config: avcC, parameterSets: parameterSetsOfAvcC(avcC), nalLengthSize: (avcC[4]! & 3) + 1,
    },
    audio: {
      kind: 'audio', codec: 'aac', timescale: sampleRate, sampleRate, channels, objectType,
      codecString: `mp4a.40.${objectType}`, config: asc, samplesPerFrame: 1024,
    },
    videoFrames,
    audioFrames,
  };
}

/** A minimal TS reader for assertions: packets by PID, PES starts with their PTS/DTS. */
export interface TsPacketView {
  readonly index: number;
  readonly pid: number;
  readonly pusi: boolean;
  readonly cc: number;
  readonly hasPayload: boolean;
  readonly adaptation?: Uint8Array;
  readonly payload: Uint8Array;
}

export function splitPackets(ts: Uint8Array): TsPacketView[] {
  if (ts.length % 188 !== 0) throw new Error(`length ${ts.length} is not a multiple of 188`);
  const out: TsPacketView[] = [];
  for (let i = 0; i < ts.length; i += 188) {
    const p = ts.subarray(i, i + 188);
    if (p[0] !== 0x47) throw new Error(`no sync byte at packet ${i / 188}`);
    const afc = (p[3]! >> 4) & 3;
    let body = 4;
    let adaptation: Uint8Array | undefined;
    if (afc & 2) {
      adaptation = p.subarray(4, 5 + p[4]!);
      body = 5 + p[4]!;
    }
    out.push({
      index: i / 188,
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      pusi: (p[1]! & 0x40) !== 0,
      cc: p[3]! & 0x0f,
      hasPayload: (afc & 1) !== 0,
      adaptation,
      payload: p.subarray(body),
    });
  }
  return out;
}
