import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import { buildFragment, buildSegmentHeader } from '../../src/mux/fmp4/fragment.js';
import { fragmentSamples } from '../../src/latency/fmp4-samples.js';
import { TsPesCollector } from '../../src/latency/ts-video.js';
import { fmp4Stamps, tsStamps, FlvVideoStamps } from '../../src/latency/players.js';
import { buildTimestampSei, insertSeiIntoAvcc } from '../../src/latency/sei.js';
import { stampVideoPayload } from '../../src/latency/publisher.js';

const runs = Number(process.env.FUZZ_RUNS ?? 300);

function avccFrame(sendMs: number, key: boolean): Uint8Array {
  const slice = Uint8Array.from([0, 0, 0, 4, key ? 0x65 : 0x41, 0x88, 0x84, 0x21]);
  return insertSeiIntoAvcc(slice, 4, buildTimestampSei(sendMs));
}

describe('fMP4 fragment samples (our own muxer output)', () => {
  it('splits samples by trun sizes and finds every SEI stamp', () => {
    const samples = [1000, 1033.5, 1066].map((t, i) => ({ duration: 3000, key: i === 0, compositionOffset: 0, data: avccFrame(t, i === 0) }));
    const frag = buildFragment({ sequenceNumber: 1, baseMediaDecodeTime: 0, samples, kind: 'video', trackId: 1 });
    const bytes = Uint8Array.from([...buildSegmentHeader(), ...frag]);
    const split = fragmentSamples(bytes);
    expect(split.map((s) => s.data.length)).toEqual(samples.map((s) => s.data.length));
    expect(split.every((s) => s.trackId === 1)).toBe(true);
    expect(fmp4Stamps(bytes)).toEqual([1000, 1033.5, 1066]);
  });

  it('audio fragments give no stamps', () => {
    const frag = buildFragment({ sequenceNumber: 1, baseMediaDecodeTime: 0, kind: 'audio', trackId: 2, samples: [{ duration: 1024, key: true, compositionOffset: 0, data: Uint8Array.from([0x21, 0x10, 0x04, 0x60]) }] });
    expect(fmp4Stamps(frag)).toEqual([]);
  });

  it('fuzz: mutated fragments throw only GatewayError', () => {
    const good = buildFragment({ sequenceNumber: 1, baseMediaDecodeTime: 0, kind: 'video', samples: [{ duration: 3000, key: true, compositionOffset: 0, data: avccFrame(1, true) }] });
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const copy = good.slice();
        copy[i] = b;
        try {
          fmp4Stamps(copy);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: runs },
    );
  });
});

/** Packetizes one PES into 188-byte TS packets on `pid`, stuffing the last via the adaptation field. */
function tsPackets(pid: number, pes: Uint8Array): Uint8Array {
  const packets: number[] = [];
  let off = 0;
  let cc = 0;
  while (off < pes.length) {
    const left = pes.length - off;
    const first = off === 0;
    const header = [0x47, (first ? 0x40 : 0) | (pid >> 8), pid & 0xff];
    if (left >= 184) {
      packets.push(...header, 0x10 | cc, ...pes.subarray(off, off + 184));
      off += 184;
    } else {
      const af = 184 - left - 1; // adaptation_field_length
      const stuffing = af > 0 ? [0x00, ...new Array<number>(af - 1).fill(0xff)] : [];
      packets.push(...header, 0x30 | cc, af, ...stuffing, ...pes.subarray(off));
      off = pes.length;
    }
    cc = (cc + 1) & 15;
  }
  return Uint8Array.from(packets);
}

function videoPes(annexB: Uint8Array): Uint8Array {
  // 00 00 01 E0 len=0 | 80 80 05 | PTS(5)
  return Uint8Array.from([0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1, ...annexB]);
}

describe('MPEG-TS PES collection', () => {
  const au = (t: number): Uint8Array => Uint8Array.from([0, 0, 0, 1, 0x09, 0xf0, 0, 0, 0, 1, ...buildTimestampSei(t), 0, 0, 0, 1, 0x65, ...new Array<number>(400).fill(0x55)]);
  const stream = Uint8Array.from([...tsPackets(0x100, videoPes(au(1))), ...tsPackets(0x101, Uint8Array.from([0, 0, 1, 0xc0, 0, 0, 0x80, 0x80, 0, 1, 2, 3])), ...tsPackets(0x100, videoPes(au(2)))]);

  it('finds a stamp per access unit and ignores other PIDs', () => {
    expect(stream.length % 188).toBe(0);
    expect(tsStamps(stream)).toEqual([1, 2]);
  });

  it('survives any split of the input', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 6 }), (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), stream.length];
        const c = new TsPesCollector(0x100);
        const pes: Uint8Array[] = [];
        for (let i = 0; i + 1 < points.length; i++) pes.push(...c.push(stream.subarray(points[i], points[i + 1])));
        pes.push(...c.flush());
        expect(pes.length).toBe(2);
        expect(pes[0]!.length).toBe(au(1).length);
      }),
      { numRuns: runs },
    );
  });

  it('fuzz: random bytes throw only GatewayError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          tsStamps(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: runs },
    );
  });
});

describe('FLV/RTMP video payload stamping', () => {
  it('stamps a frame tag and reads it back; sequence headers set the length size', () => {
    // VideoTagHeader: keyframe|AVC (0x17), AVCPacketType 1, CTS 0.
    const payload = Uint8Array.from([0x17, 1, 0, 0, 0, 0, 0, 0, 4, 0x65, 0x88, 0x84, 0x21]);
    const stamped = stampVideoPayload(payload, 4, 777.25);
    expect(Array.from(stamped.subarray(0, 5))).toEqual([0x17, 1, 0, 0, 0]);
    const reader = new FlvVideoStamps();
    expect(reader.read(stamped)).toBe(777.25);
    expect(reader.read(payload)).toBeUndefined();
    const seqHeader = Uint8Array.from([0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 0]);
    expect(stampVideoPayload(seqHeader, 4, 1)).toBe(seqHeader);
    expect(reader.read(seqHeader)).toBeUndefined();
    expect(reader.read(Uint8Array.from([0x17]))).toBeUndefined();
  });
});
