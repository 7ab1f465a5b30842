/**
 * Just enough HLS media playlist (RFC 8216bis §4.4) and DASH MPD (ISO/IEC 23009-1 §5.3.9.4
 * SegmentTemplate + SegmentTimeline) reading for the latency players. Line / regex based.
 */

export interface HlsPart {
  readonly msn: number;
  readonly index: number;
  readonly uri: string;
  readonly duration: number;
}

export interface HlsSegment {
  readonly msn: number;
  readonly uri: string;
  readonly duration: number;
}

export interface HlsMediaPlaylist {
  readonly targetDuration: number;
  readonly mediaSequence: number;
  readonly segments: HlsSegment[];
  /** Every listed part, in order, with its parent segment's media sequence number. */
  readonly parts: HlsPart[];
  readonly partTarget?: number;
  readonly partHoldBack?: number;
  readonly holdBack?: number;
  readonly endList: boolean;
  /** The first EXT-X-MAP URI (the init segment). */
  readonly map?: string;
}

function attr(line: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[:,])${name}=("([^"]*)"|[^,]*)`).exec(line);
  if (!m) return undefined;
  return m[2] ?? m[1];
}

function num(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export function parseMediaPlaylist(text: string): HlsMediaPlaylist {
  let targetDuration = 0;
  let mediaSequence = 0;
  let partTarget: number | undefined;
  let partHoldBack: number | undefined;
  let holdBack: number | undefined;
  let endList = false;
  const segments: HlsSegment[] = [];
  const parts: HlsPart[] = [];
  let msn: number | undefined;
  let partIndex = 0;
  let pendingDuration: number | undefined;
  let map: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (msn === undefined && !line.startsWith('#EXT-X-MEDIA-SEQUENCE') && (line.startsWith('#EXTINF') || line.startsWith('#EXT-X-PART:') || !line.startsWith('#'))) {
      msn = mediaSequence;
    }
    if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.slice(22)) || 0;
    else if (line.startsWith('#EXT-X-PART-INF:')) partTarget = num(attr(line, 'PART-TARGET'));
    else if (line.startsWith('#EXT-X-SERVER-CONTROL:')) {
      partHoldBack = num(attr(line, 'PART-HOLD-BACK'));
      holdBack = num(attr(line, 'HOLD-BACK'));
    } else if (line.startsWith('#EXT-X-ENDLIST')) endList = true;
    else if (line.startsWith('#EXT-X-MAP:')) map ??= attr(line, 'URI');
    else if (line.startsWith('#EXT-X-SKIP:')) {
      // Delta updates are never requested (no _HLS_skip), but stay correct if one arrives.
      msn = (msn ?? mediaSequence) + (num(attr(line, 'SKIPPED-SEGMENTS')) ?? 0);
    } else if (line.startsWith('#EXT-X-PART:')) {
      const uri = attr(line, 'URI');
      if (uri !== undefined) parts.push({ msn: msn ?? mediaSequence, index: partIndex++, uri, duration: num(attr(line, 'DURATION')) ?? 0 });
    } else if (line.startsWith('#EXTINF:')) pendingDuration = Number(line.slice(8).split(',')[0]) || 0;
    else if (!line.startsWith('#')) {
      const current = msn ?? mediaSequence;
      segments.push({ msn: current, uri: line, duration: pendingDuration ?? 0 });
      pendingDuration = undefined;
      msn = current + 1;
      partIndex = 0;
    }
  }
  return { targetDuration, mediaSequence, segments, parts, partTarget, partHoldBack, holdBack, endList, map };
}

export interface DashSegmentRef {
  readonly number: number;
  /** Media time start and duration in the template's timescale. */
  readonly t: number;
  readonly d: number;
}

export interface DashRepresentationInfo {
  readonly availabilityStartTime: number;
  /** Seconds. */
  readonly suggestedPresentationDelay: number;
  readonly minimumUpdatePeriod: number;
  readonly timescale: number;
  readonly media: string;
  readonly segments: DashSegmentRef[];
  /** The Period the Representation was read from: @id, @start (seconds). */
  readonly periodId: string | undefined;
  readonly periodStart: number;
  /** Ticks of `timescale`: presentation time = periodStart + (t - presentationTimeOffset) / timescale. */
  readonly presentationTimeOffset: number;
  readonly initialization: string;
}

/** ISO 8601 duration `PT1H2M3.5S` (the forms MPDs use) to seconds. */
export function parseIsoDuration(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
}

function xmlAttr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
}

/**
 * The SegmentTemplate/SegmentTimeline of Representation `id` in the newest Period that has it (a
 * multi-Period MPD lists a reconnected publisher's media in a new Period), or in Period number
 * `periodIndex`; undefined when absent.
 */
export function parseMpdRepresentation(xml: string, id: string, periodIndex?: number): DashRepresentationInfo | undefined {
  const mpdTag = /<MPD\b[^>]*>/.exec(xml)?.[0] ?? '';
  const periods = [...xml.matchAll(/<Period\b[^>]*>/g)].map((m) => ({ tag: m[0], at: m.index }));
  const pattern = new RegExp(`<Representation\\b[^>]*\\sid="${id.replace(/[^A-Za-z0-9_-]/g, '')}"`, 'g');
  const found = [...xml.matchAll(pattern)].map((m) => ({ at: m.index, period: periods.filter((p) => p.at < m.index).length - 1 }));
  const chosen = periodIndex === undefined ? found[found.length - 1] : found.find((f) => f.period === periodIndex);
  if (!chosen) return undefined;
  const repStart = chosen.at;
  const periodTag = periods[chosen.period]?.tag ?? '';
  const repEnd = xml.indexOf('</Representation>', repStart);
  const rep = xml.slice(repStart, repEnd < 0 ? undefined : repEnd);
  const templateTag = /<SegmentTemplate\b[^>]*>/.exec(rep)?.[0];
  if (!templateTag) return undefined;
  const timescale = Number(xmlAttr(templateTag, 'timescale') ?? 1) || 1;
  let number = Number(xmlAttr(templateTag, 'startNumber') ?? 1);
  const media = (xmlAttr(templateTag, 'media') ?? '').replace(/\$RepresentationID\$/g, id);
  const segments: DashSegmentRef[] = [];
  let t = 0;
  for (const s of rep.matchAll(/<S\b[^>]*>/g)) {
    const st = xmlAttr(s[0], 't');
    if (st !== undefined) t = Number(st);
    const d = Number(xmlAttr(s[0], 'd') ?? 0);
    const r = Number(xmlAttr(s[0], 'r') ?? 0);
    for (let k = 0; k <= Math.max(0, r) && segments.length < 100_000; k++) {
      segments.push({ number: number++, t, d });
      t += d;
    }
  }
  return {
    availabilityStartTime: Date.parse(xmlAttr(mpdTag, 'availabilityStartTime') ?? '') || 0,
    suggestedPresentationDelay: parseIsoDuration(xmlAttr(mpdTag, 'suggestedPresentationDelay')) ?? 0,
    minimumUpdatePeriod: parseIsoDuration(xmlAttr(mpdTag, 'minimumUpdatePeriod')) ?? 1,
    timescale,
    media,
    segments,
    periodId: xmlAttr(periodTag, 'id'),
    periodStart: parseIsoDuration(xmlAttr(periodTag, 'start')) ?? 0,
    presentationTimeOffset: Number(xmlAttr(templateTag, 'presentationTimeOffset') ?? 0),
    initialization: (xmlAttr(templateTag, 'initialization') ?? '').replace(/\$RepresentationID\$/g, id),
  };
}

/** `$Number$` / `$Time$` (with optional %0Nd width) substitution, §5.3.9.4.4. */
export function expandTemplate(media: string, seg: DashSegmentRef): string {
  return media.replace(/\$(Number|Time)(?:%0(\d+)d)?\$/g, (_m, what: string, width: string | undefined) => {
    const v = String(what === 'Number' ? seg.number : seg.t);
    return width ? v.padStart(Number(width), '0') : v;
  });
}
