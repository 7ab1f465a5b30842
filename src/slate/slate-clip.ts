/**
 * The slate, encoded once: one GOP (a keyframe and the frames up to the next one) of the "back
 * soon" picture at a live stream's size, frame rate and keyframe interval, and one frame of
 * silence in its audio codec and format (AAC from this encode; Opus, AC-3 and E-AC-3 from
 * slate-silence.ts), as FLV tag bodies. Played by SlateFeed in real time, looping the GOP (a still
 * picture loops seamlessly) with the silence frame repeated, so the slate is on the air the
 * moment a publisher drops, not after an encoder has started.
 *
 * Clips are kept per format (size, rate, audio, picture): streams of the same format share one.
 */
import { FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO } from '../flv/reader.js';
import { parseAudioTagBody, parseVideoTagBody } from '../flv/tag.js';
import { spawnFlvFeed } from '../pull/flv-feed.js';
import type { AudioCodec } from '../core/media.js';

export interface SlateFormat {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** The slate picture's codec: the live one for H.264 and HEVC, else H.264 (the default). */
  readonly videoCodec?: 'avc' | 'hevc';
  /** The live audio's codec (AAC when absent); no audio when sampleRate is absent. */
  readonly audioCodec?: AudioCodec;
  readonly sampleRate?: number;
  readonly channels?: number;
}

export interface SlateTag {
  /** ms from the clip's start. */
  readonly ms: number;
  readonly payload: Uint8Array;
}

export interface SlateClip {
  readonly videoHeader: Uint8Array;
  /** The GOP's video tags, the keyframe first, timestamps from 0. */
  readonly video: readonly SlateTag[];
  /** ms from one loop to the next: the GOP's frame count over the frame rate. */
  readonly loopMs: number;
  /** The audio SequenceStart (none for AC-3 / E-AC-3, whose frames describe themselves). */
  readonly audioHeader?: Uint8Array;
  /** One frame of silence, repeated every `silenceSamples`. */
  readonly silence?: Uint8Array;
  readonly sampleRate?: number;
  /** Samples one silence frame lasts: 1024 for AAC (the default), 960 for 20 ms Opus, 1536 for AC-3. */
  readonly silenceSamples?: number;
}

/** The most the clip may hold: a still picture's GOP is a few tens of kilobytes. */
const MAX_CLIP_BYTES = 8 * 1024 * 1024;

/**
 * Encodes the clip: ffmpeg (not in real time) writes a little more than one GOP of FLV; the tags
 * from the first keyframe up to the second are kept, and an AAC frame from the middle (past the
 * encoder's priming) is the silence.
 */
export function encodeSlateClip(ffmpegPath: string, encodeArgs: readonly string[], format: SlateFormat, gopFrames: number): Promise<SlateClip> {
  const fps = format.fps;
  return new Promise((resolve, reject) => {
    let videoHeader: Uint8Array | undefined;
    let audioHeader: Uint8Array | undefined;
    const video: SlateTag[] = [];
    const audio: Uint8Array[] = [];
    let bytes = 0;
    let done = false;
    let keyframes = 0;
    const finish = (reason?: string): void => {
      if (done) return;
      done = true;
      feed.close();
      if (!videoHeader || video.length === 0 || keyframes < 2) {
        reject(new Error(`the slate could not be encoded${reason ? `: ${reason}` : ''}`));
        return;
      }
      const first = video[0]!.ms;
      const frames = video.map((t) => ({ ms: t.ms - first, payload: t.payload }));
      const silence = audio[Math.floor(audio.length / 2)];
      resolve({
        videoHeader,
        video: frames,
        loopMs: (frames.length * 1000) / fps,
        ...(audioHeader && silence && format.sampleRate ? { audioHeader, silence, sampleRate: format.sampleRate, silenceSamples: 1024 } : {}),
      });
    };
    const feed = spawnFlvFeed(
      ffmpegPath,
      [...encodeArgs, '-frames:v', String(gopFrames * 2 + 1)],
      (type, timestamp, payload) => {
        if (done || type === FLV_TAG_SCRIPT) return;
        bytes += payload.byteLength;
        if (bytes > MAX_CLIP_BYTES) return finish('the clip is too large');
        if (type === FLV_TAG_VIDEO) {
          const body = parseVideoTagBody(payload);
          if (body.kind === 'sequence-header') videoHeader = payload.slice();
          else if (body.kind === 'frame') {
            if (body.key) keyframes++;
            // From the first keyframe up to (not including) the second.
            if (keyframes === 1) video.push({ ms: timestamp, payload: payload.slice() });
            if (keyframes === 2) finish();
          }
        } else if (type === FLV_TAG_AUDIO) {
          const body = parseAudioTagBody(payload);
          if (body.kind === 'sequence-header') audioHeader = payload.slice();
          else if (body.kind === 'frame' && audio.length < 256) audio.push(payload.slice());
        }
      },
      (reason) => finish(reason),
    );
  });
}
