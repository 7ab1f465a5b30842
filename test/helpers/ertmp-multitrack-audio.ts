/**
 * An Enhanced RTMP v2 publisher of multitrack audio: H.264 (`avc1` CodedFramesX, from the avc
 * fixture of ertmp-publisher.ts) and its AAC sent as two audio tracks in every audio message,
 * AudioPacketType.Multitrack with AvMultitrackType ManyTracks (veovera enhanced-rtmp v2,
 * "ExAudioTagBody"): `[9<<4 | 5] [ManyTracks<<4 | packetType] 'mp4a'` then per track
 * `[trackId] [size UI24] [body]`. Track 0 is the spec's default track; track 1 a further one.
 */
import { readFileSync } from 'node:fs';
import type { Sample } from 'mp4box';
import { MessageType } from '../../src/rtmp/messages.js';
import { parseMp4 } from '../mux/fmp4/media-fixture.js';
import { sendInRealTime, type ErtmpPublisher, type TimedTag } from './ertmp-publisher.js';
import { boxPayload } from './audio-fixtures.js';

const MP4A = [...'mp4a'].map((c) => c.charCodeAt(0));
const AVC1 = [...'avc1'].map((c) => c.charCodeAt(0));
/** SoundFormat 9 (ExHeader) << 4 | AudioPacketType.Multitrack. */
const AUDIO_MULTITRACK = 0x95;
/** AvMultitrackType.ManyTracks << 4. */
const MANY_TRACKS = 0x10;

/** `[ManyTracks | packetType] 'mp4a'`, then each body as `[trackId] [size UI24] [body]`. */
function manyTracks(packetType: number, bodies: readonly { trackId: number; body: Uint8Array }[]): Uint8Array {
  const parts: number[] = [AUDIO_MULTITRACK, MANY_TRACKS | packetType, ...MP4A];
  for (const { trackId, body } of bodies) parts.push(trackId, (body.byteLength >> 16) & 0xff, (body.byteLength >> 8) & 0xff, body.byteLength & 0xff, ...body);
  return Uint8Array.from(parts);
}

/** Publishes `file` (an H.264 + AAC MP4) in real time with its AAC as audio tracks `trackIds`, looping until stop(). */
export async function publishMultitrackAudio(file: string, url: string, trackIds: readonly number[] = [0, 1]): Promise<ErtmpPublisher> {
  const bytes = new Uint8Array(readFileSync(file));
  const parsed = parseMp4(bytes, { withData: true });
  const video = parsed.info.videoTracks[0]!;
  const audio = parsed.info.audioTracks[0]!;
  const toMs = (s: Sample): number => (s.dts * 1000) / s.timescale;
  // AudioSpecificConfig of AAC-LC 48 kHz stereo (ISO/IEC 14496-3 §1.6.2.1), as the fixture's.
  const asc = Uint8Array.of(0x11, 0x90);
  const headers: TimedTag[] = [
    { ms: 0, type: MessageType.Video, payload: Uint8Array.from([0x80 | (1 << 4) | 0, ...AVC1, ...boxPayload(bytes, 'avcC')]) },
    { ms: 0, type: MessageType.Audio, payload: manyTracks(0, trackIds.map((trackId) => ({ trackId, body: asc }))) },
  ];
  const tags: TimedTag[] = [];
  for (const s of parsed.samples.get(video.id)!) {
    tags.push({ ms: toMs(s), type: MessageType.Video, payload: Uint8Array.from([0x80 | ((s.is_sync ? 1 : 2) << 4) | 3, ...AVC1, ...s.data!]) });
  }
  for (const s of parsed.samples.get(audio.id)!) {
    tags.push({ ms: toMs(s), type: MessageType.Audio, payload: manyTracks(1, trackIds.map((trackId) => ({ trackId, body: s.data! }))) });
  }
  return sendInRealTime(url, headers, tags);
}
