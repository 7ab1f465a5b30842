import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse as parseMpd } from 'mpd-parser';
import { PlaybackAuthorizer, tokenizeMpdText, tokenizePlaylistText, tokenizeUri } from '../../src/auth/playback.js';
import { mintToken, subjectOf } from '../../src/auth/token.js';
import { parseM3u8 } from '../helpers/m3u8.js';

const NOW = 1_700_000_000;
const SECRET = 'playback-secret-0123456789';
const TOKEN = mintToken({ secret: SECRET, subject: subjectOf('play', 'live', 'cam'), expiresAt: NOW + 3600 });
const Q = `token=${TOKEN}`;

// Shapes copied from what src/packager serializes today (multivariant, LL-HLS media, MPD).
const MULTIVARIANT = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",LANGUAGE="und",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=38695,AVERAGE-BANDWIDTH=38656,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"',
  'src/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=18695,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"',
  '360p/index.m3u8',
  '',
].join('\n');

const MEDIA = [
  '#EXTM3U',
  '#EXT-X-VERSION:9',
  '#EXT-X-TARGETDURATION:2',
  '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=1.503',
  '#EXT-X-PART-INF:PART-TARGET=0.501',
  '#EXT-X-MEDIA-SEQUENCE:8',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-MAP:URI="init-mjwaid1k-0.mp4"',
  '# a comment with URI="not-a-uri" stays as it is',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:21.002Z',
  '#EXTINF:2.000,',
  'seg-mjwaid1k-8.m4s',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:23.002Z',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-9.0.m4s",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-9.1.m4s"',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-9.2.m4s"',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-9.3.m4s"',
  '#EXTINF:1.998,',
  'seg-mjwaid1k-9.m4s',
  '#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:25.000Z',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-10.0.m4s",INDEPENDENT=YES',
  '#EXT-X-PART:DURATION=0.500,URI="part-mjwaid1k-10.1.m4s"',
  '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-mjwaid1k-10.2.m4s"',
  '#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=9,LAST-PART=1',
  '',
].join('\n');

const MPD = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic" availabilityStartTime="2026-01-02T03:04:05.000Z" publishTime="2026-01-02T03:04:30.000Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT12S" suggestedPresentationDelay="PT3S" maxSegmentDuration="PT2.002S" minBufferTime="PT2S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1" maxWidth="1280" maxHeight="720" par="16:9">
      <Representation id="src" bandwidth="32160" codecs="avc1.64001f" width="1280" height="720" frameRate="30" sar="1:1">
        <SegmentTemplate timescale="90000" presentationTimeOffset="0" startNumber="6" initialization="$RepresentationID$/init-mjwaid1k-0.mp4" media="$RepresentationID$/seg-mjwaid1k-$Number$.m4s" availabilityTimeOffset="1.5" availabilityTimeComplete="false">
          <SegmentTimeline>
            <S t="1080000" d="180000"/>
            <S d="180180"/>
            <S d="180000" r="2"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" bandwidth="6535" codecs="mp4a.40.2" audioSamplingRate="48000">
        <SegmentTemplate timescale="48000" presentationTimeOffset="0" startNumber="6" initialization="$RepresentationID$/init-mjwaid1k-0.mp4" media="$RepresentationID$/seg-mjwaid1k-$Number$.m4s?v=1&amp;token=old">
          <SegmentTimeline>
            <S t="576000" d="96000" r="4"/>
          </SegmentTimeline>
        </SegmentTemplate>
      </Representation>
    </AdaptationSet>
  </Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="http://gw.test/api/time"/>
</MPD>
`;

function tokenOf(url: string): string | null {
  return new URL(url, 'http://gw.test/live/cam/').searchParams.get('token');
}

describe('tokenizeUri', () => {
  it('appends, merges and replaces without touching other parameters', () => {
    expect(tokenizeUri('seg-1.m4s', 'T')).toBe('seg-1.m4s?token=T');
    expect(tokenizeUri('index.m3u8?_HLS_msn=5&_HLS_part=1', 'T')).toBe('index.m3u8?_HLS_msn=5&_HLS_part=1&token=T');
    expect(tokenizeUri('a.m4s?token=old&x=%24Number%24', 'T')).toBe('a.m4s?x=%24Number%24&token=T');
    expect(tokenizeUri('seg-$Number$.m4s', 'T')).toBe('seg-$Number$.m4s?token=T');
    expect(tokenizeUri('a.m4s?#frag', 'T')).toBe('a.m4s?token=T#frag');
    expect(tokenizeUri('https://cdn.test/live/cam/a.m4s', 'T')).toBe('https://cdn.test/live/cam/a.m4s?token=T');
    expect(tokenizeUri('a.m4s', 'a b&c')).toBe('a.m4s?token=a%20b%26c');
  });

  it('leaves non-http schemes alone', () => {
    expect(tokenizeUri('data:text/plain;base64,AAAA', 'T')).toBe('data:text/plain;base64,AAAA');
    expect(tokenizeUri('skd://key-id', 'T')).toBe('skd://key-id');
  });

  it('is idempotent and always yields exactly one token parameter (property)', () => {
    const part = fc.string({ unit: fc.constantFrom(...'abc123-_./$=&?#'), maxLength: 40 });
    fc.assert(
      fc.property(part, (uri) => {
        // Protocol-relative (//host) and absolute URIs are not what playlists name here.
        fc.pre(!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(uri) && !uri.startsWith('//'));
        const once = tokenizeUri(uri, TOKEN);
        expect(tokenizeUri(once, TOKEN)).toBe(once);
        expect(new URL(once, 'http://gw.test/').searchParams.getAll('token')).toEqual([TOKEN]);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});

describe('tokenizePlaylistText', () => {
  it('puts the token on every variant and rendition URI of a multivariant playlist', () => {
    const m = parseM3u8(tokenizePlaylistText(MULTIVARIANT, TOKEN));
    expect(m.playlists!.map((p) => p.uri)).toEqual([`src/index.m3u8?${Q}`, `360p/index.m3u8?${Q}`]);
    expect(m.mediaGroups!.AUDIO!['audio']!['audio']!.uri).toBe(`audio/index.m3u8?${Q}`);
  });

  it('puts the token on the map, segments, parts, preload hint and rendition report of an LL-HLS playlist', () => {
    const text = tokenizePlaylistText(MEDIA, TOKEN);
    const m = parseM3u8(text);
    const uris = [
      ...m.segments.flatMap((s) => [s.uri, s.map?.uri ?? '', ...(s.parts ?? []).map((p) => p.uri)]),
      ...(m.preloadSegment?.parts ?? []).map((p) => p.uri),
      ...(m.preloadSegment?.preloadHints ?? []).map((h) => h.uri),
      ...(m.renditionReports ?? []).map((r) => String(r['uri'])),
    ];
    expect(uris).toContain(`init-mjwaid1k-0.mp4?${Q}`);
    expect(uris).toContain(`seg-mjwaid1k-9.m4s?${Q}`);
    expect(uris).toContain(`part-mjwaid1k-9.3.m4s?${Q}`);
    expect(uris).toContain(`part-mjwaid1k-10.1.m4s?${Q}`);
    expect(uris).toContain(`part-mjwaid1k-10.2.m4s?${Q}`);
    expect(uris).toContain(`../audio/index.m3u8?${Q}`);
    expect(uris).toHaveLength(12); // 2 segments + their map, 4 parts, 2 trailing parts, 1 hint, 1 report
    for (const uri of uris) expect(tokenOf(uri)).toBe(TOKEN);
    // Every line that named a URI before names it with the token now; nothing else changed.
    const before = MEDIA.split('\n');
    const after = text.split('\n');
    expect(after).toHaveLength(before.length);
    for (let i = 0; i < before.length; i++) {
      const line = before[i]!;
      if (line === '' || line.startsWith('#EXTM3U') || (line.startsWith('#') && !/[:,]URI="/.test(line)) || (line.startsWith('#') && !line.startsWith('#EXT'))) {
        expect(after[i]).toBe(line);
      } else {
        expect(after[i]).toContain(Q);
      }
    }
  });

  it('leaves comments and keys with data: URIs alone, keeps CRLF, and is idempotent', () => {
    const text = '#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-KEY:METHOD=AES-128,URI="data:text/plain;base64,AAAA"\r\n#EXTINF:2.000,\r\nseg.ts?x=1\r\n';
    const out = tokenizePlaylistText(text, TOKEN);
    expect(out).toBe(`#EXTM3U\r\n#EXT-X-TARGETDURATION:2\r\n#EXT-X-KEY:METHOD=AES-128,URI="data:text/plain;base64,AAAA"\r\n#EXTINF:2.000,\r\nseg.ts?x=1&${Q}\r\n`);
    expect(tokenizePlaylistText(out, TOKEN)).toBe(out);
    expect(tokenizePlaylistText(MEDIA, TOKEN)).toContain('# a comment with URI="not-a-uri" stays as it is');
  });
});

describe('tokenizeMpdText', () => {
  const MPD_URL = 'http://gw.test/live/cam/index.mpd';

  it('every segment and init URL mpd-parser resolves carries the token, $Number$ still expands', () => {
    const out = tokenizeMpdText(MPD, TOKEN);
    const parsed = parseMpd(out, { manifestUri: `${MPD_URL}?${Q}`, NOW: Date.parse('2026-01-02T03:04:30.000Z') });
    const video = parsed.playlists[0]!;
    const audioGroup = Object.values(parsed.mediaGroups.AUDIO)[0]!;
    const audio = Object.values(audioGroup)[0]!.playlists[0]!;
    const all = [...video.segments, ...audio.segments];
    expect(all.length).toBeGreaterThan(5);
    for (const s of all) {
      expect(s.resolvedUri).toMatch(/^http:\/\/gw\.test\/live\/cam\/(src|audio)\/seg-mjwaid1k-\d+\.m4s\?/);
      expect(new URL(s.resolvedUri).searchParams.getAll('token')).toEqual([TOKEN]);
      expect(s.map?.resolvedUri).toMatch(new RegExp(`/init-mjwaid1k-0\\.mp4\\?${Q}$`));
    }
    // $Number$ expanded before the query: consecutive numbers from startNumber 6.
    const numbers = video.segments.map((s) => Number(/-(\d+)\.m4s\?/.exec(s.resolvedUri)![1]));
    expect(numbers).toEqual(numbers.map((_n, i) => 6 + i));
    // The audio template's own parameter survives; its old token was replaced, not duplicated.
    expect(new URL(audio.segments[0]!.resolvedUri).searchParams.get('v')).toBe('1');
    expect(out).toContain(`media="$RepresentationID$/seg-mjwaid1k-$Number$.m4s?v=1&amp;${Q}"`);
  });

  it('touches nothing else and is idempotent', () => {
    const out = tokenizeMpdText(MPD, TOKEN);
    const strip = (s: string): string => s.replace(/(\?|&amp;)token=[^"&]*/g, '').replace(/\?v=1/, '?v=1&amp;token=old');
    expect(strip(out)).toBe(MPD);
    expect(out).toContain('value="http://gw.test/api/time"');
    expect(tokenizeMpdText(out, TOKEN)).toBe(out);
  });

  it('rewrites SegmentURL, Initialization sourceURL and Location too', () => {
    const xml = `<MPD><Location>http://gw.test/live/cam/index.mpd</Location><SegmentList><Initialization sourceURL='init.mp4'/><SegmentURL media="s1.m4s"/></SegmentList></MPD>`;
    expect(tokenizeMpdText(xml, 'T')).toBe(
      `<MPD><Location>http://gw.test/live/cam/index.mpd?token=T</Location><SegmentList><Initialization sourceURL='init.mp4?token=T'/><SegmentURL media="s1.m4s?token=T"/></SegmentList></MPD>`,
    );
  });
});

describe('PlaybackAuthorizer', () => {
  it('is off without a secret: everything passes, text passes through', () => {
    const off = new PlaybackAuthorizer({ ttlSeconds: 3600 });
    expect(off.enabled).toBe(false);
    expect(off.check('live', 'cam', undefined, NOW)).toBe(true);
    expect(off.tokenFor('live', 'cam', NOW)).toBeUndefined();
    expect(off.tokenizePlaylistText(MEDIA, TOKEN)).toBe(MEDIA);
    expect(off.tokenizeMpdText(MPD, TOKEN)).toBe(MPD);
    expect(off.tokenizeUri('a.m4s', TOKEN)).toBe('a.m4s');
    expect(new PlaybackAuthorizer({ secret: '', ttlSeconds: 60 }).enabled).toBe(false);
  });

  it('checks play tokens for the stream they name, until they expire', () => {
    const on = new PlaybackAuthorizer({ secret: SECRET, ttlSeconds: 600 });
    expect(on.enabled).toBe(true);
    expect(on.check('live', 'cam', TOKEN, NOW)).toBe(true);
    expect(on.check('live', 'cam', TOKEN, NOW + 3600)).toBe(false);
    expect(on.check('live', 'other', TOKEN, NOW)).toBe(false);
    expect(on.check('live', 'cam', undefined, NOW)).toBe(false);
    expect(on.check('live', 'cam', null, NOW)).toBe(false);
    expect(on.check('live', 'cam', '', NOW)).toBe(false);
    const publish = mintToken({ secret: SECRET, subject: subjectOf('publish', 'live', 'cam'), expiresAt: NOW + 60 });
    expect(on.check('live', 'cam', publish, NOW)).toBe(false);
  });

  it('mints tokens valid for ttlSeconds', () => {
    const on = new PlaybackAuthorizer({ secret: SECRET, ttlSeconds: 600 });
    const t = on.tokenFor('live', 'cam', NOW)!;
    expect(t.startsWith(`${NOW + 600}.`)).toBe(true);
    expect(on.check('live', 'cam', t, NOW + 599)).toBe(true);
    expect(on.check('live', 'cam', t, NOW + 600)).toBe(false);
  });

  it('with a token, rewrites playlists and MPDs', () => {
    const on = new PlaybackAuthorizer({ secret: SECRET, ttlSeconds: 600 });
    expect(on.tokenizePlaylistText(MEDIA, TOKEN)).toBe(tokenizePlaylistText(MEDIA, TOKEN));
    expect(on.tokenizeMpdText(MPD, TOKEN)).toBe(tokenizeMpdText(MPD, TOKEN));
    expect(on.tokenizePlaylistText(MEDIA, undefined)).toBe(MEDIA);
  });
});
