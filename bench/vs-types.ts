/**
 * What the vs bench's orchestrator (bench/vs.ts) and its publisher and viewer processes
 * (bench/vs-publish.ts, bench/vs-view.ts) exchange, as JSON files. Instants are epoch
 * milliseconds (`performance.timeOrigin + performance.now()`), comparable across processes on
 * one machine.
 */

export interface RtmpTarget {
  readonly host: string;
  readonly port: number;
  readonly app: string;
  readonly key: string;
}

export interface PublishConfig {
  /** The FLV replayed by every stream, looped with continuous timestamps. */
  readonly fixture: string;
  readonly targets: readonly RtmpTarget[];
  /** Where the PublishResult is written. */
  readonly out: string;
}

/** One source video frame as written: [dts ms (continuous over loops), instant written, 1 if keyframe]. */
export type SentFrame = [dts: number, at: number, key: 0 | 1];

export interface PublishedStream {
  readonly key: string;
  /** When the first audio or video message was written. */
  readonly firstMediaAt: number;
  readonly frames: SentFrame[];
}

export interface PublishResult {
  readonly streams: PublishedStream[];
}

export interface ViewTarget {
  readonly key: string;
  /** The HLS media playlist (not the master): what a player reloads. */
  readonly hls: string;
  /** The DASH MPD, when the server makes one and the run polls it. */
  readonly mpd?: string;
  /** Run an LL-HLS blocking-reload client too (the gateway). */
  readonly llHls: boolean;
}

export interface ViewConfig {
  readonly streams: readonly ViewTarget[];
  readonly out: string;
}

/** A media segment: absolute index (media sequence + position), EXTINF seconds, first seen listed. */
export interface ListedSegment {
  readonly index: number;
  readonly duration: number;
  /** Null when it was already listed in the client's first playlist (its listing instant is unknown). */
  readonly listedAt: number | null;
}

export interface ListedPart {
  readonly msn: number;
  readonly part: number;
  readonly duration: number;
  readonly listedAt: number | null;
}

export interface ViewedStream {
  readonly key: string;
  /** Seen by the 100 ms poller (it starts before the publisher, so every listing is timed). */
  readonly hlsSegments: ListedSegment[];
  /** Seen by the blocking-reload client (LL-HLS only). */
  readonly llSegments: ListedSegment[];
  readonly llParts: ListedPart[];
  /** First playlist listing a segment received and that segment fetched (200, > 0 bytes). */
  readonly firstPlayableAt: number | null;
  /** Media segments (HLS and DASH, not init or parts) fetched with 200. */
  readonly segmentsFetched: number;
  readonly bytes: number;
  readonly httpErrors: number;
  /** The first few errors, "STATUS URL", to say what went wrong. */
  readonly errorSamples: string[];
}

export interface ViewResult {
  readonly streams: ViewedStream[];
}
