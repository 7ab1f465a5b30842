/**
 * Enhanced RTMP v2 multitrack audio (veovera enhanced-rtmp v2, "ExAudioTagBody", AudioPacketType
 * Multitrack = 5 with AvMultitrackType OneTrack / ManyTracks / ManyTracksManyCodecs): golden
 * bytes of each form through the parser; FlvIngest making track 0 the stream's audio and further
 * tracks alternative audio tracks (trackId on their events); publishMedia turning those into the
 * alternative audio renditions `audio-N` of core/audio-renditions.ts.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import type { AudioTrack, Frame, Track } from '../../src/core/media.js';
import type { Publisher } from '../../src/core/publish.js';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';
import { publishMedia } from '../../src/flv/publish-tags.js';
import { parseAudioTagBody } from '../../src/flv/tag.js';

const b = (...bytes: Array<number | string>): Uint8Array =>
  Uint8Array.from(bytes.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : [x])));

/** SoundFormat 9 (ExHeader) << 4 | AudioPacketType.Multitrack (5). */
const MULTITRACK = 0x95;
/** AvMultitrackType << 4 | AudioPacketType (0 SequenceStart, 1 CodedFrames). */
const ONE_TRACK = 0x00;
const MANY_TRACKS = 0x10;
const MANY_CODECS = 0x20;
const SEQUENCE_START = 0;
const CODED_FRAMES = 1;

/** AudioSpecificConfig: AAC-LC 48 kHz stereo, AAC-LC 44.1 kHz mono (ISO/IEC 14496-3 §1.6.2.1). */
const ASC_48K_STEREO = [0x11, 0x90];
const ASC_44K_MONO = [0x12, 0x08];
/** libopus stereo OpusHead, pre-skip 312 (RFC 7845 §5.1). */
const OPUS_HEAD = [...Buffer.from('4f707573486561640102380180bb0000000000', 'hex')];
/** An Opus TOC byte: CELT FB 20 ms, code 0 (RFC 6716 §3.1). */
const OPUS_20MS = [0xfc, 0xaa];

const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
/** Per-track entry of a ManyTracks body: trackId, UI24 size, bytes. */
const sized = (trackId: number, body: number[]): number[] => [trackId, ...u24(body.length), ...body];

describe('parseAudioTagBody: E-RTMP v2 multitrack audio (golden bytes)', () => {
  it('OneTrack: header FourCC, one track id, the body to the end of the message', () => {
    // 95 | 00 (OneTrack, SequenceStart) | 'mp4a' | 01 | 11 90
    const bytes = b(MULTITRACK, ONE_TRACK | SEQUENCE_START, 'mp4a', 1, ...ASC_48K_STEREO);
    expect(Buffer.from(bytes).toString('hex')).toBe('9500' + '6d703461' + '01' + '1190');
    expect(parseAudioTagBody(bytes)).toEqual({ kind: 'multitrack', tracks: [{ trackId: 1, body: { kind: 'sequence-header', codec: 'aac', config: Uint8Array.of(...ASC_48K_STEREO) } }] });
    expect(parseAudioTagBody(b(MULTITRACK, ONE_TRACK | CODED_FRAMES, 'Opus', 0, ...OPUS_20MS))).toEqual({
      kind: 'multitrack',
      tracks: [{ trackId: 0, body: { kind: 'frame', codec: 'opus', data: Uint8Array.of(...OPUS_20MS) } }],
    });
  });

  it('ManyTracks: one FourCC, then trackId + UI24 size + body per track', () => {
    // 95 | 11 (ManyTracks, CodedFrames) | 'mp4a' | 00 000002 2110 | 01 000003 211122
    const bytes = b(MULTITRACK, MANY_TRACKS | CODED_FRAMES, 'mp4a', ...sized(0, [0x21, 0x10]), ...sized(1, [0x21, 0x11, 0x22]));
    expect(Buffer.from(bytes).toString('hex')).toBe('9511' + '6d703461' + '00000002' + '2110' + '01000003' + '211122');
    expect(parseAudioTagBody(bytes)).toEqual({
      kind: 'multitrack',
      tracks: [
        { trackId: 0, body: { kind: 'frame', codec: 'aac', data: Uint8Array.of(0x21, 0x10) } },
        { trackId: 1, body: { kind: 'frame', codec: 'aac', data: Uint8Array.of(0x21, 0x11, 0x22) } },
      ],
    });
  });

  it('ManyTracksManyCodecs: a FourCC per track; an unknown codec is reported for its track', () => {
    // 95 | 20 (ManyTracksManyCodecs, SequenceStart) | 'mp4a' 00 000002 1208 | 'Opus' 01 000013 OpusHead | '.mp3' 02 000001 ff
    const bytes = b(MULTITRACK, MANY_CODECS | SEQUENCE_START, 'mp4a', ...sized(0, ASC_44K_MONO), 'Opus', ...sized(1, OPUS_HEAD), '.mp3', ...sized(2, [0xff]));
    expect(Buffer.from(bytes.subarray(0, 12)).toString('hex')).toBe('9520' + '6d703461' + '00000002' + '1208');
    expect(parseAudioTagBody(bytes)).toEqual({
      kind: 'multitrack',
      tracks: [
        { trackId: 0, body: { kind: 'sequence-header', codec: 'aac', config: Uint8Array.of(...ASC_44K_MONO) } },
        { trackId: 1, body: { kind: 'sequence-header', codec: 'opus', config: Uint8Array.of(...OPUS_HEAD) } },
        { trackId: 2, body: { kind: 'unsupported', soundFormat: '.mp3' } },
      ],
    });
  });

  it('track bodies are views of the message (no copy)', () => {
    const bytes = b(MULTITRACK, MANY_TRACKS | CODED_FRAMES, 'mp4a', ...sized(3, [0x21, 0x10]));
    const body = parseAudioTagBody(bytes);
    if (body.kind !== 'multitrack' || body.tracks[0]!.body.kind !== 'frame') throw new Error('expected a multitrack frame');
    expect(body.tracks[0]!.body.data.buffer).toBe(bytes.buffer);
    expect(body.tracks[0]!.body.data.byteOffset).toBe(10);
  });

  it('truncation throws GatewayError(flv) with the offset; unknown multitrack types and nesting are ignored', () => {
    // A track size past the end of the message.
    const long = b(MULTITRACK, MANY_TRACKS | CODED_FRAMES, 'mp4a', 0, 0, 0, 9, 0x21);
    expect(() => parseAudioTagBody(long)).toThrow(GatewayError);
    try {
      parseAudioTagBody(long);
    } catch (e) {
      expect((e as GatewayError).message).toMatch(/multitrack audio track 0 truncated/);
      expect((e as GatewayError).context).toMatchObject({ offset: 10, length: 11 });
    }
    expect(() => parseAudioTagBody(b(MULTITRACK))).toThrow(/multitrack audio header truncated/);
    expect(() => parseAudioTagBody(b(MULTITRACK, ONE_TRACK, 'mp4'))).toThrow(/multitrack audio FourCC truncated/);
    expect(() => parseAudioTagBody(b(MULTITRACK, MANY_CODECS | CODED_FRAMES, 'mp4a', 0, 0, 0, 1, 0x21, 'Op'))).toThrow(/multitrack audio FourCC truncated/);
    expect(parseAudioTagBody(b(MULTITRACK, 0x31, 'mp4a', 0))).toMatchObject({ kind: 'ignored', reason: 'unknown AvMultitrackType 3' });
    expect(parseAudioTagBody(b(MULTITRACK, ONE_TRACK | 5, 'mp4a', 0))).toMatchObject({ kind: 'ignored', reason: 'nested multitrack audio' });
  });
});

const trackEvents = (events: IngestEvent[]): Array<{ track: Track; trackId: number | undefined }> => events.flatMap((e) => (e.type === 'track' ? [{ track: e.track, trackId: e.trackId }] : []));
const frameEvents = (events: IngestEvent[]): Array<{ frame: Frame; trackId: number | undefined }> => events.flatMap((e) => (e.type === 'frame' ? [{ frame: e.frame, trackId: e.trackId }] : []));
const warnings = (events: IngestEvent[]): string[] => events.flatMap((e) => (e.type === 'warning' ? [`${e.code}: ${e.message}`] : []));

describe('FlvIngest: multitrack audio', () => {
  it('track 0 is the stream audio, track 1 a further audio track with its own timing', () => {
    const ingest = new FlvIngest();
    const start = ingest.pushAudio(0, b(MULTITRACK, MANY_CODECS | SEQUENCE_START, 'mp4a', ...sized(0, ASC_48K_STEREO), 'Opus', ...sized(1, OPUS_HEAD)), 0);
    expect(warnings(start)).toEqual([]);
    expect(trackEvents(start).map((t) => [t.trackId, t.track.kind === 'audio' ? t.track.codec : '', (t.track as AudioTrack).sampleRate])).toEqual([
      [undefined, 'aac', 48_000],
      [1, 'opus', 48_000],
    ]);
    expect(ingest.audioTrack?.codec).toBe('aac');
    const out = [
      ...ingest.pushAudio(0, b(MULTITRACK, MANY_CODECS | CODED_FRAMES, 'mp4a', ...sized(0, [0x21, 0x10]), 'Opus', ...sized(1, OPUS_20MS)), 0),
      ...ingest.pushAudio(21, b(MULTITRACK, ONE_TRACK | CODED_FRAMES, 'mp4a', 0, 0x21, 0x10), 0),
      ...ingest.pushAudio(20, b(MULTITRACK, ONE_TRACK | CODED_FRAMES, 'Opus', 1, ...OPUS_20MS), 0),
    ];
    expect(warnings(out)).toEqual([]);
    // AAC advances 1024 samples a frame, Opus 960 (20 ms at 48 kHz): each track on its own.
    expect(frameEvents(out).map((f) => [f.trackId, f.frame.dts])).toEqual([[undefined, 0], [1, 0], [undefined, 1024], [1, 960]]);
  });

  it('a frame of a further track before its sequence start is dropped with a warning naming the track', () => {
    const out = new FlvIngest().pushAudio(0, b(MULTITRACK, ONE_TRACK | CODED_FRAMES, 'Opus', 2, ...OPUS_20MS), 0);
    expect(frameEvents(out)).toEqual([]);
    expect(warnings(out)).toEqual(['no-sequence-header: Opus frame before its sequence header dropped (track 2)']);
  });

  it('beyond 8 audio tracks in all, further tracks are dropped with a single warning per publish', () => {
    const ingest = new FlvIngest();
    const all = Array.from({ length: 10 }, (_, id) => ingest.pushAudio(0, b(MULTITRACK, ONE_TRACK | SEQUENCE_START, 'mp4a', id, ...ASC_48K_STEREO), 0)).flat();
    expect(trackEvents(all).map((t) => t.trackId ?? 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(warnings(all)).toEqual(['extra-track: more than 8 audio tracks: track 8 and any further one dropped']);
  });
});

describe('publishMedia: further E-RTMP audio tracks become alternative audio renditions', () => {
  it('track 0 feeds the stream, track N the rendition audio-(N+1); a full stream warns', () => {
    const calls: string[] = [];
    let room = true;
    const publisher = {
      track: (t: Track) => calls.push(`track ${t.kind}`),
      frame: (f: Frame) => calls.push(`frame ${f.kind} ${f.dts}`),
      renditionTrack: (id: number) => calls.push(`video rendition ${id}`),
      renditionFrame: (id: number) => calls.push(`video rendition frame ${id}`),
      audioRenditionTrack: (id: string, t: AudioTrack, language: string | undefined) => {
        calls.push(`audio rendition ${id} ${t.codec} ${String(language)}`);
        return room;
      },
      audioRenditionFrame: (id: string, f: Frame) => calls.push(`audio rendition frame ${id} ${f.dts}`),
      warning: (code: string, message: string) => calls.push(`warning ${code}: ${message}`),
    } as unknown as Publisher;
    const ingest = new FlvIngest();
    publishMedia(publisher, ingest, false, 0, b(MULTITRACK, MANY_TRACKS | SEQUENCE_START, 'mp4a', ...sized(0, ASC_48K_STEREO), ...sized(1, ASC_44K_MONO)));
    publishMedia(publisher, ingest, false, 0, b(MULTITRACK, MANY_TRACKS | CODED_FRAMES, 'mp4a', ...sized(0, [0x21, 0x10]), ...sized(1, [0x21, 0x10])));
    room = false;
    publishMedia(publisher, ingest, false, 0, b(MULTITRACK, ONE_TRACK | SEQUENCE_START, 'mp4a', 4, ...ASC_48K_STEREO));
    expect(calls).toEqual([
      'track audio',
      'audio rendition audio-2 aac undefined',
      'frame audio 0',
      'audio rendition frame audio-2 0',
      'audio rendition audio-5 aac undefined',
      'warning extra-track: audio track 4 dropped: at most 8 audio tracks per stream are carried',
    ]);
  });
});
