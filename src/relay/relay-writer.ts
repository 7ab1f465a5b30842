/**
 * A relay's messages onto one byte sink, in one of the encodings players and targets take: RTMP
 * chunks (RTMP play, RTMP push targets) or FLV tags (HTTP-FLV, an SRT push target's ffmpeg). Each
 * message is encoded once per encoding and shared by every sink (relay-hub.ts `encodedOnce`).
 */
import { encodeFlvTag, flvHeader } from '../flv/writer.js';
import { batchBytes, encodedOnce, TAG_VIDEO, type PlayerQueuePolicy, type RelayBatch, type RelayMessage, type RelayStart } from './relay-hub.js';

/** Where a relay's bytes go: a play session's socket, an HTTP-FLV response, a push target. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  /** Bytes written but not yet sent: the queue policy bounds it. */
  queuedBytes(): number;
  /** Batches the writes of this tick into one writev. */
  cork(): void;
}

export interface RelayEncoding {
  /** The `encodedOnce` cache slot. */
  readonly kind: string;
  encode(m: RelayMessage): Uint8Array;
  /** What a sink gets before anything else (a file header), if the encoding has one. */
  prelude?(hasAudio: boolean, hasVideo: boolean): Uint8Array;
}

/** FLV tags (Adobe FLV §E.4.1), with the previous-tag-size trailer, after the FLV header. */
export const FLV_TAGS: RelayEncoding = {
  kind: 'flv',
  encode: (m) => encodedOnce(m, 'flv', (x) => encodeFlvTag(x.type, x.timestamp, x.body)),
  prelude: (hasAudio, hasVideo) => flvHeader({ audio: hasAudio, video: hasVideo }),
};

/**
 * Writes what a joiner gets first (the encoding's prelude, metadata, sequence headers, the GOP
 * from its last keyframe) and returns how each live batch is sent: in one write while the sink keeps up, else
 * message by message through the queue policy (a lagging sink skips to the next keyframe).
 */
export function startRelayWrites(sink: ByteSink, start: RelayStart, policy: PlayerQueuePolicy, hasVideo: boolean, encoding: RelayEncoding, hasAudio = true): (batch: RelayBatch) => void {
  const { encode, kind } = encoding;
  sink.cork();
  if (encoding.prelude) sink.write(encoding.prelude(hasAudio, hasVideo));
  if (start.metadata) sink.write(encode(start.metadata));
  for (const m of start.headers) sink.write(encode(m));
  for (const m of start.gop) sink.write(encode(m));
  return (batch) => {
    if (policy.admitsAll(sink.queuedBytes())) {
      sink.write(batchBytes(batch, kind, encode));
      return;
    }
    sink.cork();
    for (const m of batch.messages) {
      if (policy.admit(m, sink.queuedBytes(), hasVideo || m.type === TAG_VIDEO)) sink.write(encode(m));
    }
  };
}
