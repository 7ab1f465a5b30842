/**
 * Subtitles from the publisher's `onTextData` (the AMF0 text track of FMLE/Wirecast-style
 * captioning, `{text, language}`): a WebVTT subtitles rendition cut like the source video,
 *   /APP/KEY/subtitles/index.m3u8            media playlist, one VTT per video segment number,
 *                                            with LL-HLS parts like the video's (playlists.ts)
 *   /APP/KEY/subtitles/vtt-SESSION-N.vtt     the cues that overlap segment N
 *   /APP/KEY/subtitles/vtt-SESSION-N.I.vtt   the cues that overlap part I of segment N
 * declared in the multivariant playlist as EXT-X-MEDIA TYPE=SUBTITLES (RFC 8216bis §4.4.6.1).
 * A cue lasts until the next text (at most MAX_CUE_SECONDS). Each file maps its cue times, which
 * are media seconds, onto the media timeline with X-TIMESTAMP-MAP (RFC 8216bis §3.1.4): LOCAL
 * and MPEGTS name the same instant. Pure: events and segment times in, text out.
 */
import type { TimedEvent } from '../../metadata/timed-event.js';

export const SUBTITLES_RENDITION = 'subtitles';
export const SUBTITLES_GROUP_ID = 'subs';
/** A text shown alone for longer than this is taken down (no encoder tells how long it lasts). */
export const MAX_CUE_SECONDS = 4;

export interface TextCue {
  /** Media seconds. */
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly language?: string;
}

const VTT_FILE = /^vtt-([0-9a-z]{1,16})-(\d{1,12})(?:\.(\d{1,4}))?\.vtt$/;

/** The WebVTT file of segment `sequence`, or of its part `part` (LL-HLS). */
export function vttFileName(session: string, sequence: number, part?: number): string {
  return part === undefined ? `vtt-${session}-${sequence}.vtt` : `vtt-${session}-${sequence}.${part}.vtt`;
}

/** DASH: the WebVTT-in-CMAF init (per session and timescale) and segments (mux/fmp4/wvtt.ts). */
export function wvttInitFileName(session: string, timescale: number): string {
  return `wvtt-init-${session}-${timescale}.mp4`;
}

export function wvttSegmentTemplate(session: string): string {
  return `wvtt-${session}-$Number$.m4s`;
}

const WVTT_FILE = /^wvtt-(?:init-([0-9a-z]{1,16})-(\d{1,9})\.mp4|([0-9a-z]{1,16})-(\d{1,12})\.m4s)$/;

export function parseWvttFileName(file: string): { session: string; init: true; timescale: number } | { session: string; init: false; sequence: number } | undefined {
  const m = WVTT_FILE.exec(file);
  if (!m) return undefined;
  return m[1] !== undefined ? { session: m[1], init: true, timescale: Number(m[2]) } : { session: m[3]!, init: false, sequence: Number(m[4]) };
}

export function parseVttFileName(file: string): { session: string; sequence: number; part?: number } | undefined {
  const m = VTT_FILE.exec(file);
  if (!m) return undefined;
  return m[3] === undefined ? { session: m[1]!, sequence: Number(m[2]) } : { session: m[1]!, sequence: Number(m[2]), part: Number(m[3]) };
}

/** Whether an event is a text cue from `onTextData` with a `text` field. */
export function isTextEvent(event: TimedEvent): boolean {
  return event.kind === 'id3' && event.id.startsWith('onTextData-') && event.frames.some((f) => f.kind === 'TXXX' && f.description === 'text');
}

/** The text cues of `events` (oldest first), each until the next one or MAX_CUE_SECONDS. */
export function textCuesOf(events: readonly TimedEvent[]): TextCue[] {
  const texts = events.filter(isTextEvent).sort((a, b) => a.time - b.time);
  return texts.map((e, i) => {
    const frames = e.kind === 'id3' ? e.frames : [];
    const field = (name: string): string | undefined => {
      const f = frames.find((x) => x.kind === 'TXXX' && x.description === name);
      return f?.kind === 'TXXX' ? f.value : undefined;
    };
    const next = texts[i + 1];
    const end = Math.min(e.time + (e.duration ?? MAX_CUE_SECONDS), next ? next.time : Infinity, e.time + MAX_CUE_SECONDS);
    const language = field('language') ?? field('lang');
    return { start: e.time, end: Math.max(end, e.time + 0.001), text: field('text')!, ...(language ? { language } : {}) };
  });
}

/** WebVTT timestamp (hours always present: media times pass 1 h). */
export function vttTime(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')}`;
}

/** WebVTT cue text: `&`, `<` and `>` escaped (W3C WebVTT §4.2.2), no blank line (it would end the cue). */
function cueText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r\n?/g, '\n')
    .replace(/\n{2,}/g, '\n')
    .replace(/-->/g, '--&gt;')
    .trim();
}

/**
 * The WebVTT file of the segment spanning [start, end) media seconds: every cue overlapping it
 * (a cue spanning two segments is in both, as RFC 8216bis §3.1.4 allows), times in media seconds.
 */
export function buildWebVtt(cues: readonly TextCue[], start: number, end: number): string {
  // X-TIMESTAMP-MAP: LOCAL (cue time) and MPEGTS (90 kHz PES time, 33 bits) of the same instant.
  const mpegts = Math.round(start * 90_000) % 2 ** 33;
  const out = [`WEBVTT`, `X-TIMESTAMP-MAP=MPEGTS:${mpegts},LOCAL:${vttTime(start)}`, ''];
  const sameStart = new Map<number, number>();
  for (const c of cues) {
    const ms = Math.round(c.start * 1000);
    const nth = sameStart.get(ms) ?? 0;
    sameStart.set(ms, nth + 1);
    if (c.end <= start || c.start >= end) continue;
    const text = cueText(c.text);
    if (!text) continue;
    out.push(cueIdentifier(ms, nth), `${vttTime(c.start)} --> ${vttTime(c.end)}`, text, '');
  }
  return out.join('\n') + '\n';
}

/**
 * The cue's identifier (W3C WebVTT §4.1: a line before the timings): the same in every file that
 * repeats the cue. A cue's end can change between files: it lasts until the next text, which a
 * file written before that text came cannot know. Players that keep one cue per identifier (hls.js)
 * then show it once, not a second copy with the other end time.
 */
function cueIdentifier(startMs: number, nth: number): string {
  return nth === 0 ? `text-${startMs}` : `text-${startMs}-${nth}`;
}
