import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { AudioTrack, VideoTrack } from '../../src/core/media.js';
import { audioFrameBody, audioSequenceHeaderBody, frameMs, parseAudioTagBody, parseVideoTagBody, videoFrameBody, videoSequenceHeaderBody } from '../../src/flv/tag.js';

const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const b = (...bytes: Array<number | string>): Uint8Array =>
  Uint8Array.from(bytes.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : [x])));
const hexOf = (u: Uint8Array): string => Buffer.from(u).toString('hex');

describe('parseVideoTagBody: legacy', () => {
  it('AVC sequence header', () => {
    const r = parseVideoTagBody(b(0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f));
    expect(r).toMatchObject({ kind: 'sequence-header', codec: 'avc' });
    if (r.kind === 'sequence-header') expect(hexOf(r.config)).toBe('0164001f');
  });

  it('AVC NALU with positive and negative composition time, key and inter', () => {
    const key = parseVideoTagBody(b(0x17, 1, 0, 0, 0x42, 0, 0, 0, 2, 0x65, 0x88));
    expect(key).toMatchObject({ kind: 'frame', codec: 'avc', key: true, compositionTime: 66 });
    if (key.kind === 'frame') expect(hexOf(key.data)).toBe('000000026588');
    const inter = parseVideoTagBody(b(0x27, 1, 0xff, 0xff, 0xdf, 0xaa));
    expect(inter).toMatchObject({ kind: 'frame', key: false, compositionTime: -33 });
  });

  it('end of sequence, info/command frames, HEVC codec id 12, unsupported legacy codecs', () => {
    expect(parseVideoTagBody(b(0x17, 2, 0, 0, 0))).toEqual({ kind: 'end-of-sequence', codec: 'avc' });
    expect(parseVideoTagBody(b(0x57, 0))).toMatchObject({ kind: 'ignored' });
    expect(parseVideoTagBody(b(0x1c, 0, 0, 0, 0, 1))).toMatchObject({ kind: 'sequence-header', codec: 'hevc' });
    expect(parseVideoTagBody(b(0x12, 0xaa))).toEqual({ kind: 'unsupported', codecId: 2 }); // Sorenson H.263
    expect(parseVideoTagBody(b(0x24))).toEqual({ kind: 'unsupported', codecId: 4 }); // VP6
  });

  it('returns a view of the payload (no copy)', () => {
    const p = b(0x27, 1, 0, 0, 0, 1, 2, 3);
    const r = parseVideoTagBody(p);
    if (r.kind !== 'frame') throw new Error('expected frame');
    expect(r.data.buffer).toBe(p.buffer);
    expect(r.data.byteOffset).toBe(5);
  });

  it('truncated headers throw GatewayError(flv) with an offset', () => {
    for (const p of [b(), b(0x17), b(0x17, 1, 0, 0)]) {
      try {
        parseVideoTagBody(p);
        throw new Error('did not throw');
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
        expect((e as GatewayError).stage).toBe('flv');
        expect((e as GatewayError).context).toHaveProperty('offset');
      }
    }
  });
});

describe('parseVideoTagBody: enhanced RTMP', () => {
  // IsExHeader | FrameType << 4 | PacketType
  const ex = (frameType: number, packetType: number): number => 0x80 | (frameType << 4) | packetType;

  it('SequenceStart hvc1 / av01', () => {
    const r = parseVideoTagBody(b(ex(1, 0), 'hvc1', 1, 2, 3));
    expect(r).toMatchObject({ kind: 'sequence-header', codec: 'hevc' });
    if (r.kind === 'sequence-header') expect(hexOf(r.config)).toBe('010203');
    expect(parseVideoTagBody(b(ex(1, 0), 'av01', 0x81))).toMatchObject({ kind: 'sequence-header', codec: 'av1' });
    expect(parseVideoTagBody(b(ex(1, 0), 'avc1', 1))).toMatchObject({ kind: 'sequence-header', codec: 'avc' });
  });

  it('CodedFrames carries SI24 composition time, CodedFramesX implies 0', () => {
    const cf = parseVideoTagBody(b(ex(1, 1), 'hvc1', 0xff, 0xff, 0xfe, 0xaa, 0xbb));
    expect(cf).toMatchObject({ kind: 'frame', codec: 'hevc', key: true, compositionTime: -2 });
    if (cf.kind === 'frame') expect(hexOf(cf.data)).toBe('aabb');
    const x = parseVideoTagBody(b(ex(2, 3), 'hvc1', 0xcc));
    expect(x).toMatchObject({ kind: 'frame', key: false, compositionTime: 0 });
    if (x.kind === 'frame') expect(hexOf(x.data)).toBe('cc');
    // AV1 CodedFrames has no composition time
    const av1 = parseVideoTagBody(b(ex(1, 1), 'av01', 0x12, 0x00));
    if (av1.kind === 'frame') expect(hexOf(av1.data)).toBe('1200');
  });

  it('SequenceEnd, Metadata, MPEG2TSSequenceStart, Multitrack, command frames, vp09', () => {
    expect(parseVideoTagBody(b(ex(1, 2), 'hvc1'))).toEqual({ kind: 'end-of-sequence', codec: 'hevc' });
    expect(parseVideoTagBody(b(ex(1, 4), 'hvc1', 2))).toMatchObject({ kind: 'ignored' });
    expect(parseVideoTagBody(b(ex(1, 5), 'av01'))).toMatchObject({ kind: 'ignored' });
    // Multitrack OneTrack with nothing after the track id: a frame with no data.
    expect(parseVideoTagBody(b(ex(1, 6), 0x01, 'hvc1', 3, 0, 0, 0))).toEqual({ kind: 'multitrack', tracks: [{ trackId: 3, body: { kind: 'frame', codec: 'hevc', key: true, compositionTime: 0, data: new Uint8Array(0) } }] });
    expect(parseVideoTagBody(b(ex(5, 1), 0))).toMatchObject({ kind: 'ignored', reason: 'video command frame' });
    expect(parseVideoTagBody(b(ex(1, 0), 'vvc1', 1))).toEqual({ kind: 'unsupported', codecId: 'vvc1' });
  });

  it('multitrack video (E-RTMP v2): OneTrack, ManyTracks with sizes, ManyTracksManyCodecs, truncation', () => {
    // OneTrack: [AvMultitrackType 0 | SequenceStart] 'avc1' trackId 1, then the record to the end.
    expect(parseVideoTagBody(b(ex(1, 6), 0x00, 'avc1', 1, 0x01, 0x64))).toEqual({
      kind: 'multitrack',
      tracks: [{ trackId: 1, body: { kind: 'sequence-header', codec: 'avc', config: Uint8Array.of(0x01, 0x64) } }],
    });
    // ManyTracks: [1 | CodedFrames] 'avc1', then trackId + UI24 size + (cts, data) per track.
    const many = parseVideoTagBody(b(ex(2, 6), 0x11, 'avc1', 0, 0, 0, 4, 0, 0, 1, 0xaa, 2, 0, 0, 5, 0xff, 0xff, 0xfe, 0xbb, 0xcc));
    expect(many).toMatchObject({ kind: 'multitrack', tracks: [{ trackId: 0, body: { kind: 'frame', key: false, compositionTime: 1 } }, { trackId: 2, body: { kind: 'frame', compositionTime: -2 } }] });
    if (many.kind === 'multitrack') expect(many.tracks.map((t) => (t.body.kind === 'frame' ? hexOf(t.body.data) : ''))).toEqual(['aa', 'bbcc']);
    // ManyTracksManyCodecs: a FourCC per track; an unknown codec's track is reported, not dropped silently.
    const mixed = parseVideoTagBody(b(ex(1, 6), 0x20, 'hvc1', 1, 0, 0, 1, 0x11, 'vvc1', 2, 0, 0, 1, 0x22));
    expect(mixed).toMatchObject({ kind: 'multitrack', tracks: [{ trackId: 1, body: { kind: 'sequence-header', codec: 'hevc' } }, { trackId: 2, body: { kind: 'unsupported', codecId: 'vvc1' } }] });
    // A track size past the end is truncation.
    expect(() => parseVideoTagBody(b(ex(1, 6), 0x11, 'avc1', 0, 0, 0, 9, 0, 0, 0))).toThrow(/truncated/);
    expect(parseVideoTagBody(b(ex(1, 6), 0x36, 'avc1'))).toMatchObject({ kind: 'ignored' });
  });

  it('skips ModEx preludes (8-bit and 16-bit sizes) to the real packet type', () => {
    // ModEx: size-1 = 2 -> 3 bytes of TimestampOffsetNano, then modExType 0 | packetType 1
    const short = parseVideoTagBody(b(ex(1, 7), 2, 0, 1, 0xf4, 0x01, 'hvc1', 0, 0, 5, 0xaa));
    expect(short).toMatchObject({ kind: 'frame', codec: 'hevc', compositionTime: 5 });
    // size byte 255 -> 16-bit size follows: 0x0100 + 1 = 257 bytes
    const long = parseVideoTagBody(b(ex(1, 7), 255, 0x01, 0x00, ...new Array<number>(257).fill(0), 0x03, 'avc1', 0xbb));
    expect(long).toMatchObject({ kind: 'frame', codec: 'avc', compositionTime: 0 });
    if (long.kind === 'frame') expect(hexOf(long.data)).toBe('bb');
    // chained ModEx
    expect(parseVideoTagBody(b(ex(1, 7), 0, 9, 0x07, 0, 9, 0x00, 'hvc1'))).toMatchObject({ kind: 'sequence-header' });
  });

  it('truncated enhanced headers throw GatewayError', () => {
    for (const p of [b(ex(1, 0), 'hv'), b(ex(1, 1), 'hvc1', 0), b(ex(1, 7)), b(ex(1, 7), 5, 1, 2), b(ex(1, 7), 255, 1)]) {
      expect(() => parseVideoTagBody(p)).toThrow(GatewayError);
    }
  });
});

describe('parseAudioTagBody', () => {
  it('legacy AAC sequence header and raw frame (views)', () => {
    const p = b(0xaf, 0, 0x12, 0x10);
    const seq = parseAudioTagBody(p);
    expect(seq).toMatchObject({ kind: 'sequence-header', codec: 'aac' });
    if (seq.kind === 'sequence-header') {
      expect(hexOf(seq.config)).toBe('1210');
      expect(seq.config.buffer).toBe(p.buffer);
    }
    const raw = parseAudioTagBody(b(0xaf, 1, 0x21, 0x10));
    if (raw.kind === 'frame') expect(hexOf(raw.data)).toBe('2110');
    else throw new Error('expected frame');
  });

  it('unsupported legacy formats report their SoundFormat', () => {
    expect(parseAudioTagBody(b(0x2f, 0xff))).toEqual({ kind: 'unsupported', soundFormat: 2 }); // MP3
    expect(parseAudioTagBody(b(0x7e))).toEqual({ kind: 'unsupported', soundFormat: 7 }); // G.711 A-law
  });

  it('enhanced audio: mp4a sequence start / coded frames, unknown FourCC unsupported, multitrack parsed (test/flv/multitrack-audio.test.ts)', () => {
    expect(parseAudioTagBody(b(0x90, 'mp4a', 0x11, 0x90))).toMatchObject({ kind: 'sequence-header', codec: 'aac' });
    const f = parseAudioTagBody(b(0x91, 'mp4a', 0xde));
    if (f.kind === 'frame') expect(hexOf(f.data)).toBe('de');
    else throw new Error('expected frame');
    expect(parseAudioTagBody(b(0x91, '.mp3', 1))).toEqual({ kind: 'unsupported', soundFormat: '.mp3' });
    // Multitrack OneTrack announcing an AAC SequenceStart, but no track after its header.
    expect(parseAudioTagBody(b(0x95, 0, 'mp4a'))).toEqual({ kind: 'multitrack', tracks: [] });
    expect(parseAudioTagBody(b(0x97, 0, 0, 0x01, 'mp4a', 0xde))).toMatchObject({ kind: 'frame' });
  });

  it('truncated payloads throw GatewayError(flv)', () => {
    for (const p of [b(), b(0xaf), b(0x90, 'mp4')]) expect(() => parseAudioTagBody(p)).toThrow(GatewayError);
  });
});

describe('fuzz', () => {
  it('random and mutated tag bodies throw only GatewayError', () => {
    const seeds = [b(0x17, 1, 0, 0, 0x42, 0, 0, 0, 2, 0x65, 0x88), b(0x97, 2, 0, 1, 0xf4, 0x01, 'hvc1', 0, 0, 5, 0xaa), b(0xaf, 1, 0x21), b(0x97, 0, 0, 0x01, 'mp4a', 0xde), b(0x95, 0x10, 'mp4a', 0, 0, 0, 2, 0x11, 0x90, 1, 0, 0, 1, 0x12), b(0x95, 0x21, 'mp4a', 0, 0, 0, 1, 0xde, 'Opus', 1, 0, 0, 1, 0xfc)];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 48 }),
          fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), fc.nat()).map(([s, edits, cut]) => {
            const m = s.slice();
            for (const [p, v] of edits) m[p % m.byteLength] = v;
            return m.subarray(0, m.byteLength - (cut % m.byteLength));
          }),
        ),
        (payload) => {
          for (const parse of [parseVideoTagBody, parseAudioTagBody]) {
            try {
              parse(payload);
            } catch (e) {
              if (!(e instanceof GatewayError)) throw e;
            }
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe('building tag bodies (golden bytes, and back through the parser)', () => {
  const avcConfig = new Uint8Array([0x01, 0x64, 0x00, 0x1f, 0xff, 0xe1]);
  const video: VideoTrack = {
    kind: 'video', codec: 'avc', timescale: 90_000, width: 1280, height: 720, codecString: 'avc1.64001f',
    config: avcConfig, parameterSets: [], nalLengthSize: 4,
  };
  const audio: AudioTrack = {
    kind: 'audio', codec: 'aac', timescale: 48_000, sampleRate: 48_000, channels: 2, objectType: 2,
    codecString: 'mp4a.40.2', config: new Uint8Array([0x11, 0x90]), samplesPerFrame: 1024,
  };
  const data = new Uint8Array([0, 0, 0, 2, 0x65, 0x88]);

  it('AVC sequence header and frames (key, inter, negative composition time)', () => {
    const seq = videoSequenceHeaderBody(video);
    expect(Buffer.from(seq).toString('hex')).toBe('1700000000' + '0164001fffe1');
    expect(parseVideoTagBody(seq)).toEqual({ kind: 'sequence-header', codec: 'avc', config: avcConfig });
    // pts - dts = 6006 ticks = 66.7 ms -> 67 ms (0x000043).
    const key = videoFrameBody({ kind: 'video', dts: 90_000, pts: 96_006, key: true, data, wallclock: 0 }, 'avc');
    expect(Buffer.from(key).toString('hex')).toBe('1701000043' + '000000026588');
    expect(parseVideoTagBody(key)).toEqual({ kind: 'frame', codec: 'avc', key: true, compositionTime: 67, data });
    const inter = videoFrameBody({ kind: 'video', dts: 93_003, pts: 90_000, key: false, data, wallclock: 0 }, 'avc');
    expect(Buffer.from(inter.subarray(0, 5)).toString('hex')).toBe('2701ffffdf');
    expect(parseVideoTagBody(inter)).toMatchObject({ kind: 'frame', key: false, compositionTime: -33 });
  });

  it('HEVC through the Enhanced RTMP ex-header, and back', () => {
    const hevc: VideoTrack = { ...video, codec: 'hevc', codecString: 'hvc1.1.6.L93.B0', config: new Uint8Array([1, 2, 3]) };
    const seq = videoSequenceHeaderBody(hevc);
    expect(Buffer.from(seq).toString('hex')).toBe('9068766331' + '010203');
    expect(parseVideoTagBody(seq)).toEqual({ kind: 'sequence-header', codec: 'hevc', config: hevc.config });
    const frame = videoFrameBody({ kind: 'video', dts: 0, pts: 3003, key: true, data, wallclock: 0 }, 'hevc');
    expect(Buffer.from(frame.subarray(0, 8)).toString('hex')).toBe('9168766331' + '000021');
    expect(parseVideoTagBody(frame)).toEqual({ kind: 'frame', codec: 'hevc', key: true, compositionTime: 33, data });
  });

  it('AV1 through the Enhanced RTMP ex-header (CodedFrames without a composition time), and back', () => {
    const av1: VideoTrack = { ...video, codec: 'av1', codecString: 'av01.0.08M.08', config: new Uint8Array([0x81, 8, 0x0c, 0]) };
    const seq = videoSequenceHeaderBody(av1);
    expect(Buffer.from(seq).toString('hex')).toBe('9061763031' + '81080c00');
    expect(parseVideoTagBody(seq)).toEqual({ kind: 'sequence-header', codec: 'av1', config: av1.config });
    const frame = videoFrameBody({ kind: 'video', dts: 0, pts: 0, key: false, data, wallclock: 0 }, 'av1');
    expect(Buffer.from(frame.subarray(0, 5)).toString('hex')).toBe('a161763031');
    expect(parseVideoTagBody(frame)).toEqual({ kind: 'frame', codec: 'av1', key: false, compositionTime: 0, data });
  });

  it('AAC sequence header and raw frame, and back', () => {
    const seq = audioSequenceHeaderBody(audio)!;
    expect(Buffer.from(seq).toString('hex')).toBe('af00' + '1190');
    expect(parseAudioTagBody(seq)).toEqual({ kind: 'sequence-header', codec: 'aac', config: audio.config });
    const raw = new Uint8Array([0x21, 0x10]);
    const frame = audioFrameBody({ kind: 'audio', dts: 0, pts: 0, key: true, data: raw, wallclock: 0 });
    expect(Buffer.from(frame).toString('hex')).toBe('af01' + '2110');
    expect(parseAudioTagBody(frame)).toEqual({ kind: 'frame', codec: 'aac', data: raw });
  });

  it('timestamps on the 32-bit millisecond clock', () => {
    expect(frameMs({ kind: 'video', dts: 90_000 * 10, pts: 0, key: true, data, wallclock: 0 }, 90_000)).toBe(10_000);
    expect(frameMs({ kind: 'audio', dts: 48_000 * 2 ** 32 / 1000 + 48, pts: 0, key: true, data, wallclock: 0 }, 48_000)).toBe(1);
  });
});
