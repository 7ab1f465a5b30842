/** What ffmpeg's stdin gets per source codec: FLV for H.264, fragmented MP4 for HEVC, AV1 and VP9. */
import { describe, expect, it } from 'vitest';
import type { Frame, VideoTrack } from '../../src/core/media.js';
import { FLV_TAG_VIDEO, FlvReader } from '../../src/flv/reader.js';
import { transcoderInput } from '../../src/ladder/transcoder-input.js';
import { concatBytes, parseMp4 } from '../mux/fmp4/media-fixture.js';

const AVCC = Buffer.from('0142c01effe100196742c01eda0280bfe5c044000003000400000300f23c58ba8001000468ce3c80', 'hex');
const avc: VideoTrack = { kind: 'video', codec: 'avc', timescale: 90_000, width: 640, height: 360, fps: 30, codecString: 'avc1.42c01e', config: AVCC, parameterSets: [], nalLengthSize: 4 };
const vp9: VideoTrack = { kind: 'video', codec: 'vp9', timescale: 90_000, width: 640, height: 360, codecString: 'vp09.00.21.08.01.02.02.02.00', config: Uint8Array.of(0, 0x15, 0x82, 2, 2, 2, 0, 0), parameterSets: [], nalLengthSize: 0 };
const frame = (dts: number, key: boolean, data: Uint8Array): Frame => ({ kind: 'video', dts, pts: dts, key, data, wallclock: 0 });

describe('transcoder input', () => {
  it('H.264: FLV with the sequence header at 0 and frames in ms since the run began', () => {
    const base = 900_000; // 10 s
    const input = transcoderInput('avc', base);
    expect(input.format).toBe('flv');
    const data = Uint8Array.of(0, 0, 0, 2, 0x65, 0x88);
    const bytes = concatBytes([...input.start(avc), input.frame(frame(base, true, data), avc), input.frame(frame(base + 3003, false, data), avc)]);
    const tags = new FlvReader().push(bytes);
    expect(tags.map((t) => [t.type, t.timestamp, t.payload[1]])).toEqual([[FLV_TAG_VIDEO, 0, 0], [FLV_TAG_VIDEO, 0, 1], [FLV_TAG_VIDEO, 33, 1]]);
    expect(input.config(avc, base + 6006)).toBeDefined();
  });

  it('VP9 (and HEVC, AV1): an init segment, then one fragment per frame with its decode time in tfdt', () => {
    const base = 900_000;
    const input = transcoderInput('vp9', base);
    expect(input.format).toBe('mp4');
    const a = Uint8Array.of(0x82, 0x49, 0x83, 0x42);
    const b = Uint8Array.of(0x86, 0x00);
    const bytes = concatBytes([...input.start(vp9), input.frame(frame(base, true, a), vp9), input.frame(frame(base + 3000, false, b), vp9), input.frame(frame(base + 6000, false, b), vp9)]);
    const parsed = parseMp4(bytes, { withData: true });
    expect(parsed.errors).toEqual([]);
    expect(parsed.info.videoTracks[0]!.codec).toMatch(/^vp09/);
    const samples = parsed.samples.get(parsed.info.videoTracks[0]!.id)!;
    expect(samples.map((s) => [s.dts, s.is_sync, s.size])).toEqual([[0, true, 4], [3000, false, 2], [6000, false, 2]]);
    // A second moov cannot follow in the stream: the configuration change is not carried.
    expect(input.config(vp9, base + 9000)).toBeUndefined();
  });
});
