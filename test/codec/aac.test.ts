import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aacCodecString, parseAudioSpecificConfig } from '../../src/codec/aac.js';
import { GatewayError } from '../../src/core/errors.js';
import { BitWriter, hex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('parseAudioSpecificConfig', () => {
  it('AAC-LC 44.1 kHz stereo (0x1210)', () => {
    const asc = parseAudioSpecificConfig(hex('1210'));
    expect(asc).toEqual({ objectType: 2, signalledObjectType: 2, sampleRate: 44100, samplingFrequencyIndex: 4, channelConfiguration: 2, channels: 2, samplesPerFrame: 1024 });
    expect(aacCodecString(asc)).toBe('mp4a.40.2');
  });

  it('AAC-LC 48 kHz stereo (0x1190) and mono 8 kHz', () => {
    expect(parseAudioSpecificConfig(hex('1190'))).toMatchObject({ objectType: 2, sampleRate: 48000, channels: 2 });
    expect(parseAudioSpecificConfig(hex('1588'))).toMatchObject({ objectType: 2, sampleRate: 8000, channels: 1 });
  });

  it('frameLengthFlag gives 960 samples per frame', () => {
    expect(parseAudioSpecificConfig(hex('1194')).samplesPerFrame).toBe(960);
  });

  it('HE-AAC with explicit hierarchical signalling (0x2b920800: SBR 22.05 -> 44.1 kHz)', () => {
    const asc = parseAudioSpecificConfig(hex('2b920800'));
    expect(asc).toMatchObject({ objectType: 2, signalledObjectType: 5, sampleRate: 22050, extensionSampleRate: 44100, sbr: true, channels: 2 });
    expect(aacCodecString(asc)).toBe('mp4a.40.5');
  });

  it('HE-AACv2 explicit (object type 29: SBR + PS, mono core)', () => {
    const asc = parseAudioSpecificConfig(hex('eb8a0800'));
    expect(asc).toMatchObject({ objectType: 2, signalledObjectType: 29, sampleRate: 22050, extensionSampleRate: 44100, sbr: true, ps: true, channels: 1 });
    expect(aacCodecString(asc)).toBe('mp4a.40.29');
  });

  it('HE-AAC with backward-compatible signalling (sync extension 0x2b7)', () => {
    const asc = parseAudioSpecificConfig(hex('139056e5a0'));
    expect(asc).toMatchObject({ objectType: 2, signalledObjectType: 2, sampleRate: 22050, sbr: true, extensionSampleRate: 44100 });
    expect(aacCodecString(asc)).toBe('mp4a.40.2');
  });

  it('explicit 24-bit sampling frequency (index 15)', () => {
    expect(parseAudioSpecificConfig(hex('1780562210'))).toMatchObject({ samplingFrequencyIndex: 15, sampleRate: 44100, channels: 2 });
  });

  it('object type escape (31 -> 32 + 6 bits)', () => {
    // AOT 42 (USAC) is not a GA type: header fields only.
    const w = new BitWriter().u(5, 31).u(6, 10).u(4, 3).u(4, 2).u(8, 0);
    expect(parseAudioSpecificConfig(w.bytes())).toMatchObject({ objectType: 42, sampleRate: 48000, channels: 2 });
  });

  it('channelConfiguration 0: channels from the program_config_element (5.1)', () => {
    const w = new BitWriter().u(5, 2).u(4, 3).u(4, 0).u(3, 0); // AAC-LC 48k, PCE, GASpecificConfig flags
    w.u(4, 0).u(2, 1).u(4, 3); // element_instance_tag, object_type, sampling_frequency_index
    w.u(4, 2).u(4, 0).u(4, 1).u(2, 1).u(3, 0).u(4, 0); // 2 front, 0 side, 1 back, 1 LFE
    w.flag(false).flag(false).flag(false);
    w.flag(false).u(4, 0).flag(true).u(4, 0); // front: C (SCE), L/R (CPE)
    w.flag(true).u(4, 1); // back: Ls/Rs (CPE)
    w.u(4, 0); // LFE
    w.align().u(8, 0); // byte_alignment, comment_field_bytes
    expect(parseAudioSpecificConfig(w.bytes())).toMatchObject({ channelConfiguration: 0, channels: 6 });
  });

  it('rejects reserved values and truncation with a clear GatewayError', () => {
    expect(() => parseAudioSpecificConfig(hex('12'))).toThrow(GatewayError);
    expect(() => parseAudioSpecificConfig(hex('1690'))).toThrow(/reserved samplingFrequencyIndex 13/);
    expect(() => parseAudioSpecificConfig(hex('1248'))).toThrow(/reserved channelConfiguration 9/);
    // PCE announced but cut off
    expect(() => parseAudioSpecificConfig(hex('1180'))).toThrow(/truncated/);
    expect(() => parseAudioSpecificConfig(hex('1780'))).toThrow(GatewayError);
  });

  it('throws only GatewayError on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        try {
          const asc = parseAudioSpecificConfig(bytes);
          expect(asc.channels).toBeGreaterThan(0);
          expect(asc.sampleRate).toBeGreaterThan(0);
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
