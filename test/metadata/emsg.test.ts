/**
 * emsg v1 (ISO/IEC 23009-1 §5.10.3.3): hand-checked golden bytes both ways, read back by mp4box
 * inside a CMAF media segment (styp, emsg, emsg, moof, mdat), and seeded fuzzing of parseEmsg.
 */
import { createFile, MP4BoxBuffer } from 'mp4box';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { buildId3Tag, parseId3Tag } from '../../src/metadata/id3.js';
import { buildSpliceInsert, parseSpliceInfo } from '../../src/metadata/scte35.js';
import {
  EVENT_DURATION_UNKNOWN,
  ID3_SCHEME,
  ID3_SCHEME_VALUE,
  SCTE35_SCHEME,
  buildEmsg,
  parseEmsg,
  type EmsgFields,
} from '../../src/mux/fmp4/emsg.js';
import { buildFragment, buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import { listBoxes } from '../../src/mux/fmp4/inspect.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT, concat, fuzz, int, mutate, pick, prng, randomBytes, toHex, type Rand, errorOf } from './fuzz-helpers.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/**
 * By hand:
 *   00 00 00 40 | "emsg" | 01 000000            size 64 = 12 + 20 + 29 + 1 + 2; version 1, flags 0
 *   00 01 5F 90                                 timescale 90000
 *   00 00 00 01 00 00 00 05                     presentation_time 2^32 + 5 (64-bit)
 *   FF FF FF FF                                 event_duration unknown
 *   00 00 00 07                                 id 7
 *   "https://aomedia.org/emsg/ID3" 00           scheme_id_uri, 28 chars + NUL
 *   00                                          value "" (just the NUL)
 *   AA BB                                       message_data
 */
const GOLDEN = new Uint8Array([
  0x00, 0x00, 0x00, 0x40, ...ascii('emsg'), 0x01, 0x00, 0x00, 0x00,
  0x00, 0x01, 0x5f, 0x90,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05,
  0xff, 0xff, 0xff, 0xff,
  0x00, 0x00, 0x00, 0x07,
  ...ascii('https://aomedia.org/emsg/ID3'), 0x00,
  0x00,
  0xaa, 0xbb,
]);
const GOLDEN_FIELDS: EmsgFields = {
  schemeIdUri: ID3_SCHEME,
  value: ID3_SCHEME_VALUE,
  timescale: 90_000,
  presentationTime: 2 ** 32 + 5,
  eventDuration: EVENT_DURATION_UNKNOWN,
  id: 7,
  messageData: new Uint8Array([0xaa, 0xbb]),
};


describe('buildEmsg / parseEmsg: golden bytes', () => {
  it('scheme constants', () => {
    expect(ID3_SCHEME).toBe('https://aomedia.org/emsg/ID3');
    expect(ID3_SCHEME_VALUE).toBe('');
    expect(SCTE35_SCHEME).toBe('urn:scte:scte35:2013:bin');
  });

  it('builds the hand-checked v1 box', () => {
    expect(GOLDEN.length).toBe(64);
    expect(toHex(buildEmsg(GOLDEN_FIELDS))).toBe(toHex(GOLDEN));
  });

  it('parses the hand-checked v1 box', () => {
    expect(parseEmsg(GOLDEN)).toEqual({ version: 1, ...GOLDEN_FIELDS });
  });

  it('parses a hand-made v0 box (strings first, presentation_time_delta)', () => {
    const v0 = new Uint8Array([
      0, 0, 0, 0, ...ascii('emsg'), 0, 0, 0, 0,
      ...ascii('urn:x'), 0, ...ascii('1'), 0,
      0, 0, 0x03, 0xe8, // timescale 1000
      0, 0, 0x01, 0xf4, // delta 500
      0, 0, 0x07, 0xd0, // duration 2000
      0, 0, 0, 9, // id
      0x41,
    ]);
    v0[3] = v0.length;
    expect(parseEmsg(v0)).toEqual({
      version: 0,
      schemeIdUri: 'urn:x',
      value: '1',
      timescale: 1000,
      presentationTimeDelta: 500,
      eventDuration: 2000,
      id: 9,
      messageData: new Uint8Array([0x41]),
    });
  });

  it('size 0 (to the end) and a 64-bit largesize are read; bytes after the box are ignored', () => {
    const toEnd = GOLDEN.slice();
    toEnd.set([0, 0, 0, 0], 0);
    expect(parseEmsg(toEnd)).toEqual(parseEmsg(GOLDEN));
    const large = concat([new Uint8Array([0, 0, 0, 1, ...ascii('emsg'), 0, 0, 0, 0, 0, 0, 0, 72]), GOLDEN.subarray(8)]);
    expect(parseEmsg(large)).toEqual(parseEmsg(GOLDEN));
    expect(parseEmsg(concat([GOLDEN, new Uint8Array([1, 2, 3])]))).toEqual(parseEmsg(GOLDEN));
  });

  it('UTF-8 strings and a presentation_time up to 2^53 - 1', () => {
    const fields = { ...GOLDEN_FIELDS, schemeIdUri: 'urn:example:über', value: 'ж', presentationTime: Number.MAX_SAFE_INTEGER };
    expect(parseEmsg(buildEmsg(fields))).toEqual({ version: 1, ...fields });
  });
});

describe('read back by mp4box inside a media segment', () => {
  it('styp, emsg (ID3), emsg (SCTE-35), moof, mdat: mp4box sees both emsg boxes with our fields', () => {
    const id3 = buildId3Tag([{ kind: 'TXXX', description: 'title', value: 'hello' }]);
    const cue = buildSpliceInsert({ eventId: 42, outOfNetwork: true, ptsTime: 900_000, breakDurationTicks: 2_700_000, autoReturn: true });
    const segment = concat([
      buildSegmentHeader(),
      buildEmsg({ schemeIdUri: ID3_SCHEME, value: '', timescale: 48_000, presentationTime: 96_000, eventDuration: EVENT_DURATION_UNKNOWN, id: 1, messageData: id3 }),
      buildEmsg({ schemeIdUri: SCTE35_SCHEME, value: '', timescale: 90_000, presentationTime: 900_000, eventDuration: 2_700_000, id: 42, messageData: cue }),
      buildFragment({ kind: 'audio', sequenceNumber: 1, baseMediaDecodeTime: 96_000, samples: [{ duration: 1024, key: true, compositionOffset: 0, data: new Uint8Array(16) }] }),
    ]);
    expect(listBoxes(segment).map((b) => b.type)).toEqual(['styp', 'emsg', 'emsg', 'moof', 'mdat']);

    const file = createFile();
    const copy = segment.slice();
    file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(copy.buffer, 0), true);
    file.flush();
    const boxes = file.getBoxes('emsg', false);
    expect(boxes).toHaveLength(2);
    const [a, b] = boxes;
    expect(a).toMatchObject({ version: 1, flags: 0, timescale: 48_000, presentation_time: 96_000, event_duration: 0xffffffff, id: 1, scheme_id_uri: ID3_SCHEME, value: '' });
    expect(b).toMatchObject({ version: 1, flags: 0, timescale: 90_000, presentation_time: 900_000, event_duration: 2_700_000, id: 42, scheme_id_uri: SCTE35_SCHEME, value: '' });
    expect(new Uint8Array(a!.message_data)).toEqual(id3);
    expect(new Uint8Array(b!.message_data)).toEqual(cue);
    // And the payloads still parse as what they are.
    expect(parseId3Tag(new Uint8Array(a!.message_data))).toEqual([{ kind: 'TXXX', description: 'title', value: 'hello' }]);
    expect(parseSpliceInfo(new Uint8Array(b!.message_data)).command).toMatchObject({ spliceEventId: 42, outOfNetwork: true });
  });
});

describe('errors', () => {
  const v1 = (patch: (b: Uint8Array) => void): Uint8Array => {
    const b = GOLDEN.slice();
    patch(b);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /truncated box header/],
    ['not emsg', v1((b) => b.set(ascii('free'), 4)), /not an emsg box/],
    ['size past end', GOLDEN.subarray(0, 63), /runs past the end/],
    ['size below full box header', v1((b) => (b[3] = 10)), /too small for a full box header/],
    ['version 2', v1((b) => (b[8] = 2)), /unsupported version/],
    ['fixed fields cut', v1((b) => (b[3] = 30)), /too small for its fixed fields/],
    ['unterminated scheme', v1((b) => (b[3] = 12 + 20 + 10)), /scheme_id_uri is not NUL-terminated/],
    ['unterminated value', v1((b) => (b[3] = 12 + 20 + 29)), /value is not NUL-terminated/],
    ['timescale 0', v1((b) => b.set([0, 0, 0, 0], 12)), /timescale is 0/],
    ['presentation_time beyond 2^53', v1((b) => b.set([0x00, 0x20, 0, 0], 16)), /beyond 2\^53/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    const err = errorOf(() => parseEmsg(input));
    expect(err.stage).toBe('mux.fmp4');
    expect(err.message).toMatch(message);
  });

  it('build refuses fields that do not fit', () => {
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, schemeIdUri: 'a\u0000b' })).message).toMatch(/NUL/);
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, timescale: 0 })).message).toMatch(/timescale/);
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, presentationTime: -1 })).message).toMatch(/presentationTime/);
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, presentationTime: 2 ** 53 })).message).toMatch(/presentationTime/);
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, eventDuration: 2 ** 32 })).message).toMatch(/eventDuration/);
    expect(errorOf(() => buildEmsg({ ...GOLDEN_FIELDS, id: 1.5 })).message).toMatch(/id/);
  });
});

function randomFields(rand: Rand): EmsgFields {
  return {
    schemeIdUri: pick(rand, [ID3_SCHEME, SCTE35_SCHEME, 'urn:mpeg:dash:event:2012', '', 'urn:ü']),
    value: pick(rand, ['', '1', 'ж', 'value with spaces']),
    timescale: 1 + int(rand, 2 ** 32 - 1),
    presentationTime: int(rand, 2 ** 53),
    eventDuration: int(rand, 2 ** 32),
    id: int(rand, 2 ** 32),
    messageData: randomBytes(rand, 48),
  };
}

describe('properties', () => {
  it('parseEmsg(buildEmsg(f)) = f', () => {
    const rand = prng(11);
    for (let i = 0; i < FUZZ_RUNS; i++) {
      const f = randomFields(rand);
      expect(parseEmsg(buildEmsg(f))).toEqual({ version: 1, ...f });
    }
  }, FUZZ_TIMEOUT);

  it('fuzz: random bytes, with and without an emsg header', () => {
    const t = fuzz(
      FUZZ_RUNS,
      12,
      (rand) => {
        const body = randomBytes(rand, 64);
        if (rand() < 0.3) return body;
        const head = new Uint8Array([0, 0, 0, 0, ...ascii('emsg'), pick(rand, [0, 1, 2]), 0, 0, 0]);
        new DataView(head.buffer).setUint32(0, rand() < 0.7 ? head.length + body.length : int(rand, 200));
        return concat([head, body]);
      },
      parseEmsg,
      toHex,
    );
    expect(t.ok).toBeGreaterThan(0);
    expect(t.rejected).toBeGreaterThan(0);
    expect(t.slowestMs).toBeLessThan(250);
  }, FUZZ_TIMEOUT);

  it('fuzz: mutated valid boxes', () => {
    const t = fuzz(FUZZ_RUNS, 13, (rand) => mutate(rand, buildEmsg(randomFields(rand))), parseEmsg, toHex);
    expect(t.ok).toBeGreaterThan(0);
    expect(t.rejected).toBeGreaterThan(0);
    expect(t.slowestMs).toBeLessThan(250);
  }, FUZZ_TIMEOUT);
});
