/**
 * Everything the packagers serve for one stream: a segmenter per rendition feeding one
 * TrackOutput per track, a shared audio track, and one media clock.
 */
import type { Config } from '../config.js';
import type { LiveStream } from '../core/stream.js';
import type { SegmentCache } from '../cache/segment-cache.js';
import { StreamSegmenter } from '../segmenter/stream-segmenter.js';
import { TrackSegmenter } from '../segmenter/track-segmenter.js';
import type { StreamSink } from '../core/stream.js';
import { MediaClock } from './media-clock.js';
import { TrackOutput } from './track-output.js';

export const SOURCE_RENDITION = 'src';
export const AUDIO_RENDITION = 'audio';

export type PackagerConfig = Pick<Config, 'segmentDuration' | 'partDuration' | 'playlistWindow'>;

export class StreamOutput {
  readonly app: string;
  readonly key: string;
  readonly path: string;
  readonly clock = new MediaClock();
  readonly config: PackagerConfig;
  /** Video renditions by id, the source first. */
  readonly videos = new Map<string, TrackOutput>();
  readonly audio: TrackOutput;
  readonly startedAt: number;
  readonly stream: LiveStream;
  /** Short id of this publish, carried in media file names (see TrackOutput). */
  readonly session: string;
  endedAt: number | undefined;
  private readonly cache: SegmentCache;
  private readonly unsubscribe: () => void;
  /** Start time (90 kHz) -> sequence of the source's recent segments, so rungs join with the same numbers. */
  private readonly sourceSegmentStarts = new Map<number, number>();
  private readonly renditionUnsubscribes: (() => void)[] = [];

  constructor(stream: LiveStream, config: PackagerConfig, cache: SegmentCache) {
    this.stream = stream;
    this.app = stream.app;
    this.key = stream.key;
    this.path = stream.path;
    this.config = config;
    this.cache = cache;
    this.startedAt = stream.startedAt;
    this.session = stream.startedAt.toString(36);
    const source = this.createTrackOutput(SOURCE_RENDITION, 'video');
    this.audio = this.createTrackOutput(AUDIO_RENDITION, 'audio');
    this.videos.set(SOURCE_RENDITION, source);
    const segmenter = new StreamSegmenter(
      { video: source, audio: this.audio },
      {
        segmentDuration: config.segmentDuration,
        partDuration: config.partDuration,
        expectVideo: () => stream.metadata['videocodecid'] !== undefined || stream.video !== undefined,
      },
    );
    this.unsubscribe = stream.subscribe({
      onTrack: (track) => segmenter.onTrack(track),
      onFrame: (frame) => {
        segmenter.onFrame(frame);
        // Remember where source segments start (and their numbers) for rungs that join later.
        if (frame.kind === 'video' && frame.key && segmenter.video.openSegmentStart === frame.dts) {
          this.sourceSegmentStarts.set(frame.dts, segmenter.video.nextSequence);
          if (this.sourceSegmentStarts.size > 64) this.sourceSegmentStarts.delete(this.sourceSegmentStarts.keys().next().value!);
        }
      },
      onEnd: () => {
        segmenter.onEnd();
        this.finish();
      },
    });
  }

  get ended(): boolean {
    return this.endedAt !== undefined;
  }

  createTrackOutput(id: string, kind: 'video' | 'audio'): TrackOutput {
    return new TrackOutput(id, kind, {
      window: this.config.playlistWindow,
      cache: this.cache,
      cacheKey: `${this.path}/${id}`,
      clock: this.clock,
      session: this.session,
    });
  }

  /**
   * Adds a video rendition fed by `source` (a transcoded rung). It is cut by the same rule as the
   * source; its first segment starts at its first keyframe that starts a source segment, and
   * takes that segment's sequence number, so every rendition has the same numbers and spans.
   */
  addVideoRendition(id: string, source: { subscribe(sink: StreamSink): () => void }): TrackOutput {
    const output = this.createTrackOutput(id, 'video');
    this.videos.set(id, output);
    let segmenter: TrackSegmenter | undefined;
    let pendingTrack: Parameters<TrackSegmenter['setTrack']>[0] | undefined;
    const unsubscribe = source.subscribe({
      onTrack: (track) => {
        if (track.kind !== 'video') return;
        if (segmenter) segmenter.setTrack(track);
        else pendingTrack = track;
      },
      onFrame: (frame) => {
        if (frame.kind !== 'video') return;
        if (!segmenter) {
          const sequence = frame.key ? this.sourceSegmentStarts.get(frame.dts) : undefined;
          if (sequence === undefined || !pendingTrack) return;
          segmenter = new TrackSegmenter('video', output, {
            segmentDuration: this.config.segmentDuration,
            partDuration: this.config.partDuration,
            firstSequence: sequence,
          });
          segmenter.setTrack(pendingTrack);
        }
        segmenter.pushLeading(frame);
      },
      onEnd: () => {
        segmenter?.end();
        output.end();
      },
    });
    this.renditionUnsubscribes.push(unsubscribe);
    return output;
  }

  /** Every track that carries media, video renditions first. */
  tracks(): TrackOutput[] {
    const out = [...this.videos.values()].filter((t) => t.track !== undefined);
    if (this.audio.track) out.push(this.audio);
    return out;
  }

  rendition(id: string): TrackOutput | undefined {
    if (id === AUDIO_RENDITION) return this.audio;
    return this.videos.get(id);
  }

  /** Ready to be listed: every track with media has completed a segment. */
  get ready(): boolean {
    const tracks = this.tracks();
    return tracks.length > 0 && tracks.every((t) => t.segments.length > 0);
  }

  private finish(): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = Date.now();
    this.unsubscribe();
    for (const u of this.renditionUnsubscribes) u();
    for (const t of this.videos.values()) t.end();
    this.audio.end();
  }

  /** Ends the stream's output now (publisher gone, or gateway stopping). */
  close(): void {
    this.stream.end();
    this.finish();
  }
}
