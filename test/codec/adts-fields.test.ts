import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import type { AudioTrack } from '../../src/core/media.js';
import { ADTS_MAX_PAYLOAD, adtsFieldsOf, writeAdtsHeader } from '../../src/codec/adts.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);

function track(config: Uint8Array, over: Partial<AudioTrack> = {}): AudioTrack {
  return {
    kind: 'audio', codec: 'aac', timescale: 48000, sampleRate: 48000, channels: 2, objectType: 2,
    codecString: 'mp4a.40.2', config, samplesPerFrame: 1024, ...over,
  };
}

describe('ADTS header', () => {
  it('matches the header ffmpeg writes for AAC-LC 48 kHz stereo (ASC 11 90)', () => {
    const cfg = adtsFieldsOf(track(new Uint8Array([0x11, 0x90])));
    expect(cfg).toEqual({ objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2 });
    const out = new Uint8Array(7);
    // `ffmpeg -f lavfi -i sine=sample_rate=48000 -c:a aac -ac 2 -f adts`: first frame 288 bytes
    writeAdtsHeader(out, 0, cfg, 288);
    expect(Buffer.from(out).toString('hex')).toBe('fff14c8024fffc');
  });

  it('reads the AAC core out of an explicit HE-AAC config (object type 5)', () => {
    // AOT 5, 24 kHz core (index 6), stereo, extension index 3 (48 kHz), core AOT 2
    // 00101 0110 0010 0011 00010 000
    const asc = new Uint8Array([0b00101011, 0b00010001, 0b10001000, 0b00000000]);
    expect(adtsFieldsOf(track(asc, { objectType: 5 }))).toEqual({ objectType: 2, samplingFrequencyIndex: 6, channelConfiguration: 2 });
  });

  it('falls back to the track fields without an ASC and rejects what ADTS cannot say', () => {
    expect(adtsFieldsOf(track(new Uint8Array(0), { sampleRate: 44100, channels: 1 }))).toEqual({ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 1 });
    expect(() => adtsFieldsOf(track(new Uint8Array(0), { sampleRate: 12345 }))).toThrow(GatewayError);
    expect(() => writeAdtsHeader(new Uint8Array(7), 0, { objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2 }, ADTS_MAX_PAYLOAD + 1)).toThrow(GatewayError);
  });

  it('random AudioSpecificConfig bytes give a config or a GatewayError, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), (asc) => {
        try {
          const cfg = adtsFieldsOf(track(asc));
          expect(cfg.objectType).toBeGreaterThanOrEqual(1);
          expect(cfg.objectType).toBeLessThanOrEqual(4);
          expect(cfg.samplingFrequencyIndex).toBeLessThanOrEqual(12);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
