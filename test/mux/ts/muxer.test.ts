import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../../src/core/errors.js';
import type { Frame } from '../../../src/core/media.js';
import { TsSegmentMuxer, type TsSegmentInput } from '../../../src/mux/ts/muxer.js';
import { AUDIO_PID, PAT_PID, PMT_PID, VIDEO_PID, readPcrBase, readTimestamp } from '../../../src/mux/ts/packet.js';
import { decodeErrors, loadAvFixture, probeStreams, probeVideoFrames, splitPackets, type TsPacketView } from './ts-fixture.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const dir = mkdtempSync(join(tmpdir(), 'ts-mux-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fx = loadAvFixture();

/** Cuts at every keyframe (1 s GOPs) and gives audio the same cut instants, like the segmenter. */
function segments(): TsSegmentInput[] {
  const starts = fx.videoFrames.filter((f) => f.key).map((f) => f.dts);
  const out: TsSegmentInput[] = [];
  for (let i = 0; i < starts.length; i++) {
    const from = starts[i]!;
    const to = starts[i + 1] ?? Infinity;
    const video = fx.videoFrames.filter((f) => f.dts >= from && f.dts < to);
    const audio = fx.audioFrames.filter((f) => {
      const t = (f.dts * 90000) / fx.audio.sampleRate;
      return (i === 0 || t >= from) && t < to;
    });
    out.push({ video: { track: fx.video, frames: video }, audio: { track: fx.audio, frames: audio } });
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface PesStart {
  pid: number;
  pts: number;
  dts: number;
  packet: TsPacketView;
}

function pesStarts(packets: readonly TsPacketView[]): PesStart[] {
  return packets
    .filter((p) => p.pusi && (p.pid === VIDEO_PID || p.pid === AUDIO_PID))
    .map((p) => {
      const h = p.payload;
      expect([h[0], h[1], h[2]]).toEqual([0, 0, 1]);
      const flags = h[7]! >> 6;
      const pts = readTimestamp(h, 9);
      return { pid: p.pid, pts, dts: flags === 3 ? readTimestamp(h, 14) : pts, packet: p };
    });
}

describe('TsSegmentMuxer on real H.264 + AAC', () => {
  const muxer = new TsSegmentMuxer();
  const inputs = segments();
  const outputs = inputs.map((s) => muxer.mux(s));
  const whole = concat(outputs);

  it('writes whole 188-byte packets, PAT + PMT first in every segment', () => {
    expect(inputs.length).toBe(4);
    for (const seg of outputs) {
      const packets = splitPackets(seg);
      expect(packets[0]!.pid).toBe(PAT_PID);
      expect(packets[1]!.pid).toBe(PMT_PID);
      expect(packets.slice(2).every((p) => p.pid === VIDEO_PID || p.pid === AUDIO_PID)).toBe(true);
    }
  });

  it('continuity counters increase by one per PID across segment boundaries', () => {
    const last = new Map<number, number>();
    for (const p of splitPackets(whole)) {
      expect(p.hasPayload).toBe(true);
      const prev = last.get(p.pid);
      if (prev !== undefined) expect(p.cc).toBe((prev + 1) & 0x0f);
      else expect(p.cc).toBe(0);
      last.set(p.pid, p.cc);
    }
  });

  it('opens each segment with a keyframe PES carrying random_access and a PCR; PCR in every video PES', () => {
    for (const seg of outputs) {
      const starts = pesStarts(splitPackets(seg));
      const first = starts[0]!;
      expect(first.pid).toBe(VIDEO_PID);
      const af = first.packet.adaptation!;
      expect(af[1]! & 0x40).toBe(0x40);
      expect(af[1]! & 0x10).toBe(0x10);
      for (const s of starts.filter((s) => s.pid === VIDEO_PID)) {
        const a = s.packet.adaptation!;
        expect(a[1]! & 0x10).toBe(0x10);
        // PCR runs 0.7 s behind the DTS, never below 0
        expect(readPcrBase(a, 2)).toBe(Math.max(0, s.dts - 63000));
      }
    }
  });

  it('PES timestamps are the frames timestamps, interleaved by DTS; audio grouped up to 90 ms', () => {
    const starts = pesStarts(splitPackets(whole));
    const video = starts.filter((s) => s.pid === VIDEO_PID);
    expect(video.map((s) => [s.pts, s.dts])).toEqual(fx.videoFrames.map((f) => [f.pts, f.dts]));
    const audio = starts.filter((s) => s.pid === AUDIO_PID);
    expect(audio.length).toBeLessThan(fx.audioFrames.length / 3);
    const to90k = (t: number): number => Math.round((t * 90000) / fx.audio.sampleRate);
    const audioStarts = new Set(fx.audioFrames.map((f) => to90k(f.dts)));
    for (let i = 0; i < audio.length; i++) {
      expect(audioStarts.has(audio[i]!.pts)).toBe(true);
      if (i > 0) expect(audio[i]!.dts - audio[i - 1]!.dts).toBeLessThanOrEqual(8100);
    }
    for (const seg of outputs) {
      const s = pesStarts(splitPackets(seg));
      for (let i = 1; i < s.length; i++) {
        if (s[i]!.pid !== s[i - 1]!.pid) expect(s[i]!.dts).toBeGreaterThanOrEqual(s[i - 1]!.dts - 8100);
      }
    }
  });

  it('ffmpeg decodes the segments silently; ffprobe sees h264 + aac with every frame and the right duration', () => {
    const file = join(dir, 'all.ts');
    writeFileSync(file, whole);
    expect(decodeErrors(file)).toBe('');
    const { streams, stderr } = probeStreams(file);
    expect(stderr).toBe('');
    const v = streams.find((s) => s.codec_type === 'video')!;
    const a = streams.find((s) => s.codec_type === 'audio')!;
    expect(v.codec_name).toBe('h264');
    expect([v.width, v.height]).toEqual([320, 240]);
    expect(a.codec_name).toBe('aac');
    expect(a.sample_rate).toBe('48000');
    expect(a.channels).toBe(2);
    expect(Number(v.nb_read_packets)).toBe(fx.videoFrames.length);
    expect(Number(a.nb_read_packets)).toBe(fx.audioFrames.length);
    expect(Number(v.duration)).toBeCloseTo(4, 1);
    expect(Number(a.duration)).toBeCloseTo(fx.audioFrames.length * 1024 / 48000, 1);
  });

  it('every segment on its own starts with a keyframe and decodes silently', () => {
    outputs.forEach((seg, i) => {
      const file = join(dir, `seg-${i}.ts`);
      writeFileSync(file, seg);
      expect(decodeErrors(file)).toBe('');
      const frames = probeVideoFrames(file);
      expect(frames.length).toBe(inputs[i]!.video!.frames.length);
      const firstShown = frames.reduce((a, b) => (b.time < a.time ? b : a));
      expect(firstShown.key).toBe(true);
    });
  });
});

describe('TsSegmentMuxer programs', () => {
  it('audio only: PCR on the audio PID in every audio PES, PMT PCR_PID 0x101, decodes', () => {
    const muxer = new TsSegmentMuxer();
    const ts = muxer.mux({ audio: { track: fx.audio, frames: fx.audioFrames.slice(0, 94) } });
    const packets = splitPackets(ts);
    const pmt = packets[1]!.payload;
    expect((((pmt[9]! & 0x1f) << 8) | pmt[10]!)).toBe(AUDIO_PID);
    expect(pmt[13]).toBe(0x0f);
    for (const p of packets.filter((p) => p.pusi && p.pid === AUDIO_PID)) expect(p.adaptation![1]! & 0x50).toBe(0x50);
    const file = join(dir, 'audio.ts');
    writeFileSync(file, ts);
    expect(decodeErrors(file)).toBe('');
    const { streams } = probeStreams(file);
    expect(streams.map((s) => s.codec_name)).toEqual(['aac']);
    expect(Number(streams[0]!.nb_read_packets)).toBe(94);
  });

  it('bumps the PMT version when the program changes', () => {
    const muxer = new TsSegmentMuxer();
    const version = (ts: Uint8Array): number => (splitPackets(ts)[1]!.payload[6]! >> 1) & 0x1f;
    const av = { video: { track: fx.video, frames: fx.videoFrames.slice(0, 1) }, audio: { track: fx.audio, frames: [] } };
    expect(version(muxer.mux(av))).toBe(0);
    expect(version(muxer.mux(av))).toBe(0);
    expect(version(muxer.mux({ video: av.video }))).toBe(1);
    expect(version(muxer.mux(av))).toBe(2);
  });

  it('keeps audio PES apart across a timestamp gap', () => {
    const muxer = new TsSegmentMuxer();
    const frames = fx.audioFrames.slice(0, 4).map((f, i) => (i >= 2 ? { ...f, dts: f.dts + 10240, pts: f.pts + 10240 } : f));
    const starts = splitPackets(muxer.mux({ audio: { track: fx.audio, frames } })).filter((p) => p.pusi && p.pid === AUDIO_PID);
    expect(starts.length).toBe(2);
  });

  it('rejects an empty program and a segment over the size limit', () => {
    expect(() => new TsSegmentMuxer().mux({})).toThrow(GatewayError);
    const small = new TsSegmentMuxer({ maxSegmentBytes: 188 * 10 });
    expect(() => small.mux({ video: { track: fx.video, frames: fx.videoFrames.slice(0, 5) } })).toThrow(/size limit/);
  });

  it('random and mutated frames: whole packets or a GatewayError, nothing else', () => {
    const real = fx.videoFrames.slice(0, 3);
    const frame = fc.record({
      data: fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc.tuple(fc.constantFrom(...real), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, v]) => {
          const copy = f.data.slice(0, 800);
          if (copy.length > 0) copy[at % copy.length] = v;
          return copy;
        }),
      ),
      key: fc.boolean(),
      dts: fc.integer({ min: 0, max: 2 ** 34 }),
      cts: fc.integer({ min: 0, max: 9000 }),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 5 }), fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (vf, af) => {
        const video: Frame[] = [...vf].sort((a, b) => a.dts - b.dts).map((f) => ({ kind: 'video', dts: f.dts, pts: f.dts + f.cts, key: f.key, data: f.data, wallclock: 0 }));
        const audio: Frame[] = af.map((data, i) => ({ kind: 'audio', dts: i * 1024, pts: i * 1024, key: true, data, wallclock: 0 }));
        try {
          const ts = new TsSegmentMuxer().mux({ video: { track: fx.video, frames: video }, audio: { track: fx.audio, frames: audio } });
          expect(ts.length % 188).toBe(0);
          splitPackets(ts);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('TsSegmentMuxer on real HEVC', () => {
  /** VPS/SPS/PPS out of an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1). */
  function parameterSetsOfHvcC(hvcC: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = 23;
    const arrays = hvcC[22]!;
    for (let i = 0; i < arrays; i++) {
      const count = (hvcC[at + 1]! << 8) | hvcC[at + 2]!;
      at += 3;
      for (let k = 0; k < count; k++) {
        const n = (hvcC[at]! << 8) | hvcC[at + 1]!;
        out.push(hvcC.slice(at + 2, at + 2 + n));
        at += 2 + n;
      }
    }
    return out;
  }

  it('stream_type 0x24 with HEVC AUDs and VPS/SPS/PPS before IRAPs decodes silently', async () => {
    // The fMP4 tests' HEVC fixture (x265 in MP4, read back with mp4box), reused read-only.
    const { loadHevcFixture } = await import('../fmp4/media-fixture.js');
    const hevc = loadHevcFixture();
    const track = { ...hevc.track, parameterSets: parameterSetsOfHvcC(hevc.track.config) };
    const frames: Frame[] = hevc.samples.map((s) => ({ kind: 'video', dts: s.dts, pts: s.pts, key: s.key, data: s.data, wallclock: 0 }));
    const ts = new TsSegmentMuxer().mux({ video: { track, frames } });
    expect(splitPackets(ts)[1]!.payload[13]).toBe(0x24);
    const file = join(dir, 'hevc.ts');
    writeFileSync(file, ts);
    expect(decodeErrors(file)).toBe('');
    const { streams } = probeStreams(file);
    expect(streams.map((s) => s.codec_name)).toEqual(['hevc']);
    expect(Number(streams[0]!.nb_read_packets)).toBe(frames.length);
  });
});

describe('TsSegmentMuxer with timed ID3 (Apple Timed Metadata for HLS)', () => {
  it('declares the ID3 stream in the PMT and carries each tag at its PTS: ffprobe reads a timed_id3 stream and its packets', async () => {
    const { buildId3Tag } = await import('../../../src/metadata/id3.js');
    const [first, second] = segments();
    const muxer = new TsSegmentMuxer();
    const at = first!.video!.frames[10]!.pts;
    const tag = buildId3Tag([{ kind: 'TXXX', description: 'text', value: 'Goal!' }]);
    const a = muxer.mux({ ...first!, id3: { tags: [{ pts: at, tag }] } });
    // Declared on and on once the stream had metadata, even in a segment without any.
    const b = muxer.mux({ ...second!, id3: { tags: [] } });
    const file = join(dir, 'id3.ts');
    writeFileSync(file, concat([a, b]));
    const { streams } = probeStreams(file);
    expect(streams.map((s) => s.codec_name)).toEqual(['h264', 'aac', 'timed_id3']);
    expect(Number(streams[2]!.nb_read_packets)).toBe(1);
    const { spawnSync } = await import('node:child_process');
    const { ffprobeBinary } = await import('./ts-fixture.js');
    const packets = spawnSync(ffprobeBinary(), ['-v', 'error', '-select_streams', 'd:0', '-show_entries', 'packet=pts,size', '-of', 'csv=p=0', file], { encoding: 'utf8' }).stdout.trim();
    // ffmpeg's demuxer reads a stream_type 0x15 PES as an ISO 13818-1 §2.12.4 metadata AU cell
    // and drops a 5-byte cell header Apple's format does not have (hls.js reads the tag whole:
    // test/browser/timed-metadata.test.ts); the PTS is what ffprobe can vouch for.
    expect(packets.split(',')[0]).toBe(String(at));
    expect(decodeErrors(file)).toBe('');
  });
});
