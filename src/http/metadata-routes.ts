/**
 * Timed metadata from a server-side app (CONTRACT.md names the route): `POST
 * /api/streams/APP/KEY/metadata` inserts an event at the stream's live edge, as if the encoder
 * had sent it, so a producer can mark a moment (a chapter, an ad break) without the encoder:
 *   {"text": "Goal!"}                                  ID3, one TXXX "text"
 *   {"id": "ad-1", "data": "<base64>", "duration": 30} the bytes: an SCTE-35 splice_info_section
 *                                                      (table_id 0xFC) is a cue, others an ID3 PRIV
 *   {"id3": {"title": "Round 2", "score": "3-1"}}      ID3, one TXXX per field
 *   {"scte35": "<base64 or hex splice_info_section>"}  an SCTE-35 cue (cue-out / cue-in / command)
 * `id` and `duration` (seconds) apply to any of them. It answers 202 with the event's id, media
 * time and kind; 404 when the stream is not live. Who may
 * call it is http/access.ts's business (the API token, or loopback), as for every mutating call.
 */
import express, { Router } from 'express';
import { GatewayError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { Id3TxxxFrame } from '../metadata/id3.js';
import { id3Event, scte35Event, type TimedEvent } from '../metadata/timed-event.js';
import { parseSpliceInfo, spliceInfoFromText } from '../metadata/scte35.js';
import type { OutputRegistry } from '../packager/output-registry.js';

/** Fields an ID3 event takes at most (each a TXXX frame). */
const MAX_FIELDS = 32;
const MAX_VALUE_LENGTH = 1024;

/** The event a request body describes, at media time `time`; throws GatewayError('metadata') when it describes none. */
export function eventFromRequest(body: unknown, time: number): TimedEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('metadata', 'a JSON object is expected: {"text": …}, {"id3": {…}} or {"scte35": "…"}');
  const { text, id3, scte35, data, id, duration } = body as { text?: unknown; id3?: unknown; scte35?: unknown; data?: unknown; id?: unknown; duration?: unknown };
  if (id !== undefined && (typeof id !== 'string' || !/^[\w.:-]{1,64}$/.test(id))) throw new GatewayError('metadata', '"id" must be 1 to 64 letters, digits, "_", ".", ":" or "-"');
  if (duration !== undefined && (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0 || duration > 86_400)) throw new GatewayError('metadata', '"duration" must be seconds, 0 to 86400');
  const event = eventOf({ text, id3, scte35, data }, time);
  return { ...event, ...(id !== undefined ? { id } : {}), ...(duration !== undefined ? { duration } : {}) };
}

function eventOf({ text, id3, scte35, data }: { text: unknown; id3: unknown; scte35: unknown; data: unknown }, time: number): TimedEvent {
  if (typeof scte35 === 'string') return scte35Event(spliceInfoFromText(scte35), time);
  if (typeof data === 'string') {
    if (data.length > 16_384 || !/^[A-Za-z0-9+/=_-]*$/.test(data)) throw new GatewayError('metadata', '"data" must be base64');
    const bytes = new Uint8Array(Buffer.from(data, 'base64'));
    if (bytes.byteLength === 0) throw new GatewayError('metadata', '"data" is empty');
    // SCTE 35 §9.6: a splice_info_section starts with table_id 0xFC.
    if (bytes[0] === 0xfc) return scte35Event(parseSpliceInfo(bytes), time);
    return id3Event([{ kind: 'PRIV', owner: 'streamgate', data: bytes }], time, 'api');
  }
  const fields: [string, unknown][] = [];
  if (typeof text === 'string') fields.push(['text', text]);
  if (typeof id3 === 'object' && id3 !== null && !Array.isArray(id3)) fields.push(...Object.entries(id3));
  if (fields.length === 0) throw new GatewayError('metadata', 'nothing to insert: give "text", "id3" (an object of strings) or "scte35"');
  if (fields.length > MAX_FIELDS) throw new GatewayError('metadata', `at most ${MAX_FIELDS} fields`);
  const frames: Id3TxxxFrame[] = fields.map(([description, value]) => {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new GatewayError('metadata', `field "${description}" must be a string, number or boolean`);
    const v = String(value);
    if (v.length > MAX_VALUE_LENGTH || description.length > 64) throw new GatewayError('metadata', `field "${description.slice(0, 64)}" is too long`);
    return { kind: 'TXXX', description, value: v };
  });
  return id3Event(frames, time, 'api');
}

export function metadataRoutes(outputs: OutputRegistry): Router {
  const router = Router();
  router.post('/api/streams/:app/:key/metadata', express.json({ limit: '16kb' }), (req, res) => {
    const app = String(req.params['app']);
    const key = String(req.params['key']);
    const output = NAME_PATTERN.test(app) && NAME_PATTERN.test(key) ? outputs.get(app, key) : undefined;
    if (!output || output.ended || output.suspendedAt !== undefined) {
      res.status(404).json({ error: 'the stream is not live' });
      return;
    }
    try {
      const event = eventFromRequest(req.body as unknown, output.liveMediaSeconds);
      output.addTimedEvent(event);
      res.status(202).json({ id: event.id, time: event.time, kind: event.kind });
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      res.status(400).json({ error: err.message.replace(/^metadata: /, '') });
    }
  });
  return router;
}
