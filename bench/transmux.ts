/**
 * In-process transmux throughput: an FLV file through the same ingest, segmenter, CMAF muxer
 * and packager the gateway runs, on one core; ffmpeg's `-c copy -f hls fmp4` on the same file
 * beside it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentCache } from '../src/cache/segment-cache.js';
import { LiveStream } from '../src/core/stream.js';
import { FlvIngest } from '../src/flv/ingest.js';
import { FlvReader } from '../src/flv/reader.js';
import { StreamOutput } from '../src/packager/stream-output.js';
import { ffmpegPath } from '../test/helpers/tools.js';
import { childCpuSeconds, median } from './fixtures.js';

export interface TransmuxResult {
  mediaSeconds: number;
  megabytes: number;
  cpuSeconds: number;
  xRealtime: number;
  mbPerSecond: number;
  segments: number;
  ffmpegCpuSeconds: number;
  ffmpegXRealtime: number;
  ratio: number;
}

function transmuxOnce(bytes: Uint8Array): { cpu: number; mediaSeconds: number; segments: number } {
  const stream = new LiveStream('live', 'bench');
  const output = new StreamOutput(stream, { segmentDuration: 2, partDuration: 0.2, playlistWindow: 6 }, new SegmentCache(64 * 1024 * 1024));
  const ingest = new FlvIngest();
  const reader = new FlvReader();
  let segments = 0;
  output.videos.get('src')!.on('segment', () => segments++);
  let lastTs = 0;
  const before = process.cpuUsage();
  // Feed in 64 KiB pieces, as a socket would.
  for (let off = 0; off < bytes.byteLength; off += 65536) {
    for (const tag of reader.push(bytes.subarray(off, Math.min(bytes.byteLength, off + 65536)))) {
      const events = tag.type === 9 ? ingest.pushVideo(tag.timestamp, tag.payload, 0) : tag.type === 8 ? ingest.pushAudio(tag.timestamp, tag.payload, 0) : [];
      lastTs = tag.timestamp;
      for (const e of events) {
        if (e.type === 'frame') stream.pushFrame(e.frame);
        else if (e.type === 'track') stream.pushTrack(e.track);
      }
    }
  }
  stream.end();
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / 1e6, mediaSeconds: lastTs / 1000, segments };
}

export async function benchTransmux(file: string, runs = 5): Promise<TransmuxResult> {
  const bytes = new Uint8Array(readFileSync(file));
  transmuxOnce(bytes); // warm-up (JIT)
  const cpus: number[] = [];
  let mediaSeconds = 0;
  let segments = 0;
  for (let i = 0; i < runs; i++) {
    const r = transmuxOnce(bytes);
    cpus.push(r.cpu);
    mediaSeconds = r.mediaSeconds;
    segments = r.segments;
  }
  const cpu = median(cpus);

  const out = mkdtempSync(join(tmpdir(), 'bench-ffmpeg-hls-'));
  const ffCpus: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await childCpuSeconds(ffmpegPath(), [
      '-v', 'error', '-y', '-i', file, '-c', 'copy', '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', '2',
      '-hls_playlist_type', 'vod', '-hls_fmp4_init_filename', 'init.mp4', join(out, 'index.m3u8'),
    ]);
    if (r.code !== 0) throw new Error('ffmpeg hls remux failed');
    ffCpus.push(r.cpu);
  }
  rmSync(out, { recursive: true, force: true });
  const ffCpu = median(ffCpus);
  const megabytes = bytes.byteLength / 1e6;
  return {
    mediaSeconds,
    megabytes,
    cpuSeconds: cpu,
    xRealtime: mediaSeconds / cpu,
    mbPerSecond: megabytes / cpu,
    segments,
    ffmpegCpuSeconds: ffCpu,
    ffmpegXRealtime: mediaSeconds / ffCpu,
    ratio: ffCpu / cpu,
  };
}
