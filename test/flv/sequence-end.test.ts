/**
 * SequenceEnd (E-RTMP v2 VideoPacketType/AudioPacketType 2, legacy AVCPacketType 2): read, and not
 * passed on (README "HEVC, AV1 and VP9"; flv/ingest.ts says why). The track survives it: frames go
 * on, and a SequenceStart with the same record after it is no new track (no new init segment).
 */
import { describe, expect, it } from 'vitest';
import { FlvIngest, type IngestEvent } from '../../src/flv/ingest.js';
import { parseAudioTagBody, parseVideoTagBody } from '../../src/flv/tag.js';

const b = (...bytes: Array<number | string | Uint8Array>): Uint8Array =>
  Uint8Array.from(bytes.flatMap((x) => (typeof x === 'string' ? [...x].map((c) => c.charCodeAt(0)) : x instanceof Uint8Array ? [...x] : [x])));
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
// libx264 720p avcC (test/flv/ingest.test.ts).
const AVCC = hex('0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000468ef8fcb');
const IDR = [0, 0, 0, 3, 0x65, 0x88, 0x84];
const kinds = (events: IngestEvent[]): string[] => events.map((e) => (e.type === 'frame' ? `frame ${e.frame.dts}` : e.type === 'track' ? `track ${e.track.kind}` : `warning ${e.code}`));

describe('SequenceEnd', () => {
  it('parses as end-of-sequence (video) or an ignored packet (audio), legacy and enhanced', () => {
    expect(parseVideoTagBody(b(0x17, 2, 0, 0, 0))).toEqual({ kind: 'end-of-sequence', codec: 'avc' });
    expect(parseVideoTagBody(b(0x80 | (1 << 4) | 2, 'hvc1'))).toEqual({ kind: 'end-of-sequence', codec: 'hevc' });
    expect(parseVideoTagBody(b(0x80 | (1 << 4) | 2, 'av01'))).toEqual({ kind: 'end-of-sequence', codec: 'av1' });
    expect(parseAudioTagBody(b(0x92, 'Opus'))).toEqual({ kind: 'ignored', reason: 'audio sequence end' });
  });

  it('gives no event; frames and an identical SequenceStart after it keep the track', () => {
    const ingest = new FlvIngest();
    expect(kinds(ingest.pushVideo(0, b(0x80 | (1 << 4) | 0, 'avc1', AVCC), 0))).toEqual(['track video']);
    expect(kinds(ingest.pushVideo(0, b(0x80 | (1 << 4) | 3, 'avc1', ...IDR), 0))).toEqual(['frame 0']);
    expect(kinds(ingest.pushVideo(33, b(0x80 | (1 << 4) | 2, 'avc1'), 0))).toEqual([]);
    expect(kinds(ingest.pushVideo(40, b(0x80 | (1 << 4) | 0, 'avc1', AVCC), 0))).toEqual([]);
    expect(kinds(ingest.pushVideo(40, b(0x80 | (1 << 4) | 3, 'avc1', ...IDR), 0))).toEqual(['frame 3600']);
  });
});
