/**
 * AMF0 (Adobe "Action Message Format -- AMF 0", 2007), the encoding of RTMP commands (type 20)
 * and data messages (type 18, e.g. onMetaData), and of FLV script tags: it lives with FLV, which
 * RTMP builds on (RTMP play and HTTP-FLV send the same onMetaData body).
 *
 * Value model:
 *   number (0x00) | boolean (0x01) | string (0x02 string, 0x0C long string, 0x0F XML document)
 *   | null (0x05) | undefined (0x06) | Date (0x0B) | Amf0Value[] (0x0A strict array)
 *   | Amf0Object (0x03 object; 0x08 ECMA array and 0x10 typed object carry a symbol marker)
 *
 * ECMA arrays and typed objects are plain objects (so `Object.entries`, `obj.key` work the same
 * for all three, e.g. ffmpeg sends onMetaData as an ECMA array) tagged with a symbol-keyed
 * property that encoding honours, so they round-trip. Decoding an XML document yields a string
 * (it encodes back as a string). References (0x07) resolve to the already decoded object
 * (the same instance); a reference to an object still being decoded (a cycle) is rejected.
 * Movieclip, recordset and unsupported markers are rejected; AMF3 (avmplus, 0x11) is rejected.
 */
import { GatewayError } from '../core/errors.js';

/** Marks an Amf0Object that is (de)serialised as an ECMA array (0x08). */
export const AMF0_ECMA_ARRAY: unique symbol = Symbol('amf0.ecmaArray');
/** Class name of an Amf0Object that is (de)serialised as a typed object (0x10). */
export const AMF0_CLASS_NAME: unique symbol = Symbol('amf0.className');

export interface Amf0Object {
  [key: string]: Amf0Value;
  [AMF0_ECMA_ARRAY]?: true;
  [AMF0_CLASS_NAME]?: string;
}

export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Value[] | Amf0Object;

export const Amf0Marker = {
  Number: 0x00,
  Boolean: 0x01,
  String: 0x02,
  Object: 0x03,
  MovieClip: 0x04,
  Null: 0x05,
  Undefined: 0x06,
  Reference: 0x07,
  EcmaArray: 0x08,
  ObjectEnd: 0x09,
  StrictArray: 0x0a,
  Date: 0x0b,
  LongString: 0x0c,
  Unsupported: 0x0d,
  RecordSet: 0x0e,
  XmlDocument: 0x0f,
  TypedObject: 0x10,
  AvmPlus: 0x11,
} as const;

/** Builds an ECMA array value (encodes with marker 0x08). */
export function ecmaArray(entries: Record<string, Amf0Value>): Amf0Object {
  const obj = plainObject();
  for (const [k, v] of Object.entries(entries)) setProperty(obj, k, v);
  return mark(obj, AMF0_ECMA_ARRAY, true);
}

/** Builds a typed object value (encodes with marker 0x10 and the class name). */
export function typedObject(className: string, entries: Record<string, Amf0Value>): Amf0Object {
  const obj = plainObject();
  for (const [k, v] of Object.entries(entries)) setProperty(obj, k, v);
  return mark(obj, AMF0_CLASS_NAME, className);
}

export function isEcmaArray(v: Amf0Value): v is Amf0Object {
  return isAmf0Object(v) && v[AMF0_ECMA_ARRAY] === true;
}

export function isAmf0Object(v: Amf0Value): v is Amf0Object {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function plainObject(): Amf0Object {
  return {};
}

/**
 * Markers are non-enumerable: metadata for the encoder, invisible to spreads, Object.entries
 * and deep-equality checks, so an ECMA array compares equal to the plain object it holds.
 */
function mark<K extends typeof AMF0_ECMA_ARRAY | typeof AMF0_CLASS_NAME>(obj: Amf0Object, key: K, value: Amf0Object[K]): Amf0Object {
  Object.defineProperty(obj, key, { value, enumerable: false, writable: true, configurable: true });
  return obj;
}

/** defineProperty, not assignment: a key such as "__proto__" from the wire must stay data. */
function setProperty(obj: Amf0Object, key: string, value: Amf0Value): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export interface Amf0Limits {
  /** Nesting depth of objects/arrays (default 64; capped at 512 so recursion cannot exhaust the stack). */
  readonly maxDepth?: number;
  /** Total values decoded, nested ones included (default 65536). */
  readonly maxItems?: number;
}

const DEPTH_CAP = 512;
const utf8 = new TextDecoder('utf-8');

class Amf0Decoder {
  private pos = 0;
  private items = 0;
  /** Reference table (AMF0 §2.9): objects, ECMA arrays, strict arrays, typed objects in order. */
  private readonly refs: (Amf0Value | undefined)[] = [];
  private readonly complete: boolean[] = [];
  private readonly view: DataView;

  constructor(
    private readonly buf: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxItems: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  decodeAll(): Amf0Value[] {
    const values: Amf0Value[] = [];
    while (this.pos < this.buf.byteLength) values.push(this.value(0));
    return values;
  }

  private fail(message: string, offset = this.pos): never {
    throw new GatewayError('rtmp.amf', message, { offset });
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.byteLength) {
      this.fail(`truncated: need ${n} bytes, ${this.buf.byteLength - this.pos} left`);
    }
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  private u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  private f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    return v;
  }
  private utf8(length: number): string {
    this.need(length);
    const s = utf8.decode(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return s;
  }

  private value(depth: number): Amf0Value {
    const at = this.pos;
    if (++this.items > this.maxItems) this.fail(`more than ${this.maxItems} values`, at);
    const marker = this.u8();
    switch (marker) {
      case Amf0Marker.Number:
        return this.f64();
      case Amf0Marker.Boolean:
        return this.u8() !== 0;
      case Amf0Marker.String:
        return this.utf8(this.u16());
      case Amf0Marker.LongString:
      case Amf0Marker.XmlDocument:
        return this.utf8(this.u32());
      case Amf0Marker.Null:
        return null;
      case Amf0Marker.Undefined:
        return undefined;
      case Amf0Marker.Date: {
        const ms = this.f64();
        this.u16(); // time zone: "reserved, not supported, should be 0x0000" (§2.13)
        return new Date(ms);
      }
      case Amf0Marker.Object:
        return this.properties(depth, at, plainObject());
      case Amf0Marker.TypedObject: {
        const className = this.utf8(this.u16());
        return this.properties(depth, at, mark(plainObject(), AMF0_CLASS_NAME, className));
      }
      case Amf0Marker.EcmaArray: {
        // The associative count is only a hint (encoders get it wrong); read to the end marker.
        this.u32();
        return this.properties(depth, at, mark(plainObject(), AMF0_ECMA_ARRAY, true));
      }
      case Amf0Marker.StrictArray:
        return this.strictArray(depth, at);
      case Amf0Marker.Reference: {
        const index = this.u16();
        if (index >= this.refs.length) this.fail(`reference ${index} to an unknown object`, at);
        if (!this.complete[index]) this.fail(`reference ${index} to an object still being decoded (cycle)`, at);
        return this.refs[index];
      }
      case Amf0Marker.AvmPlus:
        return this.fail('AMF3 not supported', at);
      case Amf0Marker.ObjectEnd:
        return this.fail('object end marker outside an object', at);
      default:
        return this.fail(`unsupported AMF0 marker 0x${marker.toString(16).padStart(2, '0')}`, at);
    }
  }

  private enter(depth: number, at: number): number {
    if (depth + 1 > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`, at);
    return depth + 1;
  }

  private register(value: Amf0Value): number {
    this.refs.push(value);
    this.complete.push(false);
    return this.refs.length - 1;
  }

  /** Properties until the empty key + 0x09 end marker (AMF0 §2.5). */
  private properties(depth: number, at: number, obj: Amf0Object): Amf0Object {
    const inner = this.enter(depth, at);
    const ref = this.register(obj);
    for (;;) {
      const key = this.utf8(this.u16());
      if (key === '' && this.pos < this.buf.byteLength && this.buf[this.pos] === Amf0Marker.ObjectEnd) {
        this.pos++;
        break;
      }
      setProperty(obj, key, this.value(inner));
    }
    this.complete[ref] = true;
    return obj;
  }

  private strictArray(depth: number, at: number): Amf0Value[] {
    const inner = this.enter(depth, at);
    const count = this.u32();
    // Every value takes at least one byte: a count beyond the bytes left is a lie, not an allocation.
    if (count > this.buf.byteLength - this.pos) this.fail(`strict array count ${count} exceeds the bytes left`, at);
    const arr: Amf0Value[] = [];
    const ref = this.register(arr);
    for (let i = 0; i < count; i++) arr.push(this.value(inner));
    this.complete[ref] = true;
    return arr;
  }
}

/** Decodes every AMF0 value in `buf`. Throws GatewayError('rtmp.amf') with the offset on bad input. */
export function decodeAmf0(buf: Uint8Array, limits: Amf0Limits = {}): Amf0Value[] {
  const maxDepth = Math.min(limits.maxDepth ?? 64, DEPTH_CAP);
  const maxItems = limits.maxItems ?? 65536;
  return new Amf0Decoder(buf, maxDepth, maxItems).decodeAll();
}

/** UTF-8 byte length without encoding (lone surrogates become U+FFFD, 3 bytes, as TextEncoder does). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

const MAX_SHORT_STRING = 0xffff;
const textEncoder = new TextEncoder();

/** Encoder in two passes: size everything once, allocate once, write. */
class Amf0Encoder {
  private readonly ancestors = new Set<object>();

  size(v: Amf0Value): number {
    if (v === null || v === undefined) return 1;
    switch (typeof v) {
      case 'number':
        return 9;
      case 'boolean':
        return 2;
      case 'string': {
        const n = utf8Length(v);
        return n > MAX_SHORT_STRING ? 5 + n : 3 + n;
      }
    }
    if (v instanceof Date) return 11;
    this.enter(v);
    let n: number;
    if (Array.isArray(v)) {
      n = 5;
      for (const item of v) n += this.size(item);
    } else {
      const className = v[AMF0_CLASS_NAME];
      n = v[AMF0_ECMA_ARRAY] ? 5 : className !== undefined ? 1 + this.keySize(className) : 1;
      for (const [k, item] of Object.entries(v)) n += this.keySize(k) + this.size(item);
      n += 3; // empty key + object end marker
    }
    this.ancestors.delete(v);
    return n;
  }

  private enter(v: object): void {
    if (this.ancestors.has(v)) throw new GatewayError('rtmp.amf', 'cannot encode a cyclic value', {});
    this.ancestors.add(v);
  }

  private keySize(k: string): number {
    const n = utf8Length(k);
    if (n > MAX_SHORT_STRING) throw new GatewayError('rtmp.amf', `property name of ${n} bytes exceeds 65535`, {});
    return 2 + n;
  }

  constructor(
    private readonly out: Uint8Array,
    private readonly view: DataView,
  ) {}

  private pos = 0;

  write(v: Amf0Value): void {
    const { out, view } = this;
    if (v === null) {
      out[this.pos++] = Amf0Marker.Null;
      return;
    }
    if (v === undefined) {
      out[this.pos++] = Amf0Marker.Undefined;
      return;
    }
    switch (typeof v) {
      case 'number':
        out[this.pos++] = Amf0Marker.Number;
        view.setFloat64(this.pos, v);
        this.pos += 8;
        return;
      case 'boolean':
        out[this.pos++] = Amf0Marker.Boolean;
        out[this.pos++] = v ? 1 : 0;
        return;
      case 'string': {
        const n = utf8Length(v);
        if (n > MAX_SHORT_STRING) {
          out[this.pos++] = Amf0Marker.LongString;
          view.setUint32(this.pos, n);
          this.pos += 4;
        } else {
          out[this.pos++] = Amf0Marker.String;
          view.setUint16(this.pos, n);
          this.pos += 2;
        }
        this.pos += textEncoder.encodeInto(v, out.subarray(this.pos, this.pos + n)).written;
        return;
      }
    }
    if (v instanceof Date) {
      out[this.pos++] = Amf0Marker.Date;
      view.setFloat64(this.pos, v.getTime());
      view.setInt16(this.pos + 8, 0);
      this.pos += 10;
      return;
    }
    if (Array.isArray(v)) {
      out[this.pos++] = Amf0Marker.StrictArray;
      view.setUint32(this.pos, v.length);
      this.pos += 4;
      for (const item of v) this.write(item);
      return;
    }
    const entries = Object.entries(v);
    const className = v[AMF0_CLASS_NAME];
    if (v[AMF0_ECMA_ARRAY]) {
      out[this.pos++] = Amf0Marker.EcmaArray;
      view.setUint32(this.pos, entries.length);
      this.pos += 4;
    } else if (className !== undefined) {
      out[this.pos++] = Amf0Marker.TypedObject;
      this.writeKey(className);
    } else {
      out[this.pos++] = Amf0Marker.Object;
    }
    for (const [k, item] of entries) {
      this.writeKey(k);
      this.write(item);
    }
    out[this.pos++] = 0;
    out[this.pos++] = 0;
    out[this.pos++] = Amf0Marker.ObjectEnd;
  }

  private writeKey(k: string): void {
    const n = utf8Length(k);
    this.view.setUint16(this.pos, n);
    this.pos += 2;
    this.pos += textEncoder.encodeInto(k, this.out.subarray(this.pos, this.pos + n)).written;
  }

  static encode(values: Amf0Value[]): Uint8Array {
    const sizer = new Amf0Encoder(new Uint8Array(0), new DataView(new ArrayBuffer(0)));
    let total = 0;
    for (const v of values) total += sizer.size(v);
    const out = new Uint8Array(total);
    const encoder = new Amf0Encoder(out, new DataView(out.buffer));
    for (const v of values) encoder.write(v);
    return out;
  }
}

/**
 * Encodes values back to back (a command is `encodeAmf0(name, txn, obj, ...)`).
 * Strings over 65535 UTF-8 bytes become long strings. Shared sub-objects are written out in
 * full each time (no references); a cyclic value throws GatewayError('rtmp.amf').
 */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  return Amf0Encoder.encode(values);
}
