/**
 * Closed captions found in a rendition's video SEI are declared where players look for them:
 * EXT-X-MEDIA TYPE=CLOSED-CAPTIONS + CLOSED-CAPTIONS on the variant (read back by m3u8-parser)
 * and the SCTE 214 Accessibility descriptor in the MPD (read back by mpd-parser, which turns it
 * into the same CLOSED-CAPTIONS group). The decision is made by the first segment of an init, so
 * an AdaptationSet a player already plays never changes (dash.js would stop updating it).
 */
import { describe, expect, it } from 'vitest';
import { Parser } from 'm3u8-parser';
import { parse as parseMpd } from 'mpd-parser';
import type { Frame } from '../../src/core/media.js';
import type { CmafPart } from '../../src/mux/fmp4/cmaf.js';
import { buildMpd } from '../../src/packager/dash/mpd.js';
import { serializeMpd } from '../../src/packager/dash/serialize.js';
import { buildMultivariantPlaylist } from '../../src/packager/hls/playlists.js';
import { serializeMultivariantPlaylist } from '../../src/packager/hls/serialize.js';
import type { StreamOutput } from '../../src/packager/stream-output.js';
import type { TrackOutput } from '../../src/packager/track-output.js';
import { captionSei, popOnCaption, prependNal } from '../helpers/captions.js';
import { AUDIO_STEREO, FIRST_SEQUENCE, T0, VIDEO_720P, fabricatedStreams, feedInit, makePart, mpdOptionsAt, segmentOf } from './dash/fabricate.js';

const fabricated = fabricatedStreams();
const SLICE = new Uint8Array([0x65, 0x88, 0x84, 0x00]);

function videoFrame(dts: number, withCaptions: boolean): Frame {
  const slice = prependNal(new Uint8Array(0), SLICE);
  return { kind: 'video', dts, pts: dts, key: true, data: withCaptions ? prependNal(slice, captionSei(popOnCaption('CC'))) : slice, wallclock: T0 };
}

/** One two-second segment of `track` whose frames carry captions or not. */
function feedVideoSegment(track: TrackOutput, sequence: number, captions: boolean): void {
  const start = sequence * 180_000;
  const part: CmafPart = { ...makePart(track, sequence, 0, start, 180_000, 90_000, 500), frames: [videoFrame(start, captions)] };
  track.onPart(part);
  track.onSegment(segmentOf([part], { sequence, startTime: start, duration: 180_000, timescale: 90_000, initId: part.initId }));
}

function stream(captions: readonly boolean[]): StreamOutput {
  const output = fabricated();
  const video = output.videos.get('src')!;
  feedInit(video, VIDEO_720P);
  feedInit(output.audio, AUDIO_STEREO);
  captions.forEach((cc, i) => feedVideoSegment(video, FIRST_SEQUENCE + i, cc));
  return output;
}

interface ParsedManifest {
  mediaGroups: Record<string, Record<string, Record<string, { instreamId?: string; default?: boolean; autoselect?: boolean }>>>;
  playlists: { attributes: Record<string, unknown> }[];
}

function parseMultivariant(output: StreamOutput): ParsedManifest {
  const parser = new Parser();
  parser.push(serializeMultivariantPlaylist(buildMultivariantPlaylist(output)));
  parser.end();
  return parser.manifest as unknown as ParsedManifest;
}

function mpdOf(output: StreamOutput): { text: string; parsed: ParsedManifest } {
  const text = serializeMpd(buildMpd(output, mpdOptionsAt(T0 + 20_000)));
  return { text, parsed: parseMpd(text, { manifestUri: 'http://gw.test/live/cam/index.mpd' }) as unknown as ParsedManifest };
}

describe('closed captions declared from the video SEI', () => {
  it('HLS: a CLOSED-CAPTIONS rendition with INSTREAM-ID CC1, named by the variant (m3u8-parser)', () => {
    const m = parseMultivariant(stream([true, true]));
    expect(m.mediaGroups['CLOSED-CAPTIONS']!['cc']!['CC1']).toMatchObject({ instreamId: 'CC1', default: false, autoselect: true });
    expect(m.playlists[0]!.attributes['CLOSED-CAPTIONS']).toBe('cc');
  });

  it('DASH: the cea-608 Accessibility descriptor, which mpd-parser reads as the same caption service', () => {
    const { text, parsed } = mpdOf(stream([true, true]));
    expect(text).toContain('<Accessibility schemeIdUri="urn:scte:dash:cc:cea-608:2015" value="CC1=und"/>');
    const services = Object.values(parsed.mediaGroups['CLOSED-CAPTIONS']?.['cc'] ?? {});
    expect(services.map((s) => s.instreamId)).toEqual(['CC1']);
  });

  it('a stream without captions declares none', () => {
    const output = stream([false, false]);
    expect(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).not.toContain('CLOSED-CAPTIONS');
    expect(mpdOf(output).text).not.toContain('Accessibility');
  });

  it('captions that start after the first segment of an init are not declared for it (the listing never changes under a player)', () => {
    const output = stream([false, true, true]);
    expect(serializeMultivariantPlaylist(buildMultivariantPlaylist(output))).not.toContain('CLOSED-CAPTIONS');
    expect(mpdOf(output).text).not.toContain('cea-608');
  });
});
