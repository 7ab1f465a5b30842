/**
 * The protocol-neutral timed event the pipeline carries from ingest (AMF0 data messages, SCTE-35
 * from TS) to the outputs (HLS EXT-X-DATERANGE, DASH EventStream / emsg, ID3 in emsg or TS), and
 * the pure mappings into and out of it. No clocks here: times are media seconds on the stream's
 * timeline, and the wall clock of START-DATE is the caller's (its MediaClock) to give.
 */
import { isAmf0Object, type Amf0Value } from '../flv/amf0.js';
import { GatewayError } from '../core/errors.js';
import { ID3_SCHEME, ID3_SCHEME_VALUE, SCTE35_SCHEME } from '../mux/fmp4/emsg.js';
import type { Id3Frame, Id3TxxxFrame } from './id3.js';
import { SCTE35_CLOCK, SpliceCommandType, spliceInfoFromText, type SpliceInfo } from './scte35.js';

interface TimedEventBase {
  /** Unique per event; an SCTE-35 splice out and its splice in share one (RFC 8216bis §4.4.5.1.1). */
  readonly id: string;
  /** media time, seconds, on the stream's timeline */
  readonly time: number;
  /** Known duration, seconds: EXT-X-DATERANGE DURATION, emsg event_duration. */
  readonly duration?: number;
  /** Expected duration, seconds, while the real one is unknown: PLANNED-DURATION. */
  readonly plannedDuration?: number;
  /** for HLS EXT-X-DATERANGE CLASS / DASH EventStream @schemeIdUri (and emsg scheme_id_uri) */
  readonly schemeIdUri: string;
  /** DASH EventStream @value, emsg value. */
  readonly value: string;
}

/** Metadata a player reads as ID3 frames (hls.js / Safari / dash.js surface them as cues). */
export interface Id3TimedEvent extends TimedEventBase {
  readonly kind: 'id3';
  readonly frames: readonly Id3Frame[];
}

/** An SCTE-35 cue, with the whole splice_info_section as received. */
export interface Scte35TimedEvent extends TimedEventBase {
  readonly kind: 'scte35';
  readonly splice: SpliceInfo;
  /** Which EXT-X-DATERANGE attribute carries it (RFC 8216bis §4.4.5.1.1). */
  readonly cue: 'out' | 'in' | 'cmd';
}

export type TimedEvent = Id3TimedEvent | Scte35TimedEvent;

function fail(message: string, context: Record<string, unknown> = {}): never {
  throw new GatewayError('metadata', message, context);
}

function checkTime(seconds: number, what: string): void {
  if (!Number.isFinite(seconds) || seconds < 0) fail(`${what} must be a finite, non-negative number of seconds`, { [what]: seconds });
}

/** FNV-1a 32-bit over UTF-16 code units. */
function fnv1a32(text: string): number {
  let h = 0x811c_9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x0100_0193) >>> 0;
  }
  return h;
}

/** A short, deterministic tag to tell same-time events apart. */
function fnv1a(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, '0');
}

/**
 * The event's id as the unsigned 32-bit number DASH Event@id (ISO/IEC 23009-1 §5.10.2.2,
 * xs:unsignedInt) and emsg id need: the same for the same event id, so players drop repeats.
 */
export function numericEventId(event: Pick<TimedEvent, 'id'>): number {
  return fnv1a32(event.id);
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s.toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Building events

/**
 * The TimedEvent of an SCTE-35 cue at `time`. A splice_insert (not cancelled) is a splice out
 * (out_of_network_indicator 1, PLANNED-DURATION from its break_duration) or a splice in; both get
 * the ID "splice-<splice_event_id as 8 hex digits>" so the pair shares it (RFC 8216bis
 * §4.4.5.1.1). Everything else (time_signal, splice_null, a cancel) is a command with an ID of
 * its own.
 */
export function scte35Event(splice: SpliceInfo, time: number): Scte35TimedEvent {
  checkTime(time, 'time');
  const base = { kind: 'scte35', splice, time, schemeIdUri: SCTE35_SCHEME, value: '' } as const;
  const c = splice.command;
  if (c.commandType === SpliceCommandType.SpliceInsert && 'cancel' in c && !c.cancel) {
    const id = `splice-${c.spliceEventId.toString(16).toUpperCase().padStart(8, '0')}`;
    if (!c.outOfNetwork) return { ...base, id, cue: 'in' };
    return c.breakDuration
      ? { ...base, id, cue: 'out', plannedDuration: c.breakDuration.duration / SCTE35_CLOCK }
      : { ...base, id, cue: 'out' };
  }
  return { ...base, id: `scte35-${Math.round(time * 1000)}-${fnv1a(hex(splice.section))}`, cue: 'cmd' };
}

/** The TimedEvent of ID3 frames at `time`; `idPrefix` names its source (e.g. "onTextData"). */
export function id3Event(frames: readonly Id3Frame[], time: number, idPrefix = 'id3'): Id3TimedEvent {
  checkTime(time, 'time');
  const digest = frames
    .map((f) => (f.kind === 'TXXX' ? `T${f.description}\u0000${f.value}` : f.kind === 'PRIV' ? `P${f.owner}\u0000${hex(f.data)}` : `O${f.id}${hex(f.data)}`))
    .join('\u0001');
  return {
    kind: 'id3',
    id: `${idPrefix}-${Math.round(time * 1000)}-${fnv1a(digest)}`,
    time,
    schemeIdUri: ID3_SCHEME,
    value: ID3_SCHEME_VALUE,
    frames,
  };
}

// ---------------------------------------------------------------------------------------------
// AMF0 data messages -> events

/** Parameter names publishers use for an SCTE-35 section in onCuePoint (base64 or hex). */
const SCTE35_KEY = /^scte[-_]?35(?:[-_]?(?:bin|binary|base64|hex|cmd|data|payload))?$/i;
const MAX_FIELDS = 64;
const MAX_DEPTH = 4;

function scalarText(v: Amf0Value): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
  return undefined;
}

/** One TXXX per scalar field, nested objects and arrays as dotted paths ("parameters.foo"). */
function flattenToTxxx(value: Amf0Value, path: string, depth: number, out: Id3TxxxFrame[]): void {
  if (out.length >= MAX_FIELDS) return;
  const text = scalarText(value);
  if (text !== undefined) {
    // TXXX strings are NUL-terminated (ID3v2.4 frames §4.2.6): a NUL cannot be carried.
    out.push({ kind: 'TXXX', description: path.replace(/\u0000/g, ''), value: text.replace(/\u0000/g, '') });
    return;
  }
  if (depth >= MAX_DEPTH) return;
  const entries: [string, Amf0Value][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : isAmf0Object(value) ? Object.entries(value) : [];
  for (const [k, v] of entries) flattenToTxxx(v, path ? `${path}.${k}` : k, depth + 1, out);
}

function findScte35Text(obj: Record<string, Amf0Value>): string | undefined {
  const params = obj['parameters'];
  for (const source of [params, obj]) {
    if (source === undefined || !isAmf0Object(source)) continue;
    for (const [k, v] of Object.entries(source)) if (SCTE35_KEY.test(k) && typeof v === 'string') return v;
  }
  return undefined;
}

/**
 * Maps an AMF0 data message a publisher sends (RTMP type 18 / FLV script tag) onto a TimedEvent
 * at `mediaTimeSeconds` (the message's timestamp on the stream's timeline):
 *  - onCuePoint `{ name, time, type, parameters: {...} }` whose parameters (or the object itself)
 *    hold an `scte35` / `scte35_bin` / … string: that base64 or hex splice_info_section;
 *  - any other onCuePoint, onTextData `{ text, language?, trackid? }`, onCaptionInfo
 *    `{ type, data }`: ID3 with one TXXX per field (description = dotted field path).
 * Throws GatewayError('metadata') when the body is not an object or its SCTE-35 does not parse.
 */
export function fromAmfCuePoint(
  name: 'onCuePoint' | 'onTextData' | 'onCaptionInfo' | 'onMetaData',
  value: Amf0Value,
  mediaTimeSeconds: number,
): TimedEvent {
  checkTime(mediaTimeSeconds, 'mediaTimeSeconds');
  if (!isAmf0Object(value)) fail(`${name} body is not an AMF0 object`, { type: value === null ? 'null' : typeof value });
  if (name === 'onCuePoint') {
    const text = findScte35Text(value);
    if (text !== undefined) return scte35Event(spliceInfoFromText(text), mediaTimeSeconds);
  }
  const frames: Id3TxxxFrame[] = [];
  flattenToTxxx(value, '', 0, frames);
  return id3Event(frames, mediaTimeSeconds, name);
}

// ---------------------------------------------------------------------------------------------
// HLS EXT-X-DATERANGE

/** quoted-string (RFC 8216bis §4.2): no double quote, CR or LF inside. */
function isQuotable(text: string): boolean {
  return !/["\r\n]/.test(text);
}

function quoted(text: string, what: string): string {
  if (!isQuotable(text)) fail(`${what} cannot be a quoted-string (it holds a double quote, CR or LF)`, { [what]: JSON.stringify(text) });
  return `"${text}"`;
}

/** decimal-floating-point (RFC 8216bis §4.2): digits and an optional fraction, never an exponent. */
function decimal(seconds: number, what: string): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= 1e15) fail(`${what} must be a non-negative number of seconds`, { [what]: seconds });
  return seconds.toFixed(6).replace(/\.?0+$/, '');
}

/** X-<client attribute> name from a free-form key: A-Z, 0-9 and '-' only (RFC 8216bis §4.4.5.1). */
function clientAttributeName(key: string): string | undefined {
  const name = key.toUpperCase().replace(/[^A-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return name ? `X-${name}` : undefined;
}

/**
 * The attributes of this event's EXT-X-DATERANGE tag (RFC 8216bis §4.4.5.1), each value already
 * written as its attribute-list type (quoted-string with its quotes, hexadecimal-sequence,
 * decimal-floating-point), in tag order:
 *  - ID, CLASS (ID3 events: the scheme URI), START-DATE (ISO 8601 of `startDateMs`, the event's
 *    wall clock, e.g. MediaClock.wallclockAt), DURATION, PLANNED-DURATION;
 *  - SCTE-35 (§4.4.5.1.1): SCTE35-OUT / SCTE35-IN / SCTE35-CMD = 0x + the whole
 *    splice_info_section in hex. A splice in shares its splice out's ID, so pass the OUT's
 *    START-DATE for it (a repeated ID must repeat its attribute values) and set its duration;
 *  - ID3: one X-<DESCRIPTION> per TXXX frame, a quoted-string, or hex of the UTF-8 when the
 *    value cannot be quoted; repeated names get -2, -3, … (PRIV and other frames are left out).
 */
export function dateRangeAttributes(event: TimedEvent, startDateMs: number): Record<string, string> {
  if (!Number.isFinite(startDateMs) || Math.abs(startDateMs) > 8.64e15) fail('START-DATE out of range', { startDateMs });
  const attrs: Record<string, string> = { ID: quoted(event.id, 'id') };
  if (event.kind === 'id3') attrs['CLASS'] = quoted(event.schemeIdUri, 'class');
  attrs['START-DATE'] = `"${new Date(startDateMs).toISOString()}"`;
  if (event.duration !== undefined) attrs['DURATION'] = decimal(event.duration, 'duration');
  if (event.plannedDuration !== undefined) attrs['PLANNED-DURATION'] = decimal(event.plannedDuration, 'plannedDuration');
  if (event.kind === 'scte35') {
    const attr = event.cue === 'out' ? 'SCTE35-OUT' : event.cue === 'in' ? 'SCTE35-IN' : 'SCTE35-CMD';
    attrs[attr] = `0x${hex(event.splice.section)}`;
    return attrs;
  }
  for (const frame of event.frames) {
    if (frame.kind !== 'TXXX') continue;
    const base = clientAttributeName(frame.description);
    if (base === undefined) continue;
    let name = base;
    for (let n = 2; name in attrs; n++) name = `${base}-${n}`;
    attrs[name] = isQuotable(frame.value) ? `"${frame.value}"` : `0x${hex(new TextEncoder().encode(frame.value))}`;
  }
  return attrs;
}
