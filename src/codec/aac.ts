/**
 * MPEG-4 Audio AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) for AAC family object types,
 * including explicit hierarchical SBR/PS signalling (object type 5/29 first) and
 * backward-compatible signalling (sync extension 0x2b7 after the GASpecificConfig, §1.6.5.1).
 */
import { GatewayError } from '../core/errors.js';
import { BitReader } from './bitreader.js';

/** §1.6.3.4 Table 1.18, samplingFrequencyIndex 0..12 (13, 14 reserved; 15 = explicit). */
export const AAC_SAMPLE_RATES: readonly number[] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export const AOT_AAC_LC = 2;
export const AOT_SBR = 5;
export const AOT_PS = 29;
const AOT_ESCAPE = 31;
const AOT_ER_AAC_LD = 23;
const AOT_ER_AAC_ELD = 39;
const EXPLICIT_FREQUENCY_INDEX = 15;
/** §1.6.5.1 syncExtensionType values for backward-compatible SBR and PS signalling. */
const SYNC_EXTENSION_SBR = 0x2b7;
const SYNC_EXTENSION_PS = 0x548;

/** Object types whose config is a GASpecificConfig (§1.6.2.1 switch on audioObjectType). */
const GA_OBJECT_TYPES = new Set([1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23]);

/** §1.6.3.5 Table 1.19 (+ 14496-3:2009/Amd 4 for 11..14): channelConfiguration -> channel count. */
const CHANNELS_BY_CONFIGURATION: Readonly<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 11: 7, 12: 8, 13: 24, 14: 8 };

export interface AudioSpecificConfigInfo {
  /** The core object type (2 for HE-AAC whose config starts with 5 or 29). */
  objectType: number;
  /** The first object type in the config: 5 or 29 with explicit hierarchical SBR/PS signalling. */
  signalledObjectType: number;
  /** Core sample rate (the one AAC frames are timed at: samplesPerFrame ticks per frame). */
  sampleRate: number;
  /** 0..12, or 15 when the rate is written explicitly. */
  samplingFrequencyIndex: number;
  channelConfiguration: number;
  channels: number;
  /** 1024, or 960 with frameLengthFlag (512/480 for the low-delay types). */
  samplesPerFrame: number;
  sbr?: boolean;
  ps?: boolean;
  /** SBR output sample rate. */
  extensionSampleRate?: number;
}

function readObjectType(r: BitReader): number {
  const aot = r.u(5, 'audioObjectType');
  return aot === AOT_ESCAPE ? 32 + r.u(6, 'audioObjectTypeExt') : aot;
}

function readSampleRate(r: BitReader): { index: number; rate: number } {
  const index = r.u(4, 'samplingFrequencyIndex');
  if (index === EXPLICIT_FREQUENCY_INDEX) {
    const rate = r.u(24, 'samplingFrequency');
    if (rate === 0) throw new GatewayError('codec.aac', 'explicit sampling frequency is 0', {});
    return { index, rate };
  }
  const rate = AAC_SAMPLE_RATES[index];
  if (rate === undefined) throw new GatewayError('codec.aac', `reserved samplingFrequencyIndex ${index}`, {});
  return { index, rate };
}

export function parseAudioSpecificConfig(bytes: Uint8Array): AudioSpecificConfigInfo {
  if (bytes.byteLength < 2) throw new GatewayError('codec.aac', 'AudioSpecificConfig truncated', { offset: 0, length: bytes.byteLength });
  const r = new BitReader(bytes, 'codec.aac');
  let objectType = readObjectType(r);
  const signalledObjectType = objectType;
  const core = readSampleRate(r);
  const channelConfiguration = r.u(4, 'channelConfiguration');
  let sbr: boolean | undefined;
  let ps: boolean | undefined;
  let extensionSampleRate: number | undefined;
  let explicitHierarchical = false;
  if (objectType === AOT_SBR || objectType === AOT_PS) {
    // Explicit hierarchical signalling: the outer type says SBR (and PS), the core type follows.
    explicitHierarchical = true;
    sbr = true;
    if (objectType === AOT_PS) ps = true;
    extensionSampleRate = readSampleRate(r).rate;
    objectType = readObjectType(r);
    if (objectType === 22) r.skipBits(4, 'extensionChannelConfiguration');
  }
  let channels = CHANNELS_BY_CONFIGURATION[channelConfiguration];
  let samplesPerFrame = 1024;
  if (GA_OBJECT_TYPES.has(objectType)) {
    // §4.4.1 GASpecificConfig
    const frameLengthFlag = r.flag('frameLengthFlag');
    samplesPerFrame = objectType === AOT_ER_AAC_LD ? (frameLengthFlag ? 480 : 512) : frameLengthFlag ? 960 : 1024;
    if (r.flag('dependsOnCoreCoder')) r.skipBits(14, 'coreCoderDelay');
    const extensionFlag = r.flag('extensionFlag');
    if (channelConfiguration === 0) channels = readProgramConfigElementChannels(r);
    if (objectType === 6 || objectType === 20) r.skipBits(3, 'layerNr');
    if (extensionFlag) {
      if (objectType === 22) r.skipBits(16, 'numOfSubFrame, layer_length');
      if (objectType === 17 || objectType === 19 || objectType === 20 || objectType === 23) r.skipBits(3, 'resilience flags');
      r.skipBits(1, 'extensionFlag3');
    }
  } else if (objectType === AOT_ER_AAC_ELD) {
    samplesPerFrame = r.flag('frameLengthFlag') ? 480 : 512;
  }
  if (channels === undefined) {
    throw new GatewayError('codec.aac', channelConfiguration === 0
      ? `channelConfiguration 0 (program_config_element) is not supported for object type ${objectType}`
      : `reserved channelConfiguration ${channelConfiguration}`, { objectType });
  }
  if (!explicitHierarchical && r.bitsLeft >= 16) {
    // Backward-compatible signalling; a malformed tail is ignored (decoders do the same).
    try {
      if (r.u(11, 'syncExtensionType') === SYNC_EXTENSION_SBR) {
        const extensionObjectType = readObjectType(r);
        if (extensionObjectType === AOT_SBR) {
          sbr = r.flag('sbrPresentFlag');
          if (sbr) {
            extensionSampleRate = readSampleRate(r).rate;
            if (r.bitsLeft >= 12 && r.u(11, 'syncExtensionType') === SYNC_EXTENSION_PS) ps = r.flag('psPresentFlag');
          }
        }
      }
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  }
  const info: AudioSpecificConfigInfo = {
    objectType,
    signalledObjectType,
    sampleRate: core.rate,
    samplingFrequencyIndex: core.index,
    channelConfiguration,
    channels,
    samplesPerFrame,
  };
  if (sbr !== undefined) info.sbr = sbr;
  if (ps !== undefined) info.ps = ps;
  if (extensionSampleRate !== undefined) info.extensionSampleRate = extensionSampleRate;
  return info;
}

/**
 * §4.4.1.1 program_config_element(): counts the channels it lays out (front/side/back elements,
 * 2 for a channel pair element, plus LFEs). Coupling and data elements carry no output channels.
 */
function readProgramConfigElementChannels(r: BitReader): number {
  r.skipBits(4 + 2 + 4, 'element_instance_tag, object_type, sampling_frequency_index');
  const front = r.u(4, 'num_front_channel_elements');
  const side = r.u(4, 'num_side_channel_elements');
  const back = r.u(4, 'num_back_channel_elements');
  const lfe = r.u(2, 'num_lfe_channel_elements');
  const assoc = r.u(3, 'num_assoc_data_elements');
  const cc = r.u(4, 'num_valid_cc_elements');
  if (r.flag('mono_mixdown_present')) r.skipBits(4, 'mono_mixdown_element_number');
  if (r.flag('stereo_mixdown_present')) r.skipBits(4, 'stereo_mixdown_element_number');
  if (r.flag('matrix_mixdown_idx_present')) r.skipBits(3, 'matrix_mixdown_idx, pseudo_surround_enable');
  let channels = 0;
  for (let i = 0; i < front + side + back; i++) {
    channels += r.flag('element_is_cpe') ? 2 : 1;
    r.skipBits(4, 'element_tag_select');
  }
  channels += lfe;
  r.skipBits(4 * lfe + 4 * assoc + 5 * cc, 'lfe/assoc/cc element tags');
  // byte_alignment() is relative to the start of the AudioSpecificConfig, which is where this
  // reader starts; then comment_field_bytes and the comment itself.
  r.byteAlign();
  r.skipBits(8 * r.u(8, 'comment_field_bytes'), 'comment_field_data');
  if (channels === 0) throw new GatewayError('codec.aac', 'program_config_element declares no channels', {});
  return channels;
}

/**
 * RFC 6381 §3.3 `mp4a.40.<objectType>`; with explicit SBR/PS signalling the signalled outer
 * type (5 or 29) is used, which is what players expect for HE-AAC.
 */
export function aacCodecString(asc: Pick<AudioSpecificConfigInfo, 'objectType'> & Partial<Pick<AudioSpecificConfigInfo, 'signalledObjectType'>>): string {
  return `mp4a.40.${asc.signalledObjectType ?? asc.objectType}`;
}
