/**
 * WebVTT in ISOBMFF (ISO/IEC 14496-30 §7, the CMAF text track DASH players read, codecs `wvtt`):
 * an init segment with a `wvtt` sample entry, and one fragment per media segment whose samples
 * tile the segment's time: a sample is the cues shown during it (`vttc` boxes, each with its
 * `payl` text) or nothing (`vtte`). A cue that spans sample or segment boundaries is repeated
 * in each sample (§7.4: samples carry the cues active for their whole duration). Pure.
 */
import { buildFileType } from './init.js';
import { buildFragment, buildSegmentHeader } from './fragment.js';
import { containerBox, dinf, hdlr, mdhd, mvhd, rawBox, stbl, tkhd, trex } from './boxes.js';
import { concatBytes } from '../../core/bytes.js';

export interface WvttCue {
  /** Track timescale ticks. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

const utf8 = new TextEncoder();

function stringBox(type: string, text: string): Uint8Array {
  return rawBox(type, utf8.encode(text));
}

/** The init segment of a WebVTT track of timescale `timescale`, language ISO 639-2 `language`. */
export function buildWvttInit(timescale: number, language = 'und'): Uint8Array {
  // PlainTextSampleEntry('wvtt'): SampleEntry's 6 reserved bytes + data_reference_index 1, then
  // WebVTTConfigurationBox ('vttC', the file header) and WebVTTSourceLabelBox ('vlab').
  const entryHead = new Uint8Array(8);
  entryHead[7] = 1;
  const sampleEntry = containerBox('wvtt', [entryHead, stringBox('vttC', 'WEBVTT'), stringBox('vlab', 'streamgate:onTextData')]);
  const nmhd = rawBox('nmhd', new Uint8Array(4));
  const minf = containerBox('minf', [nmhd, dinf(), stbl(sampleEntry)]);
  const mdia = containerBox('mdia', [mdhd(timescale, /^[a-z]{3}$/.test(language) ? language : 'und'), hdlr('text', 'TextHandler'), minf]);
  const trak = containerBox('trak', [tkhd(1, { width: 0, height: 0, volume: 0 }), mdia]);
  const moov = containerBox('moov', [mvhd(1000, 2), trak, containerBox('mvex', [trex(1)])]);
  return concatBytes([buildFileType(), moov]);
}

/**
 * The media segment spanning [start, start + duration) ticks: styp, then one moof + mdat whose
 * samples cover it end to end. `sequenceNumber` is the mfhd number (the segment number).
 */
export function buildWvttSegment(cues: readonly WvttCue[], start: number, duration: number, sequenceNumber: number): Uint8Array {
  const end = start + duration;
  const inside = cues.filter((c) => c.end > start && c.start < end && c.text.length > 0);
  // Sample boundaries: the segment's ends and every cue start and end inside it.
  const cuts = new Set<number>([start, end]);
  for (const c of inside) {
    if (c.start > start) cuts.add(c.start);
    if (c.end < end) cuts.add(c.end);
  }
  const times = [...cuts].sort((a, b) => a - b);
  const samples = [];
  for (let i = 0; i + 1 < times.length; i++) {
    const from = times[i]!;
    const to = times[i + 1]!;
    const active = inside.filter((c) => c.start <= from && c.end >= to);
    const data = active.length === 0 ? rawBox('vtte', new Uint8Array(0)) : concatBytes(active.map((c) => containerBox('vttc', [stringBox('payl', c.text)])));
    // Every text sample is a sync sample with no composition offset: laid out as audio samples are.
    samples.push({ duration: to - from, key: true, compositionOffset: 0, data });
  }
  return concatBytes([buildSegmentHeader(), buildFragment({ sequenceNumber, baseMediaDecodeTime: start, samples, kind: 'audio' })]);
}
