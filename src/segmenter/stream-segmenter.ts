/**
 * Segments one rendition's video and audio with a single clock: video leads (its keyframes
 * decide every cut) and audio follows at the same instants, so segment N spans the same media
 * time in both tracks. Without video, audio leads by itself.
 */
import type { Frame, Track } from '../core/media.js';
import type { StreamSink } from '../core/stream.js';
import { TrackSegmenter, type TrackSegmenterOptions } from './track-segmenter.js';
import type { ChunkSink } from '../core/chunks.js';

export interface StreamSegmenterOptions extends TrackSegmenterOptions {
  /** Whether the publisher announced video (onMetaData); audio waits briefly for it when true. */
  readonly expectVideo?: () => boolean;
}

/** Audio waits at most this long for a video track to appear before it leads by itself. */
const AUDIO_WAIT_FOR_VIDEO_SECONDS = 1;

export class StreamSegmenter implements StreamSink {
  readonly video: TrackSegmenter;
  readonly audio: TrackSegmenter;
  private audioLeads = false;
  private readonly expectVideo: () => boolean;
  private readonly segmentDuration: number;

  constructor(
    sinks: { video: ChunkSink; audio: ChunkSink },
    options: StreamSegmenterOptions,
    initIds: { video?: number; audio?: number } = {},
  ) {
    this.video = new TrackSegmenter('video', sinks.video, { ...options, firstInitId: initIds.video });
    this.audio = new TrackSegmenter('audio', sinks.audio, { ...options, firstInitId: initIds.audio });
    this.expectVideo = options.expectVideo ?? (() => true);
    this.segmentDuration = options.segmentDuration;
  }

  onTrack(track: Track): void {
    if (track.kind === 'video') {
      this.video.setTrack(track);
      return;
    }
    this.audio.setTrack(track);
    // Audio announced after video began follows from the video's open segment on.
    const videoStart = this.video.openSegmentStart;
    if (!this.audioLeads && videoStart !== undefined) this.audio.joinLeader(this.video.nextSequence, videoStart, this.videoTimescale());
  }

  onFrame(frame: Frame): void {
    if (frame.kind === 'video') {
      if (this.audioLeads) {
        // Video that shows up after audio took the lead is cut by its own keyframes.
        this.video.pushLeading(frame);
        return;
      }
      const cut = this.video.pushLeading(frame);
      if (cut === 'start') this.audio.leaderStartedAt(frame.dts, this.videoTimescale());
      else if (cut === 'segment' || cut === 'part') this.audio.cutAt(frame.dts, this.videoTimescale(), cut === 'segment');
      return;
    }
    if (this.audioLeads) {
      this.audio.pushLeading(frame);
      return;
    }
    this.audio.pushFollowing(frame);
    const backlog = this.audio.backlogSeconds();
    const noVideo = this.video.currentTrack === undefined && (!this.expectVideo() || backlog >= AUDIO_WAIT_FOR_VIDEO_SECONDS);
    const videoStalled = backlog > 2 * this.segmentDuration + 1;
    if (!this.video.started && (noVideo || videoStalled)) {
      this.audioLeads = true;
      this.audio.leadFromBacklog();
    }
  }

  onEnd(): void {
    this.video.end();
    this.audio.end();
  }

  private videoTimescale(): number {
    return this.video.currentTrack?.timescale ?? 90_000;
  }
}
