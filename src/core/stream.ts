/**
 * The one place a live stream's tracks and frames are fanned out. Ingest (RTMP publish, or a
 * transcoder rung) pushes; packagers, players and the ladder subscribe.
 */
import { EventEmitter } from 'node:events';
import type { AudioTrack, Frame, Track, VideoTrack } from './media.js';

export interface StreamSink {
  onTrack(track: Track): void;
  onFrame(frame: Frame): void;
  onEnd(): void;
}

export interface StreamStats {
  videoFrames: number;
  audioFrames: number;
  bytesIn: number;
}

export class LiveStream {
  readonly app: string;
  readonly key: string;
  /** `app/key`: how the stream is addressed in URLs and logs. */
  readonly path: string;
  readonly startedAt = Date.now();
  video: VideoTrack | undefined;
  audio: AudioTrack | undefined;
  metadata: Record<string, unknown> = {};
  ended = false;
  readonly stats: StreamStats = { videoFrames: 0, audioFrames: 0, bytesIn: 0 };
  private readonly sinks = new Set<StreamSink>();

  constructor(app: string, key: string) {
    this.app = app;
    this.key = key;
    this.path = `${app}/${key}`;
  }

  /** Adds a sink; it is first told the tracks already known. Returns the unsubscribe function. */
  subscribe(sink: StreamSink): () => void {
    this.sinks.add(sink);
    if (this.video) sink.onTrack(this.video);
    if (this.audio) sink.onTrack(this.audio);
    if (this.ended) sink.onEnd();
    return () => {
      this.sinks.delete(sink);
    };
  }

  get subscriberCount(): number {
    return this.sinks.size;
  }

  pushTrack(track: Track): void {
    if (this.ended) return;
    if (track.kind === 'video') this.video = track;
    else this.audio = track;
    for (const sink of this.sinks) sink.onTrack(track);
  }

  pushFrame(frame: Frame): void {
    if (this.ended) return;
    if (frame.kind === 'video') this.stats.videoFrames++;
    else this.stats.audioFrames++;
    this.stats.bytesIn += frame.data.byteLength;
    for (const sink of this.sinks) sink.onFrame(frame);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const sink of this.sinks) sink.onEnd();
  }
}

export interface StreamRegistryEvents {
  publish: [LiveStream];
  unpublish: [LiveStream];
}

/** Live streams by `app/key`. A key that is live cannot be published again until it ends. */
export class StreamRegistry extends EventEmitter<StreamRegistryEvents> {
  private readonly live = new Map<string, LiveStream>();

  /** Returns the new stream, or undefined when the key is already live. */
  publish(app: string, key: string): LiveStream | undefined {
    const path = `${app}/${key}`;
    if (this.live.has(path)) return undefined;
    const stream = new LiveStream(app, key);
    this.live.set(path, stream);
    this.emit('publish', stream);
    return stream;
  }

  unpublish(stream: LiveStream): void {
    if (this.live.get(stream.path) !== stream) return;
    this.live.delete(stream.path);
    stream.end();
    this.emit('unpublish', stream);
  }

  get(app: string, key: string): LiveStream | undefined {
    return this.live.get(`${app}/${key}`);
  }

  list(): LiveStream[] {
    return [...this.live.values()];
  }
}
