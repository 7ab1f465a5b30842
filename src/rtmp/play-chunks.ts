import { ChunkWriter } from './chunk.js';
import { encodedOnce, TAG_AUDIO, TAG_VIDEO, type PlayerQueuePolicy, type RelayBatch, type RelayMessage, type RelayStart } from '../relay/relay-hub.js';
import { startRelayWrites, type ByteSink, type RelayEncoding } from '../relay/relay-writer.js';

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

/** RTMP chunks of relay messages, for RTMP play sessions and RTMP push targets. */
export const RTMP_CHUNKS: RelayEncoding = { kind: 'rtmp', encode: rtmpChunks };

/** A relay's RTMP chunks onto a play session's socket (relay-writer.ts). */
export function startRelayChunks(sink: ByteSink, start: RelayStart, policy: PlayerQueuePolicy, hasVideo: boolean): (batch: RelayBatch) => void {
  return startRelayWrites(sink, start, policy, hasVideo, RTMP_CHUNKS);
}
