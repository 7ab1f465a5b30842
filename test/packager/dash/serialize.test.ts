import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMParser } from '@xmldom/xmldom';
import { GatewayError } from '../../../src/core/errors.js';
import type { Mpd } from '../../../src/packager/dash/model.js';
import { escapeAttribute, formatDateTime, formatDuration, serializeMpd } from '../../../src/packager/dash/serialize.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Smallest dynamic MPD with one of everything the serializer writes. */
const tiny: Mpd = {
  type: 'dynamic',
  profiles: ['urn:mpeg:dash:profile:isoff-live:2011', 'urn:mpeg:dash:profile:cmaf:2019'],
  availabilityStartTime: Date.UTC(2026, 10, 24, 3, 0, 0),
  publishTime: Date.UTC(2026, 10, 24, 3, 0, 10, 250),
  minimumUpdatePeriod: 2,
  timeShiftBufferDepth: 12,
  suggestedPresentationDelay: 1.5,
  maxSegmentDuration: 2.002,
  minBufferTime: 1,
  serviceDescriptions: [{ id: 0, latency: { target: 1500, min: 750, max: 5500, referenceId: 0 }, playbackRate: { min: 0.96, max: 1.04 } }],
  periods: [
    {
      id: '0',
      start: 0,
      adaptationSets: [
        {
          id: 1,
          contentType: 'audio',
          mimeType: 'audio/mp4',
          lang: 'und',
          segmentAlignment: true,
          startWithSap: 1,
          audioChannelConfiguration: [{ schemeIdUri: 'urn:mpeg:mpegB:cicp:ChannelConfiguration', value: '2' }],
          producerReferenceTimes: [
            {
              id: 0,
              type: 'encoder',
              wallClockTime: Date.UTC(2026, 10, 24, 3, 0, 4),
              presentationTime: 192_000,
              utcTiming: { schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'https://h/api/time' },
            },
          ],
          roles: [{ schemeIdUri: 'urn:mpeg:dash:role:2011', value: 'main' }],
          representations: [
            {
              id: 'audio',
              bandwidth: 130_123.6,
              codecs: 'mp4a.40.2',
              audioSamplingRate: 48_000,
              segmentTemplate: {
                timescale: 48_000,
                media: '$RepresentationID$/seg-a-$Number$.m4s',
                initialization: '$RepresentationID$/init-a-0.mp4',
                startNumber: 2,
                presentationTimeOffset: 0,
                availabilityTimeOffset: 1.8,
                availabilityTimeComplete: false,
                timeline: [{ t: 192_000, d: 96_000, r: 1 }, { d: 95_232 }],
              },
            },
          ],
        },
      ],
    },
  ],
  utcTimings: [{ schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014', value: 'https://h/api/time' }],
};

describe('MPD serializer', () => {
  it('golden text: element order per the schema, fixed attribute order', () => {
    expect(serializeMpd(tiny)).toBe(
      [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019" type="dynamic" availabilityStartTime="2026-11-24T03:00:00.000Z" publishTime="2026-11-24T03:00:10.250Z" minimumUpdatePeriod="PT2S" timeShiftBufferDepth="PT12S" suggestedPresentationDelay="PT1.5S" maxSegmentDuration="PT2.002S" minBufferTime="PT1S">',
        '  <ServiceDescription id="0">',
        '    <Latency target="1500" max="5500" min="750" referenceId="0"/>',
        '    <PlaybackRate min="0.96" max="1.04"/>',
        '  </ServiceDescription>',
        '  <Period id="0" start="PT0S">',
        '    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" lang="und" segmentAlignment="true" startWithSAP="1">',
        '      <AudioChannelConfiguration schemeIdUri="urn:mpeg:mpegB:cicp:ChannelConfiguration" value="2"/>',
        '      <ProducerReferenceTime id="0" type="encoder" wallClockTime="2026-11-24T03:00:04.000Z" presentationTime="192000">',
        '        <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://h/api/time"/>',
        '      </ProducerReferenceTime>',
        '      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>',
        '      <Representation id="audio" bandwidth="130124" codecs="mp4a.40.2" audioSamplingRate="48000">',
        '        <SegmentTemplate timescale="48000" presentationTimeOffset="0" startNumber="2" initialization="$RepresentationID$/init-a-0.mp4" media="$RepresentationID$/seg-a-$Number$.m4s" availabilityTimeOffset="1.8" availabilityTimeComplete="false">',
        '          <SegmentTimeline>',
        '            <S t="192000" d="96000" r="1"/>',
        '            <S d="95232"/>',
        '          </SegmentTimeline>',
        '        </SegmentTemplate>',
        '      </Representation>',
        '    </AdaptationSet>',
        '  </Period>',
        '  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://h/api/time"/>',
        '</MPD>',
        '',
      ].join('\n'),
    );
  });

  it('the text parses as XML with the DASH namespace', () => {
    const doc = new DOMParser().parseFromString(serializeMpd(tiny), 'text/xml');
    const root = doc.documentElement!;
    expect(root.namespaceURI).toBe('urn:mpeg:dash:schema:mpd:2011');
    expect(root.getElementsByTagName('S').length).toBe(2);
  });

  it('xs:duration and xs:dateTime forms', () => {
    expect(formatDuration(0)).toBe('PT0S');
    expect(formatDuration(2)).toBe('PT2S');
    expect(formatDuration(1.5)).toBe('PT1.5S');
    expect(formatDuration(2.0023)).toBe('PT2.002S');
    expect(formatDuration(3725.5)).toBe('PT3725.5S');
    expect(formatDateTime(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006Z');
  });

  it('escapes markup, quotes and whitespace in attribute values', () => {
    expect(escapeAttribute(`a&b<c>d"e'f\tg\nh\ri`)).toBe('a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i');
    expect(escapeAttribute('ok\u0001\uFFFF\uD800x')).toBe('ok\uFFFD\uFFFD\uFFFDx');
    expect(escapeAttribute('😀')).toBe('😀');
  });

  it('refuses non-finite and negative numbers with a GatewayError', () => {
    expect(() => formatDuration(Number.NaN)).toThrow(GatewayError);
    expect(() => formatDuration(-1)).toThrow(GatewayError);
    expect(() => formatDateTime(Number.POSITIVE_INFINITY)).toThrow(GatewayError);
    const bad: Mpd = { ...tiny, periods: [{ ...tiny.periods[0]!, adaptationSets: [{ ...tiny.periods[0]!.adaptationSets[0]!, id: Number.NaN }] }] };
    expect(() => serializeMpd(bad)).toThrow(GatewayError);
  });

  it('any string value stays one well-formed attribute that reads back (property)', () => {
    fc.assert(
      // UTF-16 code units: lone surrogates, C0 controls and U+FFFE/F included.
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 60 }).map((u) => String.fromCharCode(...u)), (value) => {
        // Only the attribute under test: a small document keeps the property fast.
        const text = serializeMpd({ ...tiny, serviceDescriptions: [], periods: [], utcTimings: [{ schemeIdUri: 'urn:x', value }] });
        const errors: string[] = [];
        const doc = new DOMParser({ errorHandler: { warning: () => undefined, error: (m: string) => void errors.push(m), fatalError: (m: string) => void errors.push(m) } }).parseFromString(text, 'text/xml');
        expect(errors).toEqual([]);
        const timings = doc.documentElement!.getElementsByTagName('UTCTiming');
        const last = timings.item(timings.length - 1)!;
        const expected = value.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
        expect(last.getAttribute('value')).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });
});
