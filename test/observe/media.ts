/** Fabricated tracks and frame sequences for the observer tests (no real codec data needed). */
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';

export const VIDEO: VideoTrack = {
  kind: 'video',
  codec: 'avc',
  timescale: 90_000,
  width: 1280,
  height: 720,
  fps: 30,
  codecString: 'avc1.64001f',
  config: new Uint8Array([1, 0x64, 0, 0x1f, 0xff, 0xe0, 0]),
  parameterSets: [],
  nalLengthSize: 4,
};

export const AUDIO: AudioTrack = {
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

export interface AvOptions {
  seconds: number;
  /** Keyframe every `gop` seconds. */
  gop: number;
  fps?: number;
  /** B-frames: pts = dts + 2 frames on non-key frames. */
  bframes?: boolean;
  /** Wall clock of media time 0 (ms). */
  t0?: number;
  videoBytes?: (i: number, key: boolean) => number;
  /** Seconds added to every audio timestamp (drift). */
  audioOffset?: number;
}

/** Interleaved video (30 fps) and AAC (48 kHz) frames in arrival order, wall clock = t0 + media time. */
export function fabricateAv(o: AvOptions): Frame[] {
  const fps = o.fps ?? 30;
  const t0 = o.t0 ?? 1_000_000;
  const frames: Frame[] = [];
  const gopFrames = Math.round(o.gop * fps);
  const nVideo = Math.round(o.seconds * fps);
  for (let i = 0; i < nVideo; i++) {
    const dts = Math.round((i * 90_000) / fps);
    const key = i % gopFrames === 0;
    const pts = o.bframes && !key ? dts + Math.round((2 * 90_000) / fps) : dts;
    const size = o.videoBytes?.(i, key) ?? (key ? 20_000 : 4000);
    frames.push({ kind: 'video', dts, pts, key, data: new Uint8Array(size), wallclock: t0 + (dts / 90) });
  }
  const nAudio = Math.floor((o.seconds * 48_000) / 1024);
  for (let i = 0; i < nAudio; i++) {
    const dts = i * 1024 + Math.round((o.audioOffset ?? 0) * 48_000);
    frames.push({ kind: 'audio', dts, pts: dts, key: true, data: new Uint8Array(300), wallclock: t0 + (i * 1024 * 1000) / 48_000 });
  }
  return frames.sort((a, b) => a.wallclock - b.wallclock);
}
