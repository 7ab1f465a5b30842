/**
 * The one place a live stream's tracks and frames are fanned out. Ingest (RTMP publish, or a
 * transcoder rung) pushes; packagers, players and the ladder subscribe.
 */
import { EventEmitter } from 'node:events';
import type { AudioTrack, Frame, Track, VideoTrack } from './media.js';
import type { TimedEvent } from '../metadata/timed-event.js';

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
  /**
   * The language of this stream's audio, ISO 639-2 (`eng`), when the ingest knows it (an MPEG-TS
   * ISO_639_language_descriptor); set before the audio track is pushed.
   */
  language: string | undefined;
  metadata: Record<string, unknown> = {};
  ended = false;
  /**
   * Set by a stand-in (the slate, src/slate): a real publisher of the same key takes over at
   * once instead of being refused; this ends the stand-in first.
   */
  preempt: (() => void) | undefined;
  /** The stand-in's time is up: its end finishes the stream's playlists (no reconnect grace). */
  endsOutput = false;
  readonly stats: StreamStats = { videoFrames: 0, audioFrames: 0, bytesIn: 0 };
  private readonly sinks = new Set<StreamSink>();
  /**
   * Further video tracks of the same publish (Enhanced RTMP multitrack: the encoder's own ladder),
   * by rendition name; listed beside the source without transcoding.
   */
  readonly videoRenditions = new Map<string, LiveStream>();
  private readonly renditionListeners = new Set<(name: string, rendition: LiveStream) => void>();
  /**
   * Further audio tracks of the same publish (an MPEG-TS program with several languages), by
   * rendition id (core/audio-renditions.ts): alternative audio renditions, each a stream whose
   * only track is that audio. The relay, the ladder and MPEG-TS HLS never see them.
   */
  readonly audioRenditions = new Map<string, LiveStream>();
  private readonly audioRenditionListeners = new Set<(id: string, rendition: LiveStream) => void>();
  private readonly eventListeners = new Set<(event: TimedEvent) => void>();
  /** Set on a rendition stream: its frames share the parent's reconnect rebase. */
  private parent: LiveStream | undefined;

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

  /**
   * A reconnecting publisher's clock usually restarts near zero: its frames are shifted so the
   * first one lands where the previous publish ended (`seconds` of media time), and timestamps
   * never go backwards for the packagers, players and transcoders downstream.
   */
  continueAfter(seconds: number): void {
    this.continueFrom = seconds;
  }

  private continueFrom: number | undefined;
  private rebaseSeconds = 0;
  private rebaseDecided = false;

  /** The timescale of `frame`'s track in this stream. */
  private timescaleOf(frame: Frame): number {
    return frame.kind === 'video' ? (this.video?.timescale ?? 90_000) : (this.audio?.timescale ?? 48_000);
  }

  /**
   * `frame` shifted by the reconnect rebase; `timescale` is its own track's (a rendition's audio
   * may have another sample rate than this stream's).
   */
  private rebased(frame: Frame, timescale: number): Frame {
    if (!this.rebaseDecided) {
      this.rebaseDecided = true;
      const first = frame.dts / timescale;
      if (this.continueFrom !== undefined && first < this.continueFrom) this.rebaseSeconds = this.continueFrom - first;
    }
    if (this.rebaseSeconds === 0) return frame;
    const shift = Math.round(this.rebaseSeconds * timescale);
    return { ...frame, dts: frame.dts + shift, pts: frame.pts + shift };
  }

  /** A further video track of this publish, made on first use (see `videoRenditions`). */
  videoRendition(name: string): LiveStream {
    let rendition = this.videoRenditions.get(name);
    if (rendition) return rendition;
    rendition = new LiveStream(this.app, this.key);
    rendition.parent = this;
    this.videoRenditions.set(name, rendition);
    for (const listener of this.renditionListeners) listener(name, rendition);
    return rendition;
  }

  /** Told of every further video track, those there already first. Returns the unsubscribe function. */
  onVideoRendition(listener: (name: string, rendition: LiveStream) => void): () => void {
    this.renditionListeners.add(listener);
    for (const [name, rendition] of this.videoRenditions) listener(name, rendition);
    return () => {
      this.renditionListeners.delete(listener);
    };
  }

  /**
   * Timed metadata of this publish (a cue point, captions text, an SCTE-35 cue), its time moved by
   * the same reconnect rebase as the frames, to every listener (the packagers).
   */
  pushEvent(event: TimedEvent): void {
    if (this.ended) return;
    const shifted = this.rebaseSeconds === 0 ? event : { ...event, time: event.time + this.rebaseSeconds };
    for (const listener of this.eventListeners) listener(shifted);
  }

  /** Told of every timed event from now on. Returns the unsubscribe function. */
  onTimedEvent(listener: (event: TimedEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  /** A further audio track of this publish, made on first use (see `audioRenditions`). */
  audioRendition(id: string): LiveStream {
    let rendition = this.audioRenditions.get(id);
    if (rendition) return rendition;
    rendition = new LiveStream(this.app, this.key);
    rendition.parent = this;
    this.audioRenditions.set(id, rendition);
    for (const listener of this.audioRenditionListeners) listener(id, rendition);
    return rendition;
  }

  /** Told of every further audio track, those there already first. Returns the unsubscribe function. */
  onAudioRendition(listener: (id: string, rendition: LiveStream) => void): () => void {
    this.audioRenditionListeners.add(listener);
    for (const [id, rendition] of this.audioRenditions) listener(id, rendition);
    return () => {
      this.audioRenditionListeners.delete(listener);
    };
  }

  pushFrame(input: Frame): void {
    if (this.ended) return;
    const frame = (this.parent ?? this).rebased(input, this.timescaleOf(input));
    if (frame.kind === 'video') this.stats.videoFrames++;
    else this.stats.audioFrames++;
    this.stats.bytesIn += frame.data.byteLength;
    for (const sink of this.sinks) sink.onFrame(frame);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const rendition of this.videoRenditions.values()) rendition.end();
    for (const rendition of this.audioRenditions.values()) rendition.end();
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

  constructor() {
    super();
    // Every subsystem listens (outputs, relays, push, pull, ladders, metrics, checkers, the log:
    // eight) plus short-lived waiters (an on-demand pull's first viewer, tests): more than
    // Node's default warning threshold of 10 without any leak.
    this.setMaxListeners(32);
  }

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
