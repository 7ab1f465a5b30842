/**
 * What a push target sends when it asks for a rendition other than the source: that rendition's
 * video (a ladder rung, or a further track of an Enhanced RTMP multitrack publish) with the
 * stream's audio, as one stream with its own relay (src/relay), so the target is written exactly
 * as a source target is: from a keyframe, chunked once, with a bounded queue.
 *
 * A rung lags the source by its transcoding delay, so the audio is held until the video has
 * reached the same instant: the target gets one interleaved, monotonic timeline, as an encoder
 * would send it. Audio is let go without waiting once it holds more than AUDIO_HOLD_SECONDS
 * (a rung that stalls must not make the audio pile up).
 */
import type { Frame, Track } from '../core/media.js';
import { LiveStream, type StreamSink } from '../core/stream.js';
import { metadataBody } from '../relay/metadata.js';
import { RelayHub } from '../relay/relay-hub.js';

const AUDIO_HOLD_SECONDS = 3;

export interface RenditionSource {
  subscribe(sink: StreamSink): () => void;
}

export class RenditionMix {
  readonly stream: LiveStream;
  readonly hub: RelayHub;
  private readonly heldAudio: Frame[] = [];
  private videoSeconds = -Infinity;
  private readonly unsubscribes: (() => void)[] = [];

  constructor(main: LiveStream, readonly name: string, video: RenditionSource, batchMs = 0) {
    const mixed = new LiveStream(main.app, `${main.key}@${name}`);
    mixed.metadata = { ...main.metadata };
    this.stream = mixed;
    this.hub = new RelayHub(mixed, metadataBody, batchMs);
    this.unsubscribes.push(
      video.subscribe({
        onTrack: (track: Track) => {
          if (track.kind === 'video') mixed.pushTrack(track);
        },
        onFrame: (frame: Frame) => {
          if (frame.kind !== 'video') return;
          mixed.pushFrame(frame);
          this.videoSeconds = frame.dts / (mixed.video?.timescale ?? 90_000);
          this.releaseAudio();
        },
        onEnd: () => {},
      }),
      main.subscribe({
        onTrack: (track: Track) => {
          if (track.kind === 'audio') mixed.pushTrack(track);
        },
        onFrame: (frame: Frame) => {
          if (frame.kind !== 'audio') return;
          this.heldAudio.push(frame);
          this.releaseAudio();
        },
        onEnd: () => this.end(),
      }),
    );
  }

  private releaseAudio(): void {
    const timescale = this.stream.audio?.timescale ?? 48_000;
    const held = this.heldAudio;
    let n = 0;
    const newest = held.length > 0 ? held[held.length - 1]!.dts / timescale : 0;
    while (n < held.length) {
      const at = held[n]!.dts / timescale;
      if (at > this.videoSeconds && newest - at <= AUDIO_HOLD_SECONDS) break;
      this.stream.pushFrame(held[n]!);
      n++;
    }
    if (n > 0) held.splice(0, n);
  }

  end(): void {
    for (const u of this.unsubscribes.splice(0)) u();
    this.heldAudio.length = 0;
    this.stream.end();
  }
}
