import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { RelayFrameReader, RELAY_MAX_PAYLOAD_BYTES, type RelayFrame } from '../../src/srt/relay-frames.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 200);

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A frame as native/srt-relay.c writes it, built by hand: type, conn BE32, length BE32, payload. */
function frame(type: number, conn: number, payload: Uint8Array | string): Uint8Array {
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const out = new Uint8Array(9 + body.length);
  out[0] = type;
  out[1] = (conn >>> 24) & 0xff;
  out[2] = (conn >>> 16) & 0xff;
  out[3] = (conn >>> 8) & 0xff;
  out[4] = conn & 0xff;
  out[5] = (body.length >>> 24) & 0xff;
  out[6] = (body.length >>> 16) & 0xff;
  out[7] = (body.length >>> 8) & 0xff;
  out[8] = body.length & 0xff;
  out.set(body, 9);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** Comparable form: data payloads as hex. */
function plain(frames: RelayFrame[]): unknown[] {
  return frames.map((f) => (f.type === 'data' ? { ...f, data: toHex(f.data) } : f));
}

function pushChunks(bytes: Uint8Array, cuts: number[]): RelayFrame[] {
  const r = new RelayFrameReader();
  const out: RelayFrame[] = [];
  let prev = 0;
  for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
    if (c <= prev || c >= bytes.length) continue;
    out.push(...r.push(bytes.slice(prev, c)));
    prev = c;
  }
  out.push(...r.push(bytes.slice(prev)));
  expect(r.idle).toBe(true);
  return out;
}

const TS = hex('47 40 00 10 00 00 b0 0d 00 01 c1 00 00');

// Golden bytes of each frame type, as the relay writes them.
const GOLDEN: Array<[string, string, RelayFrame]> = [
  ['READY 8890', '00 00000000 00000004 38383930', { type: 'ready', port: 8890 }],
  [
    'OPEN',
    '01 00000001 0000002a 7b2273747265616d6964223a226c6976652f616263222c2270656572223a22312e322e332e343a35227d',
    { type: 'open', conn: 1, streamid: 'live/abc', peer: '1.2.3.4:5' },
  ],
  ['DATA', `02 00000102 0000000d ${toHex(TS)}`, { type: 'data', conn: 0x102, data: TS }],
  ['CLOSE', '03 ffffffff 0000000b 7065657220636c6f736564', { type: 'close', conn: 0xffffffff, reason: 'peer closed' }],
];

describe('RelayFrameReader', () => {
  it.each(GOLDEN)('parses the golden %s frame', (_name, bytes, expected) => {
    expect(plain(new RelayFrameReader().push(hex(bytes)))).toEqual(plain([expected]));
  });

  it('hand-built frames are byte-identical to the golden ones', () => {
    expect(toHex(frame(0, 0, '8890'))).toBe(toHex(hex(GOLDEN[0]![1])));
    expect(toHex(frame(1, 1, '{"streamid":"live/abc","peer":"1.2.3.4:5"}'))).toBe(toHex(hex(GOLDEN[1]![1])));
    expect(toHex(frame(2, 0x102, TS))).toBe(toHex(hex(GOLDEN[2]![1])));
    expect(toHex(frame(3, 0xffffffff, 'peer closed'))).toBe(toHex(hex(GOLDEN[3]![1])));
  });

  const stream = concat([
    frame(0, 0, '8890'),
    frame(1, 7, JSON.stringify({ streamid: '#!::r=live/xyz,m=publish "q" \\ é', peer: '[::1]:4000' })),
    frame(2, 7, TS),
    frame(2, 7, new Uint8Array(0)),
    frame(2, 7, new Uint8Array(1316).fill(0x47)),
    frame(3, 7, ''),
    frame(3, 8, 'Connection was broken'),
  ]);
  const expected = plain(new RelayFrameReader().push(stream));

  it('parses a run of frames in one chunk, escapes and empty payloads included', () => {
    expect(expected).toEqual([
      { type: 'ready', port: 8890 },
      { type: 'open', conn: 7, streamid: '#!::r=live/xyz,m=publish "q" \\ é', peer: '[::1]:4000' },
      { type: 'data', conn: 7, data: toHex(TS) },
      { type: 'data', conn: 7, data: '' },
      { type: 'data', conn: 7, data: '47'.repeat(1316) },
      { type: 'close', conn: 7, reason: '' },
      { type: 'close', conn: 8, reason: 'Connection was broken' },
    ]);
  });

  it('gives the same frames one byte at a time', () => {
    const r = new RelayFrameReader();
    const out: RelayFrame[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...r.push(stream.subarray(i, i + 1)));
    expect(plain(out)).toEqual(expected);
    expect(r.idle).toBe(true);
  });

  it('gives the same frames whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 40 }), (cuts) => {
        expect(plain(pushChunks(stream, cuts))).toEqual(expected);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('returns DATA as a view into the chunk when whole, else as one joined copy', () => {
    const one = frame(2, 1, TS);
    const whole = new RelayFrameReader().push(one)[0]!;
    expect(whole.type === 'data' && whole.data.buffer).toBe(one.buffer);

    const r = new RelayFrameReader();
    expect(r.push(one.subarray(0, 12))).toEqual([]);
    expect(r.idle).toBe(false);
    const split = r.push(one.subarray(12))[0]!;
    expect(split.type).toBe('data');
    if (split.type !== 'data') return;
    expect(split.data.buffer).not.toBe(one.buffer);
    expect(toHex(split.data)).toBe(toHex(TS));
    // later pushes do not overwrite an earlier payload
    one.fill(0);
    expect(toHex(split.data)).toBe(toHex(TS));
  });

  it('accepts a payload of exactly 1 MiB', () => {
    const big = new Uint8Array(RELAY_MAX_PAYLOAD_BYTES).fill(7);
    const out = pushChunks(frame(2, 3, big), [9, 100_000, 700_000]);
    expect(out).toHaveLength(1);
    expect(out[0]!.type === 'data' && out[0]!.data.length).toBe(RELAY_MAX_PAYLOAD_BYTES);
  });

  describe('errors', () => {
    function failure(bytes: Uint8Array): GatewayError {
      try {
        new RelayFrameReader().push(bytes);
      } catch (err) {
        expect(err).toBeInstanceOf(GatewayError);
        expect((err as GatewayError).stage).toBe('srt');
        return err as GatewayError;
      }
      throw new Error('no error thrown');
    }

    it('rejects an unknown frame type', () => {
      expect(failure(hex('04 00000001 00000000')).message).toMatch(/unknown relay frame type.*type=4/);
      expect(failure(hex('ff 00000001 00000000')).message).toMatch(/type=255/);
    });

    it('rejects a payload over 1 MiB from its header alone', () => {
      expect(failure(hex('02 00000001 00100001')).message).toMatch(/too large/);
      expect(failure(hex('02 00000001 ffffffff')).message).toMatch(/too large/);
    });

    it('reports the stream offset of the bad frame', () => {
      const err = failure(concat([frame(2, 1, TS), hex('07 00000000 00000000')]));
      expect(err.context['offset']).toBe(9 + TS.length);
    });

    it('rejects READY without a port and OPEN without JSON streamid/peer', () => {
      expect(failure(frame(0, 0, 'abc')).message).toMatch(/READY/);
      expect(failure(frame(0, 0, '70000')).message).toMatch(/READY/);
      expect(failure(frame(1, 1, '{"streamid":')).message).toMatch(/not JSON/);
      expect(failure(frame(1, 1, '{"streamid":1,"peer":"x"}')).message).toMatch(/streamid\/peer/);
      expect(failure(frame(1, 1, 'null')).message).toMatch(/streamid\/peer/);
    });

    it('stays failed once the stream has lost sync', () => {
      const r = new RelayFrameReader();
      expect(() => r.push(hex('09 00000000 00000000'))).toThrow(GatewayError);
      expect(() => r.push(frame(3, 1, 'ok'))).toThrow(GatewayError);
    });
  });

  it('fuzz: arbitrary bytes in arbitrary chunks give frames or a GatewayError, nothing else', () => {
    const frameArb = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(), fc.uint8Array({ maxLength: 40 })).map(([t, c, p]) => frame(t, c, p)),
      fc.tuple(fc.nat(), fc.string({ maxLength: 20 }), fc.string({ maxLength: 10 })).map(([c, s, p]) => frame(1, c, JSON.stringify({ streamid: s, peer: p }))),
    );
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, rawCuts) => {
        const bytes = concat(parts);
        const r = new RelayFrameReader();
        const cuts = [...new Set(rawCuts.map((c) => (bytes.length ? c % bytes.length : 0)))].sort((a, b) => a - b);
        let prev = 0;
        try {
          for (const c of [...cuts, bytes.length]) {
            for (const f of r.push(bytes.slice(prev, Math.max(prev, c)))) expect(['ready', 'open', 'data', 'close']).toContain(f.type);
            prev = Math.max(prev, c);
          }
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err;
          expect(err.stage).toBe('srt');
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
