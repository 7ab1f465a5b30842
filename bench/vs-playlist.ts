/**
 * Just enough HLS media playlist and DASH MPD reading for the vs bench's viewer: which segments
 * (and LL-HLS parts) are listed, and the URLs a player would fetch. It reads what the gateway,
 * nginx-rtmp and ffmpeg write (RFC 8216bis tags; MPD SegmentTemplate with SegmentTimeline and
 * $Number$ or $Time$), not every playlist there is.
 */

export interface PlaylistSegment {
  /** Media sequence number: EXT-X-MEDIA-SEQUENCE + position. */
  readonly index: number;
  readonly duration: number;
  readonly uri: string;
}

export interface PlaylistPart {
  /** The segment the part belongs to (the one after the last complete segment listed before it). */
  readonly msn: number;
  readonly part: number;
  readonly duration: number;
  readonly uri: string;
}

export interface MediaPlaylist {
  readonly mediaSequence: number;
  readonly map?: string;
  readonly segments: PlaylistSegment[];
  readonly parts: PlaylistPart[];
}

function attribute(line: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[:,])${name}=("([^"]*)"|[^,]*)`).exec(line);
  return m ? (m[2] ?? m[1]) : undefined;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  let mediaSequence = 0;
  let map: string | undefined;
  let duration = NaN;
  let partIndex = 0;
  const segments: PlaylistSegment[] = [];
  const parts: PlaylistPart[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-MEDIA-SEQUENCE:')) mediaSequence = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-MAP:')) map = attribute(line, 'URI');
    else if (line.startsWith('#EXTINF:')) duration = parseFloat(line.slice(8));
    else if (line.startsWith('#EXT-X-PART:')) {
      const uri = attribute(line, 'URI') ?? '';
      parts.push({ msn: mediaSequence + segments.length, part: partIndex++, duration: Number(attribute(line, 'DURATION')), uri });
    } else if (line !== '' && !line.startsWith('#')) {
      segments.push({ index: mediaSequence + segments.length, duration, uri: line });
      duration = NaN;
      partIndex = 0;
    }
  }
  return { mediaSequence, map, segments, parts };
}

function attributes(tag: string): Map<string, string> {
  return new Map([...tag.matchAll(/([\w:]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** `<Name ...>...</Name>` or `<Name .../>` (not nested in another Name). */
function elementPattern(name: string): RegExp {
  return new RegExp(`<${name}\\b([^>]*?)(?:/>|>([\\s\\S]*?)</${name}>)`, 'g');
}

function elements(xml: string, name: string): { attrs: Map<string, string>; body: string }[] {
  return [...xml.matchAll(elementPattern(name))].map((m) => ({ attrs: attributes(m[1]!), body: m[2] ?? '' }));
}

function fill(template: string, representationId: string, bandwidth: string, number: number, time: number): string {
  return template.replace(/\$(RepresentationID|Bandwidth|Number|Time)(?:%0(\d+)d)?\$/g, (_m, id: string, width: string | undefined) => {
    const value = id === 'RepresentationID' ? representationId : id === 'Bandwidth' ? bandwidth : String(id === 'Number' ? number : time);
    return width ? value.padStart(Number(width), '0') : value;
  });
}

interface Template {
  readonly attrs: Map<string, string>;
  readonly body: string;
}

function expandTimeline(t: Template, representationId: string, bandwidth: string, base: string): string[] {
  const media = t.attrs.get('media');
  if (!media) return [];
  let number = Number(t.attrs.get('startNumber') ?? '1');
  let time = 0;
  const urls: string[] = [];
  for (const s of elements(t.body, 'S')) {
    if (s.attrs.has('t')) time = Number(s.attrs.get('t'));
    const d = Number(s.attrs.get('d'));
    // r = -1 (repeat to the end of the period) is not written by the servers compared here.
    const repeat = Math.max(0, Number(s.attrs.get('r') ?? '0'));
    for (let i = 0; i <= repeat; i++) {
      urls.push(new URL(fill(media, representationId, bandwidth, number, time), base).href);
      number++;
      time += d;
    }
  }
  return urls;
}

export interface MpdSegments {
  readonly init: string[];
  readonly media: string[];
}

/** Every init and media segment URL the MPD lists, all representations (video and audio). */
export function mpdSegmentUrls(xml: string, mpdUrl: string): MpdSegments {
  const init: string[] = [];
  const media: string[] = [];
  for (const set of elements(xml, 'AdaptationSet')) {
    // A SegmentTemplate outside the Representations applies to all of them.
    const shared = elements(set.body.replace(elementPattern('Representation'), ''), 'SegmentTemplate')[0];
    for (const rep of elements(set.body, 'Representation')) {
      const template = elements(rep.body, 'SegmentTemplate')[0] ?? shared;
      if (!template) continue;
      const id = rep.attrs.get('id') ?? '';
      const bandwidth = rep.attrs.get('bandwidth') ?? '';
      const initialization = template.attrs.get('initialization');
      if (initialization) init.push(new URL(fill(initialization, id, bandwidth, 0, 0), mpdUrl).href);
      media.push(...expandTimeline(template, id, bandwidth, mpdUrl));
    }
  }
  return { init, media };
}
