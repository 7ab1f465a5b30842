/**
 * CmafMuxer moves each frame's bytes into the part it wrote (core/media.ts rehomeFrameData): the
 * frame then shares the part's mdat instead of holding the publisher's buffer, and so does every
 * other holder of the frame (the RTMP GOP cache). Checked through a live stream with both a
 * segmenter and a relay subscribed, as the gateway runs them: the bytes are unchanged, they sit
 * in the part, and a player joining afterwards is sent the same FLV bodies as one that was there.
 * A segment's `styp` and parts are written one after the other into one block
 * (core/block-writer.ts): the segment is one buffer, the same bytes as `styp` followed by its parts.
 */
import { describe, expect, it } from 'vitest';
import { GROWABLE_BLOCKS } from '../../../src/core/block-writer.js';
import type { Frame } from '../../../src/core/media.js';
import { LiveStream } from '../../../src/core/stream.js';
import { CmafMuxer } from '../../../src/mux/fmp4/cmaf-muxer.js';
import type { CmafPart, CmafSegment, InitSegment, SegmentSink } from '../../../src/mux/fmp4/cmaf.js';
import type { CencProtection } from '../../../src/mux/fmp4/cenc.js';
import { RelayHub, type RelayBatch } from '../../../src/relay/relay-hub.js';
import { StreamSegmenter } from '../../../src/segmenter/stream-segmenter.js';
import { AUDIO_STEREO as audio, VIDEO_720P as video } from '../../packager/dash/fabricate.js';

const PROTECTION: CencProtection = {
  kid: Uint8Array.from(Buffer.from('0123456789abcdef0123456789abcdef', 'hex')),
  key: Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff', 'hex')),
  iv: Uint8Array.from(Buffer.from('ffeeddccbbaa99887766554433221100', 'hex')),
};

class Collector implements SegmentSink {
  parts: CmafPart[] = [];
  onInit(_: InitSegment): void {}
  onPart(p: CmafPart): void {
    this.parts.push(p);
  }
  segments: CmafSegment[] = [];
  onSegment(s: CmafSegment): void {
    this.segments.push(s);
  }
  /** An `emsg` ahead of every third part's moof, as timed metadata puts one. */
  events = 0;
  takeEventBoxes(): Uint8Array | undefined {
    return this.events++ % 3 === 0 ? new Uint8Array([0, 0, 0, 12, 0x65, 0x6d, 0x73, 0x67, 1, 2, 3, 4]) : undefined;
  }
}

/**
 * Three seconds of 30 fps video (a keyframe every second) and AAC, each frame a view into one
 * "socket read" buffer of the publisher, with bytes that tell the frames apart.
 */
function publisherFrames(): { frames: Frame[]; ingest: ArrayBuffer } {
  const ingest = new ArrayBuffer(1 << 20);
  let at = 0;
  const bytes = (n: number, seed: number): Uint8Array => {
    const view = new Uint8Array(ingest, at, n);
    for (let i = 0; i < n; i++) view[i] = (seed * 31 + i) & 0xff;
    at += n;
    return view;
  };
  const frames: Frame[] = [];
  for (let i = 0, k = 0; i < 90; i++) {
    const dts = i * 3000;
    // A length-prefixed NAL unit of 200..400 bytes.
    const nal = bytes(200 + ((i * 37) % 200), i);
    new DataView(nal.buffer, nal.byteOffset).setUint32(0, nal.byteLength - 4);
    frames.push({ kind: 'video', dts, pts: dts, key: i % 30 === 0, data: nal, wallclock: 0 });
    for (; k * 1024 * 90_000 < (i + 1) * 3000 * 48_000; k++) {
      frames.push({ kind: 'audio', dts: k * 1024, pts: k * 1024, key: true, data: bytes(20 + (k % 7), 1000 + k), wallclock: 0 });
    }
  }
  return { frames, ingest };
}

function publish(protection?: CencProtection) {
  const stream = new LiveStream('live', 'k');
  const relay = new RelayHub(stream);
  const v = new Collector();
  const a = new Collector();
  stream.subscribe(new StreamSegmenter({ video: new CmafMuxer('video', v, protection), audio: new CmafMuxer('audio', a, protection) }, { segmentDuration: 1, partDuration: 0.2 }));
  const live: RelayBatch[] = [];
  relay.addPlayer({ send: (b) => live.push(b), end: () => undefined });
  stream.pushTrack(video);
  stream.pushTrack(audio);
  const { frames, ingest } = publisherFrames();
  const original = frames.map((f) => Uint8Array.from(f.data));
  for (const f of frames) stream.pushFrame(f);
  // What the relay batched in this (synchronous) turn goes to the live player now.
  relay.flush();
  return { frames, ingest, original, relay, live, parts: [...v.parts, ...a.parts], segments: [...v.segments, ...a.segments] };
}

describe('CmafMuxer: frames moved into their parts', () => {
  it('each muxed frame then reads its bytes from its part, unchanged; joining players get the same bodies', () => {
    const { frames, ingest, original, relay, live, parts } = publish();
    const homes = new Set(parts.map((p) => p.bytes.buffer));
    let moved = 0;
    frames.forEach((f, i) => {
      expect(f.data, `frame ${i}`).toEqual(original[i]);
      if (f.data.buffer === ingest) return;
      expect(homes.has(f.data.buffer), `frame ${i} lives in a part`).toBe(true);
      moved++;
    });
    // All but the frames of the parts still open (the last 0.2 s of each track).
    expect(moved).toBeGreaterThan(frames.length - 20);
    expect(moved).toBeLessThan(frames.length);

    // The GOP cache reads the frames where they are now: a joiner gets the last keyframe's GOP
    // from the parts, with the FLV bodies the live player was sent as the frames came.
    const sentBodies = new Map(live.flatMap((b) => b.messages).map((m) => [`${m.type}@${m.timestamp}@${m.key}`, m.body]));
    const gop = relay.start().gop;
    expect(gop.length).toBeGreaterThan(30);
    expect(gop[0]!.key).toBe(true);
    let fromParts = 0;
    for (const m of gop) {
      expect(m.body).toEqual(sentBodies.get(`${m.type}@${m.timestamp}@${m.key}`));
      if (m.data && homes.has(m.data.buffer)) fromParts++;
    }
    expect(fromParts).toBeGreaterThan(gop.length - 20);
  });

  it('frames of an encrypted stream keep their own bytes (the part holds the cipher text)', () => {
    const { frames, ingest, original } = publish(PROTECTION);
    frames.forEach((f, i) => {
      expect(f.data.buffer, `frame ${i}`).toBe(ingest);
      expect(f.data).toEqual(original[i]);
    });
  });
});

describe('CmafMuxer: a segment is contiguous', () => {
  const concat = (pieces: readonly Uint8Array[]): Buffer => Buffer.concat(pieces.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  for (const protected_ of [false, true]) {
    it(`${protected_ ? 'encrypted: ' : ''}each segment is styp + its parts, in one buffer`, () => {
      expect(GROWABLE_BLOCKS, 'Node 20 has resizable ArrayBuffers').toBe(true);
      const { segments } = publish(protected_ ? PROTECTION : undefined);
      expect(segments.length).toBeGreaterThanOrEqual(4);
      for (const s of segments) {
        const where = `${s.kind} segment ${s.sequence}`;
        const bytes = concat(s.chunks);
        expect(bytes.byteLength, where).toBe(s.byteLength);
        expect(bytes.subarray(4, 8).toString('latin1'), where).toBe('styp');
        const stypSize = bytes.readUInt32BE(0);
        expect(bytes.subarray(stypSize).equals(concat(s.parts.map((p) => p.bytes))), where).toBe(true);
        // Every part starts where the previous one ended: [emsg] moof mdat, the sizes adding up.
        let at = stypSize;
        for (const p of s.parts) {
          let end = at;
          while (end < at + p.bytes.byteLength) {
            const size = bytes.readUInt32BE(end);
            expect(size, where).toBeGreaterThanOrEqual(8);
            end += size;
          }
          expect(end, where).toBe(at + p.bytes.byteLength);
          at = end;
        }
        expect(s.chunks.length, where).toBe(1);
      }
    });
  }
});

describe('CmafMuxer: timed metadata is not lost', () => {
  it('a group that cannot be written leaves the pending event boxes for the next one', () => {
    let taken = 0;
    const sink: SegmentSink = { onInit: () => undefined, onPart: () => undefined, onSegment: () => undefined, takeEventBoxes: () => (taken++, new Uint8Array(8)) };
    // Protected, but no configuration to protect yet: the muxer refuses to write anything clear.
    const muxer = new CmafMuxer('video', sink, PROTECTION);
    const frame: Frame = { kind: 'video', dts: 0, pts: 0, key: true, data: new Uint8Array([0, 0, 0, 1, 0x65]), wallclock: 0 };
    expect(() => muxer.onGroup({ kind: 'video', index: 0, segment: 0, startTime: 0, duration: 3000, timescale: 90_000, independent: true, discontinuity: false, configId: 0, frames: [frame], durations: [3000], wallclock: 0 })).toThrow(/protect/);
    expect(taken).toBe(0);
  });

  it('a group the fragment writer refuses leaves them pending too', () => {
    let taken = 0;
    const sink: SegmentSink = { onInit: () => undefined, onPart: () => undefined, onSegment: () => undefined, takeEventBoxes: () => (taken++, new Uint8Array(8)) };
    const muxer = new CmafMuxer('audio', sink);
    // An audio sample with a composition offset: buildFragment refuses it.
    const frame: Frame = { kind: 'audio', dts: 0, pts: 10, key: true, data: new Uint8Array([1, 2]), wallclock: 0 };
    expect(() => muxer.onGroup({ kind: 'audio', index: 0, segment: 0, startTime: 0, duration: 1024, timescale: 48_000, independent: true, discontinuity: false, configId: 0, frames: [frame], durations: [1024], wallclock: 0 })).toThrow(/composition offset/);
    expect(taken).toBe(0);
  });
});
