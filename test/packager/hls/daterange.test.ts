/**
 * Timed metadata in the HLS media playlists: EXT-X-DATERANGE (RFC 8216bis §4.4.5.1) for the events
 * within the window, read back by the independent m3u8-parser; an SCTE-35 splice in repeats its
 * splice out's ID and START-DATE with the DURATION between them (§4.4.5.1.1); the metadata API's
 * request bodies.
 */
import { describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { buildMediaPlaylist } from '../../../src/packager/hls/playlists.js';
import { serializeMediaPlaylist } from '../../../src/packager/hls/serialize.js';
import { id3Event, scte35Event } from '../../../src/metadata/timed-event.js';
import { buildSpliceInsert, parseSpliceInfo } from '../../../src/metadata/scte35.js';
import { eventFromRequest } from '../../../src/http/metadata-routes.js';
import { GatewayError } from '../../../src/core/errors.js';
import { T0, fabricatedStreams, feedStream } from '../dash/fabricate.js';

const fabricated = fabricatedStreams();

interface DateRange {
  id: string;
  class?: string;
  startDate: Date;
  duration?: number;
  plannedDuration?: number;
  scte35Out?: string;
  scte35In?: string;
  [attribute: string]: unknown;
}

function dateRanges(text: string): DateRange[] {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  return (parser.manifest as unknown as { dateRanges?: DateRange[] }).dateRanges ?? [];
}

describe('EXT-X-DATERANGE', () => {
  it('lists the events in the window with START-DATE from the media clock; older ones leave with their segments', () => {
    const output = fabricated();
    feedStream(output); // segments 5.. from 10 s, ~2 s each
    const video = output.videos.get('src')!;
    const out = scte35Event(parseSpliceInfo(buildSpliceInsert({ eventId: 7, outOfNetwork: true, breakDurationTicks: 30 * 90_000, autoReturn: true })), 20);
    const back = scte35Event(parseSpliceInfo(buildSpliceInsert({ eventId: 7, outOfNetwork: false, autoReturn: false })), 22.5);
    const early = id3Event([{ kind: 'TXXX', description: 'text', value: 'before the window' }], 1);
    const goal = id3Event([{ kind: 'TXXX', description: 'text', value: 'Goal!' }], 21);
    for (const e of [early, out, goal, back]) output.addTimedEvent(e);
    const wallclockAt = (s: number): number => output.clock.wallclockAt(Math.round(s * 90_000), 90_000);
    const text = serializeMediaPlaylist(buildMediaPlaylist(video, { window: 4, segmentDuration: 2, partDuration: 0.5, lowLatency: true, events: output.timedEvents, wallclockAt }));
    // Three tags: the cue-out, the text, and the cue-in under the cue-out's ID.
    expect(text.match(/#EXT-X-DATERANGE:/g)?.length).toBe(3);
    expect(text.match(new RegExp(`#EXT-X-DATERANGE:ID="${out.id}"`, 'g'))?.length).toBe(2);
    // m3u8-parser merges the tags of one ID (§4.4.5.1: they describe one range).
    const ranges = dateRanges(text);
    expect(ranges.map((r) => r.id)).toEqual([out.id, goal.id]);
    const [cue, text3] = ranges;
    expect(cue!.startDate.getTime()).toBe(wallclockAt(20));
    expect(cue!.plannedDuration).toBe(30);
    // The splice in repeats the OUT's START-DATE and adds the DURATION between them.
    expect(cue!.duration).toBe(2.5);
    expect(String(cue!.scte35Out).startsWith('0xFC')).toBe(true);
    expect(String(cue!.scte35In).startsWith('0xFC')).toBe(true);
    expect(text3!.class).toBe('https://aomedia.org/emsg/ID3');
    expect(text).toContain('X-TEXT="Goal!"');
    // A playlist without events has no tag.
    expect(serializeMediaPlaylist(buildMediaPlaylist(video, { window: 4, segmentDuration: 2, partDuration: 0.5, lowLatency: true }))).not.toContain('DATERANGE');
    void T0;
  });
});

describe('POST /api/streams/APP/KEY/metadata bodies', () => {
  it('text, id3 fields, base64 data (SCTE-35 or ID3 PRIV), id and duration', () => {
    expect(eventFromRequest({ text: 'Goal!' }, 5)).toMatchObject({ kind: 'id3', time: 5, frames: [{ kind: 'TXXX', description: 'text', value: 'Goal!' }] });
    expect(eventFromRequest({ id3: { title: 'Round 2', score: 3 } }, 5)).toMatchObject({ kind: 'id3', frames: [{ description: 'title', value: 'Round 2' }, { description: 'score', value: '3' }] });
    const splice = Buffer.from(buildSpliceInsert({ eventId: 9, outOfNetwork: true, autoReturn: false })).toString('base64');
    expect(eventFromRequest({ id: 'ad-1', data: splice, duration: 30 }, 5)).toMatchObject({ kind: 'scte35', cue: 'out', id: 'ad-1', duration: 30 });
    expect(eventFromRequest({ data: Buffer.from('hello').toString('base64') }, 5)).toMatchObject({ kind: 'id3', frames: [{ kind: 'PRIV', owner: 'streamgate' }] });
    for (const bad of [null, [], {}, { text: 3 }, { id: 'a b', text: 'x' }, { duration: -1, text: 'x' }, { data: '***' }, { id3: { k: { nested: 1 } } }]) {
      expect(() => eventFromRequest(bad, 5)).toThrow(GatewayError);
    }
  });
});
