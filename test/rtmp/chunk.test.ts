import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import { ChunkReader, ChunkWriter, type OutgoingMessage, type RtmpMessage } from '../../src/rtmp/chunk.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}
/** Comparable form: payload as hex. */
function plain(ms: RtmpMessage[]) {
  return ms.map((m) => ({ csid: m.csid, type: m.type, streamId: m.streamId, timestamp: m.timestamp, payload: toHex(m.payload) }));
}
function readAll(data: Uint8Array, maxMessageSize = 1 << 24): RtmpMessage[] {
  return new ChunkReader({ maxMessageSize }).push(data);
}
function expectChunkError(fn: () => unknown, context: Record<string, unknown>): GatewayError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    const err = e as GatewayError;
    expect(err.stage).toBe('rtmp.chunk');
    expect(err.context).toMatchObject(context);
    expect(err.context).toHaveProperty('offset');
    expect(err.context).toHaveProperty('type');
    return err;
  }
  throw new Error('expected a GatewayError');
}

describe('golden chunk headers', () => {
  it('fmt 0, 1-byte basic header: connect-sized command on csid 3', () => {
    const w = new ChunkWriter();
    const out = w.encode({ csid: 3, type: 20, streamId: 0, timestamp: 0, payload: hex('0102030405') });
    //                      fmt0|csid3  ts      length  type  stream id (LE)
    expect(toHex(out)).toBe('03' + '000000' + '000005' + '14' + '00000000' + '0102030405');
    expect(plain(readAll(out))).toEqual([{ csid: 3, type: 20, streamId: 0, timestamp: 0, payload: '0102030405' }]);
  });

  it('message stream id is little-endian; 2- and 3-byte basic headers', () => {
    const w = new ChunkWriter();
    expect(toHex(w.encode({ csid: 64, type: 9, streamId: 1, timestamp: 0x123456, payload: hex('aa') }))).toBe(
      '00' + '00' + '123456' + '000001' + '09' + '01000000' + 'aa',
    );
    expect(toHex(w.encode({ csid: 319, type: 9, streamId: 0x01020304, timestamp: 1, payload: hex('bb') }))).toBe(
      '00' + 'ff' + '000001' + '000001' + '09' + '04030201' + 'bb',
    );
    expect(toHex(w.encode({ csid: 65599, type: 8, streamId: 0, timestamp: 2, payload: hex('cc') }))).toBe(
      '01' + 'ffff' + '000002' + '000001' + '08' + '00000000' + 'cc',
    );
    expect(toHex(w.encode({ csid: 320, type: 8, streamId: 0, timestamp: 2, payload: hex('dd') }))).toBe(
      '01' + '0001' + '000002' + '000001' + '08' + '00000000' + 'dd',
    );
    const msgs = readAll(
      hex(
        '00 00 123456 000001 09 01000000 aa' +
          '00 ff 000001 000001 09 04030201 bb' +
          '01 ffff 000002 000001 08 00000000 cc' +
          '01 0001 000002 000001 08 00000000 dd',
      ),
    );
    expect(msgs.map((m) => [m.csid, m.streamId, m.timestamp])).toEqual([
      [64, 1, 0x123456],
      [319, 0x01020304, 1],
      [65599, 0, 2],
      [320, 0, 2],
    ]);
  });

  it('extended timestamp, repeated on fmt 3 continuation chunks', () => {
    const w = new ChunkWriter();
    w.chunkSize = 4;
    const out = w.encode({ csid: 4, type: 9, streamId: 1, timestamp: 0x01000000, payload: hex('000102030405') });
    expect(toHex(out)).toBe('04 ffffff 000006 09 01000000 01000000 00010203 c4 01000000 0405'.replace(/ /g, ''));
    const r = new ChunkReader({ maxMessageSize: 100 });
    r.push(hex('02 000000 000004 01 00000000 00000004')); // Set Chunk Size 4
    expect(plain(r.push(out))).toEqual([{ csid: 4, type: 9, streamId: 1, timestamp: 0x01000000, payload: '000102030405' }]);
  });

  it('writer uses fmt 1 for the next message of the same stream on a chunk stream', () => {
    const w = new ChunkWriter();
    w.encode({ csid: 6, type: 9, streamId: 1, timestamp: 1000, payload: hex('01') });
    expect(toHex(w.encode({ csid: 6, type: 8, streamId: 1, timestamp: 1040, payload: hex('0203') }))).toBe('46' + '000028' + '000002' + '08' + '0203');
    // Timestamp going back: absolute again.
    expect(toHex(w.encode({ csid: 6, type: 8, streamId: 1, timestamp: 10, payload: hex('04') }))).toBe('06' + '00000a' + '000001' + '08' + '01000000' + '04');
    // Different message stream: fmt 0.
    expect(w.encode({ csid: 6, type: 8, streamId: 2, timestamp: 20, payload: hex('04') })[0]).toBe(0x06);
  });
});

describe('ChunkReader formats (spec §5.3.2 examples)', () => {
  it('example 1: fmt 0, fmt 2, then fmt 3 new messages repeat the delta', () => {
    const p = (s: number) => toHex(bytes(32, s));
    const data = concat(
      hex('03 0003e8 000020 08 39300000'), bytes(32, 1), // fmt 0: ts 1000, len 32, audio, stream 12345
      hex('83 000014'), bytes(32, 2), //                     fmt 2: delta 20
      hex('c3'), bytes(32, 3), //                            fmt 3: delta 20 again
      hex('c3'), bytes(32, 4),
    );
    expect(plain(readAll(data))).toEqual([
      { csid: 3, type: 8, streamId: 12345, timestamp: 1000, payload: p(1) },
      { csid: 3, type: 8, streamId: 12345, timestamp: 1020, payload: p(2) },
      { csid: 3, type: 8, streamId: 12345, timestamp: 1040, payload: p(3) },
      { csid: 3, type: 8, streamId: 12345, timestamp: 1060, payload: p(4) },
    ]);
  });

  it('example 2: a 307-byte message in chunks of 128 (fmt 0 + two fmt 3)', () => {
    const payload = bytes(307);
    const data = concat(
      hex('04 0003e8 000133 09 01000000'), payload.subarray(0, 128),
      hex('c4'), payload.subarray(128, 256),
      hex('c4'), payload.subarray(256),
    );
    const msgs = readAll(data);
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.timestamp).toBe(1000);
    expect(toHex(msgs[0]!.payload)).toBe(toHex(payload));
  });

  it('fmt 1 changes length and type, keeps the stream id', () => {
    const data = concat(hex('05 000064 000001 12 01000000 aa'), hex('45 00000a 000002 14 bbcc'));
    expect(plain(readAll(data))).toEqual([
      { csid: 5, type: 18, streamId: 1, timestamp: 100, payload: 'aa' },
      { csid: 5, type: 20, streamId: 1, timestamp: 110, payload: 'bbcc' },
    ]);
  });

  it('fmt 3 new message right after fmt 0 repeats that header\'s timestamp field as the delta (ffmpeg, SRS)', () => {
    const data = concat(hex('06 000028 000001 09 01000000 aa'), hex('c6 bb'));
    expect(readAll(data).map((m) => m.timestamp)).toEqual([40, 80]);
  });

  it('extended timestamps: fmt 0, fmt 1 delta, and a fmt 3 new message that carries one', () => {
    const data = concat(
      hex('07 ffffff 000001 09 01000000 fffffff0 aa'), //  abs 0xFFFFFFF0
      hex('47 ffffff 000001 09 01000000 bb'), //           fmt 1 extended delta 0x01000000 -> wraps mod 2^32
      hex('c7 01000000 cc'), //                            fmt 3 new message: extended field present (previous header had one)
    );
    const msgs = readAll(data);
    expect(msgs.map((m) => m.timestamp)).toEqual([0xfffffff0, (0xfffffff0 + 0x01000000) >>> 0, (0xfffffff0 + 0x02000000) >>> 0]);
    expect(msgs.map((m) => toHex(m.payload))).toEqual(['aa', 'bb', 'cc']);
  });

  it('a zero-length message is returned', () => {
    expect(plain(readAll(hex('03 000005 000000 14 00000000 03 000006 000001 14 00000000 ff')))).toEqual([
      { csid: 3, type: 20, streamId: 0, timestamp: 5, payload: '' },
      { csid: 3, type: 20, streamId: 0, timestamp: 6, payload: 'ff' },
    ]);
  });

  it('interleaves two chunk streams', () => {
    const a = bytes(300, 7);
    const b = bytes(200, 9);
    const data = concat(
      hex('04 000000 00012c 09 01000000'), a.subarray(0, 128),
      hex('06 000000 0000c8 08 01000000'), b.subarray(0, 128),
      hex('c4'), a.subarray(128, 256),
      hex('c6'), b.subarray(128),
      hex('c4'), a.subarray(256),
    );
    expect(plain(readAll(data))).toEqual([
      { csid: 6, type: 8, streamId: 1, timestamp: 0, payload: toHex(b) },
      { csid: 4, type: 9, streamId: 1, timestamp: 0, payload: toHex(a) },
    ]);
  });

  it('payload of a single-chunk message is a view of the pushed buffer; multi-chunk ones are copies', () => {
    const data = hex('03 000000 000003 14 00000000 010203');
    const [m] = new ChunkReader({ maxMessageSize: 100 }).push(data);
    expect(m!.payload.buffer).toBe(data.buffer);
    const big = concat(hex('04 000000 000082 09 01000000'), bytes(128), hex('c4'), bytes(2));
    const [n] = new ChunkReader({ maxMessageSize: 1000 }).push(big);
    expect(n!.payload.buffer).not.toBe(big.buffer);
    expect(n!.payload.byteLength).toBe(130);
    expect(n!.payload.buffer.byteLength).toBe(130); // one allocation sized from the header
  });

  it('counts bytes received', () => {
    const r = new ChunkReader({ maxMessageSize: 100 });
    r.push(hex('03 000000'));
    r.push(hex('000001 14 00000000 01'));
    expect(r.bytesReceived).toBe(13);
  });
});

describe('ChunkReader protocol control', () => {
  it('applies Set Chunk Size mid-stream and still returns the message', () => {
    const payload = bytes(300);
    const data = concat(
      hex('02 000000 000004 01 00000000 00001000'), // Set Chunk Size 4096
      hex('04 000000 00012c 09 01000000'), payload,
    );
    const r = new ChunkReader({ maxMessageSize: 1000 });
    const msgs = r.push(data);
    expect(msgs.map((m) => m.type)).toEqual([1, 9]);
    expect(r.chunkSize).toBe(4096);
    expect(toHex(msgs[1]!.payload)).toBe(toHex(payload));
  });

  it('clamps chunk sizes above 0xFFFFFF and rejects 0 and the top bit', () => {
    const r = new ChunkReader({ maxMessageSize: 100 });
    r.push(hex('02 000000 000004 01 00000000 7fffffff'));
    expect(r.chunkSize).toBe(0xffffff);
    expectChunkError(() => readAll(hex('02 000000 000004 01 00000000 00000000')), { csid: 2, type: 1 });
    expectChunkError(() => readAll(hex('02 000000 000004 01 00000000 80000000')), { csid: 2, type: 1 });
    expectChunkError(() => readAll(hex('02 000000 000002 01 00000000 0001')), { type: 1 });
  });

  it('Abort discards the partial message of a chunk stream', () => {
    const data = concat(
      hex('04 000000 000100 09 01000000'), bytes(128), // first half of a 256-byte message
      hex('02 000000 000004 02 00000000 00000004'), //     Abort csid 4
      hex('04 000010 000002 09 01000000 abcd'), //          new message on csid 4
    );
    expect(plain(readAll(data))).toEqual([
      { csid: 2, type: 2, streamId: 0, timestamp: 0, payload: '00000004' },
      { csid: 4, type: 9, streamId: 1, timestamp: 16, payload: 'abcd' },
    ]);
  });
});

describe('ChunkReader errors', () => {
  it('message longer than maxMessageSize', () => {
    const err = expectChunkError(() => readAll(hex('05 000000 0f0000 09 01000000'), 1000), { csid: 5, type: 9, offset: 0 });
    expect(err.message).toMatch(/exceeds limit/);
  });
  it('fmt 1/2/3 on a chunk stream never seen', () => {
    for (const first of ['45', '85', 'c5']) {
      expectChunkError(() => readAll(hex(first + '000000 000001 09 00')), { csid: 5, offset: 0 });
    }
  });
  it('offset points at the offending chunk', () => {
    expectChunkError(() => readAll(hex('03 000000 000001 14 00000000 01  46 000000 000001 09')), { csid: 6, offset: 13 });
  });
  it('too many chunk streams', () => {
    const r = new ChunkReader({ maxMessageSize: 100, maxChunkStreams: 2 });
    r.push(hex('03 000000 000001 14 00000000 01 04 000000 000001 14 00000000 01'));
    expectChunkError(() => r.push(hex('05 000000 000001 14 00000000 01')), { csid: 5 });
  });
  it('bounds bytes held in partial messages', () => {
    const r = new ChunkReader({ maxMessageSize: 1000, maxBufferedBytes: 1500 });
    r.push(concat(hex('04 000000 0003e8 09 01000000'), bytes(128))); // one full chunk of a 1000-byte message
    expectChunkError(() => r.push(concat(hex('06 000000 0003e8 09 01000000'), bytes(10))), { csid: 6, type: 9 });
  });
});

/** A stream mixing every header form, extended timestamps, a chunk size change and two chunk streams. */
function mixedStream(): Uint8Array {
  const w = new ChunkWriter();
  const parts: Uint8Array[] = [
    w.encode({ csid: 3, type: 20, streamId: 0, timestamp: 0, payload: bytes(200, 1) }),
    hex('03 000000 000004 05 00000000 004c4b40'),
    hex('83 000014 00000001'), // fmt 2: delta 20, same length (4) and type
    hex('c3 00000002'), //         fmt 3: a new message repeating delta 20
  ];
  parts.push(w.encode({ csid: 4, type: 9, streamId: 1, timestamp: 0xfffffe, payload: bytes(300, 2) }));
  parts.push(w.encode({ csid: 4, type: 9, streamId: 1, timestamp: 0x1fffffe, payload: bytes(130, 3) }));
  parts.push(hex('02 000000 000004 01 00000000 00000040')); // chunk size 64
  const w2 = new ChunkWriter();
  w2.chunkSize = 64;
  parts.push(w2.encode({ csid: 400, type: 8, streamId: 1, timestamp: 5, payload: bytes(150, 4) }));
  parts.push(w2.encode({ csid: 400, type: 8, streamId: 1, timestamp: 0x2000000, payload: bytes(65, 5) }));
  parts.push(hex('c4 01000000'), bytes(64, 6)); // fmt 3 new message on csid 4 (extended), 130 bytes in chunks of 64
  parts.push(hex('c4 01000000'), bytes(64, 7), hex('c4 01000000'), bytes(2, 8));
  return concat(...parts);
}

describe('ChunkReader split invariance', () => {
  const data = mixedStream();
  const expected = plain(readAll(data));

  it('the mixed stream parses as intended', () => {
    expect(expected.map((m) => [m.csid, m.type, m.timestamp, m.payload.length / 2])).toEqual([
      [3, 20, 0, 200],
      [3, 5, 0, 4],
      [3, 5, 20, 4],
      [3, 5, 40, 4],
      [4, 9, 0xfffffe, 300],
      [4, 9, 0x1fffffe, 130],
      [2, 1, 0, 4],
      [400, 8, 5, 150],
      [400, 8, 0x2000000, 65],
      [4, 9, 0x2fffffe, 130],
    ]);
  });

  it('gives identical messages when split at every byte boundary', () => {
    for (let k = 0; k <= data.length; k++) {
      const r = new ChunkReader({ maxMessageSize: 1 << 20 });
      const got = [...r.push(data.subarray(0, k)), ...r.push(data.subarray(k))];
      expect(plain(got)).toEqual(expected);
    }
  });

  it('gives identical messages one byte at a time', () => {
    const r = new ChunkReader({ maxMessageSize: 1 << 20 });
    const got: RtmpMessage[] = [];
    for (let i = 0; i < data.length; i++) got.push(...r.push(data.subarray(i, i + 1)));
    expect(plain(got)).toEqual(expected);
    expect(r.bytesReceived).toBe(data.length);
  });
});

const messageArb = fc.record({
  csid: fc.oneof(fc.integer({ min: 2, max: 63 }), fc.integer({ min: 64, max: 319 }), fc.integer({ min: 320, max: 65599 })),
  type: fc.constantFrom(8, 9, 18, 20),
  streamId: fc.constantFrom(0, 1, 0xffffffff),
  timestamp: fc.oneof(fc.integer({ min: 0, max: 100000 }), fc.integer({ min: 0xfffff0, max: 0x1000010 }), fc.integer({ min: 0, max: 0xffffffff })),
  payload: fc.uint8Array({ maxLength: 600 }),
});

describe('ChunkWriter -> ChunkReader round trip', () => {
  for (const chunkSize of [1, 128, 4096, 0xffffff]) {
    it(`chunk size ${chunkSize}`, () => {
      fc.assert(
        fc.property(fc.array(messageArb, { minLength: 1, maxLength: 12 }), fc.nat(), (messages, splitSeed) => {
          const w = new ChunkWriter();
          const setSize: OutgoingMessage = { csid: 2, type: 1, streamId: 0, timestamp: 0, payload: hex(chunkSize.toString(16).padStart(8, '0')) };
          const first = w.encode(setSize);
          w.chunkSize = chunkSize;
          const rest = w.encodeMany(messages);
          const data = concat(first, rest);
          const r = new ChunkReader({ maxMessageSize: 1 << 20 });
          const k = splitSeed % (data.length + 1);
          const got = [...r.push(data.subarray(0, k)), ...r.push(data.subarray(k))];
          expect(plain(got)).toEqual(plain([{ ...setSize, payload: setSize.payload }, ...messages]));
        }),
        { numRuns: Math.max(20, Math.floor(FUZZ_RUNS / 3)) },
      );
    });
  }

  it('rejects out-of-range outgoing values with GatewayError', () => {
    const w = new ChunkWriter();
    expect(() => w.encode({ csid: 1, type: 9, streamId: 0, timestamp: 0, payload: new Uint8Array(0) })).toThrow(GatewayError);
    expect(() => w.encode({ csid: 65600, type: 9, streamId: 0, timestamp: 0, payload: new Uint8Array(0) })).toThrow(GatewayError);
    expect(() => w.encode({ csid: 3, type: 9, streamId: 0, timestamp: 2 ** 32, payload: new Uint8Array(0) })).toThrow(GatewayError);
    expect(() => (w.chunkSize = 0)).toThrow(GatewayError);
    expect(() => (w.chunkSize = 0x1000000)).toThrow(GatewayError);
  });
});

describe('ChunkReader fuzz', () => {
  function feed(data: Uint8Array, cuts: number[]): void {
    const r = new ChunkReader({ maxMessageSize: 1 << 16, maxChunkStreams: 16 });
    const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
    let prev = 0;
    try {
      for (const p of [...points, data.length]) {
        r.push(data.subarray(prev, p));
        prev = p;
      }
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
    }
  }

  it('random input only ever throws GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 5 }), (data, cuts) => feed(data, cuts)),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('mutated valid streams only ever throw GatewayError', () => {
    const base = mixedStream();
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (mutations, cuts) => {
          const data = base.slice();
          for (const m of mutations) data[m.at % data.length] = m.value;
          feed(data, cuts);
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
