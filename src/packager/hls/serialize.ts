/** Text form of the HLS models (RFC 8216bis §4). */
import type { HlsKey, HlsPart, HlsSampleAesKey, HlsSegment, MediaPlaylist, MultivariantPlaylist } from './model.js';

/** EXTINF and part durations with millisecond precision, trailing zeros kept short. */
export function formatDuration(seconds: number): string {
  return (Math.round(seconds * 1000) / 1000).toFixed(3);
}

function quoted(value: string): string {
  return `"${value.replace(/"/g, "'")}"`;
}

function sampleAesAttributes(k: HlsSampleAesKey): string {
  return `METHOD=SAMPLE-AES,URI=${quoted(k.uri)},KEYID=${k.keyId},KEYFORMAT=${quoted(k.keyFormat)},KEYFORMATVERSIONS=${quoted(k.keyFormatVersions)}`;
}

/** Lines of parts already written: the playlist builder reuses a part's model while it is listed. */
const partLines = new WeakMap<HlsPart, string>();

function partLine(part: HlsPart): string {
  let line = partLines.get(part);
  if (line === undefined) {
    line = `#EXT-X-PART:DURATION=${formatDuration(part.duration)},URI=${quoted(part.uri)}${part.independent ? ',INDEPENDENT=YES' : ''}`;
    partLines.set(part, line);
  }
  return line;
}

/**
 * What a segment's own lines say (its date; its parts, gap, EXTINF and URI), written once per
 * segment model: the models are immutable and the playlist builder reuses a listed segment's
 * model, so a live playlist rendered for every part that lands (ten a second per track) writes
 * only its newest lines. EXT-X-DISCONTINUITY, EXT-X-MAP and EXT-X-KEY depend on the segment
 * before, and are written around these.
 */
interface SegmentLines {
  readonly date: string | undefined;
  readonly media: string;
}

const segmentLines = new WeakMap<HlsSegment, SegmentLines>();

function linesOf(s: HlsSegment): SegmentLines {
  let lines = segmentLines.get(s);
  if (lines === undefined) {
    const media: string[] = [];
    if (s.parts) for (const part of s.parts) media.push(partLine(part));
    if (s.gap) media.push('#EXT-X-GAP');
    media.push(`#EXTINF:${formatDuration(s.duration)},`, s.uri);
    lines = {
      date: s.programDateTime !== undefined ? `#EXT-X-PROGRAM-DATE-TIME:${new Date(s.programDateTime).toISOString()}` : undefined,
      media: media.join('\n'),
    };
    // A segment with a key is modelled afresh for every playlist (playlists.ts): not kept.
    if (!s.key) segmentLines.set(s, lines);
  }
  return lines;
}

export function serializeMediaPlaylist(p: MediaPlaylist): string {
  const out: string[] = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`, `#EXT-X-TARGETDURATION:${p.targetDuration}`];
  if (p.serverControl) {
    const sc = p.serverControl;
    const attrs: string[] = [];
    if (sc.canBlockReload) attrs.push('CAN-BLOCK-RELOAD=YES');
    if (sc.canSkipUntil !== undefined) attrs.push(`CAN-SKIP-UNTIL=${formatDuration(sc.canSkipUntil)}`);
    if (sc.holdBack !== undefined) attrs.push(`HOLD-BACK=${formatDuration(sc.holdBack)}`);
    if (sc.partHoldBack !== undefined) attrs.push(`PART-HOLD-BACK=${formatDuration(sc.partHoldBack)}`);
    out.push(`#EXT-X-SERVER-CONTROL:${attrs.join(',')}`);
  }
  if (p.partTarget !== undefined) out.push(`#EXT-X-PART-INF:PART-TARGET=${formatDuration(p.partTarget)}`);
  out.push(`#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`);
  if (p.discontinuitySequence > 0) out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${p.discontinuitySequence}`);
  if (p.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (p.skippedSegments) out.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${p.skippedSegments}`);
  for (const d of p.dateRanges ?? []) out.push(`#EXT-X-DATERANGE:${d}`);
  // SAMPLE-AES of fMP4 (§4.4.4.4): the inits stay clear by the scheme (only their tenc names the
  // key), so the key tags precede every EXT-X-MAP and segment once.
  for (const k of p.sampleAesKeys ?? []) out.push(`#EXT-X-KEY:${sampleAesAttributes(k)}`);
  // AES-128 (§4.4.4.4): a key tag applies to the segments, parts and EXT-X-MAPs after it, so
  // each init is preceded by METHOD=NONE (inits stay clear) and each segment by its own key/IV.
  let keyed = false;
  const map = (uri: string): void => {
    if (keyed) out.push('#EXT-X-KEY:METHOD=NONE');
    keyed = false;
    out.push(`#EXT-X-MAP:URI=${quoted(uri)}`);
  };
  const key = (k: HlsKey | undefined): void => {
    if (!k) return;
    out.push(`#EXT-X-KEY:METHOD=AES-128,URI=${quoted(k.uri)},IV=${k.iv}`);
    keyed = true;
  };
  for (const s of p.segments) {
    if (s.discontinuity) out.push('#EXT-X-DISCONTINUITY');
    if (s.map) map(s.map);
    const lines = linesOf(s);
    if (lines.date !== undefined) out.push(lines.date);
    key(s.key);
    out.push(lines.media);
  }
  if (p.openParts && p.openParts.length > 0) {
    if (p.openDiscontinuity) out.push('#EXT-X-DISCONTINUITY');
    if (p.openMap) map(p.openMap);
    key(p.openKey);
    for (const part of p.openParts) out.push(partLine(part));
  }
  if (p.preloadHintUri) out.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${quoted(p.preloadHintUri)}`);
  if (p.renditionReports) {
    for (const r of p.renditionReports) {
      out.push(`#EXT-X-RENDITION-REPORT:URI=${quoted(r.uri)},LAST-MSN=${r.lastMsn}${r.lastPart !== undefined ? `,LAST-PART=${r.lastPart}` : ''}`);
    }
  }
  if (p.endList) out.push('#EXT-X-ENDLIST');
  return out.join('\n') + '\n';
}

export function serializeMultivariantPlaylist(p: MultivariantPlaylist): string {
  const out: string[] = ['#EXTM3U', `#EXT-X-VERSION:${p.version}`];
  if (p.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const k of p.sessionKeys ?? []) out.push(`#EXT-X-SESSION-KEY:${sampleAesAttributes(k)}`);
  for (const a of p.audio) {
    const attrs = [
      'TYPE=AUDIO',
      `GROUP-ID=${quoted(a.groupId)}`,
      `NAME=${quoted(a.name)}`,
      `LANGUAGE=${quoted(a.language ?? 'und')}`,
      `DEFAULT=${a.isDefault ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
    ];
    if (a.channels) attrs.push(`CHANNELS=${quoted(String(a.channels))}`);
    attrs.push(`URI=${quoted(a.uri)}`);
    out.push(`#EXT-X-MEDIA:${attrs.join(',')}`);
  }
  for (const c of p.closedCaptions ?? []) {
    out.push(
      `#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=${quoted(c.groupId)},NAME=${quoted(c.name)},DEFAULT=${c.isDefault ? 'YES' : 'NO'},AUTOSELECT=YES,INSTREAM-ID=${quoted(c.instreamId)}`,
    );
  }
  for (const t of p.subtitles ?? []) {
    out.push(
      `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=${quoted(t.groupId)},NAME=${quoted(t.name)},LANGUAGE=${quoted(t.language)},DEFAULT=${t.isDefault ? 'YES' : 'NO'},AUTOSELECT=YES,FORCED=NO,URI=${quoted(t.uri)}`,
    );
  }
  for (const v of p.variants) {
    const attrs = [`BANDWIDTH=${Math.round(v.bandwidth)}`];
    if (v.averageBandwidth !== undefined) attrs.push(`AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`);
    attrs.push(`CODECS=${quoted(v.codecs)}`);
    if (v.resolution) attrs.push(`RESOLUTION=${v.resolution.width}x${v.resolution.height}`);
    if (v.frameRate !== undefined) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    if (v.videoRange !== undefined && v.videoRange !== 'SDR') attrs.push(`VIDEO-RANGE=${v.videoRange}`);
    if (v.audioGroup) attrs.push(`AUDIO=${quoted(v.audioGroup)}`);
    if (v.subtitles) attrs.push(`SUBTITLES=${quoted(v.subtitles)}`);
    if (v.closedCaptions) attrs.push(`CLOSED-CAPTIONS=${quoted(v.closedCaptions)}`);
    out.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, v.uri);
  }
  return out.join('\n') + '\n';
}
