/**
 * Tracks from codec configuration records: what any ingest (FLV/RTMP today, SRT or a pull source
 * next) turns a sequence header into. Pure: bytes in, a Track out.
 */
import { GatewayError } from '../core/errors.js';
import { VIDEO_TIMESCALE, type AudioTrack, type VideoTrack } from '../core/media.js';
import { aacCodecString, parseAudioSpecificConfig } from './aac.js';
import { avcCodecString, parseAvcDecoderConfigurationRecord, parseSps } from './avc.js';
import { hevcCodecString, parseHevcDecoderConfigurationRecord, parseHevcSps } from './hevc.js';
import { av1CodecString, findSequenceHeader, parseAv1ConfigurationRecord, parseAv1SequenceHeader } from './av1.js';
import { parseVpcRecord, vp9CodecString } from './vp9.js';

/**
 * `config` must be owned (a copy): the track keeps it and views into it for its whole life.
 * VP9's record carries no picture size: `size` comes from its first key frame (codec/vp9.ts).
 */
export function buildVideoTrack(codec: VideoTrack['codec'], config: Uint8Array, size?: { width: number; height: number }): VideoTrack {
  if (codec === 'vp9') {
    if (!size) throw new GatewayError('codec.vp9', 'a VP9 track needs the size of its first key frame', {});
    return {
      kind: 'video',
      codec,
      timescale: VIDEO_TIMESCALE,
      width: size.width,
      height: size.height,
      fps: undefined,
      codecString: vp9CodecString(parseVpcRecord(config)),
      config,
      parameterSets: [],
      nalLengthSize: 0,
    };
  }
  if (codec === 'av1') {
    const record = parseAv1ConfigurationRecord(config);
    const sequenceHeader = findSequenceHeader(record.configObus);
    if (!sequenceHeader) throw new GatewayError('codec.av1', 'av1C carries no sequence header OBU', {});
    const header = parseAv1SequenceHeader(sequenceHeader.payload);
    return {
      kind: 'video',
      codec,
      timescale: VIDEO_TIMESCALE,
      width: header.maxFrameWidth,
      height: header.maxFrameHeight,
      fps: header.fps,
      codecString: av1CodecString(record),
      config,
      parameterSets: [],
      nalLengthSize: 0,
    };
  }
  if (codec === 'avc') {
    const record = parseAvcDecoderConfigurationRecord(config);
    const first = record.sps[0];
    if (!first) throw new GatewayError('codec.avc', 'avcC carries no SPS', {});
    if (record.pps.length === 0) throw new GatewayError('codec.avc', 'avcC carries no PPS', {});
    const sps = parseSps(first);
    return {
      kind: 'video',
      codec,
      timescale: VIDEO_TIMESCALE,
      width: sps.width,
      height: sps.height,
      fps: sps.fps,
      codecString: avcCodecString(sps),
      config,
      parameterSets: [...record.sps, ...record.pps],
      nalLengthSize: record.nalLengthSize,
    };
  }
  const record = parseHevcDecoderConfigurationRecord(config);
  const first = record.sps[0];
  if (!first) throw new GatewayError('codec.hevc', 'hvcC carries no SPS', {});
  const sps = parseHevcSps(first);
  return {
    kind: 'video',
    codec,
    timescale: VIDEO_TIMESCALE,
    width: sps.width,
    height: sps.height,
    fps: undefined,
    codecString: hevcCodecString(record),
    config,
    parameterSets: [...record.vps, ...record.sps, ...record.pps],
    nalLengthSize: record.nalLengthSize,
  };
}

/** An AAC track from its AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). */
export function buildAudioTrack(config: Uint8Array): AudioTrack {
  const asc = parseAudioSpecificConfig(config);
  return {
    kind: 'audio',
    codec: 'aac',
    timescale: asc.sampleRate,
    sampleRate: asc.sampleRate,
    channels: asc.channels,
    objectType: asc.signalledObjectType,
    codecString: aacCodecString(asc),
    config,
    samplesPerFrame: asc.samplesPerFrame,
  };
}
