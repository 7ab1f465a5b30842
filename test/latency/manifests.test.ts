import { describe, expect, it } from 'vitest';
import { serializeMediaPlaylist } from '../../src/packager/hls/serialize.js';
import { expandTemplate, parseIsoDuration, parseMediaPlaylist, parseMpdRepresentation } from '../../src/latency/manifests.js';

describe('HLS media playlist reading', () => {
  it('reads what our own serializer writes, numbering parts by parent segment', () => {
    const part = (uri: string) => ({ duration: 0.2, uri, independent: false });
    const text = serializeMediaPlaylist({
      version: 9,
      targetDuration: 2,
      mediaSequence: 7,
      discontinuitySequence: 0,
      independentSegments: true,
      partTarget: 0.2,
      serverControl: { canBlockReload: true, partHoldBack: 0.6, holdBack: 6 },
      segments: [
        { sequence: 7, duration: 2, uri: 'seg-a-7.m4s', map: 'init-a-0.mp4', discontinuity: false },
        { sequence: 8, duration: 2, uri: 'seg-a-8.m4s', discontinuity: false, parts: [part('part-a-8.0.m4s'), part('part-a-8.1.m4s')] },
      ],
      openParts: [part('part-a-9.0.m4s')],
      preloadHintUri: 'part-a-9.1.m4s',
      endList: false,
    });
    const pl = parseMediaPlaylist(text);
    expect(pl.targetDuration).toBe(2);
    expect(pl.mediaSequence).toBe(7);
    expect(pl.partHoldBack).toBe(0.6);
    expect(pl.holdBack).toBe(6);
    expect(pl.partTarget).toBe(0.2);
    expect(pl.segments.map((s) => [s.msn, s.uri])).toEqual([
      [7, 'seg-a-7.m4s'],
      [8, 'seg-a-8.m4s'],
    ]);
    expect(pl.parts.map((p) => [p.msn, p.index, p.uri])).toEqual([
      [8, 0, 'part-a-8.0.m4s'],
      [8, 1, 'part-a-8.1.m4s'],
      [9, 0, 'part-a-9.0.m4s'],
    ]);
    expect(pl.endList).toBe(false);
  });

  it('reads a classic TS playlist with ENDLIST', () => {
    const pl = parseMediaPlaylist('#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:3\n#EXTINF:2.000,\nts-a-3.ts\n#EXTINF:1.5,\nts-a-4.ts\n#EXT-X-ENDLIST\n');
    expect(pl.segments).toEqual([
      { msn: 3, uri: 'ts-a-3.ts', duration: 2 },
      { msn: 4, uri: 'ts-a-4.ts', duration: 1.5 },
    ]);
    expect(pl.endList).toBe(true);
  });
});

describe('DASH MPD reading', () => {
  const mpd = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="2026-01-01T00:00:00.000Z" minimumUpdatePeriod="PT2S" suggestedPresentationDelay="PT6S">
  <Period id="0" start="PT0S">
    <AdaptationSet contentType="video">
      <Representation id="src" bandwidth="800000" codecs="avc1.42c01e">
        <SegmentTemplate timescale="90000" startNumber="5" initialization="$RepresentationID$/init-a-0.mp4" media="$RepresentationID$/seg-a-$Number$.m4s">
          <SegmentTimeline>
            <S t="900000" d="180000" r="1"/>
            <S d="90000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet contentType="audio">
      <Representation id="audio" bandwidth="64000">
        <SegmentTemplate timescale="48000" startNumber="1" media="$RepresentationID$/seg-a-$Number$.m4s"/>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

  it('expands the src SegmentTimeline with startNumber', () => {
    const info = parseMpdRepresentation(mpd, 'src')!;
    expect(info.availabilityStartTime).toBe(Date.parse('2026-01-01T00:00:00Z'));
    expect(info.suggestedPresentationDelay).toBe(6);
    expect(info.minimumUpdatePeriod).toBe(2);
    expect(info.timescale).toBe(90000);
    expect(info.segments).toEqual([
      { number: 5, t: 900000, d: 180000 },
      { number: 6, t: 1080000, d: 180000 },
      { number: 7, t: 1260000, d: 90000 },
    ]);
    expect(expandTemplate(info.media, info.segments[2]!)).toBe('src/seg-a-7.m4s');
    expect(parseMpdRepresentation(mpd, 'nope')).toBeUndefined();
  });

  it('parses ISO durations and padded templates', () => {
    expect(parseIsoDuration('PT1.5S')).toBe(1.5);
    expect(parseIsoDuration('PT1M2S')).toBe(62);
    expect(parseIsoDuration('garbage')).toBeUndefined();
    expect(expandTemplate('x-$Number%05d$-$Time$.m4s', { number: 42, t: 9, d: 1 })).toBe('x-00042-9.m4s');
  });
});

describe('manifest readers on garbage', () => {
  it('never throw on random text', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.constantFrom('#EXTM3U\n#EXT-X-PART:URI="', '<MPD a="1"><Representation id="src"><SegmentTemplate timescale="', ''), (s, prefix) => {
        parseMediaPlaylist(prefix + s);
        parseMpdRepresentation(prefix + s, 'src');
        parseIsoDuration(s);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});
