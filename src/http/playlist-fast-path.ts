/**
 * The polled path: GET of a media playlist (with or without an LL-HLS blocking reload) or an MPD
 * of a stream that is ready, answered straight from `node:http` like the media fast path. A
 * player reloads these every part or every 100 ms, so express' router stack and middleware cost
 * more than the (memoized) answer. The same observers run inline: the playlist rate limit (its
 * 429 is answered here too), viewer sessions and request metrics. Anything else (a first
 * request that must wait for media, errors, other parameters, HEAD, playback tokens) goes on
 * to express unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OutputRegistry } from '../packager/output-registry.js';
import { sendTooMany, type PlaylistRateLimiter } from './rate-limit.js';
import type { ObservedRequest } from '../observe/viewers.js';
import { playlistKindOf, type RequestKind } from '../observe/request-kind.js';
import { NAME_PATTERN } from '../core/names.js';
import { AWAY_CACHE_CONTROL, blockingHold, hasPart, M3U8, mediaPlaylistAnswer, tooFarAhead, type PlaylistAnswer } from './hls-routes.js';
import { DASH_MIME, mpdAnswer } from './dash-routes.js';
import { whenReady } from './wait.js';
import { addCorsHeaders, cacheControlFor } from './send.js';
import type { MediaKeys } from '../auth/media-keys.js';

/** `/APP/KEY/REND/index.m3u8` or `/APP/KEY/index.mpd`, with an optional query. */
const PLAYLIST_PATH = /^\/([^/?]{1,128})\/([^/?]{1,128})\/(?:([^/?]{1,128})\/index\.m3u8|(index\.mpd))(?:\?(.{0,200}))?$/;
const INT = /^\d{1,12}$/;

export interface PlaylistFastPathOptions {
  readonly outputs: OutputRegistry;
  readonly segmentDuration: number;
  readonly partDuration: number;
  readonly playlistWindow: number;
  readonly corsOrigin: string;
  readonly rateLimiter?: PlaylistRateLimiter;
  /** `kind` is what classifyPath would make of the path, known here already. */
  readonly observe?: (request: ObservedRequest, kind: RequestKind) => void;
  /** Told of every answer (request metrics). */
  readonly onAnswered?: (route: 'media' | 'mpd', status: number) => void;
  /** HLS AES-128: key tags in the media playlists; no MPD here for such streams (express refuses it). */
  readonly keys?: MediaKeys;
}

interface PlaylistQuery {
  readonly msn: number | undefined;
  readonly part: number | undefined;
  readonly skip: boolean;
  readonly raw: Record<string, string>;
}

/** The LL-HLS delivery directives, or undefined when the query holds anything else (express answers). */
function readQuery(text: string | undefined): PlaylistQuery | undefined {
  const raw: Record<string, string> = {};
  if (text) {
    for (const [name, value] of new URLSearchParams(text)) {
      if ((name !== '_HLS_msn' && name !== '_HLS_part' && name !== '_HLS_skip') || name in raw) return undefined;
      raw[name] = value;
    }
  }
  const msnText = raw['_HLS_msn'];
  const partText = raw['_HLS_part'];
  if ((msnText !== undefined && !INT.test(msnText)) || (partText !== undefined && (!INT.test(partText) || msnText === undefined))) return undefined;
  return {
    msn: msnText === undefined ? undefined : Number(msnText),
    part: partText === undefined ? undefined : Number(partText),
    skip: raw['_HLS_skip'] === 'YES' || raw['_HLS_skip'] === 'v2',
    raw,
  };
}

function send(options: PlaylistFastPathOptions, res: ServerResponse, route: 'media' | 'mpd', answer: PlaylistAnswer, contentType: string): void {
  const headers: Record<string, string> = { 'Content-Type': `${contentType}; charset=utf-8`, 'Cache-Control': cacheControlFor(answer.cacheControl, res.req), 'Content-Length': String(Buffer.byteLength(answer.text)) };
  if (answer.vary) headers['Vary'] = 'User-Agent';
  addCorsHeaders(options.corsOrigin, headers);
  res.writeHead(200, headers);
  res.end(answer.text);
  options.onAnswered?.(route, 200);
}

/** Returns true when it took the request (answered it, or holds it until its part exists). */
export function servePlaylistFast(options: PlaylistFastPathOptions, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET') return false;
  const m = PLAYLIST_PATH.exec(req.url ?? '');
  if (!m) return false;
  const [, app, key, rendition, mpd, queryText] = m;
  if (!NAME_PATTERN.test(app!) || !NAME_PATTERN.test(key!) || (rendition !== undefined && !NAME_PATTERN.test(rendition))) return false;
  const query = readQuery(queryText);
  if (!query) return false;
  const output = options.outputs.get(app!, key!);
  if (!output) return false;
  const track = rendition === undefined ? undefined : output.rendition(rendition);
  if (mpd !== undefined ? !output.ready : !track || (track.segments.length === 0 && !track.ended)) return false;
  if (mpd !== undefined && (queryText || options.keys?.ruleFor(output.app, output.key))) return false;
  if (track && query.msn !== undefined && !track.ended && tooFarAhead(track, query.msn)) return false;
  const ip = req.socket.remoteAddress ?? '';
  const limited = options.rateLimiter !== undefined && !options.rateLimiter.take(ip);

  const userAgent = req.headers['user-agent'];
  const path = queryText === undefined ? req.url! : req.url!.slice(0, req.url!.length - queryText.length - 1);
  // Observed before the limit, as express's middleware order has it (viewers, then the limiter).
  const kind = playlistKindOf(app!, key!, mpd !== undefined ? undefined : rendition!);
  options.observe?.({ path, query: query.raw, ip, userAgent: userAgent ?? '', connection: req.socket }, kind);
  if (limited) {
    // Answered here: through express a refusal cost about five times the playlist it refuses
    // (230 against 49 µs of CPU, one keep-alive client), which is what a hammering client sends.
    sendTooMany(res, addCorsHeaders(options.corsOrigin, {}));
    options.onAnswered?.(track ? 'media' : 'mpd', 429);
    return true;
  }
  if (!track) {
    const host = req.headers.host;
    // The scheme of this request: an https page cannot fetch an http:// UTCTiming (mixed content).
    const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    const timeUrl = host ? `${scheme}://${host}/api/time` : '/api/time';
    send(options, res, 'mpd', mpdAnswer(options, output, timeUrl, userAgent), DASH_MIME);
    return true;
  }
  const request = { msn: query.msn, part: query.part, skip: query.skip, userAgent };
  const { msn, part } = query;
  if (msn === undefined || track.ended) {
    send(options, res, 'media', mediaPlaylistAnswer(options, output, track, request), M3U8);
    return true;
  }
  // RFC 8216bis §6.2.5.2 blocking reload: answered inside the packager event that lists the part.
  const hold = blockingHold(output, track, options);
  whenReady([track], () => track.ended || hasPart(track, msn, part), hold.timeoutMs, res, (ok) => {
    if (res.writableEnded || res.destroyed) return;
    if (ok || hold.answerAnyway) {
      const answer = mediaPlaylistAnswer(options, output, track, request);
      send(options, res, 'media', ok ? answer : { ...answer, cacheControl: AWAY_CACHE_CONTROL }, M3U8);
      return;
    }
    res.writeHead(503, addCorsHeaders(options.corsOrigin, { 'Content-Type': 'text/plain; charset=utf-8' }));
    res.end('timed out waiting for the requested segment/part');
    options.onAnswered?.('media', 503);
  });
  return true;
}


