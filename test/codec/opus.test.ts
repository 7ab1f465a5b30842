/** Opus: OpusHead (RFC 7845 §5.1), the dOps payload made from it, packet durations from the TOC (RFC 6716 §3.1). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultOpusHead, opusDopsPayload, opusPacketSamples, parseOpusHead } from '../../src/codec/opus.js';
import { buildOpusTrack } from '../../src/codec/tracks.js';
import { GatewayError } from '../../src/core/errors.js';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** What libopus via ffmpeg 5.1 reports for 48 kHz stereo (its dOps, as OpusHead): pre-skip 312. */
const FFMPEG_OPUS_HEAD = unhex('4f707573486561640102380180bb0000000000');
/** ffmpeg's dOps for the same stream. */
const FFMPEG_DOPS = '000201380000bb80000000';

/** A 5.1 ID header, channel mapping family 1 (RFC 7845 §5.1.1.2): 4 streams, 2 coupled. */
function surroundHead(): Uint8Array {
  const head = new Uint8Array(19 + 2 + 6);
  head.set(FFMPEG_OPUS_HEAD.subarray(0, 19));
  head[9] = 6;
  head[16] = 0x00;
  head[17] = 0xff; // output gain -256 (Q7.8: -1 dB), little-endian
  head[18] = 1;
  head.set([4, 2, 0, 4, 1, 2, 3, 5], 19);
  return head;
}

describe('OpusHead and dOps', () => {
  it('reads ffmpeg/libopus stereo and writes the dOps ffmpeg writes', () => {
    const head = parseOpusHead(FFMPEG_OPUS_HEAD);
    expect(head).toMatchObject({ version: 1, channels: 2, preSkip: 312, inputSampleRate: 48_000, outputGain: 0, mappingFamily: 0, streamCount: 1, coupledCount: 1 });
    expect(hex(opusDopsPayload(head))).toBe(FFMPEG_DOPS);
    expect(buildOpusTrack(FFMPEG_OPUS_HEAD)).toMatchObject({ codec: 'opus', codecString: 'opus', timescale: 48_000, sampleRate: 48_000, channels: 2, samplesPerFrame: 960 });
  });

  it('carries the channel mapping table of family 1 (big-endian gain in dOps)', () => {
    const head = parseOpusHead(surroundHead());
    expect(head).toMatchObject({ channels: 6, mappingFamily: 1, streamCount: 4, coupledCount: 2, outputGain: -256 });
    expect([...head.channelMapping]).toEqual([0, 4, 1, 2, 3, 5]);
    // Version 0, 6 ch, pre-skip 312, 48000, gain -256, family 1, N 4, M 2, mapping.
    expect(hex(opusDopsPayload(head))).toBe('000601380000bb80ff0001' + '0402' + '000401020305');
  });

  it('makes a default head for an empty E-RTMP sequence start', () => {
    expect(parseOpusHead(defaultOpusHead(1))).toMatchObject({ channels: 1, preSkip: 0, inputSampleRate: 48_000, mappingFamily: 0 });
    expect(parseOpusHead(defaultOpusHead(6))).toMatchObject({ channels: 2 });
  });

  it('refuses malformed headers with a reason', () => {
    const bad = (edit: (h: Uint8Array) => Uint8Array, reason: RegExp): void => {
      expect(() => parseOpusHead(edit(FFMPEG_OPUS_HEAD.slice()))).toThrow(reason);
    };
    bad((h) => h.subarray(0, 18), /shorter than 19/);
    bad((h) => ((h[0] = 0x6f), h), /OpusHead/);
    bad((h) => ((h[8] = 0x10), h), /major version/);
    bad((h) => ((h[9] = 0), h), /channel count is 0/);
    bad((h) => ((h[9] = 3), h), /family 0 with more than 2/);
    bad((h) => ((h[18] = 1), h), /mapping table truncated/);
    const surround = surroundHead();
    surround[19 + 2 + 1] = 6; // names stream 6 of 4 + 2
    expect(() => parseOpusHead(surround)).toThrow(/missing stream/);
    const noStreams = surroundHead();
    noStreams[19] = 0;
    expect(() => parseOpusHead(noStreams)).toThrow(/stream count is 0/);
  });
});

describe('Opus packet duration from the TOC byte (RFC 6716 §3.1, §3.2.5)', () => {
  it.each([
    // [TOC, count byte, samples at 48 kHz]
    [0xfc, undefined, 960], // CELT FB 20 ms, code 0 (what libopus sends by default)
    [(0 << 3) | 0, undefined, 480], // SILK NB 10 ms
    [(3 << 3) | 1, undefined, 5760], // SILK 60 ms, two frames
    [(13 << 3) | 2, undefined, 1920], // Hybrid 20 ms, two frames of different sizes
    [(16 << 3) | 3, 48, 5760], // CELT 2.5 ms, 48 frames (the 120 ms maximum)
    [(30 << 3) | 3, 0x80 | 0x40 | 3, 1440], // CELT FB 10 ms, 3 frames; the VBR and padding flags are no count bits
  ])('TOC %s count %s -> %s samples', (toc, count, samples) => {
    const packet = count === undefined ? Uint8Array.of(toc, 0) : Uint8Array.of(toc, count, 0);
    expect(opusPacketSamples(packet)).toBe(samples);
  });

  it('refuses packets that break R1 or R5', () => {
    expect(() => opusPacketSamples(new Uint8Array(0))).toThrow(/empty Opus packet/);
    expect(() => opusPacketSamples(Uint8Array.of(0x03))).toThrow(/frame count byte/);
    expect(() => opusPacketSamples(Uint8Array.of(0x03, 0x00))).toThrow(/0 frames/);
    expect(() => opusPacketSamples(Uint8Array.of((16 << 3) | 3, 49))).toThrow(/longer than 120 ms/);
    expect(() => opusPacketSamples(Uint8Array.of((3 << 3) | 3, 3))).toThrow(/longer than 120 ms/);
  });

  it('every TOC and count gives a whole number of 2.5 ms up to 120 ms, or a GatewayError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (toc, count) => {
        try {
          const n = opusPacketSamples(Uint8Array.of(toc, count));
          expect(n % 120).toBe(0);
          expect(n).toBeGreaterThan(0);
          expect(n).toBeLessThanOrEqual(5760);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('fuzz', () => {
  it('random and mutated ID headers throw only GatewayError, and what parses round-trips through dOps', () => {
    const seeds = [FFMPEG_OPUS_HEAD, surroundHead()];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([s, edits, cut]) => {
            const m = s.slice();
            for (const [p, v] of edits) m[p % m.byteLength] = v;
            return m.subarray(0, m.byteLength - (cut % 4));
          }),
        ),
        (bytes) => {
          try {
            const head = parseOpusHead(bytes);
            const dops = opusDopsPayload(head);
            expect(dops[1]).toBe(head.channels);
            expect(dops.byteLength).toBe(head.mappingFamily === 0 ? 11 : 13 + head.channels);
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
