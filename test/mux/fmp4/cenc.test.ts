/**
 * Common Encryption 'cbcs' (src/mux/fmp4/cenc.ts): golden boxes, the subsample map's rules
 * (property-tested), the pattern cipher against a block-by-block reference, mp4box reading the
 * protected init, and the independent check — ffmpeg decrypts our encrypted H.264, HEVC and AAC
 * tracks (`-decryption_key`) to exactly the frames of the same samples muxed clear.
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Track } from '../../../src/core/media.js';
import {
  CLEARKEY_SYSTEM_ID,
  encryptRange,
  nalSubsamples,
  patternOf,
  pssh,
  tenc,
  type CencProtection,
  type EncryptionPattern,
} from '../../../src/mux/fmp4/cenc.js';
import { buildFragment, buildSegmentHeader } from '../../../src/mux/fmp4/fragment.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import { chunk, concatBytes, ffmpegBinary, loadAvcAacFixture, loadHevcFixture, parseMp4, withDurations, type TestSample } from './media-fixture.js';

const KID = Uint8Array.from(Buffer.from('0123456789abcdef0123456789abcdef', 'hex'));
const KEY = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const IV = Uint8Array.from(Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'));
const PROTECTION: CencProtection = { kid: KID, key: KEY, iv: IV };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('cbcs boxes', () => {
  it('tenc: v1 with the 1:9 pattern for video, v0 whole-block for audio; constant IV, no per-sample IV', () => {
    expect(hex(tenc(KID, IV, { crypt: 1, skip: 9 }))).toBe(`00000031${hex(Buffer.from('tenc'))}01000000` + `00190100` + hex(KID) + '10' + hex(IV));
    expect(hex(tenc(KID, IV, { crypt: 0, skip: 0 }))).toBe(`00000031${hex(Buffer.from('tenc'))}00000000` + `00000100` + hex(KID) + '10' + hex(IV));
  });

  it('pssh v1 of the W3C common system id lists the KID (what Chromium ClearKey needs)', () => {
    expect(hex(pssh(CLEARKEY_SYSTEM_ID, [KID]))).toBe(`00000034${hex(Buffer.from('pssh'))}01000000` + '1077efecc0b24d02ace33c1e52e2fb4b' + '00000001' + hex(KID) + '00000000');
  });

  it('mp4box reads the protected init: encv > sinf (frma avc1, schm cbcs, tenc KID), enca for AAC, and the pssh', () => {
    const { video, audio } = loadAvcAacFixture();
    for (const [track, entry, original] of [
      [video.track, 'encv', 'avc1'],
      [audio.track, 'enca', 'mp4a'],
    ] as const) {
      const parsed = parseMp4(buildInitSegment(track, { protection: PROTECTION }));
      expect(parsed.errors).toEqual([]);
      const moov = (parsed as unknown as { info: { tracks: { codec: string }[] } }).info;
      expect(moov.tracks[0]!.codec.startsWith(entry) || moov.tracks[0]!.codec.startsWith(original)).toBe(true);
      const bytes = Buffer.from(buildInitSegment(track, { protection: PROTECTION }));
      // Box structure read back by type, independent of our writer's order assumptions.
      expect(bytes.includes(Buffer.from(entry))).toBe(true);
      const frma = bytes.indexOf(Buffer.from('frma'));
      expect(bytes.toString('latin1', frma + 4, frma + 8)).toBe(original);
      const schm = bytes.indexOf(Buffer.from('schm'));
      expect(bytes.toString('latin1', schm + 8, schm + 12)).toBe('cbcs');
      expect(bytes.includes(Buffer.from(KID))).toBe(true);
      expect(bytes.includes(Buffer.from(CLEARKEY_SYSTEM_ID))).toBe(true);
    }
  });

  it('refuses a codec the scheme is not applied to, rather than writing it clear', () => {
    const opus: Track = { kind: 'audio', codec: 'opus', timescale: 48000, sampleRate: 48000, channels: 2, samplesPerFrame: 960, codecString: 'opus', config: Uint8Array.of(0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, 2, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0) } as unknown as Track;
    expect(() => buildInitSegment(opus, { protection: PROTECTION })).toThrow(/cannot be protected/);
  });
});

describe('subsample maps of NAL-structured samples', () => {
  /** A length-prefixed access unit of NAL units given as (type byte, size). */
  const accessUnit = (nals: readonly (readonly [number, number])[]): Uint8Array =>
    concatBytes(
      nals.map(([type, size]) => {
        const out = new Uint8Array(4 + size);
        new DataView(out.buffer).setUint32(0, size);
        out[4] = type;
        return out;
      }),
    );

  it('covers the sample exactly: non-VCL clear, VCL keeps length + 32 bytes clear, protected whole blocks', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(0x06, 0x07, 0x08, 0x09, 0x65, 0x41, 0x01), fc.integer({ min: 1, max: 70_000 })), { minLength: 1, maxLength: 8 }), (nals) => {
        const sample = accessUnit(nals);
        const map = nalSubsamples(sample, 4, 'avc');
        expect(map.reduce((n, s) => n + s.clear + s.protected, 0)).toBe(sample.length);
        for (const s of map) {
          expect(s.protected % 16).toBe(0);
          expect(s.clear).toBeLessThanOrEqual(0xffff);
        }
        // Protected bytes only ever come from VCL NAL units, after their first 4 + 32 bytes.
        let at = 0;
        const protectedAt: [number, number][] = [];
        for (const s of map) {
          at += s.clear;
          if (s.protected > 0) protectedAt.push([at, at + s.protected]);
          at += s.protected;
        }
        let off = 0;
        for (const [type, size] of nals) {
          const vcl = (type & 0x1f) >= 1 && (type & 0x1f) <= 5;
          for (const [a, b] of protectedAt) {
            if (a < off + 4 + size && b > off) {
              expect(vcl).toBe(true);
              expect(a).toBeGreaterThanOrEqual(off + 4 + 32);
              expect(b).toBeLessThanOrEqual(off + 4 + size);
            }
          }
          off += 4 + size;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('HEVC: VCL types 0..31 are protected, parameter sets and SEI are not', () => {
    const vcl = accessUnit([[0x26 /* IDR_W_RADL (19) << 1 */, 200]]);
    expect(nalSubsamples(vcl, 4, 'hevc').some((s) => s.protected > 0)).toBe(true);
    const params = accessUnit([[0x40, 200], [0x42, 200], [0x44, 200], [0x4e, 200]]);
    expect(nalSubsamples(params, 4, 'hevc')).toEqual([{ clear: params.length, protected: 0 }]);
  });
});

describe('pattern encryption', () => {
  /** Reference: decrypt block by block, chaining only the encrypted blocks of the pattern. */
  const referenceDecrypt = (data: Uint8Array, pattern: EncryptionPattern): Uint8Array => {
    const out = data.slice();
    const blocks = Math.floor(data.length / 16);
    let chain = Buffer.from(IV);
    for (let b = 0; b < blocks; b++) {
      const encrypted = pattern.crypt === 0 || pattern.skip === 0 || b % (pattern.crypt + pattern.skip) < pattern.crypt;
      if (!encrypted) continue;
      const block = Buffer.from(data.subarray(b * 16, b * 16 + 16));
      const d = createDecipheriv('aes-128-cbc', KEY, chain).setAutoPadding(false);
      out.set(d.update(block), b * 16);
      chain = block;
    }
    return out;
  };

  it('1:9 and whole-block round-trip through a block-by-block reference; the partial tail stays clear', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 1200 }), fc.constantFrom<EncryptionPattern>({ crypt: 1, skip: 9 }, { crypt: 0, skip: 0 }), (clear, pattern) => {
        const data = clear.slice();
        encryptRange(data, 0, data.length, KEY, IV, pattern);
        const tail = data.length % 16;
        expect(Buffer.from(data.subarray(data.length - tail)).equals(Buffer.from(clear.subarray(clear.length - tail)))).toBe(true);
        if (data.length >= 16) expect(Buffer.from(data.subarray(0, 16)).equals(Buffer.from(clear.subarray(0, 16)))).toBe(false);
        if (pattern.skip === 9 && data.length >= 32) expect(Buffer.from(data.subarray(16, 32)).equals(Buffer.from(clear.subarray(16, 32)))).toBe(true);
        expect(Buffer.from(referenceDecrypt(data, pattern)).equals(Buffer.from(clear))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('ffmpeg decrypts our cbcs tracks to the clear frames', () => {
  /** init + styp + fragments of 5 samples, clear or protected as the muxer protects them. */
  const trackFile = (track: Track, source: readonly TestSample[], protection?: CencProtection): Uint8Array => {
    const samples = withDurations(source);
    const parts: Uint8Array[] = [buildInitSegment(track, { protection }), buildSegmentHeader()];
    const nal = track.kind === 'video' && (track.codec === 'avc' || track.codec === 'hevc') ? { size: track.nalLengthSize, codec: track.codec } : undefined;
    let t = source[0]!.dts;
    chunk(samples, 5).forEach((run, i) => {
      const maps = run.map((s) => (nal ? nalSubsamples(s.data, nal.size, nal.codec) : undefined));
      parts.push(buildFragment({ kind: track.kind, sequenceNumber: i + 1, baseMediaDecodeTime: t, samples: run, protection: protection && { key: protection, pattern: patternOf(track), maps } }));
      t += run.reduce((n, s) => n + s.duration, 0);
    });
    return concatBytes(parts);
  };

  /** Frame hashes ffmpeg decodes from `bytes` on stdin (ffmpeg 5.1 reads cbcs fragments from a pipe). */
  const framemd5 = (bytes: Uint8Array, key?: Uint8Array): { hashes: string[]; stderr: string } => {
    const args = ['-v', 'error', ...(key ? ['-decryption_key', hex(key)] : []), '-i', 'pipe:0', '-map', '0', '-f', 'framemd5', '-'];
    const r = spawnSync(ffmpegBinary(), args, { input: bytes, encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
    return { hashes: r.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',').pop()!.trim()), stderr: r.stderr };
  };

  const cases: [string, () => { track: Track; samples: readonly TestSample[] }][] = [
    ['H.264 with B-frames', () => loadAvcAacFixture().video],
    ['AAC', () => loadAvcAacFixture().audio],
    ['HEVC', () => loadHevcFixture()],
  ];
  it.each(cases)('%s', (_name, load) => {
    const { track, samples } = load();
    const clear = framemd5(trackFile(track, samples));
    expect(clear.stderr).toBe('');
    expect(clear.hashes.length).toBeGreaterThan(10);
    const encryptedFile = trackFile(track, samples, PROTECTION);
    const decrypted = framemd5(encryptedFile, KEY);
    expect(decrypted.stderr).toBe('');
    expect(decrypted.hashes).toEqual(clear.hashes);
    // The media really is encrypted: the wrong key gives other frames (or decode errors).
    const wrong = framemd5(encryptedFile, Uint8Array.from(randomBytes(16)));
    expect(wrong.hashes).not.toEqual(clear.hashes);
  });
});
