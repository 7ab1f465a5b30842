/** Test helper: a fixture FLV read into Track/Frame events with the project's own FLV layer. */
import { readFileSync } from 'node:fs';
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';
import { FlvIngest } from '../../src/flv/ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, FlvReader } from '../../src/flv/reader.js';

export interface FlvSource {
  video: VideoTrack | undefined;
  audio: AudioTrack | undefined;
  /** Tracks and frames in file order. */
  events: Array<{ type: 'track'; track: VideoTrack | AudioTrack } | { type: 'frame'; frame: Frame }>;
  videoFrames: Frame[];
}

export function readFlvSource(file: string): FlvSource {
  const reader = new FlvReader();
  const ingest = new FlvIngest();
  const out: FlvSource = { video: undefined, audio: undefined, events: [], videoFrames: [] };
  const now = Date.now();
  for (const tag of reader.push(readFileSync(file))) {
    const evs = tag.type === FLV_TAG_VIDEO ? ingest.pushVideo(tag.timestamp, tag.payload, now) : tag.type === FLV_TAG_AUDIO ? ingest.pushAudio(tag.timestamp, tag.payload, now) : [];
    for (const ev of evs) {
      if (ev.type === 'track') {
        if (ev.track.kind === 'video') out.video = ev.track;
        else out.audio = ev.track;
        out.events.push({ type: 'track', track: ev.track });
      } else if (ev.type === 'frame') {
        out.events.push({ type: 'frame', frame: ev.frame });
        if (ev.frame.kind === 'video') out.videoFrames.push(ev.frame);
      }
    }
  }
  return out;
}

/** Resolves when `cond()` holds, re-checked whenever `emitter` fires `event` (no polling, no sleeps). */
export function until(emitter: { on(e: string, l: () => void): unknown; off(e: string, l: () => void): unknown }, events: string[], cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (cond()) return resolve();
    const check = (): void => {
      if (!cond()) return;
      for (const e of events) emitter.off(e, check);
      resolve();
    };
    for (const e of events) emitter.on(e, check);
  });
}
