/**
 * One audio message body (an RTMP CodedFrames payload) -> the samples it holds, each with its own
 * duration, for every audio codec carried: the muxers write one sample per frame, and the frame
 * timing advances by what each frame lasts. Pure: bytes in, values out; malformed bodies throw
 * GatewayError.
 *
 *   AAC   one access unit                         samplesPerFrame (1024)
 *   Opus  one packet per stream                   TOC byte(s), RFC 6716 §3.1
 *   FLAC  one or more frames, split apart         each frame header's block size, RFC 9639 §9.1
 *   AC-3 / E-AC-3  syncframes, grouped            1536 per sample, ETSI TS 102 366 §F.2
 */
import type { AudioCodec } from '../core/media.js';
import { dolbyConfigOf, splitAc3Frames, type DolbyConfig } from './ac3.js';
import { splitFlacFrames } from './flac.js';
import { opusPacketSamples } from './opus.js';

export interface AudioSample {
  /** A view into the body. */
  readonly data: Uint8Array;
  /** Ticks of the sample-rate clock (48 kHz for Opus). */
  readonly duration: number;
}

export interface AudioSamples {
  readonly samples: readonly AudioSample[];
  /** AC-3 / E-AC-3: the sample entry configuration the first sample implies (the stream has no other). */
  readonly dolby?: DolbyConfig;
}

export function audioSamplesOf(codec: AudioCodec, body: Uint8Array, samplesPerFrame: number): AudioSamples {
  switch (codec) {
    case 'aac':
      return { samples: [{ data: body, duration: samplesPerFrame }] };
    case 'opus':
      return { samples: [{ data: body, duration: opusPacketSamples(body) }] };
    case 'flac':
      return { samples: splitFlacFrames(body).map((f) => ({ data: f.data, duration: f.blockSize })) };
    case 'ac3':
    case 'eac3': {
      const units = splitAc3Frames(body);
      return { samples: units.map((u) => ({ data: u.data, duration: u.samples })), dolby: dolbyConfigOf(units[0]!) };
    }
  }
}
