/**
 * The slate's silence in the live stream's audio codec (slate-silence.ts): what a real ffmpeg
 * encodes, wrapped as Enhanced RTMP audio tags, is read by our FLV ingest as a track of the same
 * codec, rate and channels, frame after frame without a warning; the slate's format keeps the
 * live codec for AAC, Opus, AC-3, E-AC-3 and no audio for FLAC.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AudioTrack, VideoTrack } from '../../src/core/media.js';
import { FlvIngest } from '../../src/flv/ingest.js';
import { FLV_TAG_AUDIO } from '../../src/flv/reader.js';
import { playSlateClip } from '../../src/slate/slate-feed.js';
import { formatOf } from '../../src/slate/slate-manager.js';
import { encodeSlateSilence, oggPackets, type SilenceCodec } from '../../src/slate/slate-silence.js';
import { ffmpegPath } from '../helpers/tools.js';

const CASES: { codec: SilenceCodec; sampleRate: number; channels: number; samples: number; codecString: string }[] = [
  { codec: 'opus', sampleRate: 48_000, channels: 2, samples: 960, codecString: 'opus' },
  { codec: 'opus', sampleRate: 48_000, channels: 1, samples: 960, codecString: 'opus' },
  { codec: 'ac3', sampleRate: 48_000, channels: 6, samples: 1536, codecString: 'ac-3' },
  { codec: 'ac3', sampleRate: 44_100, channels: 2, samples: 1536, codecString: 'ac-3' },
  { codec: 'eac3', sampleRate: 48_000, channels: 2, samples: 1536, codecString: 'ec-3' },
];

describe('slate silence in the live audio codec', () => {
  for (const c of CASES) {
    it(`${c.codec} ${c.sampleRate} Hz ${c.channels} ch: the ingest reads it as the same codec and format, without a warning`, async () => {
      const silence = await encodeSlateSilence(ffmpegPath(), c.codec, c.sampleRate, c.channels);
      expect(silence.samples).toBe(c.samples);
      expect(silence.sampleRate).toBe(c.sampleRate);
      expect(silence.header !== undefined).toBe(c.codec === 'opus');
      const ingest = new FlvIngest();
      const tracks: AudioTrack[] = [];
      const dts: number[] = [];
      const warnings: string[] = [];
      const take = (events: ReturnType<FlvIngest['pushAudio']>): void => {
        for (const e of events) {
          if (e.type === 'track' && e.track.kind === 'audio') tracks.push(e.track);
          if (e.type === 'frame') dts.push(e.frame.dts);
          if (e.type === 'warning') warnings.push(e.message);
        }
      };
      if (silence.header) take(ingest.pushAudio(0, silence.header, 0));
      for (let i = 0; i < 20; i++) take(ingest.pushAudio(Math.round((i * silence.samples * 1000) / silence.sampleRate), silence.frame, 0));
      expect(warnings).toEqual([]);
      expect(tracks).toHaveLength(1);
      expect(tracks[0]).toMatchObject({ codec: c.codec, sampleRate: c.sampleRate, channels: c.channels, codecString: c.codecString });
      expect(dts).toHaveLength(20);
      expect(dts[19]! - dts[0]!).toBe(19 * c.samples);
    }, 30_000);
  }

  it('reads Ogg packets across pages and lacing values of 255', () => {
    const page = (segments: number[], body: Uint8Array): Uint8Array => Uint8Array.of(0x4f, 0x67, 0x67, 0x53, 0, 0, ...new Array<number>(20).fill(0), segments.length, ...segments, ...body);
    const big = new Uint8Array(300).fill(7);
    // A 300-byte packet (255 + 45) that spans two pages, then a 2-byte one.
    const bytes = Uint8Array.of(...page([255], big.subarray(0, 255)), ...page([45, 2], Uint8Array.of(...big.subarray(255), 1, 2)));
    const packets = oggPackets(bytes);
    expect(packets.map((p) => p.byteLength)).toEqual([300, 2]);
    expect(packets[1]).toEqual(Uint8Array.of(1, 2));
    expect(() => oggPackets(Uint8Array.of(...new Array<number>(27).fill(1)))).toThrow(/not an Ogg page at byte 0/);
  });

  it("keeps the live codecs in the slate's format (HEVC, H.264; AAC, Opus, AC-3, E-AC-3; FLAC: no audio)", () => {
    const video = { kind: 'video', codec: 'hevc', width: 1280, height: 720, fps: 30 } as VideoTrack;
    const audio = (codec: AudioTrack['codec']): AudioTrack => ({ kind: 'audio', codec, sampleRate: 48_000, channels: 2 }) as AudioTrack;
    expect(formatOf({ video, audio: audio('opus') })).toEqual({ videoCodec: 'hevc', width: 1280, height: 720, fps: 30, audioCodec: 'opus', sampleRate: 48_000, channels: 2 });
    expect(formatOf({ video, audio: audio('aac') })).toMatchObject({ audioCodec: 'aac' });
    expect(formatOf({ video, audio: audio('eac3') })).toMatchObject({ audioCodec: 'eac3' });
    expect(formatOf({ video, audio: audio('flac') })).toEqual({ videoCodec: 'hevc', width: 1280, height: 720, fps: 30 });
    // H.264 is the default picture codec, and the fallback for AV1 and VP9.
    expect(formatOf({ video: { ...video, codec: 'avc' }, audio: undefined })).toEqual({ width: 1280, height: 720, fps: 30 });
    expect(formatOf({ video: { ...video, codec: 'av1' }, audio: undefined })).toEqual({ width: 1280, height: 720, fps: 30 });
  });

  it('plays Opus silence every 20 ms, after its OpusHead', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] });
    try {
      const times: number[] = [];
      const feed = playSlateClip(
        { videoHeader: new Uint8Array(1), video: [{ ms: 0, payload: new Uint8Array(1) }], loopMs: 1000, audioHeader: Uint8Array.of(0x90), silence: Uint8Array.of(0x91), sampleRate: 48_000, silenceSamples: 960 },
        (type, ms, payload) => {
          if (type === FLV_TAG_AUDIO && payload[0] === 0x91) times.push(ms);
        },
      );
      vi.advanceTimersByTime(105);
      feed.close();
      expect(times).toEqual([0, 20, 40, 60, 80, 100]);
    } finally {
      vi.useRealTimers();
    }
  });
});
