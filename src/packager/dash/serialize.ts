/**
 * XML text of the MPD model (ISO/IEC 23009-1 Annex B schema). Element order follows the schema's
 * xs:sequence for each type; attributes are written in a fixed order so equal models give equal
 * bytes (golden tests, and ETag-stable output).
 */
import { GatewayError } from '../../core/errors.js';
import {
  CENC_NAMESPACE,
  DASH_NAMESPACE,
  DASHIF_NAMESPACE,
  type ContentProtection,
  type AdaptationSet,
  type Descriptor,
  type EventStream,
  type Mpd,
  SCTE35_NAMESPACE,
  type Period,
  type ProducerReferenceTime,
  type Representation,
  type SegmentTemplate,
  type ServiceDescription,
  type TimelineEntry,
} from './model.js';

type AttrValue = string | number | boolean | undefined;
type Attrs = ReadonlyArray<readonly [string, AttrValue]>;

const INDENT = '  ';

/**
 * Characters XML 1.0 §2.2 forbids even as references (C0 controls but TAB/LF/CR, U+FFFE/F,
 * unpaired surrogates): replaced by U+FFFD so any input still yields a well-formed document.
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * XML 1.0 §2.4 / §3.3.3: escape markup and keep whitespace characters from being normalised away.
 * NEL (U+0085) and LINE SEPARATOR (U+2028) too: XML 1.1 (§2.11) and some 1.0 parsers (xmldom)
 * read them as line ends; as character references they survive every parser.
 */
export function escapeAttribute(value: string): string {
  return value.replace(NOT_XML_CHAR, '\uFFFD').replace(/[&<>"'\t\n\r\u0085\u2028]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#${c.charCodeAt(0)};`;
    }
  });
}

/** Seconds to xs:duration (`PT2S`, `PT1.5S`), millisecond precision. */
export function formatDuration(seconds: number): string {
  finite(seconds, 'duration');
  const ms = Math.round(seconds * 1000);
  if (ms < 0) throw new GatewayError('packager', 'negative MPD duration', { seconds });
  return `PT${ms / 1000}S`;
}

/** ms since epoch to xs:dateTime in UTC. */
export function formatDateTime(ms: number): string {
  finite(ms, 'dateTime');
  return new Date(Math.round(ms)).toISOString();
}

function finite(value: number, what: string): void {
  if (!Number.isFinite(value)) throw new GatewayError('packager', `non-finite MPD ${what}`, { value });
}

function attrText(name: string, value: AttrValue): string {
  if (typeof value === 'number') finite(value, name);
  return ` ${name}="${escapeAttribute(String(value))}"`;
}

function element(depth: number, name: string, attrs: Attrs, children: readonly string[] = []): string {
  let open = `${INDENT.repeat(depth)}<${name}`;
  for (const [key, value] of attrs) if (value !== undefined) open += attrText(key, value);
  if (children.length === 0) return `${open}/>`;
  return `${open}>\n${children.join('\n')}\n${INDENT.repeat(depth)}</${name}>`;
}

function descriptor(depth: number, name: string, d: Descriptor): string {
  return element(depth, name, [
    ['schemeIdUri', d.schemeIdUri],
    ['value', d.value],
  ]);
}

function contentProtection(depth: number, c: ContentProtection): string {
  const pad = INDENT.repeat(depth + 1);
  const children: string[] = [];
  if (c.pssh !== undefined) children.push(`${pad}<cenc:pssh>${escapeAttribute(c.pssh)}</cenc:pssh>`);
  if (c.laUrl !== undefined) children.push(`${pad}<dashif:Laurl>${escapeAttribute(c.laUrl)}</dashif:Laurl>`);
  return element(
    depth,
    'ContentProtection',
    [
      ['schemeIdUri', c.schemeIdUri],
      ['value', c.value],
      ['cenc:default_KID', c.defaultKid],
    ],
    children,
  );
}

function timelineEntry(depth: number, s: TimelineEntry): string {
  return element(depth, 'S', [
    ['t', s.t],
    ['d', s.d],
    ['r', s.r !== undefined && s.r !== 0 ? s.r : undefined],
  ]);
}

function segmentTemplate(depth: number, st: SegmentTemplate): string {
  const timeline = element(
    depth + 1,
    'SegmentTimeline',
    [],
    st.timeline.map((s) => timelineEntry(depth + 2, s)),
  );
  return element(
    depth,
    'SegmentTemplate',
    [
      ['timescale', st.timescale],
      ['presentationTimeOffset', st.presentationTimeOffset],
      ['startNumber', st.startNumber],
      ['initialization', st.initialization],
      ['media', st.media],
      ['availabilityTimeOffset', st.availabilityTimeOffset],
      ['availabilityTimeComplete', st.availabilityTimeComplete],
    ],
    st.timeline.length > 0 ? [timeline] : [],
  );
}

function producerReferenceTime(depth: number, p: ProducerReferenceTime): string {
  return element(
    depth,
    'ProducerReferenceTime',
    [
      ['id', p.id],
      ['type', p.type],
      ['wallClockTime', formatDateTime(p.wallClockTime)],
      ['presentationTime', p.presentationTime],
    ],
    p.utcTiming ? [descriptor(depth + 1, 'UTCTiming', p.utcTiming)] : [],
  );
}

function representation(depth: number, r: Representation): string {
  const children: string[] = [];
  // RepresentationBaseType sequence: AudioChannelConfiguration before SegmentTemplate.
  for (const a of r.audioChannelConfiguration ?? []) children.push(descriptor(depth + 1, 'AudioChannelConfiguration', a));
  children.push(segmentTemplate(depth + 1, r.segmentTemplate));
  return element(
    depth,
    'Representation',
    [
      ['id', r.id],
      ['bandwidth', Math.round(r.bandwidth)],
      ['codecs', r.codecs],
      ['width', r.width],
      ['height', r.height],
      ['frameRate', r.frameRate],
      ['sar', r.sar],
      ['audioSamplingRate', r.audioSamplingRate],
    ],
    children,
  );
}

function adaptationSet(depth: number, a: AdaptationSet): string {
  const children: string[] = [];
  // RepresentationBaseType: AudioChannelConfiguration, SupplementalProperty ... ProducerReferenceTime; then Accessibility, Role.
  for (const c of a.audioChannelConfiguration ?? []) children.push(descriptor(depth + 1, 'AudioChannelConfiguration', c));
  for (const c of a.contentProtections ?? []) children.push(contentProtection(depth + 1, c));
  for (const d of a.supplementalProperties ?? []) children.push(descriptor(depth + 1, 'SupplementalProperty', d));
  for (const p of a.producerReferenceTimes ?? []) children.push(producerReferenceTime(depth + 1, p));
  // AdaptationSetType: Accessibility before Role (§5.3.3.2).
  for (const d of a.accessibilities ?? []) children.push(descriptor(depth + 1, 'Accessibility', d));
  for (const r of a.roles ?? []) children.push(descriptor(depth + 1, 'Role', r));
  for (const r of a.representations) children.push(representation(depth + 1, r));
  return element(
    depth,
    'AdaptationSet',
    [
      ['id', a.id],
      ['contentType', a.contentType],
      ['mimeType', a.mimeType],
      ['lang', a.lang],
      ['segmentAlignment', a.segmentAlignment],
      ['startWithSAP', a.startWithSap],
      ['maxWidth', a.maxWidth],
      ['maxHeight', a.maxHeight],
      ['par', a.par],
    ],
    children,
  );
}

/** §5.10.2: EventStream and its Events (SCTE-35 as SCTE 214-1 <Signal><Binary>). */
function eventStream(depth: number, es: EventStream): string {
  const events = es.events.map((e) => {
    const attrs: Attrs = [
      ['presentationTime', e.presentationTime],
      ['duration', e.duration],
      ['id', e.id],
      ['contentEncoding', e.messageData !== undefined ? 'base64' : undefined],
      ['messageData', e.messageData],
    ];
    if (e.scte35Binary === undefined) return element(depth + 1, 'Event', attrs);
    const pad = INDENT.repeat(depth + 3);
    const signal = `${INDENT.repeat(depth + 2)}<Signal xmlns="${SCTE35_NAMESPACE}">\n${pad}<Binary>${escapeAttribute(e.scte35Binary)}</Binary>\n${INDENT.repeat(depth + 2)}</Signal>`;
    return element(depth + 1, 'Event', attrs, [signal]);
  });
  return element(
    depth,
    'EventStream',
    [
      ['schemeIdUri', es.schemeIdUri],
      ['value', es.value],
      ['timescale', es.timescale],
    ],
    events,
  );
}

function period(depth: number, p: Period): string {
  return element(
    depth,
    'Period',
    [
      ['id', p.id],
      ['start', formatDuration(p.start)],
    ],
    // PeriodType's sequence: EventStream before AdaptationSet.
    [...(p.eventStreams ?? []).map((es) => eventStream(depth + 1, es)), ...p.adaptationSets.map((a) => adaptationSet(depth + 1, a))],
  );
}

function serviceDescription(depth: number, s: ServiceDescription): string {
  const children: string[] = [];
  if (s.latency) {
    children.push(
      element(depth + 1, 'Latency', [
        ['target', Math.round(s.latency.target)],
        ['max', s.latency.max !== undefined ? Math.round(s.latency.max) : undefined],
        ['min', s.latency.min !== undefined ? Math.round(s.latency.min) : undefined],
        ['referenceId', s.latency.referenceId],
      ]),
    );
  }
  if (s.playbackRate) {
    children.push(
      element(depth + 1, 'PlaybackRate', [
        ['min', s.playbackRate.min],
        ['max', s.playbackRate.max],
      ]),
    );
  }
  return element(depth, 'ServiceDescription', [['id', s.id]], children);
}

export function serializeMpd(mpd: Mpd): string {
  const children: string[] = [];
  const protectedMpd = mpd.periods.some((p) => p.adaptationSets.some((a) => (a.contentProtections?.length ?? 0) > 0));
  // MPDtype sequence: ... ServiceDescription*, ..., Period+, ..., UTCTiming*.
  for (const s of mpd.serviceDescriptions ?? []) children.push(serviceDescription(1, s));
  for (const p of mpd.periods) children.push(period(1, p));
  for (const u of mpd.utcTimings ?? []) children.push(descriptor(1, 'UTCTiming', u));
  const root = element(
    0,
    'MPD',
    [
      ['xmlns', DASH_NAMESPACE],
      // Declared only where ContentProtection uses them.
      ['xmlns:cenc', protectedMpd ? CENC_NAMESPACE : undefined],
      ['xmlns:dashif', protectedMpd ? DASHIF_NAMESPACE : undefined],
      ['profiles', mpd.profiles.join(',')],
      ['type', mpd.type],
      ['availabilityStartTime', mpd.availabilityStartTime !== undefined ? formatDateTime(mpd.availabilityStartTime) : undefined],
      ['publishTime', mpd.publishTime !== undefined ? formatDateTime(mpd.publishTime) : undefined],
      ['minimumUpdatePeriod', mpd.minimumUpdatePeriod !== undefined ? formatDuration(mpd.minimumUpdatePeriod) : undefined],
      ['timeShiftBufferDepth', mpd.timeShiftBufferDepth !== undefined ? formatDuration(mpd.timeShiftBufferDepth) : undefined],
      ['suggestedPresentationDelay', mpd.suggestedPresentationDelay !== undefined ? formatDuration(mpd.suggestedPresentationDelay) : undefined],
      ['maxSegmentDuration', mpd.maxSegmentDuration !== undefined ? formatDuration(mpd.maxSegmentDuration) : undefined],
      ['minBufferTime', formatDuration(mpd.minBufferTime)],
      ['mediaPresentationDuration', mpd.mediaPresentationDuration !== undefined ? formatDuration(mpd.mediaPresentationDuration) : undefined],
    ],
    children,
  );
  return `<?xml version="1.0" encoding="utf-8"?>\n${root}\n`;
}
