/**
 * Timed metadata end to end: a publisher's onCuePoint (an SCTE-35 cue-out in its parameters, as
 * encoders and playout systems send it), onTextData and a mid-stream onMetaData update
 * (`@setDataFrame`), and an event inserted through
 * `POST /api/streams/APP/KEY/metadata`, appear in the HLS media playlists as EXT-X-DATERANGE at
 * their media time (START-DATE on the PROGRAM-DATE-TIME timeline), read back by m3u8-parser.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';
import type { RunningGateway } from '../../src/gateway.js';
import { buildSpliceInsert } from '../../src/metadata/scte35.js';
import { numericEventId } from '../../src/metadata/timed-event.js';
import { publishFlvWithData, type ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchBytes, fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { untilSourceSegments, untilUpdate } from '../helpers/events.js';
import { parseEmsg } from '../../src/mux/fmp4/emsg.js';
import { decodeErrors, downloadRendition } from '../helpers/media-check.js';
import { parseId3Tag } from '../../src/metadata/id3.js';

interface DateRange {
  id: string;
  startDate: Date;
  plannedDuration?: number;
  scte35Out?: string;
  [attribute: string]: unknown;
}

function parse(text: string): { dateRanges: DateRange[]; segments: { dateTimeObject?: Date; duration: number }[] } {
  const parser = new Parser();
  parser.push(text);
  parser.end();
  const m = parser.manifest as unknown as { dateRanges?: DateRange[]; segments: { dateTimeObject?: Date; duration: number }[] };
  return { dateRanges: m.dateRanges ?? [], segments: m.segments };
}

let gw: RunningGateway;
let publisher: ErtmpPublisher;
let base: string;

describe('timed metadata', () => {
  beforeAll(async () => {
    gw = await startTestGateway();
    const cueOut = Buffer.from(buildSpliceInsert({ eventId: 11, outOfNetwork: true, breakDurationTicks: 20 * 90_000, autoReturn: true })).toString('base64');
    const live = nextPublish(gw, 'cues');
    publisher = await publishFlvWithData(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/cues`, [
      { ms: 2500, values: ['onCuePoint', { name: 'adbreak', time: 2.5, type: 'event', parameters: { scte35: cueOut } }] },
      { ms: 3000, values: ['onTextData', { text: 'Hello captions', language: 'eng' }] },
      // The stream's description, then an update mid-stream (a radio encoder's new title).
      { ms: 0, values: ['@setDataFrame', 'onMetaData', { title: 'Song 1', width: 1280 }] },
      { ms: 3500, values: ['@setDataFrame', 'onMetaData', { title: 'Song 2', width: 1280 }] },
    ]);
    await live;
    await untilSourceSegments(gw, 'cues', 3);
    base = `http://127.0.0.1:${gw.httpPort}`;
  }, 60_000);
  afterAll(async () => {
    publisher?.stop();
    await gw?.stop();
  });

  it("the publisher's onCuePoint (SCTE-35) and onTextData are EXT-X-DATERANGE at their media time", async () => {
    const { dateRanges, segments } = parse((await fetchText(`${base}/live/cues/src/index.m3u8`)).text);
    const cue = dateRanges.find((r) => r.id === 'splice-0000000B')!;
    expect(cue).toBeDefined();
    expect(cue.plannedDuration).toBe(20);
    expect(String(cue.scte35Out)).toMatch(/^0xFC/);
    const text = dateRanges.find((r) => r['xText'] === 'Hello captions' || r['X-TEXT'] === 'Hello captions');
    expect(text, JSON.stringify(dateRanges)).toBeDefined();
    // onMetaData after the first is an update: timed metadata too; the first is not.
    const titles = dateRanges.map((r) => r['xTitle'] ?? r['X-TITLE']).filter((t) => t !== undefined);
    expect(titles, JSON.stringify(dateRanges)).toEqual(['Song 2']);
    // 2.5 s into the publish: on the PROGRAM-DATE-TIME timeline between the first segment's date and 3 s after it.
    const first = segments[0]!.dateTimeObject!.getTime();
    expect(cue.startDate.getTime() - first).toBeGreaterThanOrEqual(2000);
    expect(cue.startDate.getTime() - first).toBeLessThanOrEqual(3000);
    // The audio playlist lists the same ranges.
    const audio = parse((await fetchText(`${base}/live/cues/audio/index.m3u8`)).text);
    expect(audio.dateRanges.map((r) => r.id)).toEqual(dateRanges.map((r) => r.id));
    // The MPD carries them as Period EventStreams (mpd-parser reads them).
    const mpd = parseMpd((await fetchText(`${base}/live/cues/index.mpd`)).text, { manifestUri: `${base}/live/cues/index.mpd` }) as unknown as { eventStream?: { schemeIdUri: string; id: string | number }[] };
    expect((mpd.eventStream ?? []).map((e) => [e.schemeIdUri, Number(e.id)])).toEqual(
      expect.arrayContaining([['urn:scte:scte35:2014:xml+bin', numericEventId({ id: 'splice-0000000B' })], ['https://aomedia.org/emsg/ID3', numericEventId(text!)]]),
    );
  });

  it('POST /api/streams/APP/KEY/metadata inserts an event at the live edge (202); not live: 404; a bad body: 400', async () => {
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const res = await post('/api/streams/live/cues/metadata', { text: 'Goal!', id: 'goal-1' });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ id: 'goal-1', kind: 'id3' });
    const listing = (await fetchText(`${base}/live/cues/src/index.m3u8`)).text;
    expect(listing).toMatch(/#EXT-X-DATERANGE:ID="goal-1",CLASS="https:\/\/aomedia.org\/emsg\/ID3",START-DATE="[^"]+",X-TEXT="Goal!"/);
    // The ID3 event is also an emsg (AOM ID3 in CMAF) ahead of the next chunk of the source video.
    const video = gw.outputs.get('live', 'cues')!.videos.get('src')!;
    const after = video.segments.length;
    await untilUpdate(video, () => video.segments.length >= after + 2);
    let found: string | undefined;
    for (const s of video.segments.slice(after - 1)) {
      const bytes = (await fetchBytes(`${base}/live/cues/src/seg-${video.session}-${s.sequence}.m4s`)).bytes;
      for (let i = 4; i + 4 <= bytes.byteLength && !found; i++) {
        if (bytes[i] === 0x65 && bytes[i + 1] === 0x6d && bytes[i + 2] === 0x73 && bytes[i + 3] === 0x67) {
          const size = new DataView(bytes.buffer, bytes.byteOffset).getUint32(i - 4);
          const emsg = parseEmsg(bytes.subarray(i - 4, i - 4 + size));
          expect(emsg.schemeIdUri).toBe('https://aomedia.org/emsg/ID3');
          found = JSON.stringify(parseId3Tag(emsg.messageData));
        }
      }
    }
    expect(found).toBe(JSON.stringify([{ kind: 'TXXX', description: 'text', value: 'Goal!' }]));
    // Players that do not read emsg skip it: the rendition still decodes cleanly.
    expect(await decodeErrors((await downloadRendition(`${base}/live/cues/src/index.m3u8`)).file)).toBe('');
    expect((await post('/api/streams/live/nobody/metadata', { text: 'x' })).status).toBe(404);
    expect((await post('/api/streams/live/cues/metadata', { nothing: 1 })).status).toBe(400);
  });
});
