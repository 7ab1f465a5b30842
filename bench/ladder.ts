/**
 * Ladder bench: how fast one ffmpeg makes the default ladder from a 1080p60 source (x realtime and
 * CPU), and how much latency a rung adds over the source (source frame fed -> same-dts rung frame
 * out, median per rung, fed at real-time pace). Called from bench/run.ts:
 *   const l = await benchLadder(await ladderBenchFixture());
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { VIDEO_TIMESCALE, type Frame, type VideoTrack } from '../src/core/media.js';
import { FlvIngest } from '../src/flv/ingest.js';
import { FLV_TAG_VIDEO, FlvReader } from '../src/flv/reader.js';
import { selectLadder, type TranscodedRendition } from '../src/ladder/ladder.js';
import { Transcoder } from '../src/ladder/transcoder.js';
import { run } from '../test/helpers/process.js';
import { ffmpegPath } from '../test/helpers/tools.js';
import { BENCH_DIR, median } from './fixtures.js';

export interface LadderBenchResult {
  rungs: string[];
  mediaSeconds: number;
  /** Fed as fast as ffmpeg takes it. */
  wallSeconds: number;
  xRealtime: number;
  /** ffmpeg user+sys CPU seconds (sampled from /proc, so a slight underestimate). */
  cpuSeconds: number;
  /** CPU seconds per media second, in cores. */
  coresAtRealtime: number;
  /** Median ms from a source frame being fed (real-time pace) to the same-dts rung frame. */
  latencyMedianMs: Record<string, number>;
  latencySeconds: number;
}

/** 1080p60 H.264 High 6 Mbit/s, keyframe every 2 s, video only (audio is not transcoded). */
export async function ladderBenchFixture(seconds = 20): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const file = join(BENCH_DIR, `1080p60-6000k-${seconds}s.flv`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp.flv`;
  process.stderr.write(`bench: encoding ${seconds} s 1080p60 fixture (once) ...\n`);
  const r = await run(
    ffmpegPath(),
    [
      '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=60', '-t', String(seconds),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-g', '120', '-keyint_min', '120', '-sc_threshold', '0', '-bf', '0',
      '-b:v', '6000k', '-maxrate', '6000k', '-bufsize', '12000k', '-f', 'flv', tmp,
    ],
    30 * 60_000,
  );
  if (r.code !== 0) throw new Error(r.stderr);
  renameSync(tmp, file);
  return file;
}

function readVideo(file: string): { track: VideoTrack; frames: Frame[] } {
  const reader = new FlvReader();
  const ingest = new FlvIngest();
  let track: VideoTrack | undefined;
  const frames: Frame[] = [];
  for (const tag of reader.push(readFileSync(file))) {
    if (tag.type !== FLV_TAG_VIDEO) continue;
    for (const ev of ingest.pushVideo(tag.timestamp, tag.payload, Date.now())) {
      if (ev.type === 'track' && ev.track.kind === 'video') track = ev.track;
      else if (ev.type === 'frame') frames.push(ev.frame);
    }
  }
  if (!track) throw new Error(`${file}: no video track`);
  return { track, frames };
}

function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // proc(5): utime and stime are fields 14 and 15 (1-based), in clock ticks (100 Hz on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function rungsFor(track: VideoTrack): TranscodedRendition[] {
  return selectLadder({ width: track.width, height: track.height, fps: track.fps ?? 60, bitrate: 6_000_000, hasVideo: true }).filter(
    (r): r is TranscodedRendition => r.kind === 'transcode',
  );
}

async function throughput(track: VideoTrack, frames: Frame[], rungs: TranscodedRendition[]): Promise<{ wall: number; cpu: number }> {
  const t = new Transcoder(rungs, { maxLagMs: 3_600_000, drainTimeoutMs: 3_600_000, maxInputBacklogBytes: 2 ** 31 });
  let cpu = 0;
  let sampler: NodeJS.Timeout | undefined;
  t.on('spawn', (pid) => {
    sampler = setInterval(() => (cpu = procCpuSeconds(pid) ?? cpu), 100);
  });
  const started = performance.now();
  t.onTrack(track);
  for (const f of frames) t.onFrame(f);
  await t.stop();
  clearInterval(sampler);
  return { wall: (performance.now() - started) / 1000, cpu };
}

async function latency(track: VideoTrack, frames: Frame[], rungs: TranscodedRendition[], seconds: number): Promise<Record<string, number>> {
  const fedAt = new Map<number, number>();
  const delays = new Map<string, number[]>(rungs.map((r) => [r.name, []]));
  const t = new Transcoder(rungs, { maxLagMs: 60_000 });
  t.on('rungFrame', (name, frame) => {
    const at = fedAt.get(frame.dts);
    if (at !== undefined) delays.get(name)!.push(performance.now() - at);
  });
  t.onTrack(track);
  const first = frames[0]!.dts;
  const limit = first + seconds * VIDEO_TIMESCALE;
  const start = performance.now();
  for (const f of frames) {
    if (f.dts > limit) break;
    const due = start + ((f.dts - first) * 1000) / VIDEO_TIMESCALE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    fedAt.set(f.dts, performance.now());
    t.onFrame({ ...f, wallclock: Date.now() });
  }
  await t.stop();
  const out: Record<string, number> = {};
  for (const [name, d] of delays) out[name] = median(d);
  return out;
}

export async function benchLadder(file?: string, latencySeconds = 10): Promise<LadderBenchResult> {
  const { track, frames } = readVideo(file ?? (await ladderBenchFixture()));
  const rungs = rungsFor(track);
  const mediaSeconds = (frames[frames.length - 1]!.dts - frames[0]!.dts) / VIDEO_TIMESCALE + 1 / (track.fps ?? 60);
  const { wall, cpu } = await throughput(track, frames, rungs);
  const latencyMedianMs = await latency(track, frames, rungs, Math.min(latencySeconds, mediaSeconds));
  return {
    rungs: rungs.map((r) => `${r.name} ${r.width}x${r.height}@${r.fps ?? '='}`),
    mediaSeconds,
    wallSeconds: wall,
    xRealtime: mediaSeconds / wall,
    cpuSeconds: cpu,
    coresAtRealtime: cpu / mediaSeconds,
    latencyMedianMs,
    latencySeconds: Math.min(latencySeconds, mediaSeconds),
  };
}
