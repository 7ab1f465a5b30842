import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAudioSpecificConfig } from '../../src/codec/aac.js';
import { audioSpecificConfigFromAdts, buildAdtsHeader, parseAdtsFrames } from '../../src/codec/adts.js';
import { GatewayError } from '../../src/core/errors.js';
import { hex, toHex } from './bit-writer.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

describe('buildAdtsHeader', () => {
  it('golden bytes: AAC-LC 44.1 kHz stereo, 371-byte payload', () => {
    // profile 1 (LC), sfi 4, channels 2, frame length 378, fullness 0x7ff, 1 raw block
    const h = buildAdtsHeader(parseAudioSpecificConfig(hex('1210')), 371);
    expect(toHex(h)).toBe('fff150802f5ffc');
  });

  it('uses the LC core for HE-AAC and rejects what ADTS cannot carry', () => {
    const he = parseAudioSpecificConfig(hex('2b920800'));
    expect(buildAdtsHeader(he, 10)[2]! >>> 6).toBe(1);
    expect(() => buildAdtsHeader({ objectType: 2, samplingFrequencyIndex: 15, channelConfiguration: 2 }, 10)).toThrow(GatewayError);
    expect(() => buildAdtsHeader({ objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2 }, 8190)).toThrow(GatewayError);
  });
});

describe('parseAdtsFrames', () => {
  const frame = (payload: Uint8Array, ascHex = '1190'): Uint8Array => {
    const h = buildAdtsHeader(parseAudioSpecificConfig(hex(ascHex)), payload.byteLength);
    return Uint8Array.from([...h, ...payload]);
  };

  it('round-trips header fields and payload views', () => {
    const a = frame(hex('21 1b 80'));
    const b = frame(hex('01 02 03 04 05'));
    const data = Uint8Array.from([...a, ...b]);
    const { frames, consumed, skipped } = parseAdtsFrames(data);
    expect(consumed).toBe(data.byteLength);
    expect(skipped).toBe(0);
    expect(frames.map((f) => toHex(f.payload))).toEqual(['211b80', '0102030405']);
    expect(frames[0]!.header).toMatchObject({ objectType: 2, samplingFrequencyIndex: 3, sampleRate: 48000, channelConfiguration: 2, protectionAbsent: true, frameLength: 10, headerLength: 7, rawDataBlocks: 1 });
    expect(frames[1]!.payload.buffer).toBe(data.buffer);
  });

  it('is push friendly: an incomplete frame is left unconsumed', () => {
    const a = frame(hex('aa bb'));
    const b = frame(hex('cc dd ee'));
    const data = Uint8Array.from([...a, ...b]);
    for (let cut = 0; cut <= data.byteLength; cut++) {
      const first = parseAdtsFrames(data.subarray(0, cut));
      const rest = Uint8Array.from([...data.subarray(first.consumed, cut), ...data.subarray(cut)]);
      const second = parseAdtsFrames(rest);
      expect([...first.frames, ...second.frames].map((f) => toHex(f.payload))).toEqual(['aabb', 'ccddee']);
    }
  });

  it('skips junk before a sync word and honours the CRC header length', () => {
    // protection_absent 0: 7-byte header + CRC 12 34, then a 2-byte payload; aac_frame_length 11.
    const crc = Uint8Array.from([0xff, 0xf0, 0x50, 0x80, 11 >> 3, ((11 & 7) << 5) | 0x1f, 0xfc, 0x12, 0x34, 0x99]);
    const data = Uint8Array.from([0x00, 0x11, ...crc, 0x77]);
    const { frames, skipped } = parseAdtsFrames(data);
    expect(skipped).toBe(2);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.header.headerLength).toBe(9);
    expect(toHex(frames[0]!.payload)).toBe('9977');
  });

  it('never throws and never loops on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        const r = parseAdtsFrames(data);
        expect(r.consumed).toBeLessThanOrEqual(data.byteLength);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('audioSpecificConfigFromAdts', () => {
  it('builds the 2-byte ASC that parses back to the same fields', () => {
    const { frames } = parseAdtsFrames(Uint8Array.from([...buildAdtsHeader({ objectType: 2, samplingFrequencyIndex: 4, channelConfiguration: 2 }, 1), 0]));
    const asc = audioSpecificConfigFromAdts(frames[0]!.header);
    expect(toHex(asc)).toBe('1210');
    expect(parseAudioSpecificConfig(asc)).toMatchObject({ objectType: 2, sampleRate: 44100, channels: 2 });
  });
});
