/**
 * Timed metadata in the MPD: a Period EventStream per scheme (§5.10.2) for the events within what
 * the Period lists — ID3 under the AOM ID3 scheme (the tag as base64 messageData), SCTE-35 under
 * SCTE 214-1's xml+bin (<Signal><Binary>) — read back by the independent mpd-parser, the payloads
 * by our ID3 and SCTE-35 parsers.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'mpd-parser';
import { buildMpd } from '../../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../../src/packager/dash/serialize.js';
import { id3Event, numericEventId, scte35Event } from '../../../src/metadata/timed-event.js';
import { buildSpliceInsert, parseSpliceInfo } from '../../../src/metadata/scte35.js';
import { parseId3Tag } from '../../../src/metadata/id3.js';
import { T0, fabricatedStreams, feedStream, mpdOptionsAt } from './fabricate.js';

const fabricated = fabricatedStreams();

interface ParsedEvent {
  schemeIdUri: string;
  id: string | number;
  start: number;
  end: number;
  messageData?: string;
}

describe('MPD EventStream', () => {
  it('lists ID3 and SCTE-35 events of the window at their presentation times', () => {
    const output = fabricated();
    feedStream(output); // media 10 s .. ~24 s
    const goal = id3Event([{ kind: 'TXXX', description: 'text', value: 'Goal!' }], 17.25);
    const splice = buildSpliceInsert({ eventId: 5, outOfNetwork: true, breakDurationTicks: 30 * 90_000, autoReturn: true });
    const cue = scte35Event(parseSpliceInfo(splice), 19);
    const gone = id3Event([{ kind: 'TXXX', description: 'text', value: 'long ago' }], 2);
    for (const e of [gone, goal, cue]) output.addTimedEvent(e);
    const text = serializeMpd(buildMpd(output, mpdOptionsAt(T0 + 40_000)));
    expect(text).toContain('<EventStream schemeIdUri="https://aomedia.org/emsg/ID3" value="" timescale="1000">');
    expect(text).toContain('<Signal xmlns="http://www.scte.org/schemas/35/2016">');
    const manifest = parse(text, { manifestUri: 'http://gw.test/live/cam/index.mpd' }) as unknown as { eventStream?: ParsedEvent[] };
    const events = manifest.eventStream ?? [];
    // Event@id is xs:unsignedInt: the events' ids as numbers (the same in emsg).
    expect(events.map((e) => Number(e.id))).toEqual([numericEventId(goal), numericEventId(cue)]);
    const [id3, scte] = events;
    // Period 0 starts at presentation time 0 = media time 0 here: start = the media time.
    expect(id3!.start).toBeCloseTo(17.25, 3);
    expect(parseId3Tag(new Uint8Array(Buffer.from(id3!.messageData!, 'base64')))).toEqual([{ kind: 'TXXX', description: 'text', value: 'Goal!' }]);
    expect(scte!.start).toBeCloseTo(19, 3);
    expect(scte!.end - scte!.start).toBeCloseTo(30, 3);
    const binary = /<Binary>([^<]+)<\/Binary>/.exec(text)![1]!;
    expect(parseSpliceInfo(new Uint8Array(Buffer.from(binary, 'base64'))).section).toEqual(splice);
  });

  it('no events, no EventStream', () => {
    const output = fabricated();
    feedStream(output);
    expect(serializeMpd(buildMpd(output, mpdOptionsAt(T0 + 40_000)))).not.toContain('EventStream');
  });
});
