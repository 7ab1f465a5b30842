import { describe, expect, it } from 'vitest';
import type { AudioTrack, Frame, VideoTrack } from '../../src/core/media.js';
import fc from 'fast-check';
import type { ChunkSink, FrameGroup, SegmentEnd, TrackConfig } from '../../src/core/chunks.js';
import { CmafMuxer } from '../../src/mux/fmp4/cmaf-muxer.js';
import { StreamSegmenter } from '../../src/segmenter/stream-segmenter.js';
import { TrackSegmenter } from '../../src/segmenter/track-segmenter.js';
import type { CmafPart, CmafSegment, InitSegment, SegmentSink } from '../../src/mux/fmp4/cmaf.js';

// A real avcC (640x360 baseline) and ASC (AAC-LC 48 kHz stereo) so the muxer accepts them.
const AVCC = Buffer.from('0142c01effe100196742c01eda0280bfe5c044000003000400000300f23c58ba8001000468ce3c80', 'hex');
const ASC = Buffer.from('1190', 'hex');

const video: VideoTrack = {
  kind: 'video', codec: 'avc', timescale: 90000, width: 640, height: 360, fps: 30, codecString: 'avc1.42c01e',
  config: AVCC, parameterSets: [], nalLengthSize: 4,
};
const audio: AudioTrack = {
  kind: 'audio', codec: 'aac', timescale: 48000, sampleRate: 48000, channels: 2, objectType: 2,
  codecString: 'mp4a.40.2', config: ASC, samplesPerFrame: 1024,
};

class Collector implements SegmentSink {
  inits: InitSegment[] = [];
  parts: CmafPart[] = [];
  segments: CmafSegment[] = [];
  onInit(i: InitSegment): void { this.inits.push(i); }
  onPart(p: CmafPart): void { this.parts.push(p); }
  onSegment(s: CmafSegment): void { this.segments.push(s); }
}

const payload = new Uint8Array([0, 0, 0, 2, 0x65, 0x88]);

function videoFrame(i: number, gop = 60, offsetTicks = 0): Frame {
  const dts = offsetTicks + i * 3000;
  return { kind: 'video', dts, pts: dts, key: i % gop === 0, data: payload, wallclock: 0 };
}
function audioFrame(k: number, offsetTicks = 0): Frame {
  const dts = offsetTicks + k * 1024;
  return { kind: 'audio', dts, pts: dts, key: true, data: new Uint8Array([1, 2, 3]), wallclock: 0 };
}

/** Interleaves video and audio by media time; `audioLead` seconds shifts audio arrival earlier. */
function interleave(seconds: number, audioLead = 0, gop = 60): Frame[] {
  const events: { t: number; f: Frame }[] = [];
  for (let i = 0; i < seconds * 30; i++) events.push({ t: i / 30, f: videoFrame(i, gop) });
  for (let k = 0; k * 1024 < seconds * 48000; k++) events.push({ t: (k * 1024) / 48000 - audioLead, f: audioFrame(k) });
  events.sort((a, b) => a.t - b.t);
  return events.map((e) => e.f);
}

function run(frames: Frame[], opts = { segmentDuration: 2, partDuration: 0.2 }) {
  const v = new Collector();
  const a = new Collector();
  const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, opts);
  seg.onTrack(video);
  seg.onTrack(audio);
  for (const f of frames) seg.onFrame(f);
  seg.onEnd();
  return { v, a };
}

describe('StreamSegmenter', () => {
  it('audio announced after video began (MPEG-TS, late AAC headers) joins the open segment with its number', () => {
    const v = new Collector();
    const a = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2 });
    seg.onTrack(video);
    const frames = interleave(9);
    // The audio track is announced 3 s in: video has cut segment 0 and is in segment 1.
    let announced = false;
    for (const f of frames) {
      if (f.kind === 'audio') {
        if (f.dts < 3 * 48000) continue;
        if (!announced) {
          seg.onTrack(audio);
          announced = true;
        }
      }
      seg.onFrame(f);
    }
    seg.onEnd();
    expect(v.segments.map((x) => x.sequence)).toEqual([0, 1, 2, 3, 4]);
    expect(a.segments.map((x) => x.sequence)).toEqual([1, 2, 3, 4]);
    // From segment 2 on, both tracks start at the same media instant (± one AAC frame).
    for (const sequence of [2, 3, 4]) {
      const vs = v.segments.find((x) => x.sequence === sequence)!;
      const as = a.segments.find((x) => x.sequence === sequence)!;
      expect(Math.abs(as.startTime / 48000 - vs.startTime / 90000)).toBeLessThan(1024 / 48000);
    }
  });

  it('cuts video at keyframes on the segment grid and parts on the part grid', () => {
    const { v } = run(interleave(10));
    expect(v.inits).toHaveLength(1);
    expect(v.segments.map((s) => s.sequence)).toEqual([0, 1, 2, 3, 4]);
    // The last video frame lasts until the audio's end (10.0053 s: 469 AAC frames), see onEnd.
    expect(v.segments.map((s) => s.duration)).toEqual([180000, 180000, 180000, 180000, 180000 + Math.round((469 * 1024 * 90000) / 48000) - 900000]);
    for (const s of v.segments) {
      expect(s.parts).toHaveLength(10);
      expect(s.parts[0]!.independent).toBe(true);
      expect(s.parts.slice(1).every((p) => !p.independent)).toBe(true);
      expect(s.parts.slice(0, -1).every((p) => p.duration === 18000)).toBe(true);
      expect(s.byteLength).toBe(s.chunks.reduce((n, c) => n + c.byteLength, 0));
    }
    expect(v.segments.map((s) => s.startTime)).toEqual([0, 180000, 360000, 540000, 720000]);
  });

  it.each([0, 0.15, -0.15])('cuts audio at the video instants (audio arriving %s s early)', (lead) => {
    const { v, a } = run(interleave(10, lead));
    expect(a.segments.map((s) => s.sequence)).toEqual(v.segments.map((s) => s.sequence));
    for (let i = 0; i < a.segments.length; i++) {
      const as = a.segments[i]!;
      const vs = v.segments[i]!;
      const aStart = as.startTime / 48000;
      const vStart = vs.startTime / 90000;
      // The first audio frame at or after the video cut.
      expect(aStart).toBeGreaterThanOrEqual(vStart);
      expect(aStart - vStart).toBeLessThan(1024 / 48000);
      if (i < a.segments.length - 1) expect(Math.abs(as.duration / 48000 - vs.duration / 90000)).toBeLessThan(1024 / 48000);
    }
    // No audio frame lost or duplicated after the first segment's start.
    const frames = a.parts.flatMap((p) => p.frames);
    const dts = frames.map((f) => f.dts);
    expect(new Set(dts).size).toBe(dts.length);
    for (let i = 1; i < dts.length; i++) expect(dts[i]! - dts[i - 1]!).toBe(1024);
  });

  describe('a publisher that drops: every track ends at one instant', () => {
    const end = (segments: CmafSegment[]): number => {
      const last = segments[segments.length - 1]!;
      return (last.startTime + last.duration) / last.timescale;
    };
    // A dropped publisher's tracks stop apart (the bytes of one kind were still in flight): the
    // track that stopped first would keep a hole at a reconnect, which continues from the latest
    // end. 0.13 s is what stalled hls.js (its maxBufferHole is 0.1 s).
    it.each([
      ['audio stops 0.13 s before video', 5.74, 5.87],
      ['video stops 0.2 s before audio', 5.9, 5.7],
    ])('%s', (_name, audioStop, videoStop) => {
      const frames = interleave(8).filter((f) => (f.kind === 'audio' ? f.dts / 48000 < audioStop : f.dts / 90000 < videoStop));
      const { v, a } = run(frames);
      const vLast = frames.filter((f) => f.kind === 'video').at(-1)!.dts / 90000 + 1 / 30;
      const aLast = frames.filter((f) => f.kind === 'audio').at(-1)!.dts / 48000 + 1024 / 48000;
      const common = Math.max(vLast, aLast);
      expect(end(v.segments)).toBeCloseTo(common, 4);
      expect(end(a.segments)).toBeCloseTo(common, 4);
      // Only the last frame of the shorter track lasts longer; the segments before are as cut.
      expect(v.segments.slice(0, -1).every((s) => s.duration === 180000)).toBe(true);
      const audioFrames = a.parts.flatMap((p) => p.frames);
      expect(audioFrames.slice(0, -1).every((f, i) => audioFrames[i + 1]!.dts - f.dts === 1024)).toBe(true);
    });

    it("when audio's last part already went out (it had passed the leader's last cut), video ends where audio ends", () => {
      // Parts of 0.2 s: video's last part starts at 5.8 s (frames at 5.8 and 5.833). The last audio
      // frame (5.7813 s, 1024 samples) ends at 5.8027 s, past the cut: audio's part closed there.
      const frames = interleave(8).filter((f) => (f.kind === 'audio' ? f.dts / 48000 < 5.79 : f.dts / 90000 < 5.87));
      const { v, a } = run(frames);
      const audioEnd = (271 * 1024 + 1024) / 48000;
      expect(end(a.segments)).toBeCloseTo(audioEnd, 4);
      expect(end(v.segments)).toBeCloseTo(audioEnd, 4);
      // The video frame at 5.833 s, past the common end, is left out; the one at 5.8 s stays.
      const videoFrames = v.parts.flatMap((p) => p.frames);
      expect(videoFrames.at(-1)!.dts).toBe(174 * 3000);
    });

    it('a track that stopped long before keeps its own end (an audio dropout is not stretched over)', () => {
      const frames = interleave(8).filter((f) => f.kind === 'video' || f.dts / 48000 < 4.5);
      const { v, a } = run(frames);
      expect(end(v.segments)).toBeCloseTo(8, 4);
      const aLast = frames.filter((f) => f.kind === 'audio').at(-1)!.dts / 48000 + 1024 / 48000;
      expect(end(a.segments)).toBeCloseTo(aLast, 4);
    });
  });

  it('waits for a keyframe and makes longer segments for a long GOP', () => {
    const frames = interleave(12, 0, 150).filter((f) => !(f.kind === 'video' && f.dts < 3000 * 5));
    const { v } = run(frames);
    // First keyframe at frame 150 (5 s): nothing before it; then one segment per 5 s GOP.
    expect(v.segments[0]!.startTime).toBe(150 * 3000);
    expect(v.segments[0]!.duration).toBe(450000);
  });

  it('audio-only streams cut on the segment grid by themselves', () => {
    const a = new Collector();
    const v = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2, expectVideo: () => false });
    seg.onTrack(audio);
    for (let k = 0; k < 468; k++) seg.onFrame(audioFrame(k)); // 9.98 s
    seg.onEnd();
    expect(v.segments).toHaveLength(0);
    expect(a.segments.length).toBe(5);
    for (const s of a.segments.slice(0, -1)) expect(Math.abs(s.duration / 48000 - 2)).toBeLessThan(0.03);
  });

  it('a new sequence header starts a new init and a discontinuity', () => {
    const v = new Collector();
    const a = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2 });
    seg.onTrack(video);
    for (let i = 0; i < 90; i++) seg.onFrame(videoFrame(i));
    seg.onTrack({ ...video, width: 320, height: 180 });
    for (let i = 90; i < 200; i++) seg.onFrame(videoFrame(i, 30));
    seg.onEnd();
    expect(v.inits.map((i) => i.id)).toEqual([0, 1]);
    const after = v.segments.filter((s) => s.initId === 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]!.discontinuity).toBe(true);
    expect(v.segments.filter((s) => s.initId === 0).every((s) => !s.discontinuity)).toBe(true);
  });
});

describe('StreamSegmenter: alternative audio renditions (addFollower)', () => {
  /** A second language: the same audio timing, other bytes, its own sink. */
  function french(f: Frame): Frame {
    return { ...f, data: new Uint8Array([9, 9]) };
  }

  it('a further audio track is cut at the video instants with the numbers and parts of the rendition audio', () => {
    const v = new Collector();
    const a = new Collector();
    const fr = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2, firstSequence: 3 });
    const follower = seg.addFollower(new CmafMuxer('audio', fr), 0);
    seg.onTrack(video);
    seg.onTrack(audio);
    follower.onTrack(audio);
    // Audio arrives 0.1 s ahead of video, as an MPEG-TS mux interleaves it.
    for (const f of interleave(9, 0.1)) {
      seg.onFrame(f);
      if (f.kind === 'audio') follower.onFrame(french(f));
    }
    follower.onEnd();
    seg.onEnd();
    const spans = (c: Collector) => c.segments.map((x) => [x.sequence, x.startTime, x.duration]);
    expect(v.segments.map((x) => x.sequence)).toEqual([3, 4, 5, 6, 7]);
    expect(spans(fr)).toEqual(spans(a));
    expect(fr.parts.map((p) => [p.segment, p.index, p.startTime])).toEqual(a.parts.map((p) => [p.segment, p.index, p.startTime]));
    expect(fr.inits.map((i) => i.id)).toEqual([0]);
  });

  it('a further audio track announced late joins the open segment with its number; audio-only streams lead it too', () => {
    const v = new Collector();
    const a = new Collector();
    const fr = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2 });
    seg.onTrack(video);
    seg.onTrack(audio);
    const follower = seg.addFollower(new CmafMuxer('audio', fr), 5);
    let announced = false;
    for (const f of interleave(9)) {
      seg.onFrame(f);
      if (f.kind !== 'audio' || f.dts < 3 * 48000) continue;
      if (!announced) follower.onTrack(audio);
      announced = true;
      follower.onFrame(french(f));
    }
    seg.onEnd();
    expect(fr.segments.map((x) => x.sequence)).toEqual([1, 2, 3, 4]);
    expect(fr.inits.map((i) => i.id)).toEqual([5]);
    for (const sequence of [2, 3, 4]) {
      const main = a.segments.find((x) => x.sequence === sequence)!;
      const other = fr.segments.find((x) => x.sequence === sequence)!;
      expect([other.startTime, other.duration]).toEqual([main.startTime, main.duration]);
    }

    // Without video the stream's audio leads and the further track follows it.
    const a2 = new Collector();
    const fr2 = new Collector();
    const alone = new StreamSegmenter({ video: new CmafMuxer('video', new Collector()), audio: new CmafMuxer('audio', a2) }, { segmentDuration: 2, partDuration: 0.2, expectVideo: () => false });
    const second = alone.addFollower(new CmafMuxer('audio', fr2), 0);
    alone.onTrack(audio);
    second.onTrack(audio);
    for (let k = 0; k < 468; k++) {
      alone.onFrame(audioFrame(k));
      second.onFrame(french(audioFrame(k)));
    }
    alone.onEnd();
    expect(a2.segments.length).toBe(5);
    expect(fr2.segments.map((x) => [x.sequence, x.startTime])).toEqual(a2.segments.map((x) => [x.sequence, x.startTime]));
  });

  it('a further track with a hole passes over the numbers of the segments it missed', () => {
    const v = new Collector();
    const a = new Collector();
    const fr = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', v), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2 });
    const follower = seg.addFollower(new CmafMuxer('audio', fr), 0);
    seg.onTrack(video);
    seg.onTrack(audio);
    follower.onTrack(audio);
    for (const f of interleave(11)) {
      seg.onFrame(f);
      // Nothing of the second language between 2.5 s and 6.5 s (segments 1 and 2 lose it).
      if (f.kind === 'audio' && (f.dts < 2.5 * 48000 || f.dts >= 6.5 * 48000)) follower.onFrame(french(f));
    }
    seg.onEnd();
    expect(v.segments.map((x) => x.sequence)).toEqual([0, 1, 2, 3, 4, 5]);
    // Segment 1 has its first half; segment 2 none of it: its number is passed over.
    expect(fr.segments.map((x) => x.sequence)).toEqual([0, 1, 3, 4, 5]);
    for (const sequence of [4, 5]) {
      const main = a.segments.find((x) => x.sequence === sequence)!;
      expect(fr.segments.find((x) => x.sequence === sequence)!.startTime).toBe(main.startTime);
    }
  });

  it('a further track whose frames stop keeps a bounded backlog of cuts and its numbering', () => {
    const a = new Collector();
    const fr = new Collector();
    const seg = new StreamSegmenter({ video: new CmafMuxer('video', new Collector()), audio: new CmafMuxer('audio', a) }, { segmentDuration: 2, partDuration: 0.2 });
    const follower = seg.addFollower(new CmafMuxer('audio', fr), 0);
    seg.onTrack(video);
    seg.onTrack(audio);
    follower.onTrack(audio);
    const seconds = 100;
    for (const f of interleave(seconds)) {
      seg.onFrame(f);
      // The second language sends its first 3 s and then 3 s at the end, nothing in between.
      if (f.kind === 'audio' && (f.dts < 3 * 48000 || f.dts >= (seconds - 3) * 48000)) follower.onFrame(french(f));
    }
    seg.onEnd();
    const last = a.segments.at(-1)!;
    expect(fr.segments.at(-1)!.sequence).toBe(last.sequence);
    expect(fr.segments.at(-1)!.startTime).toBe(last.startTime);
  });
});

/** The format-neutral side: what the segmenter hands every muxer. */
class GroupCollector implements ChunkSink {
  configs: TrackConfig[] = [];
  groups: FrameGroup[] = [];
  ends: SegmentEnd[] = [];
  onConfig(c: TrackConfig): void { this.configs.push(c); }
  onGroup(g: FrameGroup): void { this.groups.push(g); }
  onSegmentEnd(e: SegmentEnd): void { this.ends.push(e); }
}

describe('TrackSegmenter: one cut rule for every rendition (property)', () => {
  it('the same keyframes give the same segments and numbers, whatever else differs between renditions', () => {
    fc.assert(
      fc.property(
        // Irregular keyframe positions (frame indexes), a frame count, and how a rung decimates.
        fc.uniqueArray(fc.integer({ min: 1, max: 599 }), { maxLength: 12 }),
        fc.integer({ min: 60, max: 600 }),
        fc.integer({ min: 1, max: 3 }),
        (keys, count, decimate) => {
          const keySet = new Set([0, ...keys]);
          const source = new GroupCollector();
          const rung = new GroupCollector();
          const options = { segmentDuration: 2, partDuration: 0.2, firstSequence: 7 };
          const a = new TrackSegmenter('video', source, options);
          const b = new TrackSegmenter('video', rung, options);
          a.setTrack(video);
          b.setTrack({ ...video, width: 320, height: 180 });
          for (let i = 0; i < count; i++) {
            const dts = 1_000_000 + i * 3003; // 29.97 fps, far from zero
            const key = keySet.has(i);
            a.pushLeading({ kind: 'video', dts, pts: dts + 6006, key, data: payload, wallclock: 0 });
            // The rung drops frames between keyframes and has other bytes: cuts must not care.
            if (key || i % decimate === 0) b.pushLeading({ kind: 'video', dts, pts: dts, key, data: new Uint8Array(9), wallclock: 0 });
          }
          a.end();
          b.end();
          const cuts = (c: GroupCollector) => c.ends.map((e) => [e.sequence, e.startTime]);
          expect(cuts(rung)).toEqual(cuts(source));
          expect(source.ends[0]?.sequence).toBe(7);
          // Every segment starts with a sync sample, in both.
          for (const c of [source, rung]) for (const g of c.groups) if (g.index === 0) expect(g.independent).toBe(true);
          // Durations add up to the span of what was pushed; the last frame's is estimated (the
          // part's frame spacing, or the track's 30 fps when it is alone in its part).
          const total = source.ends.reduce((sum, e) => sum + e.duration, 0);
          expect(total - (count - 1) * 3003).toBeGreaterThanOrEqual(3000);
          expect(total - (count - 1) * 3003).toBeLessThanOrEqual(3003);
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200) },
    );
  });
});

