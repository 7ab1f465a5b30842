/**
 * A fabricated StreamOutput: the real OutputRegistry / StreamOutput / TrackOutput classes, fed
 * directly with hand-made CMAF init, part and segment objects (the bytes are tiny dummies), so
 * MPD and playlist builders see exactly the state a live stream would give them.
 */
import { afterEach, vi } from 'vitest';
import type { MpdOptions } from '../../../src/packager/dash/mpd.js';
import type { AudioTrack, VideoTrack } from '../../../src/core/media.js';
import { StreamRegistry } from '../../../src/core/stream.js';
import { SegmentCache } from '../../../src/cache/segment-cache.js';
import { OutputRegistry } from '../../../src/packager/output-registry.js';
import type { StreamOutput } from '../../../src/packager/stream-output.js';
import type { TrackOutput } from '../../../src/packager/track-output.js';
import type { CmafPart, CmafSegment } from '../../../src/mux/fmp4/cmaf.js';
import { buildSegmentHeader } from '../../../src/mux/fmp4/fragment.js';

/** 2026-01-02T03:04:05.000Z: publish time of every fabricated stream (so the session id is fixed). */
export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
export const SESSION = T0.toString(36);

export const VIDEO_720P: VideoTrack = {
  kind: 'video',
  codec: 'avc',
  timescale: 90_000,
  width: 1280,
  height: 720,
  fps: 30,
  codecString: 'avc1.64001f',
  config: new Uint8Array([1, 0x64, 0, 0x1f]),
  parameterSets: [],
  nalLengthSize: 4,
};

export const AUDIO_STEREO: AudioTrack = {
  kind: 'audio',
  codec: 'aac',
  timescale: 48_000,
  sampleRate: 48_000,
  channels: 2,
  objectType: 2,
  codecString: 'mp4a.40.2',
  config: new Uint8Array([0x11, 0x90]),
  samplesPerFrame: 1024,
};

export const PACKAGER = { segmentDuration: 2, partDuration: 0.5, playlistWindow: 4 } as const;

export interface Fabricated {
  readonly registry: OutputRegistry;
  readonly streams: StreamRegistry;
  readonly output: StreamOutput;
}

export function fabricateOutput(app = 'live', key = 'cam'): Fabricated {
  const streams = new StreamRegistry();
  const registry = new OutputRegistry(streams, { ...PACKAGER, endedStreamTtl: 60 }, new SegmentCache(1 << 24));
  const now = vi.spyOn(Date, 'now').mockReturnValue(T0);
  try {
    streams.publish(app, key);
  } finally {
    now.mockRestore();
  }
  return { registry, streams, output: registry.get(app, key)! };
}

export function feedInit(track: TrackOutput, media: VideoTrack | AudioTrack, id = 0): void {
  track.onInit({ kind: media.kind, id, track: media, bytes: new Uint8Array([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70]) });
}

/** The wall clock the fabricated encoder delivered media time `ticks` at: media time 0 = T0. */
export function wallclockOf(ticks: number, timescale: number): number {
  return T0 + (ticks / timescale) * 1000;
}

export function makePart(track: TrackOutput, segment: number, index: number, startTime: number, duration: number, timescale: number, bytes = 100): CmafPart {
  const kind = track.kind;
  return {
    kind,
    segment,
    index,
    startTime,
    discontinuity: false,
    initId: Math.max(0, track.currentInitId),
    duration,
    timescale,
    independent: index === 0,
    bytes: new Uint8Array(bytes).fill((segment * 16 + index) & 0xff),
    wallclock: wallclockOf(startTime, timescale),
    frames: [],
  };
}

/** Feeds the parts of one segment (split into `parts` equal pieces) and, unless `open`, the segment. */
export function feedSegment(
  track: TrackOutput,
  options: { sequence: number; startTime: number; duration: number; timescale: number; initId?: number; parts?: number; discontinuity?: boolean; partBytes?: number; open?: boolean },
): CmafPart[] {
  const count = options.parts ?? 4;
  const parts: CmafPart[] = [];
  let at = options.startTime;
  for (let i = 0; i < count; i++) {
    const end = options.startTime + Math.round(((i + 1) * options.duration) / count);
    const made = makePart(track, options.sequence, i, at, end - at, options.timescale, options.partBytes ?? 100);
    // Every part of a segment after a break carries the discontinuity, as TrackSegmenter sets it.
    const part = options.discontinuity ? { ...made, discontinuity: true } : made;
    parts.push(part);
    track.onPart(part);
    at = end;
  }
  if (!options.open) track.onSegment(segmentOf(parts, options));
  return parts;
}

export function segmentOf(parts: readonly CmafPart[], options: { sequence: number; startTime: number; duration: number; timescale: number; initId?: number; discontinuity?: boolean }): CmafSegment {
  const styp = buildSegmentHeader();
  const chunks = [styp, ...parts.map((p) => p.bytes)];
  return {
    kind: parts[0]!.kind,
    sequence: options.sequence,
    startTime: options.startTime,
    duration: options.duration,
    timescale: options.timescale,
    initId: options.initId ?? 0,
    discontinuity: options.discontinuity ?? false,
    chunks,
    byteLength: chunks.reduce((n, c) => n + c.byteLength, 0),
    parts,
    wallclock: parts[0]!.wallclock,
  };
}

/**
 * Video durations in 90 kHz ticks for a 30000/1001-ish source that cuts close to 2 s: runs of
 * equal durations (for `r`) and a few odd ones. Audio follows at the same instants (48 kHz).
 */
export const VIDEO_DURATIONS = [180_000, 180_000, 180_180, 180_000, 179_820, 180_000, 180_000];
export const FIRST_SEQUENCE = 5;
export const FIRST_START_SECONDS = 10;

/** Feeds complete segments to the video and/or audio track, cut at the same instants. */
export function feedStream(output: StreamOutput, options: { video?: boolean; audio?: boolean; durations?: readonly number[] } = {}): void {
  const withVideo = options.video ?? true;
  const withAudio = options.audio ?? true;
  const video = output.videos.get('src')!;
  if (withVideo) feedInit(video, VIDEO_720P);
  if (withAudio) feedInit(output.audio, AUDIO_STEREO);
  let videoAt = FIRST_START_SECONDS * 90_000;
  let sequence = FIRST_SEQUENCE;
  for (const d of options.durations ?? VIDEO_DURATIONS) {
    if (withVideo) feedSegment(video, { sequence, startTime: videoAt, duration: d, timescale: 90_000, partBytes: 2000 });
    if (withAudio) {
      const a0 = Math.round((videoAt * 48_000) / 90_000);
      const a1 = Math.round(((videoAt + d) * 48_000) / 90_000);
      feedSegment(output.audio, { sequence, startTime: a0, duration: a1 - a0, timescale: 48_000, partBytes: 400 });
    }
    videoAt += d;
    sequence++;
  }
}

/** MpdOptions for the fabricated streams, built at wall clock `now` (ms). */
export function mpdOptionsAt(now: number): MpdOptions {
  return {
    segmentDuration: PACKAGER.segmentDuration,
    partDuration: PACKAGER.partDuration,
    window: PACKAGER.playlistWindow,
    now,
    utcTimingUrl: 'http://gw.test/api/time',
    lowLatency: false,
  };
}

/**
 * Call at a test file's top level: returns a maker of fresh fabricated StreamOutputs, whose
 * registries are closed after each test.
 */
export function fabricatedStreams(): () => StreamOutput {
  const registries: OutputRegistry[] = [];
  afterEach(() => {
    for (const r of registries.splice(0)) r.close();
  });
  return () => {
    const { registry, output } = fabricateOutput();
    registries.push(registry);
    return output;
  };
}
