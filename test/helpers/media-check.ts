import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseM3u8 } from './m3u8.js';
import { fetchBytes, fetchText } from './gateway.js';
import { run } from './process.js';
import { ffmpegPath, ffprobePath } from './tools.js';
import type { M3u8Manifest } from 'm3u8-parser';

export interface DownloadedRendition {
  playlist: M3u8Manifest;
  /** init + every segment, in order, as one file. */
  file: string;
  extinfTotal: number;
}

/** Fetches a media playlist and all it names into one file (init + segments). */
export async function downloadRendition(playlistUrl: string): Promise<DownloadedRendition> {
  const { status, text } = await fetchText(playlistUrl);
  if (status !== 200) throw new Error(`${playlistUrl}: HTTP ${status}`);
  const playlist = parseM3u8(text);
  const pieces: Uint8Array[] = [];
  let lastMap: string | undefined;
  let extinfTotal = 0;
  for (const seg of playlist.segments) {
    if (seg.map && seg.map.uri !== lastMap) {
      const init = await fetchBytes(new URL(seg.map.uri, playlistUrl).href);
      if (init.status !== 200) throw new Error(`init ${seg.map.uri}: HTTP ${init.status}`);
      pieces.push(init.bytes);
      lastMap = seg.map.uri;
    }
    const media = await fetchBytes(new URL(seg.uri, playlistUrl).href);
    if (media.status !== 200) throw new Error(`segment ${seg.uri}: HTTP ${media.status}`);
    pieces.push(media.bytes);
    extinfTotal += seg.duration;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sg-dl-'));
  const file = join(dir, 'media.mp4');
  writeFileSync(file, Buffer.concat(pieces));
  return { playlist, file, extinfTotal };
}

/** Decodes a file fully; returns ffmpeg's stderr at -v error (empty when the media is clean). */
export async function decodeErrors(file: string): Promise<string> {
  const r = await run(ffmpegPath(), ['-v', 'error', '-nostdin', '-i', file, '-f', 'null', '-'], 120_000);
  return r.stderr.trim() + (r.code === 0 ? '' : `\nexit ${r.code}`);
}

export interface ProbeStream {
  codec_type: string;
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  sample_rate?: string;
  channels?: number;
  duration?: string;
  start_time?: string;
  nb_read_frames?: string;
}

export async function probe(file: string, countFrames = false): Promise<{ streams: ProbeStream[]; format: { duration?: string } }> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  if (countFrames) args.push('-count_frames');
  const r = await run(ffprobePath(), [...args, file], 120_000);
  if (r.code !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { streams: ProbeStream[]; format: { duration?: string } };
}

/** Key frame flags of every video frame, via ffprobe. */
export async function keyframeTimes(file: string): Promise<number[]> {
  const r = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pts_time,best_effort_timestamp_time', '-of', 'csv=p=0', file], 120_000);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('1,'))
    .map((l) => Number(l.split(',')[1]));
}

/** Whether the first decoded video frame of a file is a keyframe (ffprobe). */
export async function firstFrameIsKey(file: string): Promise<boolean> {
  const r = await run(ffprobePath(), ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_entries', 'frame=key_frame', '-of', 'csv=p=0', file], 60_000);
  const first = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  return first !== undefined && first.split(',')[0] === '1';
}
