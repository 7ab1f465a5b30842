import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const hexOf = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const WRAP = 2 ** 32;

// libx264 avcC records (see test/codec/avc.test.ts for how they were made).
const AVCC_720 = hex('0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000468ef8fcb');
const AVCC_1080 = hex('01640028ffe1001b67640028acd940780227e5c044000003000400000300c83c60c65801000468ef8fcb');
const HVCC_1080 = hex(
  '01016000000090000000000078f000fcfdf8f800000f03a00001001840010c01ffff016000000300900000030000030078959409a1' +
    '0001002c420101016000000300900000030000030078a003c0801107cb965654a4c2f01010000003001000000301e080a2' +
    '000100064401c073c189',
);

const si24 = (v: number): number[] => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
const avcSeq = (config: Uint8Array): Uint8Array => Uint8Array.from([0x17, 0, 0, 0, 0, ...config]);
/** Legacy AVC NALU tag; `nals` become a 4-byte length-prefixed access unit. */
const avcFrame = (frameType: number, cts: number, ...nals: number[][]): Uint8Array =>
  Uint8Array.from([(frameType << 4) | 7, 1, ...si24(cts), ...nals.flatMap((n) => [0, 0, 0, n.length, ...n])]);
const IDR = [0x65, 0x88, 0x84];
const SLICE = [0x41, 0x9a, 0x02];
const aacSeq = (asc: string): Uint8Array => Uint8Array.from([0xaf, 0, ...hex(asc)]);
const aacFrame = (...data: number[]): Uint8Array => Uint8Array.from([0xaf, 1, ...(data.length ? data : [0x21, 0x10])]);

const frames = (events: IngestEvent[]): Frame[] => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const warnings = (events: IngestEvent[]): string[] => events.flatMap((e) => (e.type === 'warning' ? [e.code] : []));
const tracks = (events: IngestEvent[]): Array<VideoTrack | AudioTrack> => events.flatMap((e) => (e.type === 'track' ? [e.track] : []));

describe('FlvIngest tracks', () => {
  it('builds a VideoTrack from an AVC sequence header', () => {
    const ingest = new FlvIngest();
    const payload = avcSeq(AVCC_720);
    const [track] = tracks(ingest.pushVideo(0, payload, 1));
    expect(track).toMatchObject({ kind: 'video', codec: 'avc', timescale: 90000, width: 1280, height: 720, fps: 30, codecString: 'avc1.64001f', nalLengthSize: 4 });
    const v = track as VideoTrack;
    expect(hexOf(v.config)).toBe(hexOf(AVCC_720));
    expect(v.config.buffer).not.toBe(payload.buffer); // owned copy: ingest buffers get reused
    expect(v.parameterSets.map(hexOf)).toEqual(['6764001facd9405005bb0110000003001000000303c0f1831960', '68ef8fcb']);
  });

  it('builds an AudioTrack from an AAC sequence header', () => {
    const [track] = tracks(new FlvIngest().pushAudio(0, aacSeq('1190'), 1));
    expect(track).toEqual({
      kind: 'audio', codec: 'aac', timescale: 48000, sampleRate: 48000, channels: 2, objectType: 2,
      codecString: 'mp4a.40.2', config: hex('1190'), samplesPerFrame: 1024,
    });
    const [he] = tracks(new FlvIngest().pushAudio(0, aacSeq('2b920800'), 1));
    expect(he).toMatchObject({ objectType: 5, codecString: 'mp4a.40.5', sampleRate: 22050 });
  });

  it('builds an HEVC track from an enhanced-RTMP SequenceStart and keys on IRAP NAL types', () => {
    const ingest = new FlvIngest();
    const seq = Uint8Array.from([0x90, ...Buffer.from('hvc1'), ...HVCC_1080]);
    const [track] = tracks(ingest.pushVideo(0, seq, 1));
    expect(track).toMatchObject({ codec: 'hevc', width: 1920, height: 1080, codecString: 'hvc1.1.6.L120.90', nalLengthSize: 4 });
    expect((track as VideoTrack).parameterSets).toHaveLength(3);
    // FrameType 2 (inter) but the NAL is a CRA (type 21): key. CodedFramesX, no composition time.
    const cra = Uint8Array.from([0xa3, ...Buffer.from('hvc1'), 0, 0, 0, 3, 0x2a, 0x01, 0xaf]);
    expect(frames(ingest.pushVideo(40, cra, 2))[0]).toMatchObject({ key: true, dts: 3600, pts: 3600 });
    const trail = Uint8Array.from([0xa3, ...Buffer.from('hvc1'), 0, 0, 0, 3, 0x02, 0x01, 0xd0]);
    expect(frames(ingest.pushVideo(80, trail, 3))[0]!.key).toBe(false);
  });

  it('does not re-emit an identical sequence header, re-emits a changed one', () => {
    const ingest = new FlvIngest();
    expect(tracks(ingest.pushVideo(0, avcSeq(AVCC_720), 0))).toHaveLength(1);
    expect(ingest.pushVideo(5000, avcSeq(AVCC_720.slice()), 0)).toEqual([]);
    const changed = tracks(ingest.pushVideo(6000, avcSeq(AVCC_1080), 0));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ width: 1920, height: 1080, fps: 25, codecString: 'avc1.640028' });
    expect(tracks(ingest.pushAudio(0, aacSeq('1190'), 0))).toHaveLength(1);
    expect(tracks(ingest.pushAudio(0, aacSeq('1190'), 0))).toHaveLength(0);
    expect(tracks(ingest.pushAudio(0, aacSeq('1210'), 0))[0]).toMatchObject({ sampleRate: 44100 });
  });

  it('warns about a broken sequence header and keeps the current track', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    const events = ingest.pushVideo(0, avcSeq(AVCC_720.subarray(0, 12)), 0);
    expect(warnings(events)).toEqual(['bad-sequence-header']);
    expect(ingest.videoTrack?.width).toBe(1280);
    expect(warnings(ingest.pushAudio(0, aacSeq('1690'), 0))).toEqual(['bad-sequence-header']);
  });
});

describe('FlvIngest frames', () => {
  it('drops frames before their sequence header with one warning', () => {
    const ingest = new FlvIngest();
    expect(warnings(ingest.pushVideo(0, avcFrame(1, 0, IDR), 0))).toEqual(['no-sequence-header']);
    expect(ingest.pushVideo(33, avcFrame(2, 0, SLICE), 0)).toEqual([]);
    expect(warnings(ingest.pushAudio(0, aacFrame(), 0))).toEqual(['no-sequence-header']);
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    expect(frames(ingest.pushVideo(66, avcFrame(1, 0, IDR), 0))).toHaveLength(1);
  });

  it('drops video frames without NAL data silently, warns on malformed NAL lengths', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    expect(ingest.pushVideo(0, Uint8Array.of(0x27, 1, 0, 0, 0), 0)).toEqual([]);
    expect(ingest.pushVideo(0, Uint8Array.of(0x27, 1, 0, 0, 0, 0, 0, 0, 0), 0)).toEqual([]);
    expect(warnings(ingest.pushVideo(0, Uint8Array.of(0x27, 1, 0, 0, 0, 0, 0, 0, 9, 0x41), 0))).toEqual(['malformed-access-unit']);
    expect(warnings(ingest.pushVideo(0, Uint8Array.of(0x17, 1), 0))).toEqual(['malformed-video-tag']);
    expect(warnings(ingest.pushAudio(0, Uint8Array.of(0xaf), 0))).toEqual(['malformed-audio-tag']);
  });

  it('marks keyframes from FrameType or an IDR NAL; data is a view of the payload', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    const p = avcFrame(2, 0, [0x06, 0x05, 0x01], IDR);
    const [f] = frames(ingest.pushVideo(0, p, 1234));
    expect(f).toMatchObject({ kind: 'video', key: true, wallclock: 1234 });
    expect(f!.data.buffer).toBe(p.buffer);
    expect(hexOf(f!.data)).toBe('00000003060501' + '00000003658884');
    expect(frames(ingest.pushVideo(33, avcFrame(1, 0, SLICE), 0))[0]!.key).toBe(true);
    expect(frames(ingest.pushVideo(66, avcFrame(2, 0, SLICE), 0))[0]!.key).toBe(false);
  });

  it('maps composition offsets with B-frames: dts = ms * 90, pts = (ms + cts) * 90', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    // decode order I P B B at 30 fps (RTMP ms 0, 33, 67, 100), presentation I B B P
    const input: Array<[number, number]> = [[0, 67], [33, 133], [67, 33], [100, 33]];
    const out = input.flatMap(([ms, cts]) => frames(ingest.pushVideo(ms, avcFrame(ms === 0 ? 1 : 2, cts, ms === 0 ? IDR : SLICE), 0)));
    expect(out.map((f) => [f.dts, f.pts])).toEqual([[0, 6030], [2970, 14940], [6030, 9000], [9000, 11970]]);
  });

  it('unwraps the 32-bit timestamp at 2^32 on one clock shared by audio and video', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    ingest.pushAudio(0, aacSeq('1190'), 0);
    const v1 = frames(ingest.pushVideo(WRAP - 33, avcFrame(1, 0, IDR), 0))[0]!;
    const a1 = frames(ingest.pushAudio(WRAP - 20, aacFrame(), 0))[0]!;
    const v2 = frames(ingest.pushVideo(0, avcFrame(2, 0, SLICE), 0))[0]!;
    const a2 = frames(ingest.pushAudio(WRAP - 20 + 21, aacFrame(), 0))[0]!; // 1 ms after the wrap
    const v3 = frames(ingest.pushVideo(33, avcFrame(2, 0, SLICE), 0))[0]!;
    expect([v1.dts, v2.dts, v3.dts]).toEqual([(WRAP - 33) * 90, WRAP * 90, (WRAP + 33) * 90]);
    expect(a1.dts).toBe(Math.round(((WRAP - 20) * 48000) / 1000));
    expect(a2.dts).toBe(a1.dts + 1024);
  });

  it('smooths AAC timestamps to exactly samplesPerFrame per frame despite ms rounding and jitter', () => {
    const ingest = new FlvIngest();
    ingest.pushAudio(0, aacSeq('1210'), 0); // 44.1 kHz: 1024 samples = 23.22 ms
    const jitter = [0, 3, -4, 5, -2, 0, 4, -5, 1, 0];
    const out = jitter.flatMap((j, n) => frames(ingest.pushAudio(Math.max(0, Math.floor((n * 1024 * 1000) / 44100) + j), aacFrame(), 0)));
    expect(out.map((f) => f.dts)).toEqual(jitter.map((_, n) => n * 1024));
    expect(out.every((f) => f.pts === f.dts && f.key)).toBe(true);
  });

  it('re-anchors audio that drifts forward and drops audio that falls behind, with warnings', () => {
    const ingest = new FlvIngest();
    ingest.pushAudio(0, aacSeq('1190'), 0); // 48 kHz: 1024 samples = 21.33 ms
    frames(ingest.pushAudio(1000, aacFrame(), 0));
    // 15 ms late: more than half a frame, quietly re-anchored
    const late = ingest.pushAudio(1000 + 21 + 15, aacFrame(), 0);
    expect(frames(late)[0]!.dts).toBe(Math.round((1036 * 48000) / 1000));
    expect(warnings(late)).toEqual([]);
    // a 500 ms gap: re-anchored with a warning
    const gap = ingest.pushAudio(1600, aacFrame(), 0);
    expect(frames(gap)[0]!.dts).toBe(1600 * 48);
    expect(warnings(gap)).toEqual(['audio-resync']);
    // 300 ms back in time: dropped (warned once) until the RTMP clock catches up
    const back = [ingest.pushAudio(1321, aacFrame(), 0), ingest.pushAudio(1342, aacFrame(), 0)];
    expect(back.flatMap(frames)).toEqual([]);
    expect(back.flatMap(warnings)).toEqual(['audio-resync']);
    const caught = frames(ingest.pushAudio(1622, aacFrame(), 0))[0]!;
    expect(caught.dts).toBe(1600 * 48 + 1024);
  });

  it('clamps video timestamps that go backwards (< 1 s) and warns once', () => {
    const ingest = new FlvIngest();
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    ingest.pushVideo(1000, avcFrame(1, 0, IDR), 0);
    const back = ingest.pushVideo(900, avcFrame(2, 40, SLICE), 0);
    expect(warnings(back)).toEqual(['timestamp-backwards']);
    expect(frames(back)[0]).toMatchObject({ dts: 90001, pts: 90001 });
    const again = ingest.pushVideo(950, avcFrame(2, 0, SLICE), 0);
    expect(warnings(again)).toEqual([]);
    expect(frames(again)[0]!.dts).toBe(90002);
    expect(frames(ingest.pushVideo(1033, avcFrame(2, 0, SLICE), 0))[0]!.dts).toBe(1033 * 90);
  });

  it('re-bases the clock on a jump beyond maxTimestampJumpMs', () => {
    const ingest = new FlvIngest({ maxTimestampJumpMs: 5000 });
    ingest.pushVideo(0, avcSeq(AVCC_720), 0);
    ingest.pushVideo(1000, avcFrame(1, 0, IDR), 0);
    const jump = ingest.pushVideo(1_000_000, avcFrame(2, 0, SLICE), 0);
    expect(warnings(jump)).toEqual(['timestamp-jump']);
    expect(frames(jump)[0]!.dts).toBe(1000 * 90 + 1);
    expect(frames(ingest.pushVideo(1_000_040, avcFrame(2, 0, SLICE), 0))[0]!.dts).toBe(1040 * 90);
  });

  it('warns once per unsupported codec and ignores command frames', () => {
    const ingest = new FlvIngest();
    expect(warnings(ingest.pushAudio(0, Uint8Array.of(0x2f, 0xff, 0xfb), 0))).toEqual(['unsupported-codec']);
    expect(ingest.pushAudio(26, Uint8Array.of(0x2f, 0xff, 0xfb), 0)).toEqual([]);
    expect(warnings(ingest.pushVideo(0, Uint8Array.of(0x14, 0), 0))).toEqual(['unsupported-codec']);
    expect(warnings(ingest.pushVideo(0, Uint8Array.from([0x90, ...Buffer.from('vvc1'), 0x01]), 0))).toEqual(['unsupported-codec']);
    // AV1 is carried; a broken av1C is a bad sequence header, not an unsupported codec.
    expect(warnings(ingest.pushVideo(0, Uint8Array.from([0x90, ...Buffer.from('av01'), 0x81]), 0))).toEqual(['bad-sequence-header']);
    expect(ingest.pushVideo(0, Uint8Array.of(0x57, 0), 0)).toEqual([]);
  });

  it('VP9 over Enhanced RTMP: the track is made at the first key frame (the record has no size)', () => {
    const ingest = new FlvIngest();
    expect(ingest.pushVideo(0, Uint8Array.from([0x90, ...Buffer.from('vp09'), 0x00, 0x15, 0x82, 0x02, 0x02, 0x02, 0x00, 0x00]), 0)).toEqual([]);
    // An inter frame before any key frame: dropped with a warning.
    expect(warnings(ingest.pushVideo(10, Uint8Array.from([0xa1, ...Buffer.from('vp09'), 0x86, 0x00]), 0))).toEqual(['no-sequence-header']);
    // Key frame header, profile 0, 640x360 (see test/codec/vp9.test.ts).
    const key = Uint8Array.from([0x91, ...Buffer.from('vp09'), 0x82, 0x49, 0x83, 0x42, 0x20, 0x27, 0xf0, 0x16, 0x70, 0x00]);
    const events = ingest.pushVideo(40, key, 0);
    expect(events.map((e) => e.type)).toEqual(['track', 'frame']);
    expect(events[0]).toMatchObject({ track: { codec: 'vp9', width: 640, height: 360, codecString: 'vp09.00.21.08.01.02.02.02.00' } });
    expect(events[1]).toMatchObject({ frame: { key: true, dts: 3600, pts: 3600 } });
  });

  it('multitrack: further video tracks come out tagged with their track id, track 0 as the main video', () => {
    const ingest = new FlvIngest();
    const mt = (frameType: number, packetType: number, trackId: number, ...rest: number[]): Uint8Array => Uint8Array.from([0x80 | (frameType << 4) | 6, packetType, ...Buffer.from('avc1'), trackId, ...rest]);
    expect(ingest.pushVideo(0, avcSeq(AVCC_720), 0)).toMatchObject([{ type: 'track' }]);
    const extra = ingest.pushVideo(0, mt(1, 0, 2, ...AVCC_720), 0);
    expect(extra).toMatchObject([{ type: 'track', trackId: 2, track: { kind: 'video', width: 1280 } }]);
    expect(ingest.videoTrack).toBeDefined();
    const frames = [...ingest.pushVideo(40, avcFrame(1, 0, IDR), 0), ...ingest.pushVideo(40, mt(1, 1, 2, 0, 0, 0, 0, 0, 0, 3, ...IDR), 0)];
    expect(frames.map((e) => (e.type === 'frame' ? [e.trackId ?? 0, e.frame.dts, e.frame.key] : e.type))).toEqual([[0, 3600, true], [2, 3600, true]]);
    // A frame for a track that never sent its sequence start is dropped with a warning.
    expect(warnings(ingest.pushVideo(73, mt(2, 1, 5, 0, 0, 0, 0, 0, 0, 3, ...IDR), 0))).toEqual(['no-sequence-header']);
  });

  it('AV1 over Enhanced RTMP: av1C makes the track, frames keep their OBUs without temporal delimiters', () => {
    const ingest = new FlvIngest();
    // av1C for 1280x720, level index 8, with its sequence header OBU (see test/codec/av1.test.ts).
    const sequenceHeader = Uint8Array.of(0x0a, 0x08, 0x00, 0x00, 0x00, 0x42, 0xa6, 0x7f, 0xd9, 0xf0);
    const events = ingest.pushVideo(0, Uint8Array.from([0x90, ...Buffer.from('av01'), 0x81, 0x08, 0x0c, 0x00, ...sequenceHeader]), 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'track', track: { codec: 'av1', codecString: 'av01.0.08M.08', width: 1280, height: 720 } });
    const frameObu = [0x32, 0x03, 1, 2, 3];
    const key = ingest.pushVideo(40, Uint8Array.from([0x91, ...Buffer.from('av01'), 0x12, 0x00, ...frameObu]), 0);
    expect(key).toEqual([{ type: 'frame', frame: { kind: 'video', dts: 3600, pts: 3600, key: true, data: Uint8Array.from(frameObu), wallclock: 0 } }]);
    const inter = ingest.pushVideo(73, Uint8Array.from([0xa1, ...Buffer.from('av01'), ...frameObu]), 0);
    expect(inter).toMatchObject([{ type: 'frame', frame: { key: false, dts: 73 * 90 } }]);
    expect(warnings(ingest.pushVideo(106, Uint8Array.from([0xa1, ...Buffer.from('av01'), 0x32, 0x09, 1]), 0))).toEqual(['malformed-access-unit']);
  });
});

describe('FlvIngest fuzz', () => {
  it('never throws; video dts increase, audio dts increase, pts >= dts, on random message sequences', () => {
    const seeds = [
      avcSeq(AVCC_720), avcFrame(1, 67, IDR), avcFrame(2, -10, SLICE), aacSeq('1190'), aacFrame(), Uint8Array.from([0x90, ...Buffer.from('hvc1'), ...HVCC_1080]),
      // Enhanced RTMP v2 multitrack (OneTrack and ManyTracks) and AV1.
      Uint8Array.from([0x96, 0x00, ...Buffer.from('avc1'), 1, ...AVCC_720]), Uint8Array.from([0x96, 0x11, ...Buffer.from('avc1'), 1, 0, 0, 10, 0, 0, 0, 0, 0, 0, 3, ...IDR]),
      Uint8Array.from([0x90, ...Buffer.from('av01'), 0x81, 0x08, 0x0c, 0x00, 0x0a, 0x08, 0x00, 0x00, 0x00, 0x42, 0xa6, 0x7f, 0xd9, 0xf0]), Uint8Array.from([0x91, ...Buffer.from('av01'), 0x32, 0x03, 1, 2, 3]),
    ];
    const payload = fc.oneof(
      fc.constantFrom(...seeds),
      fc.tuple(fc.constantFrom(...seeds), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([s, p, v]) => {
        const m = s.slice();
        m[p % m.byteLength] = v;
        return m;
      }),
      fc.uint8Array({ maxLength: 40 }),
    );
    const message = fc.tuple(fc.boolean(), fc.integer({ min: -2000, max: 70_000 }), payload);
    fc.assert(
      fc.property(fc.nat({ max: WRAP - 1 }), fc.array(message, { maxLength: 40 }), (start, msgs) => {
        const ingest = new FlvIngest();
        let ts = start;
        const last: Record<string, number> = {};
        for (const [video, step, p] of msgs) {
          ts = (ts + step + WRAP) % WRAP;
          const events = video ? ingest.pushVideo(ts, p, 0) : ingest.pushAudio(ts, p, 0);
          for (const e of events) {
            if (e.type !== 'frame') continue;
            const f = e.frame;
            // Each track (the main ones, and every further multitrack video track) increases on its own.
            const lane = `${f.kind}${e.trackId ?? ''}`;
            expect(f.pts).toBeGreaterThanOrEqual(f.dts);
            expect(Number.isSafeInteger(f.dts)).toBe(true);
            if (last[lane] !== undefined && !events.some((x) => x.type === 'track')) expect(f.dts).toBeGreaterThan(last[lane]!);
            last[lane] = f.dts;
          }
          if (events.some((e) => e.type === 'track' && e.track.kind === 'audio')) delete last.audio;
        }
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
