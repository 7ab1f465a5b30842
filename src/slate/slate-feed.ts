/**
 * Plays a SlateClip in real time as FLV tags: the sequence headers at 0 ms, then the GOP's video
 * tags looped (each loop `loopMs` after the previous one) and the silence frame every
 * `silenceSamples` (AAC: 1024), in timestamp order, each when its time has come on the wall clock
 * (like an encoder with `-re`). Starts at once: nothing is encoded while the players wait.
 */
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO } from '../flv/reader.js';
import type { OnTag, TagFeed } from '../pull/flv-feed.js';
import type { SlateClip } from './slate-clip.js';

/** How often due tags are sent: well under a frame at 60 fps. */
const TICK_MS = 10;
const AAC_FRAME_SAMPLES = 1024;

export function playSlateClip(clip: SlateClip, onTag: OnTag): TagFeed {
  const start = performance.now();
  let videoIndex = 0;
  let loop = 0;
  let audioFrames = 0;
  const audioMs = clip.silence && clip.sampleRate ? ((clip.silenceSamples ?? AAC_FRAME_SAMPLES) * 1000) / clip.sampleRate : undefined;
  onTag(FLV_TAG_VIDEO, 0, clip.videoHeader);
  if (clip.audioHeader && audioMs !== undefined) onTag(FLV_TAG_AUDIO, 0, clip.audioHeader);
  const nextVideoMs = (): number => loop * clip.loopMs + clip.video[videoIndex]!.ms;
  const tick = (): void => {
    const now = performance.now() - start;
    for (;;) {
      const v = nextVideoMs();
      const a = audioMs !== undefined ? audioFrames * audioMs : Infinity;
      const at = Math.min(v, a);
      if (at > now) break;
      if (v <= a) {
        onTag(FLV_TAG_VIDEO, Math.round(v), clip.video[videoIndex]!.payload);
        if (++videoIndex === clip.video.length) {
          videoIndex = 0;
          loop++;
        }
      } else {
        onTag(FLV_TAG_AUDIO, Math.round(a), clip.silence!);
        audioFrames++;
      }
    }
  };
  tick();
  const timer = setInterval(tick, TICK_MS);
  return { close: () => clearInterval(timer) };
}
