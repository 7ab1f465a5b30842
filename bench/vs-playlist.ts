/**
 * Just enough HLS media playlist and DASH MPD reading for the vs bench's viewer: which segments
 * (and LL-HLS parts) are listed, and the URLs a player would fetch. It reads what the gateway,
 * nginx-rtmp and ffmpeg write (RFC 8216bis tags; MPD SegmentTemplate with SegmentTimeline and
 * $Number$ or $Time$), not every playlist there is.
 */
import { parseMediaPlaylist as readMediaPlaylist } from '../src/latency/manifests.js';

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

/** The project's own playlist reader (the latency tool's), in the shape the viewer records. */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const p = readMediaPlaylist(text);
  return {
    mediaSequence: p.mediaSequence,
    map: p.map,
    segments: p.segments.map((s) => ({ index: s.msn, duration: s.duration, uri: s.uri })),
    parts: p.parts.map((x) => ({ msn: x.msn, part: x.index, duration: x.duration, uri: x.uri })),
  };
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
