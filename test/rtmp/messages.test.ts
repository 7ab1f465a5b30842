import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import {
  MessageType,
  UserControlEvent,
  abortPayload,
  ackPayload,
  parseAggregate,
  parseUserControl,
  pingRequestPayload,
  pingResponsePayload,
  setChunkSizePayload,
  setPeerBandwidthPayload,
  userControlPayload,
  windowAckSizePayload,
} from '../../src/rtmp/messages.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('constants', () => {
  it('match the spec numbering', () => {
    expect(MessageType).toMatchObject({ SetChunkSize: 1, Abort: 2, Acknowledgement: 3, UserControl: 4, WindowAckSize: 5, SetPeerBandwidth: 6, Audio: 8, Video: 9, DataAMF3: 15, SharedObjectAMF3: 16, CommandAMF3: 17, DataAMF0: 18, SharedObjectAMF0: 19, CommandAMF0: 20, Aggregate: 22 });
    expect(UserControlEvent).toMatchObject({ StreamBegin: 0, StreamEOF: 1, StreamDry: 2, SetBufferLength: 3, StreamIsRecorded: 4, PingRequest: 6, PingResponse: 7 });
  });
});

describe('protocol control payloads (golden)', () => {
  it('builds them big-endian', () => {
    expect(toHex(setChunkSizePayload(4096))).toBe('00001000');
    expect(toHex(abortPayload(4))).toBe('00000004');
    expect(toHex(ackPayload(0x1_0000_0005))).toBe('00000005'); // wraps at 2^32
    expect(toHex(windowAckSizePayload(5_000_000))).toBe('004c4b40');
    expect(toHex(setPeerBandwidthPayload(5_000_000, 2))).toBe('004c4b4002');
    expect(toHex(userControlPayload(UserControlEvent.StreamBegin, 1))).toBe('000000000001');
    expect(toHex(userControlPayload(UserControlEvent.SetBufferLength, 1, 3000))).toBe('0003' + '00000001' + '00000bb8');
    expect(toHex(pingRequestPayload(0xdeadbeef))).toBe('0006deadbeef');
    expect(toHex(pingResponsePayload(0xdeadbeef))).toBe('0007deadbeef');
  });

  it('rejects out-of-range values', () => {
    expect(() => setChunkSizePayload(0)).toThrow(GatewayError);
    expect(() => setChunkSizePayload(0x1000000)).toThrow(GatewayError);
    expect(() => setPeerBandwidthPayload(1, 3)).toThrow(GatewayError);
    expect(() => windowAckSizePayload(-1)).toThrow(GatewayError);
    expect(() => userControlPayload(0x10000, 0)).toThrow(GatewayError);
  });
});

describe('parseUserControl', () => {
  it('parses stream events, pings and SetBufferLength', () => {
    expect(parseUserControl(hex('000000000001'))).toEqual({ type: 0, value: 1 });
    expect(parseUserControl(hex('0006deadbeef'))).toEqual({ type: 6, value: 0xdeadbeef });
    expect(parseUserControl(hex('0003 00000001 00000bb8'))).toEqual({ type: 3, value: 1, bufferLength: 3000 });
  });
  it('returns undefined for payloads too short for their event', () => {
    expect(parseUserControl(hex('0002'))).toBeUndefined();
    expect(parseUserControl(hex('0003 00000001'))).toBeUndefined();
  });
  it('round-trips with userControlPayload', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2, 4, 6, 7), fc.integer({ min: 0, max: 0xffffffff }), (event, value) => {
        expect(parseUserControl(userControlPayload(event, value))).toEqual({ type: event, value });
      }),
      { numRuns: 100 },
    );
  });
});

/** One aggregate sub-message: FLV tag header + data + back pointer. */
function sub(type: number, ts: number, data: string, streamId = 0): string {
  const size = data.length / 2;
  const tsLow = (ts & 0xffffff).toString(16).padStart(6, '0');
  const tsExt = ((ts >>> 24) & 0xff).toString(16).padStart(2, '0');
  return (
    type.toString(16).padStart(2, '0') +
    size.toString(16).padStart(6, '0') +
    tsLow +
    tsExt +
    streamId.toString(16).padStart(6, '0') +
    data +
    (11 + size).toString(16).padStart(8, '0')
  );
}

describe('parseAggregate', () => {
  it('splits sub-messages and rebases their timestamps onto the aggregate timestamp', () => {
    const payload = hex(sub(9, 1000, 'aabb') + sub(8, 1020, 'cc') + sub(9, 1040, ''));
    const subs = parseAggregate(payload, 5000);
    expect(subs.map((s) => ({ ...s, payload: toHex(s.payload) }))).toEqual([
      { type: 9, streamId: 0, timestamp: 5000, payload: 'aabb' },
      { type: 8, streamId: 0, timestamp: 5020, payload: 'cc' },
      { type: 9, streamId: 0, timestamp: 5040, payload: '' },
    ]);
    expect(subs[0]!.payload.buffer).toBe(payload.buffer); // views, no copies
  });

  it('uses the timestamp extension byte and wraps mod 2^32', () => {
    const payload = hex(sub(9, 0x01000000, 'aa') + sub(9, 0x01000010, 'bb'));
    expect(parseAggregate(payload, 0xfffffff8).map((s) => s.timestamp)).toEqual([0xfffffff8, 8]);
  });

  it('accepts a missing final back pointer', () => {
    const full = sub(8, 0, 'aa');
    expect(parseAggregate(hex(full.slice(0, -8)), 7)).toHaveLength(1);
  });

  it('rejects truncated sub-messages', () => {
    expect(() => parseAggregate(hex('09 000010 000000 00 000000 aa'), 0)).toThrow(GatewayError);
    expect(() => parseAggregate(hex('09 0000'), 0)).toThrow(GatewayError);
  });

  it('fuzz: random input only ever throws GatewayError, sub-messages stay within the payload', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 500 }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, ts) => {
        try {
          let total = 0;
          for (const s of parseAggregate(bytes, ts)) total += 11 + s.payload.byteLength;
          expect(total).toBeLessThanOrEqual(bytes.byteLength);
        } catch (e) {
          if (!(e instanceof GatewayError)) throw e;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
