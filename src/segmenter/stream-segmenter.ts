/**
 * Segments one rendition's video and audio with a single clock: video leads (its keyframes
 * decide every cut) and audio follows at the same instants, so segment N spans the same media
 * time in both tracks. Without video, audio leads by itself.
 *
 * Further tracks (alternative audio renditions, `addFollower`) follow the same leader at the
 * same instants with the same numbers, each into its own sink.
 */
import type { Frame, Track } from '../core/media.js';
import type { StreamSink } from '../core/stream.js';
import { MAX_END_ADJUST_SECONDS, TrackSegmenter, type TrackSegmenterOptions } from './track-segmenter.js';
import type { ChunkSink } from '../core/chunks.js';

export interface StreamSegmenterOptions extends TrackSegmenterOptions {
  /** Whether the publisher announced video (onMetaData); audio waits briefly for it when true. */
  readonly expectVideo?: () => boolean;
}

/** Audio waits at most this long for a video track to appear before it leads by itself. */
const AUDIO_WAIT_FOR_VIDEO_SECONDS = 1;

/** A further track cut at the segmenter's instants: fed like a stream, removed at its end. */
export type FollowerTrack = StreamSink;

type Cut = 'start' | 'segment' | 'part' | null;

export class StreamSegmenter implements StreamSink {
  readonly video: TrackSegmenter;
  readonly audio: TrackSegmenter;
  private audioLeads = false;
  private readonly expectVideo: () => boolean;
  private readonly segmentDuration: number;
  private readonly options: StreamSegmenterOptions;
  /** Further tracks following the leader (addFollower). */
  private readonly followers = new Set<TrackSegmenter>();

  constructor(
    sinks: { video: ChunkSink; audio: ChunkSink },
    options: StreamSegmenterOptions,
    initIds: { video?: number; audio?: number } = {},
  ) {
    this.video = new TrackSegmenter('video', sinks.video, { ...options, firstInitId: initIds.video });
    this.audio = new TrackSegmenter('audio', sinks.audio, { ...options, firstInitId: initIds.audio });
    this.expectVideo = options.expectVideo ?? (() => true);
    this.segmentDuration = options.segmentDuration;
    this.options = options;
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
      this.cutFollower(this.audio, cut, frame.dts, this.videoTimescale());
      for (const f of this.followers) this.cutFollower(f, cut, frame.dts, this.videoTimescale());
      return;
    }
    if (this.audioLeads) {
      const cut = this.audio.pushLeading(frame);
      for (const f of this.followers) this.cutFollower(f, cut, frame.dts, this.audioTimescale());
      return;
    }
    this.audio.pushFollowing(frame);
    const backlog = this.audio.backlogSeconds();
    const noVideo = this.video.currentTrack === undefined && (!this.expectVideo() || backlog >= AUDIO_WAIT_FOR_VIDEO_SECONDS);
    const videoStalled = backlog > 2 * this.segmentDuration + 1;
    if (!this.video.started && (noVideo || videoStalled)) {
      this.audioLeads = true;
      this.audio.leadFromBacklog();
      // The followers join the audio's open segment (what it cut from its backlog before is theirs to miss).
      for (const f of this.followers) this.joinLeader(f);
    }
  }

  /**
   * Every track closes at one instant. A publisher that drops leaves its tracks ending up to a
   * few hundred ms apart (interleaving), and a reconnect continues the timeline from the latest
   * end, so the other tracks would keep a hole at the join: hls.js does not play across a hole
   * longer than its maxBufferHole (0.1 s) while it loads the parts around it, and stalled there.
   * The common end is the latest end, unless a follower's frames all went out already (its last
   * part closed at the leader's last cut): that end cannot move, so the others meet it. A track
   * meets it by its last frame lasting longer (ISO/IEC 14496-12 §8.8.8: the trun's duration is
   * the sample's; a decoder shows the frame longer, or plays the tail as a gap of silence) or by
   * leaving out frames past it (at most the frames after the leader's last part cut).
   */
  onEnd(): void {
    const tracks = [this.video, this.audio, ...this.followers];
    const ends = tracks.map((t) => t.endSeconds());
    let latest = -Infinity;
    for (const e of ends) if (e && e.seconds > latest) latest = e.seconds;
    let fixed: number | undefined;
    for (const e of ends) {
      if (e && !e.adjustable && latest - e.seconds <= MAX_END_ADJUST_SECONDS) fixed = Math.max(fixed ?? -Infinity, e.seconds);
    }
    const at = fixed ?? (latest === -Infinity ? undefined : latest);
    for (const t of tracks) t.end(at);
  }

  /**
   * A further audio track (an alternative audio rendition) cut at this segmenter's instants into
   * `sink`, numbered like the rendition's own tracks: segment N spans the same media time in it.
   * `firstInitId` continues its init numbering (a resumed output). It joins the leader's open
   * segment when its track comes after the leader began, like the rendition's own audio.
   */
  addFollower(sink: ChunkSink, firstInitId: number): FollowerTrack {
    const follower = new TrackSegmenter('audio', sink, {
      ...this.options,
      firstSequence: this.leader().nextSequence,
      firstInitId,
    });
    this.followers.add(follower);
    return {
      onTrack: (track) => {
        if (track.kind !== 'audio') return;
        follower.setTrack(track);
        this.joinLeader(follower);
      },
      onFrame: (frame) => {
        if (frame.kind === 'audio' && this.followers.has(follower)) follower.pushFollowing(frame);
      },
      onEnd: () => {
        if (!this.followers.delete(follower)) return;
        follower.end();
      },
    };
  }

  /** The track that decides the cuts: video, or audio once it leads. */
  private leader(): TrackSegmenter {
    return this.audioLeads ? this.audio : this.video;
  }

  private joinLeader(follower: TrackSegmenter): void {
    const leader = this.leader();
    const start = leader.openSegmentStart;
    if (start === undefined) return;
    follower.joinLeader(leader.nextSequence, start, this.audioLeads ? this.audioTimescale() : this.videoTimescale());
  }

  private cutFollower(follower: TrackSegmenter, cut: Cut, dts: number, timescale: number): void {
    if (cut === 'start') follower.leaderStartedAt(dts, timescale);
    else if (cut === 'segment' || cut === 'part') follower.cutAt(dts, timescale, cut === 'segment');
  }

  private videoTimescale(): number {
    return this.video.currentTrack?.timescale ?? 90_000;
  }

  private audioTimescale(): number {
    return this.audio.currentTrack?.timescale ?? 48_000;
  }
}
