/**
 * TimedEvent: SCTE-35 and AMF0 cue points mapped onto events, and events onto EXT-X-DATERANGE
 * attributes (RFC 8216bis §4.4.5.1), checked by hand and by m3u8-parser reading a playlist that
 * carries them; the ID3 payloads read back by the ID3 reader hls.js bundles.
 */
import { getId3Frames } from '@svta/cml-id3';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { decodeAmf0, ecmaArray, encodeAmf0, type Amf0Object, type Amf0Value } from '../../src/flv/amf0.js';
import { buildId3Tag } from '../../src/metadata/id3.js';
import { buildSpliceInsert, parseSpliceInfo, spliceInfoFromText } from '../../src/metadata/scte35.js';
import {
  dateRangeAttributes,
  fromAmfCuePoint,
  id3Event,
  scte35Event,
  type Id3TimedEvent,
  type Scte35TimedEvent,
  type TimedEvent,
} from '../../src/metadata/timed-event.js';
import { ID3_SCHEME, SCTE35_SCHEME } from '../../src/mux/fmp4/emsg.js';
import { crc32Mpeg2 } from '../../src/mux/ts/packet.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { FUZZ_RUNS, FUZZ_TIMEOUT, fuzz, int, pick, prng, type Rand, errorOf } from './fuzz-helpers.js';

/** The splice_insert sample of scte35.test.ts: out, event 0x4800008F, break 5426421 ticks, auto-return. */
const SPLICE_OUT_B64 = '/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=';
const TIME_SIGNAL_B64 = '/DA0AAAAAAAA///wBQb+cr0AUAAeAhxDVUVJSAAAjn/PAAGlmbAICAAAAAAsoKGKNAIAmsnRfg==';
const START = Date.UTC(2014, 2, 5, 11, 15, 0); // 2014-03-05T11:15:00Z, RFC 8216's example date

const hexOf = (b64: string): string => Buffer.from(b64, 'base64').toString('hex').toUpperCase();


function tag(attrs: Record<string, string>): string {
  return `#EXT-X-DATERANGE:${Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join(',')}`;
}

/** A live media playlist with a PROGRAM-DATE-TIME and the given tags, read by m3u8-parser (warnings fail). */
function dateRangesOf(tags: string[]): Record<string, unknown>[] {
  const text = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    '#EXT-X-TARGETDURATION:2',
    '#EXT-X-MEDIA-SEQUENCE:0',
    `#EXT-X-PROGRAM-DATE-TIME:${new Date(START).toISOString()}`,
    ...tags,
    '#EXTINF:2.000,',
    'seg0.m4s',
    '',
  ].join('\n');
  return (parseM3u8(text) as unknown as { dateRanges: Record<string, unknown>[] }).dateRanges;
}

describe('scte35Event', () => {
  it('a splice_insert out: ID splice-<event id>, PLANNED-DURATION from break_duration', () => {
    const e = scte35Event(spliceInfoFromText(SPLICE_OUT_B64), 12.5);
    expect(e).toMatchObject({ kind: 'scte35', id: 'splice-4800008F', cue: 'out', time: 12.5, schemeIdUri: SCTE35_SCHEME, value: '' });
    expect(e.plannedDuration).toBeCloseTo(5426421 / 90_000, 9);
    expect(e).not.toHaveProperty('duration');
  });

  it('the matching splice in shares the ID; time_signal is a command with an ID of its own', () => {
    const back = scte35Event(parseSpliceInfo(buildSpliceInsert({ eventId: 0x4800008f, outOfNetwork: false, autoReturn: false })), 72.8);
    expect(back).toMatchObject({ id: 'splice-4800008F', cue: 'in' });
    const signal = scte35Event(spliceInfoFromText(TIME_SIGNAL_B64), 3);
    expect(signal.cue).toBe('cmd');
    expect(signal.id).toMatch(/^scte35-3000-[0-9a-f]{8}$/);
    // Same time, another command (a splice_null heartbeat): another ID.
    const spliceNull = new Uint8Array([0xfc, 0x30, 0x11, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xf0, 0, 0, 0, 0, 0, 0, 0, 0]);
    new DataView(spliceNull.buffer).setUint32(16, crc32Mpeg2(spliceNull, 0, 16));
    const heartbeat = scte35Event(parseSpliceInfo(spliceNull), 3);
    expect(heartbeat.cue).toBe('cmd');
    expect(heartbeat.id).toMatch(/^scte35-3000-/);
    expect(heartbeat.id).not.toBe(signal.id);
  });
});

describe('dateRangeAttributes', () => {
  it('splice out: the RFC 8216bis §4.4.5.1.1 attributes, by hand', () => {
    const e = scte35Event(spliceInfoFromText(SPLICE_OUT_B64), 12.5);
    expect(dateRangeAttributes(e, START)).toEqual({
      ID: '"splice-4800008F"',
      'START-DATE': '"2014-03-05T11:15:00.000Z"',
      'PLANNED-DURATION': '60.293567',
      'SCTE35-OUT': `0x${hexOf(SPLICE_OUT_B64)}`,
    });
  });

  it('out + in pair and a time_signal, read back by m3u8-parser', () => {
    const out = scte35Event(spliceInfoFromText(SPLICE_OUT_B64), 12.5);
    const inn: Scte35TimedEvent = {
      ...scte35Event(parseSpliceInfo(buildSpliceInsert({ eventId: 0x4800008f, outOfNetwork: false, autoReturn: false })), 72.8),
      duration: 60.3,
    };
    const signal = scte35Event(spliceInfoFromText(TIME_SIGNAL_B64), 80);
    const ranges = dateRangesOf([
      tag(dateRangeAttributes(out, START)),
      // The in repeats the out's START-DATE: a repeated ID must repeat every value it shares.
      tag(dateRangeAttributes(inn, START)),
      tag(dateRangeAttributes(signal, START + 67_500)),
    ]);
    expect(ranges).toHaveLength(2); // m3u8-parser merges tags with one ID
    expect(ranges[0]).toMatchObject({
      id: 'splice-4800008F',
      startDate: new Date(START),
      plannedDuration: 60.293567,
      duration: 60.3,
      scte35Out: `0x${hexOf(SPLICE_OUT_B64)}`,
      scte35In: `0x${Buffer.from(inn.splice.section).toString('hex').toUpperCase()}`,
    });
    expect(ranges[1]).toMatchObject({ id: signal.id, startDate: new Date(START + 67_500), scte35Cmd: `0x${hexOf(TIME_SIGNAL_B64)}` });
  });

  it('ID3: CLASS is the scheme, one X- attribute per TXXX, quoted or hex when it cannot be quoted', () => {
    const e = id3Event(
      [
        { kind: 'TXXX', description: 'title', value: 'Live at 5' },
        { kind: 'TXXX', description: 'com.example:note', value: 'say "hi"\nthere' },
        { kind: 'TXXX', description: 'Title', value: 'again' },
        { kind: 'TXXX', description: '***', value: 'no name left' },
        { kind: 'PRIV', owner: 'com.example', data: new Uint8Array([1]) },
      ],
      4.25,
    );
    expect(dateRangeAttributes({ ...e, duration: 2 }, START)).toEqual({
      ID: `"${e.id}"`,
      CLASS: `"${ID3_SCHEME}"`,
      'START-DATE': '"2014-03-05T11:15:00.000Z"',
      DURATION: '2',
      'X-TITLE': '"Live at 5"',
      'X-COM-EXAMPLE-NOTE': `0x${Buffer.from('say "hi"\nthere').toString('hex').toUpperCase()}`,
      'X-TITLE-2': '"again"',
    });
    const [range] = dateRangesOf([tag(dateRangeAttributes(e, START))]);
    expect(range).toMatchObject({ id: e.id, class: ID3_SCHEME, xTitle: 'Live at 5', xTitle2: 'again' });
  });

  it('every value is a valid attribute-list value, whatever the event holds', () => {
    const rand = prng(31);
    for (let i = 0; i < FUZZ_RUNS; i++) {
      const e = randomEvent(rand);
      const attrs = dateRangeAttributes(e, START + int(rand, 1e12));
      for (const [name, value] of Object.entries(attrs)) {
        expect(name).toMatch(/^[A-Z0-9-]+$/);
        expect(value).toMatch(/^(?:"[^"\r\n]*"|0x[0-9A-F]+|\d+(?:\.\d+)?)$/);
      }
    }
  }, FUZZ_TIMEOUT);

  it('refuses what cannot be written', () => {
    const e = id3Event([], 1);
    expect(errorOf(() => dateRangeAttributes(e, Number.NaN)).message).toMatch(/START-DATE/);
    expect(errorOf(() => dateRangeAttributes({ ...e, duration: -1 }, START)).message).toMatch(/duration/);
    expect(errorOf(() => dateRangeAttributes({ ...e, id: 'a"b' }, START)).message).toMatch(/quoted-string/);
  });
});

describe('fromAmfCuePoint', () => {
  /** What a publisher sends, through the AMF0 encoder and decoder (RTMP data message body). */
  function viaAmf(name: string, body: Amf0Value): Amf0Value {
    const [decodedName, decodedBody] = decodeAmf0(encodeAmf0(name, body));
    expect(decodedName).toBe(name);
    return decodedBody;
  }

  it('onCuePoint with a base64 scte35 parameter is that SCTE-35 cue', () => {
    const body = viaAmf('onCuePoint', { name: 'scte35', time: 12.5, type: 'event', parameters: ecmaArray({ scte35: SPLICE_OUT_B64 }) });
    const e = fromAmfCuePoint('onCuePoint', body, 12.5);
    expect(e).toMatchObject({ kind: 'scte35', id: 'splice-4800008F', cue: 'out', time: 12.5 });
    expect((e as Scte35TimedEvent).splice.section).toEqual(new Uint8Array(Buffer.from(SPLICE_OUT_B64, 'base64')));
  });

  it('scte35_bin as hex, and the key anywhere in case', () => {
    const hex = hexOf(TIME_SIGNAL_B64);
    expect(fromAmfCuePoint('onCuePoint', { name: 'x', parameters: { scte35_bin: hex } }, 1)).toMatchObject({ kind: 'scte35', cue: 'cmd' });
    expect(fromAmfCuePoint('onCuePoint', { name: 'x', parameters: { SCTE35: `0x${hex}` } }, 1)).toMatchObject({ kind: 'scte35', cue: 'cmd' });
    expect(fromAmfCuePoint('onCuePoint', { scte35: SPLICE_OUT_B64 }, 1)).toMatchObject({ kind: 'scte35', cue: 'out' });
  });

  it('a plain onCuePoint is ID3, one TXXX per field, nested fields as dotted paths', () => {
    const body = viaAmf('onCuePoint', { name: 'chapter', time: 30, type: 'navigation', parameters: { title: 'Part 2', n: 2, live: true } });
    const e = fromAmfCuePoint('onCuePoint', body, 30.04) as Id3TimedEvent;
    expect(e).toMatchObject({ kind: 'id3', time: 30.04, schemeIdUri: ID3_SCHEME, value: '' });
    expect(e.id).toMatch(/^onCuePoint-30040-[0-9a-f]{8}$/);
    expect(e.frames).toEqual([
      { kind: 'TXXX', description: 'name', value: 'chapter' },
      { kind: 'TXXX', description: 'time', value: '30' },
      { kind: 'TXXX', description: 'type', value: 'navigation' },
      { kind: 'TXXX', description: 'parameters.title', value: 'Part 2' },
      { kind: 'TXXX', description: 'parameters.n', value: '2' },
      { kind: 'TXXX', description: 'parameters.live', value: 'true' },
    ]);
    // The ID3 tag the pipeline will put in an emsg, read by hls.js's ID3 reader.
    const frames = getId3Frames(buildId3Tag(e.frames));
    expect(frames.map((f) => [f.key, f.info, f.data])).toEqual(e.frames.map((f) => ['TXXX', (f as { description: string }).description, (f as { value: string }).value]));
  });

  it('onTextData and onCaptionInfo', () => {
    const text = fromAmfCuePoint('onTextData', viaAmf('onTextData', { text: 'Hello — world', language: 'eng', trackid: 1 }), 5) as Id3TimedEvent;
    expect(text.frames).toEqual([
      { kind: 'TXXX', description: 'text', value: 'Hello — world' },
      { kind: 'TXXX', description: 'language', value: 'eng' },
      { kind: 'TXXX', description: 'trackid', value: '1' },
    ]);
    expect(text.id).toMatch(/^onTextData-5000-/);
    const caption = fromAmfCuePoint('onCaptionInfo', viaAmf('onCaptionInfo', { type: '708', data: 'lPwA' }), 6) as Id3TimedEvent;
    expect(caption.frames).toEqual([
      { kind: 'TXXX', description: 'type', value: '708' },
      { kind: 'TXXX', description: 'data', value: 'lPwA' },
    ]);
    expect(dateRangeAttributes(caption, START)).toMatchObject({ 'X-TYPE': '"708"', 'X-DATA': '"lPwA"' });
  });

  it('same time, different content: different IDs; same content: the same ID', () => {
    const a = fromAmfCuePoint('onTextData', { text: 'a' }, 1);
    const b = fromAmfCuePoint('onTextData', { text: 'b' }, 1);
    expect(a.id).not.toBe(b.id);
    expect(fromAmfCuePoint('onTextData', { text: 'a' }, 1).id).toBe(a.id);
  });

  it('bounded on deep or wide input; NULs dropped (TXXX strings are NUL-terminated)', () => {
    let deep: Amf0Object = { leaf: 'x' };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    expect((fromAmfCuePoint('onTextData', deep, 0) as Id3TimedEvent).frames).toEqual([]);
    const wide: Amf0Object = {};
    for (let i = 0; i < 1000; i++) wide[`k${i}`] = i;
    expect((fromAmfCuePoint('onTextData', wide, 0) as Id3TimedEvent).frames).toHaveLength(64);
    const nul = fromAmfCuePoint('onTextData', { 'a\u0000b': 'c\u0000d' }, 0) as Id3TimedEvent;
    expect(nul.frames).toEqual([{ kind: 'TXXX', description: 'ab', value: 'cd' }]);
    expect(() => buildId3Tag(nul.frames)).not.toThrow();
  });

  it('errors are GatewayError("metadata")', () => {
    expect(errorOf(() => fromAmfCuePoint('onCuePoint', 'not an object', 0)).stage).toBe('metadata');
    expect(errorOf(() => fromAmfCuePoint('onTextData', null, 0)).message).toMatch(/not an AMF0 object/);
    expect(errorOf(() => fromAmfCuePoint('onTextData', {}, -1)).message).toMatch(/mediaTimeSeconds/);
    const bad = errorOf(() => fromAmfCuePoint('onCuePoint', { parameters: { scte35: '/DAvAAAA' } }, 0));
    expect(bad.stage).toBe('metadata');
    expect(bad.message).toMatch(/SCTE-35/);
  });
});

// ---------------------------------------------------------------------------------------------

const WORDS = ['a', 'Title', 'x y', 'é', '"', '\n', '\r', '🎬', 'scte35', 'parameters', '0', ''];

function randomValue(rand: Rand, depth: number): Amf0Value {
  switch (int(rand, depth > 3 ? 5 : 8)) {
    case 0:
      return rand() * 1e6 - 5e5;
    case 1:
      return rand() < 0.5;
    case 2:
    case 3:
      return Array.from({ length: int(rand, 4) }, () => pick(rand, WORDS)).join('');
    case 4:
      return pick(rand, [null, undefined, new Date(int(rand, 2e12)), new Date(Number.NaN)]);
    case 5:
      return Array.from({ length: int(rand, 4) }, () => randomValue(rand, depth + 1));
    default: {
      const o: Amf0Object = {};
      for (let i = int(rand, 5); i > 0; i--) o[pick(rand, WORDS) + String(int(rand, 3))] = randomValue(rand, depth + 1);
      if (rand() < 0.1) o['scte35'] = pick(rand, [SPLICE_OUT_B64, TIME_SIGNAL_B64, '/DAv', 'zz']);
      return o;
    }
  }
}

function randomEvent(rand: Rand): TimedEvent {
  const body = randomValue(rand, 0);
  try {
    return fromAmfCuePoint(pick(rand, ['onCuePoint', 'onTextData', 'onCaptionInfo'] as const), body, rand() * 1e5);
  } catch {
    return id3Event([{ kind: 'TXXX', description: pick(rand, WORDS), value: pick(rand, WORDS) }], rand() * 1e5);
  }
}

describe('fuzz fromAmfCuePoint', () => {
  it('random AMF0 values only ever give an event or a GatewayError', () => {
    const t = fuzz(
      FUZZ_RUNS,
      32,
      (rand) => ({ name: pick(rand, ['onCuePoint', 'onTextData', 'onCaptionInfo'] as const), value: randomValue(rand, 0), time: rand() * 1e5 }),
      ({ name, value, time }) => fromAmfCuePoint(name, value, time),
      (input) => String(JSON.stringify(input.value)),
    );
    expect(t.ok).toBeGreaterThan(0);
    expect(t.rejected).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT);
});
