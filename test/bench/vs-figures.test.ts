/**
 * The vs bench's pure parts: reading the playlists and MPDs the compared servers write (shapes
 * copied from the gateway, nginx-rtmp 1.2.x and ffmpeg 5.1 output), and laying segments and parts
 * over the source frames.
 */
import { rssSlopeMbPerMin } from '../../bench/vs-proc.js';
import { describe, expect, it } from 'vitest';
import { mpdSegmentUrls, parseMediaPlaylist } from '../../bench/vs-playlist.js';
import { partDelays, segmentDelays, segmentDurations, segmentTimeline } from '../../bench/vs-figures.js';
import type { PublishedStream, SentFrame } from '../../bench/vs-types.js';

const GATEWAY_PLAYLIST = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-MAP:URI="init-abc-0.mp4"
#EXTINF:2.000,
seg-abc-3.m4s
#EXT-X-PART:DURATION=0.200,URI="part-abc-4.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.233,URI="part-abc-4.1.m4s"
#EXTINF:2.000,
seg-abc-4.m4s
#EXT-X-PART:DURATION=0.200,URI="part-abc-5.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-abc-5.1.m4s"
`;

const NGINX_MPD = `<?xml version="1.0"?>
<MPD type="dynamic" xmlns="urn:mpeg:dash:schema:mpd:2011">
  <Period start="PT0S" id="dash">
    <AdaptationSet id="1" segmentAlignment="true">
      <Representation id="k1_H264" mimeType="video/mp4" bandwidth="2441000">
        <SegmentTemplate timescale="1000" media="k1-$Time$.m4v" initialization="k1-init.m4v">
          <SegmentTimeline>
             <S t="0" d="2021"/>
             <S t="2021" d="2000"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="2" segmentAlignment="true">
      <Representation id="k1_AAC" mimeType="audio/mp4" bandwidth="125000">
        <SegmentTemplate timescale="1000" media="k1-$Time$.m4a" initialization="k1-init.m4a">
          <SegmentTimeline>
             <S t="0" d="2021"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>`;

const GATEWAY_MPD = `<MPD type="dynamic"><Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4">
      <Representation id="src" bandwidth="2999476" codecs="avc1.42c01f">
        <SegmentTemplate timescale="90000" startNumber="7" initialization="$RepresentationID$/init-abc-0.mp4" media="$RepresentationID$/seg-abc-$Number$.m4s">
          <SegmentTimeline><S t="1890" d="180000" r="2"/></SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet></Period></MPD>`;

describe('vs bench playlist reading', () => {
  it('numbers segments and LL-HLS parts by media sequence, preload hints left out', () => {
    const p = parseMediaPlaylist(GATEWAY_PLAYLIST);
    expect(p.mediaSequence).toBe(3);
    expect(p.map).toBe('init-abc-0.mp4');
    expect(p.segments).toEqual([
      { index: 3, duration: 2, uri: 'seg-abc-3.m4s' },
      { index: 4, duration: 2, uri: 'seg-abc-4.m4s' },
    ]);
    expect(p.parts.map((x) => [x.msn, x.part, x.duration])).toEqual([
      [4, 0, 0.2],
      [4, 1, 0.233],
      [5, 0, 0.2],
    ]);
  });

  it('expands SegmentTimeline with $Time$ (nginx-rtmp) and $Number$/$RepresentationID$ (gateway)', () => {
    expect(mpdSegmentUrls(NGINX_MPD, 'http://h/dash/k1.mpd')).toEqual({
      init: ['http://h/dash/k1-init.m4v', 'http://h/dash/k1-init.m4a'],
      media: ['http://h/dash/k1-0.m4v', 'http://h/dash/k1-2021.m4v', 'http://h/dash/k1-0.m4a'],
    });
    expect(mpdSegmentUrls(GATEWAY_MPD, 'http://h/live/k/index.mpd')).toEqual({
      init: ['http://h/live/k/src/init-abc-0.mp4'],
      media: ['http://h/live/k/src/seg-abc-7.m4s', 'http://h/live/k/src/seg-abc-8.m4s', 'http://h/live/k/src/seg-abc-9.m4s'],
    });
  });
});

/** 30 fps from dts 21 (the fixture's first keyframe), a keyframe every 60 frames, sent 5 ms after due. */
function source(seconds: number): PublishedStream {
  const frames: SentFrame[] = [];
  for (let i = 0; i < seconds * 30; i++) {
    const dts = 21 + Math.round((i * 1000) / 30);
    frames.push([dts, 1_000_000 + dts + 5, i % 60 === 0 ? 1 : 0]);
  }
  return { key: 'k', firstMediaAt: 1_000_000, frames };
}

describe('vs bench timeline', () => {
  it('closes each segment on the keyframe nearest start + EXTINF, rounding not accumulated', () => {
    const pub = source(10);
    // EXTINF slightly off (a server's 3-decimal rounding); the keyframes are at 2021, 4021, ...
    const listed = [0, 1, 2, 3].map((index) => ({ index, duration: 1.998, listedAt: 1_000_000 + 2021 + 2000 * index + 40 + index }));
    const timeline = segmentTimeline(pub, segmentDurations(listed));
    expect(timeline.unmatched).toBe(0);
    expect([...timeline.starts.values()]).toEqual([21, 2021, 4021, 6021]);
    // listedAt - sent(closing keyframe at 2021 + 2000 i, sent 5 ms late) = 35 + i
    expect(segmentDelays(timeline, listed)).toEqual([35, 36, 37, 38]);
  });

  it('counts a segment whose end is near no keyframe as unmatched', () => {
    const pub = source(10);
    const timeline = segmentTimeline(pub, segmentDurations([{ index: 0, duration: 1, listedAt: 0 }]));
    expect(timeline.unmatched).toBe(1);
    expect(timeline.closing.size).toBe(0);
  });

  it('closes a part on the first source frame at or after its end', () => {
    const pub = source(6);
    const timeline = segmentTimeline(pub, segmentDurations([{ index: 0, duration: 2, listedAt: null }, { index: 1, duration: 2, listedAt: null }]));
    // Part 1.0 ends at 2221 (frame 66 = dts 2221), part 1.1 at 2421.
    const parts = [
      { msn: 1, part: 0, duration: 0.2, listedAt: 1_000_000 + 2221 + 9 },
      { msn: 1, part: 1, duration: 0.2, listedAt: 1_000_000 + 2421 + 7 },
    ];
    expect(partDelays(pub, timeline, parts)).toEqual([4, 2]);
  });
});

describe('rssSlopeMbPerMin', () => {
  it('fits the last half of the samples: growth then flat reads as flat, steady growth as its rate', () => {
    const minute = 60_000;
    const growThenFlat = Array.from({ length: 20 }, (_, i) => ({ atMs: (i * minute) / 10, bytes: Math.min(i, 9) * 10e6 }));
    expect(rssSlopeMbPerMin(growThenFlat)).toBeCloseTo(0, 6);
    const growing = Array.from({ length: 20 }, (_, i) => ({ atMs: i * minute, bytes: 100e6 + i * 3e6 }));
    expect(rssSlopeMbPerMin(growing)).toBeCloseTo(3, 6);
    expect(rssSlopeMbPerMin([])).toBe(0);
  });
});
