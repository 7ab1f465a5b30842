import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/core/errors.js';
import type { AudioTrack, VideoTrack } from '../../../src/core/media.js';
import { buildInitSegment } from '../../../src/mux/fmp4/init.js';
import { findBox, listBoxes, listChildren } from '../../../src/mux/fmp4/inspect.js';
import { loadAvcAacFixture, loadHevcFixture, parseMp4 } from './media-fixture.js';

const { video, audio } = loadAvcAacFixture();
const hevc = loadHevcFixture();

function types(bytes: Uint8Array, path: string[]): string[] {
  const box = findBox(bytes, path);
  if (!box) throw new Error(`no ${path.join('/')}`);
  return listChildren(bytes, box).map((b) => b.type);
}

function fourCCs(bytes: Uint8Array, from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(bytes.subarray(from + 4 * i, from + 4 * i + 4)).toString('latin1'));
}

describe('buildInitSegment', () => {
  it('lays out ftyp + moov(mvhd, trak, mvex) with empty sample tables', () => {
    const init = buildInitSegment(video.track);
    expect(listBoxes(init).map((b) => b.type)).toEqual(['ftyp', 'moov']);
    expect(types(init, ['moov'])).toEqual(['mvhd', 'trak', 'mvex']);
    expect(types(init, ['moov', 'trak'])).toEqual(['tkhd', 'mdia']);
    expect(types(init, ['moov', 'trak', 'mdia'])).toEqual(['mdhd', 'hdlr', 'minf']);
    expect(types(init, ['moov', 'trak', 'mdia', 'minf'])).toEqual(['vmhd', 'dinf', 'stbl']);
    expect(types(init, ['moov', 'trak', 'mdia', 'minf', 'stbl'])).toEqual(['stsd', 'stts', 'stsc', 'stsz', 'stco']);
    expect(types(init, ['moov', 'mvex'])).toEqual(['trex']);
    const ftyp = findBox(init, ['ftyp'])!;
    expect(fourCCs(init, ftyp.offset + 8, 1)).toEqual(['iso6']);
    expect(fourCCs(init, ftyp.offset + 16, (ftyp.size - 16) / 4)).toEqual(['iso6', 'cmfc', 'dash', 'mp41']);
  });

  it('AVC: mp4box reads codec string, timescale, size, handler and trex', () => {
    const init = buildInitSegment(video.track);
    const { info, errors } = parseMp4(init);
    expect(errors).toEqual([]);
    expect(info.isFragmented).toBe(true);
    expect(info.timescale).toBe(1000);
    expect(info.brands).toEqual(expect.arrayContaining(['iso6', 'cmfc']));
    expect(info.tracks).toHaveLength(1);
    const t = info.videoTracks[0]!;
    expect(t.id).toBe(1);
    expect(t.codec).toBe(video.track.codecString);
    expect(t.codec).toMatch(/^avc1\.64/);
    expect(t.timescale).toBe(90_000);
    expect(t.track_width).toBe(320);
    expect(t.track_height).toBe(240);
    expect(t.video).toEqual({ width: 320, height: 240 });
    expect(t.language).toBe('und');
    expect(t.nb_samples).toBe(0);
  });

  it('AVC: the avcC payload is the track config verbatim', () => {
    const init = buildInitSegment(video.track);
    const stsd = findBox(init, ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd'])!;
    // stsd full box header 12 + entry_count 4, then avc1 with a 78-byte head after its header.
    const avc1 = listBoxes(init, { start: stsd.offset + 16, end: stsd.offset + stsd.size })[0]!;
    expect(avc1.type).toBe('avc1');
    const children = listBoxes(init, { start: avc1.offset + 86, end: avc1.offset + avc1.size });
    expect(children.map((c) => c.type)).toEqual(['avcC']);
    expect(init.subarray(children[0]!.offset + 8, children[0]!.offset + children[0]!.size)).toEqual(video.track.config);
  });

  it('HEVC: hvc1 + hvcC, codec string as mp4box derives it from the record', () => {
    const init = buildInitSegment(hevc.track);
    const { info, errors } = parseMp4(init);
    expect(errors).toEqual([]);
    expect(info.videoTracks[0]!.codec).toBe(hevc.track.codecString);
    expect(info.videoTracks[0]!.codec).toMatch(/^hvc1\.1\./);
  });

  it('AAC: mp4a + esds, mp4a.40.2, sample rate timescale, channels, volume', () => {
    const init = buildInitSegment(audio.track, { trackId: 2 });
    const { info, errors } = parseMp4(init);
    expect(errors).toEqual([]);
    const t = info.audioTracks[0]!;
    expect(t.id).toBe(2);
    expect(t.codec).toBe('mp4a.40.2');
    expect(t.timescale).toBe(44_100);
    expect(t.audio).toEqual({ sample_rate: 44_100, channel_count: 2, sample_size: 16 });
    expect(t.volume).toBe(1);
    expect(types(init, ['moov', 'trak', 'mdia', 'minf'])).toEqual(['smhd', 'dinf', 'stbl']);
    // mvhd next_track_ID = trackId + 1
    const mvhd = findBox(init, ['moov', 'mvhd'])!;
    expect(new DataView(init.buffer).getUint32(mvhd.offset + mvhd.size - 4)).toBe(3);
  });

  it('HE-AAC object types keep their codec string from the ASC', () => {
    // ASC: AOT 5 (SBR), 24 kHz core (index 6), 2 channels, extension 48 kHz (index 3), AOT 2
    const heAac: AudioTrack = {
      ...audio.track, objectType: 5, codecString: 'mp4a.40.5', sampleRate: 48_000, timescale: 48_000,
      config: new Uint8Array([0x2b, 0x11, 0x88, 0x00]),
    };
    const { info } = parseMp4(buildInitSegment(heAac));
    expect(info.audioTracks[0]!.codec).toBe('mp4a.40.5');
  });

  it('rejects a broken track with a GatewayError', () => {
    expect(() => buildInitSegment({ ...video.track, config: new Uint8Array(0) })).toThrow(GatewayError);
    expect(() => buildInitSegment(video.track, { trackId: 0 })).toThrow(GatewayError);
    expect(() => buildInitSegment({ ...video.track, width: 100_000 })).toThrow(GatewayError);
    expect(() => buildInitSegment({ ...video.track, timescale: 0 })).toThrow(GatewayError);
    const vvc = { ...video.track, codec: 'vvc' } as unknown as VideoTrack;
    expect(() => buildInitSegment(vvc)).toThrow(/unsupported codec/);
  });
});
