/**
 * Independent decode check: our init + fragments of real encoded frames, written to a file,
 * must decode with `ffmpeg -v error` printing nothing, and ffprobe must count every frame.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Track } from '../../../src/core/media.js';
import { buildFragment, buildSegmentHeader, type FragmentSample } from '../../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import {
  chunk,
  concatBytes,
  ffmpegBinary,
  ffmpegDecodeErrors,
  loadAvcAacFixture,
  loadHevcFixture,
  withDurations,
  type TestSample,
} from './media-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'fmp4-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ffprobePath(): string {
  return ffmpegBinary().replace(/ffmpeg$/, 'ffprobe');
}

/** styp + fragments of `perFragment` samples: what a CMAF segment with several parts looks like. */
function writeTrackFile(name: string, track: Track, source: readonly TestSample[], perFragment: number, adjust?: (s: FragmentSample) => FragmentSample): string {
  const samples = withDurations(source).map((s) => (adjust ? adjust(s) : s));
  const parts: Uint8Array[] = [buildInitSegment(track), buildSegmentHeader()];
  let t = source[0]!.dts;
  chunk(samples, perFragment).forEach((run, i) => {
    parts.push(buildFragment({ kind: track.kind, sequenceNumber: i + 1, baseMediaDecodeTime: t, samples: run }));
    t += run.reduce((n, s) => n + s.duration, 0);
  });
  const file = join(dir, name);
  writeFileSync(file, concatBytes(parts));
  return file;
}

function probePacketCount(file: string): number {
  const r = spawnSync(ffprobePath(), ['-v', 'error', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', file], {
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  return Number(r.stdout.trim());
}

const { video, audio } = loadAvcAacFixture();

describe('ffmpeg decodes our fMP4', () => {
  it('AVC High with B-frames', () => {
    const file = writeTrackFile('avc.mp4', video.track, video.samples, 6);
    expect(ffmpegDecodeErrors(file)).toBe('');
    expect(probePacketCount(file)).toBe(video.samples.length);
  });

  it('AVC with negative composition offsets (trun v1)', () => {
    const shift = video.samples[0]!.pts - video.samples[0]!.dts;
    const file = writeTrackFile('avc-v1.mp4', video.track, video.samples, 25, (s) => ({ ...s, compositionOffset: s.compositionOffset - shift }));
    expect(ffmpegDecodeErrors(file)).toBe('');
    expect(probePacketCount(file)).toBe(video.samples.length);
  });

  it('AAC-LC', () => {
    const file = writeTrackFile('aac.mp4', audio.track, audio.samples, 10);
    expect(ffmpegDecodeErrors(file)).toBe('');
    expect(probePacketCount(file)).toBe(audio.samples.length);
  });

  it('HEVC (hvc1)', () => {
    const hevc = loadHevcFixture();
    const file = writeTrackFile('hevc.mp4', hevc.track, hevc.samples, 8);
    expect(ffmpegDecodeErrors(file)).toBe('');
    expect(probePacketCount(file)).toBe(hevc.samples.length);
  });
});
