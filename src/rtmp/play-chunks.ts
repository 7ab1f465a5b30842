import { ChunkWriter } from './chunk.js';
import { batchBytes, encodedOnce, TAG_AUDIO, TAG_VIDEO, type PlayerQueuePolicy, type RelayBatch, type RelayMessage, type RelayStart } from '../relay/relay-hub.js';

/** Chunk size every play session announces, so one encoding serves all players. */
export const PLAY_CHUNK_SIZE = 4096;
/** Message stream id of every play (createStream always answers 1). */
export const PLAY_STREAM_ID = 1;
const CSID_AUDIO = 4;
const CSID_VIDEO = 6;
const CSID_DATA = 8;

/**
 * RTMP chunks of a relay message with a type-0 header (absolute timestamp): no per-connection
 * header compression state, so the bytes are the same for every player and encoded once.
 */
export function rtmpChunks(m: RelayMessage): Uint8Array {
  return encodedOnce(m, 'rtmp', (x) => {
    const writer = new ChunkWriter();
    writer.chunkSize = PLAY_CHUNK_SIZE;
    const csid = x.type === TAG_AUDIO ? CSID_AUDIO : x.type === TAG_VIDEO ? CSID_VIDEO : CSID_DATA;
    return writer.encode({ csid, type: x.type, streamId: PLAY_STREAM_ID, timestamp: x.timestamp, payload: x.body });
  });
}

/** Where a relay's RTMP chunks go: a play session's socket, or a push target's connection. */
export interface ChunkSink {
  write(bytes: Uint8Array): void;
  /** Bytes written but not yet sent: the queue policy bounds it. */
  queuedBytes(): number;
  /** Batches the writes of this tick into one writev. */
  cork(): void;
}

/**
 * Writes what a joiner gets first (metadata, sequence headers, the GOP from its last keyframe)
 * and returns how each live batch is sent: in one write while the sink keeps up, else message by
 * message through the queue policy (a lagging sink skips to the next keyframe).
 */
export function startRelayChunks(sink: ChunkSink, start: RelayStart, policy: PlayerQueuePolicy, hasVideo: boolean): (batch: RelayBatch) => void {
  sink.cork();
  if (start.metadata) sink.write(rtmpChunks(start.metadata));
  for (const m of start.headers) sink.write(rtmpChunks(m));
  for (const m of start.gop) sink.write(rtmpChunks(m));
  return (batch) => {
    if (policy.admitsAll(sink.queuedBytes())) {
      sink.write(batchBytes(batch, 'rtmp', rtmpChunks));
      return;
    }
    sink.cork();
    for (const m of batch.messages) {
      if (policy.admit(m, sink.queuedBytes(), hasVideo || m.type === TAG_VIDEO)) sink.write(rtmpChunks(m));
    }
  };
}
