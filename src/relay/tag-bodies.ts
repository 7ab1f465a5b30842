/**
 * FLV tag bodies (= RTMP audio/video message payloads) rebuilt from the stage contract, for
 * RTMP play and HTTP-FLV. Built once per frame and shared by every player.
 *
 *   video (AVC):  [frameType<<4 | 7] [AVCPacketType] [CompositionTime SI24] [data...]
 *   audio (AAC):  [10<<4 | 3<<2 | 1<<1 | 1] [AACPacketType] [data...]
 *   HEVC uses the Enhanced RTMP ex-header: [0x80 | frameType<<4 | PacketType] ['hvc1'] ...
 */
import type { AudioTrack, Frame, VideoTrack } from '../core/media.js';
import { VIDEO_TIMESCALE } from '../core/media.js';

const AAC_HEADER = (10 << 4) | (3 << 2) | (1 << 1) | 1;

export function videoSequenceHeaderBody(track: VideoTrack): Uint8Array {
  if (track.codec === 'hevc') {
    const body = new Uint8Array(5 + track.config.byteLength);
    body[0] = 0x80 | (1 << 4) | 0; // ex-header, keyframe, SequenceStart
    body.set([0x68, 0x76, 0x63, 0x31], 1); // 'hvc1'
    body.set(track.config, 5);
    return body;
  }
  const body = new Uint8Array(5 + track.config.byteLength);
  body[0] = (1 << 4) | 7;
  body[1] = 0; // AVC sequence header
  body.set(track.config, 5);
  return body;
}

export function audioSequenceHeaderBody(track: AudioTrack): Uint8Array {
  const body = new Uint8Array(2 + track.config.byteLength);
  body[0] = AAC_HEADER;
  body[1] = 0;
  body.set(track.config, 2);
  return body;
}

/** Composition time in ms (signed 24-bit) from 90 kHz pts - dts. */
function compositionMs(frame: Frame): number {
  return Math.round((frame.pts - frame.dts) / (VIDEO_TIMESCALE / 1000));
}

export function videoFrameBody(frame: Frame, codec: VideoTrack['codec']): Uint8Array {
  const cts = compositionMs(frame);
  if (codec === 'hevc') {
    const body = new Uint8Array(8 + frame.data.byteLength);
    body[0] = 0x80 | ((frame.key ? 1 : 2) << 4) | 1; // CodedFrames (with composition time)
    body.set([0x68, 0x76, 0x63, 0x31], 1);
    body[5] = (cts >> 16) & 0xff;
    body[6] = (cts >> 8) & 0xff;
    body[7] = cts & 0xff;
    body.set(frame.data, 8);
    return body;
  }
  const body = new Uint8Array(5 + frame.data.byteLength);
  body[0] = ((frame.key ? 1 : 2) << 4) | 7;
  body[1] = 1;
  body[2] = (cts >> 16) & 0xff;
  body[3] = (cts >> 8) & 0xff;
  body[4] = cts & 0xff;
  body.set(frame.data, 5);
  return body;
}

export function audioFrameBody(frame: Frame): Uint8Array {
  const body = new Uint8Array(2 + frame.data.byteLength);
  body[0] = AAC_HEADER;
  body[1] = 1;
  body.set(frame.data, 2);
  return body;
}

/** Frame timestamp as the RTMP/FLV millisecond clock (32-bit, wraps). */
export function frameMs(frame: Frame, timescale: number): number {
  return Math.floor((frame.dts * 1000) / timescale) >>> 0;
}
