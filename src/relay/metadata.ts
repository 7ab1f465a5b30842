/** onMetaData for players (RTMP play, HTTP-FLV): what the publisher said, corrected by what we parsed. */
import type { LiveStream } from '../core/stream.js';
import { encodeAmf0, type Amf0Value } from '../flv/amf0.js';
import type { AudioCodec } from '../core/media.js';

/** onMetaData audiocodecid: FLV SoundFormat 10 for AAC, the FourCC as UI32 for the others (E-RTMP v2). */
const AUDIO_CODEC_IDS: Readonly<Record<AudioCodec, number>> = { aac: 10, opus: 0x4f707573, flac: 0x664c6143, ac3: 0x61632d33, eac3: 0x65632d33 };

export function metadataBody(stream: LiveStream): Uint8Array {
  const meta: Record<string, Amf0Value> = {};
  for (const [k, v] of Object.entries(stream.metadata)) {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') meta[k] = v;
  }
  const v = stream.video;
  const a = stream.audio;
  if (v) {
    meta['width'] = v.width;
    meta['height'] = v.height;
    // Enhanced RTMP: a FourCC codec's id is the FourCC as a number (`av01` = 0x61763031).
    meta['videocodecid'] = v.codec === 'avc' ? 7 : v.codec === 'hevc' ? 12 : v.codec === 'av1' ? 0x61763031 : 0x76703039;
    if (v.fps) meta['framerate'] = v.fps;
  }
  if (a) {
    // AAC goes out in legacy tags (SoundFormat 10); the others as their E-RTMP FourCC, as a number.
    meta['audiocodecid'] = AUDIO_CODEC_IDS[a.codec];
    meta['audiosamplerate'] = a.sampleRate;
    meta['audiochannels'] = a.channels;
    meta['stereo'] = a.channels > 1;
  }
  meta['server'] = 'streamgate';
  return encodeAmf0('onMetaData', meta);
}
