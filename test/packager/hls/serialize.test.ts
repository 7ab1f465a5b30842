import { describe, expect, it } from 'vitest';
import { serializeMediaPlaylist, serializeMultivariantPlaylist, formatDuration } from '../../../src/packager/hls/serialize.js';
import type { MediaPlaylist } from '../../../src/packager/hls/model.js';
import { parseM3u8 } from '../../helpers/m3u8.js';

const base: MediaPlaylist = {
  version: 9,
  targetDuration: 2,
  mediaSequence: 7,
  discontinuitySequence: 0,
  independentSegments: true,
  segments: [
    { sequence: 7, duration: 2.002, uri: 'seg-a-7.m4s', map: 'init-a-0.mp4', discontinuity: false, programDateTime: Date.UTC(2026, 10, 24, 3, 0, 0) },
    { sequence: 8, duration: 1.968, uri: 'seg-a-8.m4s', discontinuity: false, programDateTime: Date.UTC(2026, 10, 24, 3, 0, 2, 2) },
  ],
  endList: false,
};

describe('HLS serializer', () => {
  it('writes a classic media playlist, golden text', () => {
    expect(serializeMediaPlaylist(base)).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:9',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init-a-0.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-11-24T03:00:00.000Z',
        '#EXTINF:2.002,',
        'seg-a-7.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-11-24T03:00:02.002Z',
        '#EXTINF:1.968,',
        'seg-a-8.m4s',
        '',
      ].join('\n'),
    );
    const m = parseM3u8(serializeMediaPlaylist(base));
    expect(m.mediaSequence).toBe(7);
    expect(m.segments.map((s) => s.duration)).toEqual([2.002, 1.968]);
    expect(m.segments[0]!.map?.uri).toBe('init-a-0.mp4');
  });

  it('writes LL-HLS tags that m3u8-parser reads without warnings', () => {
    const ll: MediaPlaylist = {
      ...base,
      partTarget: 0.2,
      serverControl: { canBlockReload: true, partHoldBack: 0.6, holdBack: 6, canSkipUntil: 12 },
      segments: [base.segments[0]!, { ...base.segments[1]!, parts: [{ duration: 0.2, uri: 'part-a-8.0.m4s', independent: true }, { duration: 0.2, uri: 'part-a-8.1.m4s', independent: false }] }],
      openParts: [{ duration: 0.2, uri: 'part-a-9.0.m4s', independent: true }],
      preloadHintUri: 'part-a-9.1.m4s',
      renditionReports: [{ uri: '../audio/index.m3u8', lastMsn: 9, lastPart: 0 }],
    };
    const text = serializeMediaPlaylist(ll);
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=0.600');
    expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.200');
    expect(text).toContain('#EXT-X-PART:DURATION=0.200,URI="part-a-8.0.m4s",INDEPENDENT=YES');
    expect(text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-a-9.1.m4s"');
    expect(text).toContain('#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=9,LAST-PART=0');
    const m = parseM3u8(text);
    expect(m.segments[1]!.parts?.length).toBe(2);
    expect(m.preloadSegment?.parts?.[0]?.uri).toBe('part-a-9.0.m4s');
  });

  it('says DISCONTINUITY and the new MAP before the parts of a segment in progress', () => {
    const text = serializeMediaPlaylist({
      ...base,
      partTarget: 0.2,
      openParts: [{ duration: 0.2, uri: 'part-a-9.0.m4s', independent: true }],
      openDiscontinuity: true,
      openMap: 'init-a-1.mp4',
    });
    expect(text).toContain('seg-a-8.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init-a-1.mp4"\n#EXT-X-PART:DURATION=0.200,URI="part-a-9.0.m4s",INDEPENDENT=YES');
    parseM3u8(text);
  });

  it('marks a missing segment with EXT-X-GAP', () => {
    const text = serializeMediaPlaylist({ ...base, segments: [base.segments[0]!, { ...base.segments[1]!, gap: true }] });
    expect(text).toContain('#EXT-X-GAP\n#EXTINF:1.968,\nseg-a-8.m4s');
    expect(parseM3u8(text).segments).toHaveLength(2);
  });

  it('ends with ENDLIST and marks discontinuities', () => {
    const text = serializeMediaPlaylist({
      ...base,
      discontinuitySequence: 2,
      segments: [base.segments[0]!, { ...base.segments[1]!, discontinuity: true, map: 'init-a-1.mp4' }],
      endList: true,
    });
    const m = parseM3u8(text);
    expect(m.endList).toBe(true);
    expect(m.discontinuitySequence).toBe(2);
    expect(m.segments[1]!.discontinuity).toBe(true);
    expect(text.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });

  it('writes a multivariant playlist with an audio group', () => {
    const text = serializeMultivariantPlaylist({
      version: 9,
      independentSegments: true,
      audio: [{ groupId: 'audio', name: 'audio', uri: 'audio/index.m3u8', isDefault: true, channels: 2 }],
      variants: [
        { uri: 'src/index.m3u8', bandwidth: 2_600_000.4, averageBandwidth: 2_400_000, codecs: 'avc1.64001f,mp4a.40.2', resolution: { width: 1280, height: 720 }, frameRate: 30, audioGroup: 'audio' },
      ],
    });
    expect(text).toContain('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"');
    expect(text).toContain('#EXT-X-STREAM-INF:BANDWIDTH=2600000,AVERAGE-BANDWIDTH=2400000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"');
    const m = parseM3u8(text);
    expect(m.playlists?.[0]?.attributes.BANDWIDTH).toBe(2600000);
    expect(m.playlists?.[0]?.attributes.RESOLUTION).toEqual({ width: 1280, height: 720 });
    expect(m.mediaGroups?.AUDIO?.['audio']?.['audio']?.uri).toBe('audio/index.m3u8');
  });

  it('formats durations with millisecond precision', () => {
    expect(formatDuration(2)).toBe('2.000');
    expect(formatDuration(1.0333333)).toBe('1.033');
    expect(formatDuration(0.0005)).toBe('0.001');
  });
});
