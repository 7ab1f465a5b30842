/** onMetaData for players (RTMP play, HTTP-FLV): what the publisher said, corrected by what we parsed. */
import type { LiveStream } from '../core/stream.js';
import { encodeAmf0, type Amf0Value } from '../flv/amf0.js';

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
    meta['audiocodecid'] = 10;
    meta['audiosamplerate'] = a.sampleRate;
    meta['audiochannels'] = a.channels;
    meta['stereo'] = a.channels > 1;
  }
  meta['server'] = 'streamgate';
  return encodeAmf0('onMetaData', meta);
}
