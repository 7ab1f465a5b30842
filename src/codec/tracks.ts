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
import { OPUS_DEFAULT_FRAME_SAMPLES, OPUS_SAMPLE_RATE, parseOpusHead } from './opus.js';
import { parseFlacConfig } from './flac.js';
import { AC3_SAMPLES_PER_FRAME, type DolbyConfig } from './ac3.js';

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

/** An Opus track from its ID header (RFC 7845 §5.1): always 48 kHz; nominal 20 ms frames. */
export function buildOpusTrack(opusHead: Uint8Array): AudioTrack {
  const head = parseOpusHead(opusHead);
  return {
    kind: 'audio',
    codec: 'opus',
    timescale: OPUS_SAMPLE_RATE,
    sampleRate: OPUS_SAMPLE_RATE,
    channels: head.channels,
    objectType: 0,
    codecString: 'opus',
    config: opusHead,
    samplesPerFrame: OPUS_DEFAULT_FRAME_SAMPLES,
  };
}

/** A FLAC track from the E-RTMP `fLaC` SequenceStart (STREAMINFO, RFC 9639 §8.2); codec string `flac`. */
export function buildFlacTrack(sequenceStart: Uint8Array): AudioTrack {
  const { streamInfo } = parseFlacConfig(sequenceStart);
  return {
    kind: 'audio',
    codec: 'flac',
    timescale: streamInfo.sampleRate,
    sampleRate: streamInfo.sampleRate,
    channels: streamInfo.channels,
    objectType: 0,
    codecString: 'flac',
    config: sequenceStart,
    samplesPerFrame: streamInfo.maxBlockSize,
  };
}

/** An AC-3 or E-AC-3 track from its first sample's syncframes (ETSI TS 102 366 §F.4 / §F.6); `ac-3` / `ec-3`. */
export function buildDolbyTrack(config: DolbyConfig): AudioTrack {
  return {
    kind: 'audio',
    codec: config.codec,
    timescale: config.sampleRate,
    sampleRate: config.sampleRate,
    channels: config.channels,
    objectType: 0,
    codecString: config.codec === 'ac3' ? 'ac-3' : 'ec-3',
    config: config.box,
    samplesPerFrame: AC3_SAMPLES_PER_FRAME,
  };
}
