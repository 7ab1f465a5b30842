/**
 * FLV tags (RTMP messages) into a publish, one way for every ingest that carries FLV: the RTMP
 * session, pull sources and the slate. Media goes through the RTMP ingest (flv/ingest.ts); the
 * publisher's `onMetaData` (plain or after `@setDataFrame`) becomes the stream's metadata.
 */
import { decodeAmf0, isAmf0Object, type Amf0Object, type Amf0Value } from './amf0.js';
import type { FlvIngest } from './ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO } from './reader.js';
import type { Publisher } from '../core/publish.js';
import type { AudioTrack } from '../core/media.js';
import { MAX_AUDIO_RENDITIONS } from '../core/audio-renditions.js';
import { GatewayError } from '../core/errors.js';
import { fromAmfCuePoint } from '../metadata/timed-event.js';

/** The object of an `onMetaData` data message (`@setDataFrame` first or not), else undefined. */
export function metadataOf(values: readonly Amf0Value[]): Amf0Object | undefined {
  const i = values[0] === '@setDataFrame' ? 1 : 0;
  const meta = values[i + 1];
  return values[i] === 'onMetaData' && meta !== undefined && isAmf0Object(meta) ? meta : undefined;
}

/** One audio or video message into the publish, stamped with its arrival time. */
export function publishMedia(publisher: Publisher, ingest: FlvIngest, video: boolean, timestamp: number, payload: Uint8Array): void {
  if (payload.byteLength === 0) return;
  // Sub-millisecond arrival time: availability and latency figures are measured from it.
  const now = performance.timeOrigin + performance.now();
  const events = video ? ingest.pushVideo(timestamp, payload, now) : ingest.pushAudio(timestamp, payload, now);
  for (const event of events) {
    if (event.type === 'frame') {
      if (event.trackId === undefined) publisher.frame(event.frame);
      else if (event.frame.kind === 'audio') publisher.audioRenditionFrame(multitrackAudioRendition(event.trackId), event.frame);
      else publisher.renditionFrame(event.trackId, event.frame);
    } else if (event.type === 'track') {
      if (event.trackId === undefined) publisher.track(event.track);
      else if (event.track.kind === 'audio') multitrackAudioTrack(publisher, event.trackId, event.track, now);
      else publisher.renditionTrack(event.trackId, event.track);
    } else {
      publisher.warning(event.code, event.message, now);
    }
  }
}

/**
 * The alternative audio rendition an Enhanced RTMP v2 audio track feeds (track 0, the spec's
 * default track, is the stream's audio). E-RTMP names no language, so the rule of
 * core/audio-renditions.ts for a track without one applies: `audio-N`, N its place counting
 * from 1 — the track id + 1.
 */
export function multitrackAudioRendition(trackId: number): string {
  return `audio-${trackId + 1}`;
}

/** A further E-RTMP audio track as an alternative rendition, or a warning when the stream has no room. */
function multitrackAudioTrack(publisher: Publisher, trackId: number, track: AudioTrack, at: number): void {
  if (publisher.audioRenditionTrack(multitrackAudioRendition(trackId), track, undefined)) return;
  publisher.warning('extra-track', `audio track ${trackId} dropped: at most ${MAX_AUDIO_RENDITIONS} audio tracks per stream are carried`, at);
}

type CueMessage = 'onCuePoint' | 'onTextData' | 'onCaptionInfo' | 'onMetaData';
const CUE_MESSAGES = new Set<string>(['onCuePoint', 'onTextData', 'onCaptionInfo', 'onMetaData']);

/**
 * A data message (RTMP type 18, an FLV script tag) into the publish: `onMetaData` describes the
 * stream; `onCuePoint`, `onTextData`, `onCaptionInfo` and every `onMetaData` after the first
 * (plain or after `@setDataFrame`) are timed metadata at the message's timestamp (metadata/timed-event.ts). A malformed one is a
 * warning, never the end of the publish.
 */
export function publishData(publisher: Publisher, ingest: FlvIngest, timestamp: number, values: readonly Amf0Value[]): void {
  const meta = metadataOf(values);
  // The first onMetaData describes the stream; later ones (an encoder's mid-stream
  // `@setDataFrame`, e.g. a new song title) are also timed metadata at their timestamp.
  if (meta && !publisher.metadata(meta)) return;
  const i = values[0] === '@setDataFrame' ? 1 : 0;
  const name = values[i];
  if (typeof name !== 'string' || !CUE_MESSAGES.has(name)) return;
  try {
    const event = fromAmfCuePoint(name as CueMessage, values[i + 1], ingest.mediaSecondsAt(timestamp));
    publisher.timedEvent(event);
  } catch (e) {
    if (!(e instanceof GatewayError)) throw e;
    publisher.warning('bad-cue-point', `${name} ignored: ${e.message}`, performance.timeOrigin + performance.now());
  }
}

/** One FLV tag of any type into the publish. */
export function feedTag(publisher: Publisher, ingest: FlvIngest, type: number, timestamp: number, payload: Uint8Array): void {
  if (type === FLV_TAG_SCRIPT) {
    publishData(publisher, ingest, timestamp, decodeAmf0(payload));
  } else if (type === FLV_TAG_VIDEO || type === FLV_TAG_AUDIO) {
    publishMedia(publisher, ingest, type === FLV_TAG_VIDEO, timestamp, payload);
  }
}
