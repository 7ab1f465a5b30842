import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import {
  AMF0_CLASS_NAME,
  decodeAmf0,
  ecmaArray,
  encodeAmf0,
  isEcmaArray,
  typedObject,
  type Amf0Object,
  type Amf0Value,
} from '../../src/flv/amf0.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);

function hex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}
function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function amfError(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).stage).toBe('rtmp.amf');
    return e as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

const CONNECT_HEX =
  '02 0007 636f6e6e656374' + //                          "connect"
  '00 3ff0000000000000' + //                             1 (transaction id)
  '03' + //                                              object
  '0003 617070 02 0004 6c697665' + //                    app: "live"
  '0004 74797065 02 000a 6e6f6e70726976617465' + //      type: "nonprivate"
  '0008 666c617368566572 02 0008 464d4c452f332e30' + //  flashVer: "FMLE/3.0"
  '0005 746355726c 02 0015 72746d703a2f2f6c6f63616c686f73742f6c697665' + // tcUrl
  '000009'; //                                           object end

describe('AMF0 golden bytes', () => {
  const connect: Amf0Value[] = ['connect', 1, { app: 'live', type: 'nonprivate', flashVer: 'FMLE/3.0', tcUrl: 'rtmp://localhost/live' }];

  it('encodes a connect command', () => {
    expect(toHex(encodeAmf0(...connect))).toBe(CONNECT_HEX.replace(/\s+/g, ''));
  });

  it('decodes a connect command', () => {
    expect(decodeAmf0(hex(CONNECT_HEX))).toEqual(connect);
  });

  it('decodes an ffmpeg-style onMetaData ECMA array and re-encodes it identically', () => {
    const bytes = hex(
      '02 000a 6f6e4d65746144617461' + // "onMetaData"
        '08 00000002' + //               ECMA array, count 2
        '0008 6475726174696f6e 00 0000000000000000' + // duration: 0
        '0005 7769647468 00 4094000000000000' + //       width: 1280
        '000009',
    );
    const [name, meta] = decodeAmf0(bytes);
    expect(name).toBe('onMetaData');
    expect(isEcmaArray(meta!)).toBe(true);
    expect(meta).toEqual({ duration: 0, width: 1280 });
    expect(Object.entries(meta as Amf0Object)).toEqual([
      ['duration', 0],
      ['width', 1280],
    ]);
    expect(toHex(encodeAmf0(name!, meta!))).toBe(toHex(bytes));
  });

  it('boolean, null, undefined, date, strict array', () => {
    expect(toHex(encodeAmf0(true, false, null, undefined))).toBe('0101' + '0100' + '05' + '06');
    expect(toHex(encodeAmf0(new Date(0)))).toBe('0b' + '0000000000000000' + '0000');
    expect(toHex(encodeAmf0([1, 'a']))).toBe('0a 00000002 00 3ff0000000000000 02 0001 61'.replace(/ /g, ''));
  });

  it('typed object carries its class name', () => {
    const v = typedObject('Point', { x: 1 });
    const bytes = encodeAmf0(v);
    expect(toHex(bytes)).toBe('10 0005 506f696e74 0001 78 00 3ff0000000000000 000009'.replace(/ /g, ''));
    const [back] = decodeAmf0(bytes);
    expect((back as Amf0Object)[AMF0_CLASS_NAME]).toBe('Point');
    expect(back).toEqual({ x: 1 });
  });

  it('long string for more than 65535 UTF-8 bytes, and XML documents decode to strings', () => {
    const long = 'é'.repeat(40000); // 80000 bytes
    const bytes = encodeAmf0(long);
    expect(bytes[0]).toBe(0x0c);
    expect(toHex(bytes.subarray(1, 5))).toBe((80000).toString(16).padStart(8, '0'));
    expect(decodeAmf0(bytes)).toEqual([long]);
    expect(encodeAmf0('x'.repeat(65535))[0]).toBe(0x02);
    expect(encodeAmf0('x'.repeat(65536))[0]).toBe(0x0c);
    expect(decodeAmf0(hex('0f 00000003 3c612f'))).toEqual(['<a/']);
  });

  it('references resolve to the decoded object', () => {
    // [ {a:1}, ref 1 ] -> strict array is reference 0, the object reference 1
    const bytes = hex('0a 00000002 03 0001 61 00 3ff0000000000000 000009 07 0001');
    const [arr] = decodeAmf0(bytes) as [Amf0Value[]];
    expect(arr[0]).toEqual({ a: 1 });
    expect(arr[1]).toBe(arr[0]);
  });
});

describe('AMF0 decoder rejects bad input with GatewayError', () => {
  it('AMF3 switch marker', () => {
    const err = amfError(() => decodeAmf0(hex('05 11 0a')));
    expect(err.message).toMatch(/AMF3 not supported/);
    expect(err.context['offset']).toBe(1);
  });

  it('truncated input at every prefix either decodes whole values or throws GatewayError with offset', () => {
    const full = hex(CONNECT_HEX);
    for (let n = 0; n < full.length; n++) {
      try {
        decodeAmf0(full.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
        expect(typeof (e as GatewayError).context['offset']).toBe('number');
      }
    }
    expect(amfError(() => decodeAmf0(full.subarray(0, 20))).context['offset']).toBeLessThanOrEqual(20);
  });

  it('unknown, cyclic and dangling references', () => {
    amfError(() => decodeAmf0(hex('07 0000')));
    amfError(() => decodeAmf0(hex('03 0001 61 07 0000 000009'))); // object referring to itself
  });

  it('unsupported markers', () => {
    for (const m of ['04', '0d', '0e', '09', '12', 'ff']) amfError(() => decodeAmf0(hex(m)));
  });

  it('depth limit (default 64), enforced without exhausting the stack even with a huge limit', () => {
    const nested = (depth: number) => {
      const bytes = new Uint8Array(depth * 5 + 5);
      for (let i = 0; i < depth; i++) bytes.set([0x0a, 0, 0, 0, 1], i * 5);
      bytes.set([0x0a, 0, 0, 0, 0], depth * 5);
      return bytes;
    };
    expect(decodeAmf0(nested(63))).toHaveLength(1);
    amfError(() => decodeAmf0(nested(64)));
    expect(decodeAmf0(nested(100), { maxDepth: 200 })).toHaveLength(1);
    amfError(() => decodeAmf0(nested(100_000), { maxDepth: 1e9 }));
  });

  it('item limit and lying strict array counts', () => {
    amfError(() => decodeAmf0(encodeAmf0([1, 2, 3, 4, 5]), { maxItems: 3 }));
    amfError(() => decodeAmf0(hex('0a ffffffff 05')));
  });

  it('a "__proto__" key stays an own data property', () => {
    const [obj] = decodeAmf0(hex('03 0009 5f5f70726f746f5f5f 01 01 000009')) as [Amf0Object];
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.keys(obj)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(obj, '__proto__')?.value).toBe(true);
  });

  it('encoder rejects cycles with GatewayError', () => {
    const a: Amf0Object = {};
    a['self'] = a;
    amfError(() => encodeAmf0(a));
  });
});

const valueArb: fc.Arbitrary<Amf0Value> = fc.letrec<{ value: Amf0Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.double(),
    fc.boolean(),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }).map((d) => ({ ...d }) as Amf0Object),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }).map((d) => ecmaArray(d)),
    fc.tuple(fc.string({ maxLength: 8 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 3 })).map(([c, d]) =>
      typedObject(c, d),
    ),
  ),
})).value;

/** Structural form that keeps the ECMA array / typed object markers visible to toEqual. */
function tagged(v: Amf0Value): unknown {
  if (Array.isArray(v)) return v.map(tagged);
  if (v instanceof Date || v === null || typeof v !== 'object') return v;
  return {
    kind: isEcmaArray(v) ? 'ecma' : v[AMF0_CLASS_NAME] !== undefined ? `typed:${v[AMF0_CLASS_NAME]}` : 'object',
    entries: Object.entries(v).map(([k, x]) => [k, tagged(x)]),
  };
}

describe('AMF0 properties', () => {
  it('decode(encode(values)) round-trips every type, markers included', () => {
    fc.assert(
      fc.property(fc.array(valueArb, { maxLength: 5 }), (values) => {
        const bytes = encodeAmf0(...values);
        const back = decodeAmf0(bytes);
        expect(back.map(tagged)).toEqual(values.map(tagged));
        expect(toHex(encodeAmf0(...back))).toBe(toHex(bytes));
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('random input only ever throws GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeAmf0(bytes, { maxDepth: 16, maxItems: 1000 });
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('mutated valid encodings only ever throw GatewayError', () => {
    fc.assert(
      fc.property(
        fc.array(valueArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        (values, mutations) => {
          const bytes = encodeAmf0(...values).slice();
          if (bytes.length === 0) return;
          for (const [at, v] of mutations) bytes[at % bytes.length] = v;
          try {
            decodeAmf0(bytes, { maxDepth: 16, maxItems: 1000 });
          } catch (e) {
            if (!(e instanceof GatewayError)) throw e;
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
