/**
 * Enhanced RTMP v2 audio (veovera enhanced-rtmp v2, "Enhanced Audio"): ExAudioTagHeader parsing for
 * the FourCCs `Opus`, `fLaC`, `ac-3`, `ec-3`, `mp4a`; the tags rebuilt for RTMP play / HTTP-FLV;
 * FlvIngest turning them into tracks and exactly timed frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { AudioTrack, Frame } from '../../src/core/media.js';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';
import { audioFrameBody, audioSequenceHeaderBody, parseAudioTagBody } from '../../src/flv/tag.js';
import { buildDolbyTrack, buildFlacTrack, buildOpusTrack } from '../../src/codec/tracks.js';
import { dolbyConfigOf, splitAc3Frames } from '../../src/codec/ac3.js';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const b = (...bytes: Array<number | string | Uint8Array>): Uint8Array =>
  Uint8Array.from(bytes.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : x instanceof Uint8Array ? [...x] : [x])));
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

/** SoundFormat 9 (ExHeader) << 4 | AudioPacketType. */
const SEQUENCE_START = 0x90;
const CODED_FRAMES = 0x91;
const SEQUENCE_END = 0x92;
const MULTICHANNEL_CONFIG = 0x94;

const OPUS_HEAD = unhex('4f707573486561640102380180bb0000000000'); // libopus stereo, pre-skip 312
const STREAMINFO = unhex('120012000002490004f50ac440f0000409985b55c460cf698b4aab4c1b1fffa4737f'); // 44.1 kHz mono, 4608
const FLAC_START = b('fLaC', 0x80, 0, 0, 34, STREAMINFO);
/** ffmpeg's AC-3 5.1 192 kbit/s syncframe (768 bytes, the rest zero here). */
const AC3_FRAME = (() => {
  const f = new Uint8Array(768);
  f.set(unhex('0b7751591440ebf8403efe007f0f0f08'));
  return f;
})();

/** TOC bytes (RFC 6716 §3.1): CELT FB 20 ms, CELT FB 10 ms, SILK WB 60 ms; code 0 (one frame). */
const OPUS_20MS = Uint8Array.of(0xfc, 0xaa, 0xbb);
const OPUS_10MS = Uint8Array.of(0xf4, 0xaa);
const OPUS_60MS = Uint8Array.of(0x58, 0xaa);

function crc(bytes: Uint8Array, width: 8 | 16): number {
  const poly = width === 8 ? 0x07 : 0x8005;
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  let c = 0;
  for (const byte of bytes) {
    c ^= byte << (width - 8);
    for (let i = 0; i < 8; i++) c = c & top ? ((c << 1) ^ poly) & mask : (c << 1) & mask;
  }
  return c;
}

/** A FLAC frame (RFC 9639 §9): 44.1 kHz, mono, 16-bit, an 8-bit block size, `payload` as subframes. */
function flacFrame(number: number, blockSize: number, payload: number[]): Uint8Array {
  const head = Uint8Array.of(0xff, 0xf8, (6 << 4) | 9, (0 << 4) | (4 << 1), number, blockSize - 1);
  const body = b(head, crc(head, 8), ...payload);
  const c = crc(body, 16);
  return b(body, c >> 8, c & 0xff);
}

const frames = (events: IngestEvent[]): Frame[] => events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
const tracks = (events: IngestEvent[]): AudioTrack[] => events.flatMap((e) => (e.type === 'track' && e.track.kind === 'audio' ? [e.track] : []));
const warnings = (events: IngestEvent[]): string[] => events.flatMap((e) => (e.type === 'warning' ? [`${e.code}: ${e.message}`] : []));

describe('parseAudioTagBody: Enhanced RTMP v2 audio', () => {
  it('SequenceStart and CodedFrames for Opus, fLaC, ac-3, ec-3 and mp4a (views, no copy)', () => {
    const opus = b(SEQUENCE_START, 'Opus', OPUS_HEAD);
    const seq = parseAudioTagBody(opus);
    expect(seq).toEqual({ kind: 'sequence-header', codec: 'opus', config: OPUS_HEAD });
    if (seq.kind === 'sequence-header') expect(seq.config.buffer).toBe(opus.buffer);
    expect(parseAudioTagBody(b(CODED_FRAMES, 'Opus', OPUS_20MS))).toEqual({ kind: 'frame', codec: 'opus', data: OPUS_20MS });
    expect(parseAudioTagBody(b(SEQUENCE_START, 'fLaC', FLAC_START))).toEqual({ kind: 'sequence-header', codec: 'flac', config: FLAC_START });
    expect(parseAudioTagBody(b(CODED_FRAMES, 'fLaC', 1, 2))).toEqual({ kind: 'frame', codec: 'flac', data: b(1, 2) });
    expect(parseAudioTagBody(b(CODED_FRAMES, 'ac-3', 0x0b, 0x77))).toEqual({ kind: 'frame', codec: 'ac3', data: b(0x0b, 0x77) });
    expect(parseAudioTagBody(b(CODED_FRAMES, 'ec-3', 0x0b, 0x77))).toEqual({ kind: 'frame', codec: 'eac3', data: b(0x0b, 0x77) });
    expect(parseAudioTagBody(b(SEQUENCE_START, 'ac-3'))).toMatchObject({ kind: 'ignored' }); // AC-3 defines none
    expect(parseAudioTagBody(b(SEQUENCE_START, 'mp4a', 0x11, 0x90))).toEqual({ kind: 'sequence-header', codec: 'aac', config: b(0x11, 0x90) });
  });

  it('MultichannelConfig gives the channel count; SequenceEnd and unknown packet types are ignored', () => {
    // audioChannelOrder Native (1), 6 channels, audioChannelFlags (UI32).
    expect(parseAudioTagBody(b(MULTICHANNEL_CONFIG, 'Opus', 1, 6, 0, 0, 0, 0x3f))).toEqual({ kind: 'multichannel-config', codec: 'opus', channels: 6 });
    // Custom order (2): a mapping per channel.
    expect(parseAudioTagBody(b(MULTICHANNEL_CONFIG, 'fLaC', 2, 2, 0, 1))).toEqual({ kind: 'multichannel-config', codec: 'flac', channels: 2 });
    expect(parseAudioTagBody(b(SEQUENCE_END, 'Opus'))).toMatchObject({ kind: 'ignored' });
    expect(parseAudioTagBody(b(0x93, 'Opus'))).toMatchObject({ kind: 'ignored' });
    expect(() => parseAudioTagBody(b(MULTICHANNEL_CONFIG, 'Opus', 1))).toThrow(GatewayError);
  });

  it('reads through a ModEx prelude; unknown FourCCs are unsupported, named', () => {
    // ModEx (7) with 3 bytes of TimestampOffsetNano, then CodedFrames.
    expect(parseAudioTagBody(b(0x97, 2, 0, 0, 1, (0 << 4) | 1, 'Opus', OPUS_10MS))).toEqual({ kind: 'frame', codec: 'opus', data: OPUS_10MS });
    expect(parseAudioTagBody(b(CODED_FRAMES, '.mp3', 0xff))).toEqual({ kind: 'unsupported', soundFormat: '.mp3' });
    expect(() => parseAudioTagBody(b(CODED_FRAMES, 'Opu'))).toThrow(/enhanced audio FourCC truncated/);
  });
});

describe('audio tags rebuilt for players (golden bytes, and back through the parser)', () => {
  const frame = (data: Uint8Array): Frame => ({ kind: 'audio', dts: 0, pts: 0, key: true, data, wallclock: 0 });

  it('Opus and FLAC: SequenceStart with the configuration as received, CodedFrames with the FourCC', () => {
    const opus = buildOpusTrack(OPUS_HEAD);
    const seq = audioSequenceHeaderBody(opus)!;
    expect(hex(seq)).toBe('90' + hex(b('Opus')) + hex(OPUS_HEAD));
    expect(parseAudioTagBody(seq)).toEqual({ kind: 'sequence-header', codec: 'opus', config: OPUS_HEAD });
    const body = audioFrameBody(frame(OPUS_20MS), 'opus');
    expect(hex(body)).toBe('91' + hex(b('Opus')) + hex(OPUS_20MS));
    expect(parseAudioTagBody(body)).toEqual({ kind: 'frame', codec: 'opus', data: OPUS_20MS });
    const flac = buildFlacTrack(STREAMINFO); // the bare form goes out as it came
    expect(hex(audioSequenceHeaderBody(flac)!)).toBe('90' + hex(b('fLaC')) + hex(STREAMINFO));
  });

  it('AC-3 and E-AC-3: no sequence header, frames with the FourCC', () => {
    const ac3 = buildDolbyTrack(dolbyConfigOf(splitAc3Frames(AC3_FRAME)[0]!));
    expect(audioSequenceHeaderBody(ac3)).toBeUndefined();
    const body = audioFrameBody(frame(AC3_FRAME), 'ac3');
    expect(hex(body.subarray(0, 7))).toBe('91' + hex(b('ac-3')) + '0b77');
    expect(parseAudioTagBody(body)).toEqual({ kind: 'frame', codec: 'ac3', data: AC3_FRAME });
    expect(hex(audioFrameBody(frame(AC3_FRAME), 'eac3').subarray(0, 5))).toBe('91' + hex(b('ec-3')));
  });
});

describe('FlvIngest: Enhanced RTMP audio', () => {
  it('Opus: a 48 kHz track from OpusHead; each frame lasts what its TOC says', () => {
    const ingest = new FlvIngest();
    const [track] = tracks(ingest.pushAudio(0, b(SEQUENCE_START, 'Opus', OPUS_HEAD), 0));
    expect(track).toMatchObject({ codec: 'opus', codecString: 'opus', timescale: 48_000, channels: 2, samplesPerFrame: 960 });
    const out = [
      ...ingest.pushAudio(0, b(CODED_FRAMES, 'Opus', OPUS_20MS), 0),
      ...ingest.pushAudio(20, b(CODED_FRAMES, 'Opus', OPUS_10MS), 0),
      ...ingest.pushAudio(30, b(CODED_FRAMES, 'Opus', OPUS_60MS), 0),
      ...ingest.pushAudio(90, b(CODED_FRAMES, 'Opus', OPUS_20MS), 0),
    ];
    expect(warnings(out)).toEqual([]);
    expect(frames(out).map((f) => [f.dts, f.duration])).toEqual([[0, 960], [960, 480], [1440, 2880], [4320, 960]]);
  });

  it('Opus: an empty sequence start is mono/stereo from MultichannelConfig (E-RTMP v2)', () => {
    const ingest = new FlvIngest();
    ingest.pushAudio(0, b(MULTICHANNEL_CONFIG, 'Opus', 0, 1), 0);
    const [track] = tracks(ingest.pushAudio(0, b(SEQUENCE_START, 'Opus'), 0));
    expect(track).toMatchObject({ codec: 'opus', channels: 1 });
    expect([...tracks(new FlvIngest().pushAudio(0, b(SEQUENCE_START, 'Opus'), 0))].map((t) => t.channels)).toEqual([2]);
  });

  it('FLAC: a body of several frames becomes one frame each, timed by block size', () => {
    const ingest = new FlvIngest();
    const [track] = tracks(ingest.pushAudio(0, b(SEQUENCE_START, 'fLaC', FLAC_START), 0));
    expect(track).toMatchObject({ codec: 'flac', codecString: 'flac', sampleRate: 44_100, channels: 1 });
    const one = flacFrame(0, 192, [1, 2, 3]);
    const two = flacFrame(1, 100, [4, 5]);
    const out = ingest.pushAudio(0, b(CODED_FRAMES, 'fLaC', one, two), 0);
    expect(warnings(out)).toEqual([]);
    expect(frames(out).map((f) => [f.dts, f.duration, hex(f.data)])).toEqual([[0, 192, hex(one)], [192, 100, hex(two)]]);
  });

  it('AC-3: the first syncframe makes the track (no sequence start); a new layout makes a new one', () => {
    const ingest = new FlvIngest();
    const first = ingest.pushAudio(0, b(CODED_FRAMES, 'ac-3', AC3_FRAME, AC3_FRAME), 0);
    expect(tracks(first)).toHaveLength(1);
    expect(tracks(first)[0]).toMatchObject({ codec: 'ac3', codecString: 'ac-3', sampleRate: 48_000, channels: 6, config: unhex('103d40') });
    expect(frames(first).map((f) => f.dts)).toEqual([0, 1536]);
    expect(tracks(ingest.pushAudio(64, b(CODED_FRAMES, 'ac-3', AC3_FRAME), 0))).toEqual([]);
    // Byte 6 starts with acmod: 2 (2/0) is followed by dsurmod and lfeon (here 0): stereo.
    const stereo = AC3_FRAME.slice();
    stereo[6] = (2 << 5) | (stereo[6]! & 0x1f);
    const changed = ingest.pushAudio(96, b(CODED_FRAMES, 'ac-3', stereo), 0);
    expect(tracks(changed).map((t) => [t.channels, hex(t.config)])).toEqual([[2, '101140']]); // fscod 0, bsid 8, bsmod 0, acmod 2, lfeon 0, 192 kbit/s
  });

  it('an `ec-3` body of AC-3 syncframes is an AC-3 track (the bitstream decides)', () => {
    const out = new FlvIngest().pushAudio(0, b(CODED_FRAMES, 'ec-3', AC3_FRAME), 0);
    expect(warnings(out)).toEqual([]);
    expect(tracks(out).map((t) => t.codec)).toEqual(['ac3']);
    expect(frames(out)).toHaveLength(1);
  });

  it('unknown FourCCs, frames before their sequence start and malformed packets are warned about, not carried', () => {
    const ingest = new FlvIngest();
    const unknown = [...ingest.pushAudio(0, b(CODED_FRAMES, '.mp3', 0xff, 0xfb), 0), ...ingest.pushAudio(20, b(CODED_FRAMES, '.mp3', 0xff, 0xfb), 0)];
    expect(warnings(unknown)).toEqual(["unsupported-codec: Enhanced RTMP audio FourCC '.mp3' is not supported (carried: mp4a, Opus, fLaC, ac-3, ec-3); audio dropped"]);
    expect(warnings(ingest.pushAudio(0, b(CODED_FRAMES, 'Opus', OPUS_20MS), 0))).toEqual(['no-sequence-header: Opus frame before its sequence header dropped']);
    ingest.pushAudio(0, b(SEQUENCE_START, 'Opus', OPUS_HEAD), 0);
    const broken = ingest.pushAudio(0, b(CODED_FRAMES, 'Opus', 0x03, 0x00), 0); // code 3 with 0 frames
    expect(frames(broken)).toEqual([]);
    expect(warnings(broken)[0]).toMatch(/^malformed-audio-frame: codec\.opus: code 3 Opus packet with 0 frames/);
    expect(warnings(ingest.pushAudio(0, b(SEQUENCE_START, 'Opus', OPUS_HEAD.subarray(0, 10)), 0))[0]).toMatch(/^bad-sequence-header: codec\.opus/);
  });

  it('random enhanced audio message sequences never throw and keep dts strictly increasing', () => {
    const messages = [
      b(SEQUENCE_START, 'Opus', OPUS_HEAD), b(CODED_FRAMES, 'Opus', OPUS_20MS), b(CODED_FRAMES, 'Opus', OPUS_60MS),
      b(SEQUENCE_START, 'fLaC', FLAC_START), b(CODED_FRAMES, 'fLaC', flacFrame(0, 192, [1]), flacFrame(1, 64, [2])),
      b(CODED_FRAMES, 'ac-3', AC3_FRAME), b(MULTICHANNEL_CONFIG, 'Opus', 1, 2, 0, 0, 0, 3), b(SEQUENCE_START, 'Opus'),
      // E-RTMP v2 multitrack (ManyTracksManyCodecs): an Opus track 0 and an AC-3 track 1 in one message.
      b(0x95, 0x20, 'Opus', 0, 0, 0, OPUS_HEAD.byteLength, OPUS_HEAD), b(0x95, 0x21, 'Opus', 0, 0, 0, 3, OPUS_20MS, 'ac-3', 1, 0x00, 0x03, 0x00, AC3_FRAME),
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...messages), fc.integer({ min: 0, max: 2000 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 2 })), { maxLength: 30 }),
        (seq) => {
          const ingest = new FlvIngest();
          let ms = 0;
          // Per track: multitrack messages time each track on its own.
          const last = new Map<number, number>();
          for (const [m, step, edits] of seq) {
            const msg = m.slice();
            for (const [p, v] of edits) msg[p % msg.byteLength] = v;
            ms += step;
            for (const e of ingest.pushAudio(ms, msg, 0)) {
              if (e.type === 'track') last.set(e.trackId ?? 0, -1);
              if (e.type === 'frame') {
                expect(e.frame.dts).toBeGreaterThan(last.get(e.trackId ?? 0) ?? -1);
                last.set(e.trackId ?? 0, e.frame.dts);
              }
            }
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});
