/**
 * ID3v2.4 tags: hand-checked golden bytes both ways, read back by the ID3 reader hls.js uses
 * (@svta/cml-id3, which hls.js 1.x imports and bundles; hls.js does not export it itself), the
 * publisher-side variants the reader accepts, and seeded fuzzing.
 */
import { getId3Frames, getId3Timestamp } from '@svta/cml-id3';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { buildId3Tag, parseId3Tag, type Id3Frame } from '../../src/metadata/id3.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT, concat, fuzz, int, mutate, pick, prng, randomBytes, toHex, type Rand, errorOf } from './fuzz-helpers.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const bytes = (...parts: (number | number[])[]): Uint8Array => new Uint8Array(parts.flat());

/**
 * TXXX "title"="hello" + PRIV "com.example" 01 02 03, by hand (structure §3.1, §4.1; frames
 * §4.2.6, §4.27):
 *   49 44 33 04 00 00 | 00 00 00 2F          "ID3" v2.4.0, flags 0, size 47 = 22 + 25 (syncsafe)
 *   54 58 58 58 | 00 00 00 0C | 00 00        TXXX, body 12 = 1 + 5 + 1 + 5
 *     03 | "title" | 00 | "hello"            UTF-8, description, terminator, value
 *   50 52 49 56 | 00 00 00 0F | 00 00        PRIV, body 15 = 11 + 1 + 3
 *     "com.example" | 00 | 01 02 03
 */
const GOLDEN = bytes(
  [0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f],
  [0x54, 0x58, 0x58, 0x58, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00],
  0x03, ascii('title'), 0x00, ascii('hello'),
  [0x50, 0x52, 0x49, 0x56, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00],
  ascii('com.example'), 0x00, [1, 2, 3],
);
const GOLDEN_FRAMES: Id3Frame[] = [
  { kind: 'TXXX', description: 'title', value: 'hello' },
  { kind: 'PRIV', owner: 'com.example', data: new Uint8Array([1, 2, 3]) },
];


describe('buildId3Tag / parseId3Tag: golden bytes', () => {
  it('builds the hand-checked tag', () => {
    expect(toHex(buildId3Tag(GOLDEN_FRAMES))).toBe(toHex(GOLDEN));
  });

  it('parses the hand-checked tag', () => {
    expect(parseId3Tag(GOLDEN)).toEqual(GOLDEN_FRAMES);
  });

  it('an empty frame list is a bare 10-byte header', () => {
    expect(toHex(buildId3Tag([]))).toBe('49443304000000000000');
    expect(parseId3Tag(buildId3Tag([]))).toEqual([]);
  });

  it('writes sizes as syncsafe integers (§6.2): 200 = 0x01 0x48, 210 = 0x01 0x52', () => {
    const tag = buildId3Tag([{ kind: 'PRIV', owner: 'o', data: new Uint8Array(198) }]); // body 1 + 1 + 198
    expect(toHex(tag.subarray(6, 10))).toBe('00000152'); // 210 = 1*128 + 82 (0x52)
    expect(toHex(tag.subarray(14, 18))).toBe('00000148'); // 200 = 1*128 + 72
    const big = buildId3Tag([{ kind: 'other', id: 'ABCD', data: new Uint8Array(2 ** 21 + 5) }]);
    expect(toHex(big.subarray(14, 18))).toBe('01000005'); // 2^21 + 5: byte 0 carries bits 21..27
    expect(parseId3Tag(big)[0]).toMatchObject({ kind: 'other', id: 'ABCD' });
  });

  it('TXXX is UTF-8 (encoding $03): non-ASCII text round-trips byte-exactly', () => {
    const tag = buildId3Tag([{ kind: 'TXXX', description: 'ключ', value: 'über 🎬' }]);
    const body = tag.subarray(20);
    expect(body[0]).toBe(0x03);
    expect(Buffer.from(body.subarray(1)).toString('utf8')).toBe('ключ\u0000über 🎬');
    expect(parseId3Tag(tag)).toEqual([{ kind: 'TXXX', description: 'ключ', value: 'über 🎬' }]);
  });
});

describe('read back by the ID3 reader hls.js bundles (@svta/cml-id3)', () => {
  it('sees the TXXX and PRIV frames', () => {
    const frames = getId3Frames(buildId3Tag([...GOLDEN_FRAMES, { kind: 'TXXX', description: 'utf8', value: 'über 🎬' }]));
    expect(frames.map((f) => [f.key, f.info])).toEqual([
      ['TXXX', 'title'],
      ['PRIV', 'com.example'],
      ['TXXX', 'utf8'],
    ]);
    expect(frames[0]!.data).toBe('hello');
    expect(new Uint8Array(frames[1]!.data as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3]));
    expect(frames[2]!.data).toBe('über 🎬');
  });

  it("hls.js recognises Apple's transportStreamTimestamp PRIV (33-bit pts, 90 kHz)", () => {
    // 8 bytes: 31 zero bits, then the 33-bit pts (HLS spec, "Timestamp in ID3 PRIV").
    // cml-id3's readId3Timestamp computes pts / 2 as (b4 << 23) + (b5 << 15) + (b6 << 7) + b7, the
    // last byte not halved, so it is exact only when that byte is 0: 2^32 (the 33rd bit) and 0.
    const timestampTag = (pts: number): Uint8Array => {
      const data = new Uint8Array(8);
      data[3] = Math.floor(pts / 2 ** 32);
      new DataView(data.buffer).setUint32(4, pts % 2 ** 32);
      return buildId3Tag([{ kind: 'PRIV', owner: 'com.apple.streaming.transportStreamTimestamp', data }]);
    };
    expect(getId3Timestamp(timestampTag(2 ** 32))).toBe(Math.round(2 ** 32 / 90));
    expect(getId3Timestamp(timestampTag(0))).toBe(0);
  });
});

describe('parseId3Tag: what publishers send', () => {
  it('v2.3: plain 32-bit frame sizes (0x80 is not syncsafe but valid there)', () => {
    const value = 'x'.repeat(0x80 - 1 - 2 - 1);
    const tag = bytes(
      [0x49, 0x44, 0x33, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x0a], // size 138 = 1*128 + 10
      [0x54, 0x58, 0x58, 0x58, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00],
      0x00, ascii('ab'), 0x00, ascii(value),
    );
    expect(parseId3Tag(tag)).toEqual([{ kind: 'TXXX', description: 'ab', value }]);
  });

  it('TXXX in ISO-8859-1, UTF-16 with either BOM, UTF-16BE; trailing terminators dropped', () => {
    const frame = (body: number[]): number[] => [...ascii('TXXX'), 0, 0, 0, body.length, 0, 0, ...body];
    const le = (s: string): number[] => [...Buffer.from(s, 'utf16le')];
    const be = (s: string): number[] => [...Buffer.from(s, 'utf16le').swap16()];
    const frames = [
      frame([0x00, ...ascii('k'), 0, 0xe9, 0x00]), // "é" in Latin-1, then a terminator
      frame([0x01, 0xff, 0xfe, ...le('k'), 0, 0, 0xff, 0xfe, ...le('€'), 0, 0]),
      frame([0x01, 0xfe, 0xff, ...be('k'), 0, 0, 0xfe, 0xff, ...be('€')]),
      frame([0x02, ...be('k'), 0, 0, ...be('ß')]),
    ].flat();
    const tag = bytes([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, frames.length], frames);
    expect(parseId3Tag(tag)).toEqual([
      { kind: 'TXXX', description: 'k', value: 'é' },
      { kind: 'TXXX', description: 'k', value: '€' },
      { kind: 'TXXX', description: 'k', value: '€' },
      { kind: 'TXXX', description: 'k', value: 'ß' },
    ]);
  });

  it('stops at padding, skips an extended header, keeps other frames verbatim', () => {
    const tit2 = [...ascii('TIT2'), 0, 0, 0, 3, 0, 0, 0x03, ...ascii('hi')];
    const ext = [0, 0, 0, 6, 1, 0]; // v2.4 extended header: size 6 incl. itself, 1 flag byte, no flags
    const body = [...ext, ...tit2, ...new Array(20).fill(0)];
    const tag = bytes([0x49, 0x44, 0x33, 0x04, 0, 0x40, 0, 0, 0, body.length], body);
    expect(parseId3Tag(tag)).toEqual([{ kind: 'other', id: 'TIT2', data: new Uint8Array([0x03, 0x68, 0x69]) }]);
  });

  it('v2.4 frame flags: grouping byte, data length indicator, unsynchronisation', () => {
    // Data $FF $00 $E0 is unsynchronised $FF $E0 (structure §6.1).
    const data = [0xff, 0x00, 0xe0];
    const body = [0x07, 0, 0, 0, 4, ...ascii('o'), 0, ...data]; // group id 7, data length 4 (after resync), PRIV body
    const frame = [...ascii('PRIV'), 0, 0, 0, body.length, 0x00, 0x40 | 0x02 | 0x01, ...body];
    const tag = bytes([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, frame.length], frame);
    expect(parseId3Tag(tag)).toEqual([{ kind: 'PRIV', owner: 'o', data: new Uint8Array([0xff, 0xe0]) }]);
  });

  it('v2.3 tag-wide unsynchronisation', () => {
    const frame = [...ascii('PRIV'), 0, 0, 0, 4, 0, 0, ...ascii('o'), 0, 0xff, 0xe0];
    const unsynced = frame.flatMap((b) => (b === 0xff ? [0xff, 0x00] : [b]));
    const tag = bytes([0x49, 0x44, 0x33, 0x03, 0, 0x80, 0, 0, 0, unsynced.length], unsynced);
    expect(parseId3Tag(tag)).toEqual([{ kind: 'PRIV', owner: 'o', data: new Uint8Array([0xff, 0xe0]) }]);
  });

  it('ignores bytes after the tag', () => {
    expect(parseId3Tag(concat([GOLDEN, new Uint8Array([1, 2, 3])]))).toEqual(GOLDEN_FRAMES);
  });
});

describe('errors are GatewayError("metadata") with context', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /truncated tag header/],
    ['not ID3', bytes(ascii('ID4'), 4, 0, 0, 0, 0, 0, 0), /no "ID3"/],
    ['ID3v2.2', bytes(ascii('ID3'), 2, 0, 0, 0, 0, 0, 0), /unsupported ID3v2 version/],
    ['size past end', GOLDEN.subarray(0, GOLDEN.length - 1), /tag runs past the end/],
    ['non-syncsafe tag size', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0x80, 0), /not a syncsafe/],
    ['frame past end', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 12, ascii('TXXX'), 0, 0, 0, 9, 0, 0, 3, 0), /frame runs past/],
    ['truncated frame header', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 4, ascii('TXXX')), /truncated frame header/],
    ['bad frame id', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 10, ascii('tx!x'), 0, 0, 0, 0, 0, 0), /invalid frame id/],
    ['compressed frame', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 14, ascii('TXXX'), 0, 0, 0, 4, 0, 0x08 | 0x01, 0, 0, 0, 1), /compressed or encrypted/],
    ['unterminated description', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 13, ascii('TXXX'), 0, 0, 0, 3, 0, 0, 3, 0x61, 0x62), /not terminated/],
    ['unknown text encoding', bytes(ascii('ID3'), 4, 0, 0, 0, 0, 0, 13, ascii('TXXX'), 0, 0, 0, 3, 0, 0, 9, 0, 0), /unknown text encoding/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    const err = errorOf(() => parseId3Tag(input));
    expect(err.stage).toBe('metadata');
    expect(err.message).toMatch(message);
  });

  it('build refuses what the format cannot carry', () => {
    expect(errorOf(() => buildId3Tag([{ kind: 'TXXX', description: 'a\u0000b', value: '' }])).message).toMatch(/NUL/);
    expect(errorOf(() => buildId3Tag([{ kind: 'PRIV', owner: 'ключ', data: new Uint8Array(0) }])).message).toMatch(/ISO-8859-1/);
    expect(errorOf(() => buildId3Tag([{ kind: 'other', id: 'tx', data: new Uint8Array(0) }])).message).toMatch(/frame id/);
    expect(errorOf(() => buildId3Tag([{ kind: 'other', id: 'ABCD', data: new Uint8Array(2 ** 28) }])).stage).toBe('metadata');
  });
});

// ---------------------------------------------------------------------------------------------
// Properties and fuzzing

const ALPHABET = ['a', 'Z', '0', ' ', '-', '.', 'é', 'ß', '€', 'ж', '🎬', '"', '\n', '\u00ff', '\u0001'];

function randomText(rand: Rand, max: number): string {
  let s = '';
  const n = int(rand, max + 1);
  for (let i = 0; i < n; i++) s += pick(rand, ALPHABET);
  return s;
}

function randomFrame(rand: Rand): Id3Frame {
  switch (int(rand, 3)) {
    case 0:
      return { kind: 'TXXX', description: randomText(rand, 12), value: randomText(rand, 40) };
    case 1:
      return { kind: 'PRIV', owner: randomText(rand, 12).replace(/[^\u0001-\u00ff]/g, 'x'), data: randomBytes(rand, 40) };
    default:
      return { kind: 'other', id: pick(rand, ['TIT2', 'APIC', 'WXXX', 'TYER', 'COMM']), data: randomBytes(rand, 40) };
  }
}

/** A v2.3/v2.4 header with random flags and a correct size in front of `body`. */
function withHeader(rand: Rand, body: Uint8Array): Uint8Array {
  const head = bytes(ascii('ID3'), pick(rand, [3, 4]), 0, int(rand, 256) & pick(rand, [0, 0xc0, 0xff]), 0, 0, 0, 0);
  const n = body.length & 0x0fff_ffff;
  head.set([(n >>> 21) & 0x7f, (n >>> 14) & 0x7f, (n >>> 7) & 0x7f, n & 0x7f], 6);
  return concat([head, body]);
}

describe('properties', () => {
  it('parse(build(frames)) returns the frames', () => {
    const r = prng(3);
    for (let i = 0; i < FUZZ_RUNS; i++) {
      const frames = Array.from({ length: int(r, 6) }, () => randomFrame(r));
      expect(parseId3Tag(buildId3Tag(frames))).toEqual(frames);
    }
  }, FUZZ_TIMEOUT);

  it('fuzz: random bytes only ever give frames or a GatewayError', () => {
    const t = fuzz(FUZZ_RUNS, 1, (rand) => (rand() < 0.5 ? randomBytes(rand, 64) : withHeader(rand, randomBytes(rand, 64))), parseId3Tag, toHex);
    expect(t.ok + t.rejected).toBe(FUZZ_RUNS);
    expect(t.slowestMs).toBeLessThan(250);
  }, FUZZ_TIMEOUT);

  it('fuzz: mutated valid tags (header kept consistent half the time)', () => {
    const t = fuzz(
      FUZZ_RUNS,
      2,
      (rand) => {
        const tag = buildId3Tag(Array.from({ length: 1 + int(rand, 4) }, () => randomFrame(rand)));
        const m = mutate(rand, tag);
        return rand() < 0.5 ? m : withHeader(rand, mutate(rand, tag.subarray(10)));
      },
      parseId3Tag,
      toHex,
    );
    expect(t.ok).toBeGreaterThan(0);
    expect(t.rejected).toBeGreaterThan(0);
    expect(t.slowestMs).toBeLessThan(250);
  }, FUZZ_TIMEOUT);
});
