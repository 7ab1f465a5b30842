/**
 * RenditionMix: a rendition's video with the stream's audio, interleaved on one monotonic
 * timeline (audio held until the lagging video reaches it, never more than 3 s), ending with
 * the stream.
 */
import { describe, expect, it } from 'vitest';
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';
import { LiveStream } from '../../src/core/stream.js';
import { RenditionMix } from '../../src/push/rendition-mix.js';

const VIDEO: VideoTrack = { kind: 'video', codec: 'avc', timescale: 90_000, width: 854, height: 480, codecString: 'avc1.4d401e', config: Uint8Array.of(1, 0x4d, 0, 0x1e, 0xff, 0xe0, 0), parameterSets: [], nalLengthSize: 4 };
const AUDIO: AudioTrack = { kind: 'audio', codec: 'aac', timescale: 48_000, sampleRate: 48_000, channels: 2, objectType: 2, codecString: 'mp4a.40.2', config: Uint8Array.of(0x11, 0x90), samplesPerFrame: 1024 };

const video = (seconds: number, key = false): Frame => ({ kind: 'video', dts: Math.round(seconds * 90_000), pts: Math.round(seconds * 90_000), key, data: Uint8Array.of(0, 0, 0, 1, key ? 0x65 : 0x41), wallclock: 0 });
const audio = (seconds: number): Frame => ({ kind: 'audio', dts: Math.round(seconds * 48_000), pts: Math.round(seconds * 48_000), key: true, data: Uint8Array.of(1, 2), wallclock: 0 });

function collect(stream: LiveStream): { frames: string[]; tracks: string[]; ended: () => boolean } {
  const frames: string[] = [];
  const tracks: string[] = [];
  let ended = false;
  stream.subscribe({ onTrack: (t) => tracks.push(t.kind), onFrame: (f) => frames.push(`${f.kind[0]}${(f.dts / (f.kind === 'video' ? 90_000 : 48_000)).toFixed(1)}`), onEnd: () => (ended = true) });
  return { frames, tracks, ended: () => ended };
}

describe('RenditionMix', () => {
  it('takes the rendition video and the main audio; audio waits for the lagging video', () => {
    const main = new LiveStream('live', 'cam');
    main.pushTrack({ ...VIDEO, width: 1280, height: 720 });
    main.pushTrack(AUDIO);
    const rung = new LiveStream('live', 'cam/480p');
    const mix = new RenditionMix(main, '480p', rung);
    const out = collect(mix.stream);
    expect(mix.stream.path).toBe('live/cam@480p');
    rung.pushTrack(VIDEO);
    expect(out.tracks).toEqual(['audio', 'video']);
    expect(mix.stream.video?.width).toBe(854);
    // The source runs ahead: its audio (and its own video, which is not taken) until 1.0 s.
    for (const t of [0, 0.5, 1.0]) {
      main.pushFrame(audio(t));
      main.pushFrame(video(t, t === 0));
    }
    expect(out.frames).toEqual([]);
    rung.pushFrame(video(0, true));
    rung.pushFrame(video(0.5));
    expect(out.frames).toEqual(['v0.0', 'a0.0', 'v0.5', 'a0.5']);
    rung.pushFrame(video(1.0));
    expect(out.frames.slice(4)).toEqual(['v1.0', 'a1.0']);
  });

  it('a stalled rendition holds the audio no more than 3 s; the mix ends with the stream', () => {
    const main = new LiveStream('live', 'cam');
    main.pushTrack(AUDIO);
    const rung = new LiveStream('live', 'cam/480p');
    const mix = new RenditionMix(main, '480p', rung);
    const out = collect(mix.stream);
    for (let t = 0; t <= 3.5; t += 0.5) main.pushFrame(audio(t));
    expect(out.frames).toEqual(['a0.0']);
    main.end();
    expect(out.ended()).toBe(true);
    expect(mix.stream.ended).toBe(true);
  });
});
