/**
 * Test media made on demand with ffmpeg (nothing large is committed): small FLV files that a
 * publisher sends with `-c copy`. Cached per process run in the OS temp dir.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegPath } from './tools.js';
import { run } from './process.js';

export type FixtureName = 'gop5s-bframes' | 'av720p30' | 'av720p30-bframes' | 'audio-only' | 'video-only' | 'av360p-short' | 'av1080p60';

const DIR = join(tmpdir(), 'streamgate-fixtures-v2');

interface FixtureSpec {
  seconds: number;
  /** `preset` is the x264 preset used to make it (default superfast). */
  video?: { size: string; rate: number; gop: number; bframes: number; profile: string; bitrate: string; preset?: string };
  audio?: boolean;
  /** Length of the audio input when it must differ from `seconds` (see av1080p60). */
  audioSeconds?: number;
}

const SPECS: Record<FixtureName, FixtureSpec> = {
  av720p30: { seconds: 10, video: { size: '1280x720', rate: 30, gop: 60, bframes: 0, profile: 'high', bitrate: '1500k' }, audio: true },
  'av720p30-bframes': { seconds: 10, video: { size: '1280x720', rate: 30, gop: 60, bframes: 3, profile: 'high', bitrate: '1500k' }, audio: true },
  'audio-only': { seconds: 10, audio: true },
  'video-only': { seconds: 10, video: { size: '640x360', rate: 25, gop: 50, bframes: 0, profile: 'main', bitrate: '600k' } },
  // What the ingest checker must flag: a 5 s keyframe interval and B-frames.
  'gop5s-bframes': { seconds: 12, video: { size: '640x360', rate: 30, gop: 150, bframes: 3, profile: 'high', bitrate: '600k' }, audio: true },
  'av360p-short': { seconds: 6, video: { size: '640x360', rate: 30, gop: 30, bframes: 0, profile: 'baseline', bitrate: '500k' }, audio: true },
  // The ladder's top input. ultrafast keeps it quick to make; it turns off CABAC, B-frames and 8x8dct,
  // so x264 signals Constrained Baseline although High is asked for (ffprobe says so). Fine for a ladder test.
  // audioSeconds: `-stream_loop` shifts every stream by the longest one's span. 6 s of AAC spans
  // 282 frames of 1024 samples (priming included) = 6.016 s, so the looped video would jump an extra
  // frame at each seam, and a rung decimated 60 -> 30 fps then steps 50 ms there (ffmpeg's null muxer
  // reports "non monotonically increasing dts"). 5.97 s of audio (281 frames = 5.995 s) keeps the video
  // seam exact; the audio takes a 6 ms gap instead.
  av1080p60: {
    seconds: 6,
    video: { size: '1920x1080', rate: 60, gop: 120, bframes: 0, profile: 'high', bitrate: '6000k', preset: 'ultrafast' },
    audio: true,
    audioSeconds: 5.97,
  },
};

/** Returns the path of the fixture, making it first if needed. */
export async function fixture(name: FixtureName): Promise<string> {
  mkdirSync(DIR, { recursive: true });
  const file = join(DIR, `${name}.flv`);
  if (existsSync(file)) return file;
  const spec = SPECS[name];
  const args = ['-v', 'error', '-y'];
  if (spec.video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${spec.video.size}:rate=${spec.video.rate}`);
  if (spec.audio) {
    if (spec.audioSeconds !== undefined) args.push('-t', String(spec.audioSeconds));
    args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  }
  args.push('-t', String(spec.seconds));
  if (spec.video) {
    const v = spec.video;
    args.push(
      '-c:v', 'libx264', '-preset', v.preset ?? 'superfast', '-profile:v', v.profile, '-pix_fmt', 'yuv420p',
      '-g', String(v.gop), '-keyint_min', String(v.gop), '-sc_threshold', '0', '-bf', String(v.bframes),
      '-b:v', v.bitrate, '-maxrate', v.bitrate, '-bufsize', v.bitrate,
    );
    if (v.bframes === 0) args.push('-x264-params', 'bframes=0');
  }
  if (spec.audio) args.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2');
  const tmp = `${file}.${process.pid}.tmp.flv`;
  args.push('-f', 'flv', tmp);
  const r = await run(ffmpegPath(), args, 120_000);
  if (r.code !== 0) throw new Error(`fixture ${name} failed: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

/**
 * The committed fixtures in `fixtures/` (see fixtures/README.md for the command that made each):
 * awkward sources as real encoders send them.
 */
export const COMMITTED_FIXTURES = {
  'bframes3-720p30': { publishArgs: [] as string[] },
  'ntsc5994-bframes2-opengop': { publishArgs: [] as string[] },
  'ntsc2997-mono44k': { publishArgs: [] as string[] },
  'gop4s-25fps': { publishArgs: [] as string[] },
  'irregular-gop-50fps': { publishArgs: [] as string[] },
  'obs-auto-keyint': { publishArgs: [] as string[] },
  // Its timestamps start near 2^31 ms and wrap: ffmpeg keeps them only with -copyts.
  'late-start-wrap': { publishArgs: ['-copyts'] as string[] },
} as const;
export type CommittedFixture = keyof typeof COMMITTED_FIXTURES;

export function committedFixture(name: CommittedFixture): string {
  return join(process.cwd(), 'fixtures', `${name}.flv`);
}
