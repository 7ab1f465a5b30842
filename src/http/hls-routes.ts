/**
 * HLS (CMAF) routes: multivariant and media playlists with LL-HLS blocking reload, and the media
 * files they name. Everything is answered from memory: the live window, else the LRU cache.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { StreamOutput } from '../packager/stream-output.js';
import type { TrackOutput } from '../packager/track-output.js';
import { buildMediaPlaylist, buildMultivariantPlaylist, buildSubtitlesPlaylist, lastPartOf, targetDurationOf, partTargetOf, sampleAesKeysOf, type MediaPlaylistOptions } from '../packager/hls/playlists.js';
import { serializeMediaPlaylist, serializeMultivariantPlaylist } from '../packager/hls/serialize.js';
import { ENDED_LISTING, LIVE_LISTING, sendChunks, sendText } from './send.js';
import { listsFromStart } from './client-quirks.js';
import { untilOutputReady, waitUntil, whenReady } from './wait.js';
import { NAME_PATTERN } from '../core/names.js';
import { renderedOnce } from './rendered.js';
import { findMediaFile, liveMediaFile, parseMediaFileName } from './media-files.js';
import { parseKeyFileName, type MediaKeys } from '../auth/media-keys.js';
import type { HlsKey } from '../packager/hls/model.js';
import { buildWebVtt, parseVttFileName, parseWvttFileName, SUBTITLES_RENDITION, textCuesOf } from '../packager/hls/subtitles.js';
import { buildWvttInit, buildWvttSegment } from '../mux/fmp4/wvtt.js';

export const M3U8 = 'application/vnd.apple.mpegurl';

export interface HlsRouteOptions {
  readonly outputs: OutputRegistry;
  readonly cache: SegmentCache;
  readonly segmentDuration: number;
  readonly partDuration: number;
  readonly playlistWindow: number;
  /** HLS AES-128 of the streams the config encrypts (auth/media-keys.ts). */
  readonly keys?: MediaKeys;
}

/** A stream's AES-128 key tags for its playlists, or undefined when it is served clear. */
export function keyTagsOf(keys: MediaKeys | undefined, output: StreamOutput): ((sequence: number) => HlsKey) | undefined {
  const rule = keys?.aes128For(output.app, output.key);
  return rule && keys ? (sequence) => keys.keyTagOf(output.app, output.key, output.session, rule, sequence) : undefined;
}


function intParam(value: unknown): number | undefined | null {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,12}$/.test(value)) return null;
  return Number(value);
}

export function hlsRoutes(options: HlsRouteOptions): Router {
  const router = Router();
  const { outputs } = options;
  /** How long a first playlist request waits for the stream's first segment. */
  const firstSegmentWaitMs = (options.segmentDuration * 3 + 2) * 1000;

  const findOutput = (req: Request, res: Response): StreamOutput | undefined => {
    const { app, key } = req.params as Record<string, string>;
    if (!NAME_PATTERN.test(app!) || !NAME_PATTERN.test(key!)) {
      res.status(404).type('text').send('not found');
      return undefined;
    }
    const output = outputs.get(app!, key!);
    if (!output) res.status(404).type('text').send('unknown stream');
    return output;
  };

  router.get('/:app/:key/index.m3u8', async (req, res) => {
    const output = findOutput(req, res);
    if (!output || !(await untilOutputReady(output, firstSegmentWaitMs, res))) return;
    sendText(res, serializeMultivariantPlaylist(buildMultivariantPlaylist(output)), M3U8, output.ended ? ENDED_LISTING : LIVE_LISTING);
  });

  const context: HlsRouteContext = { options, firstSegmentWaitMs, findOutput };
  router.get('/:app/:key/:file', (req, res, next) => keyFile(options, req, res, next));
  router.get(`/:app/:key/${SUBTITLES_RENDITION}/index.m3u8`, async (req, res) => {
    const output = findOutput(req, res);
    if (!output) return;
    const video = output.videos.get('src');
    if (output.textLanguage === undefined || !video) {
      res.status(404).type('text').send('this stream has no text (subtitles come from the publisher\'s onTextData)');
      return;
    }
    await blockingPlaylist(context, req, res, output, video, (request) => subtitlesPlaylistAnswer(options, output, video, request));
  });
  router.get(`/:app/:key/${SUBTITLES_RENDITION}/:file`, async (req, res) => {
    const output = findOutput(req, res);
    if (!output) return;
    const wvtt = parseWvttFileName(String(req.params['file']));
    if (wvtt) {
      // DASH: the same text as WebVTT in CMAF (mux/fmp4/wvtt.ts), cut like the source video.
      const video = output.videos.get('src');
      const segment = !wvtt.init && video && output.session === wvtt.session ? video.segments.find((s) => s.sequence === wvtt.sequence && !s.gap) : undefined;
      if (output.textLanguage === undefined || output.session !== wvtt.session || (!wvtt.init && !segment)) {
        res.status(404).type('text').send('not found');
        return;
      }
      if (wvtt.init) {
        const init = buildWvttInit(wvtt.timescale, output.textLanguage);
        return sendChunks(req, res, [init], init.byteLength, 'application/mp4', `"${wvtt.session}-wvtt-init-${wvtt.timescale}"`);
      }
      const ts = segment!.timescale;
      const cues = textCuesOf(output.timedEvents).map((c) => ({ start: Math.round(c.start * ts), end: Math.round(c.end * ts), text: c.text }));
      const bytes = buildWvttSegment(cues, segment!.startTime, segment!.durationTicks, segment!.sequence);
      res.setHeader('Cache-Control', 'public, max-age=2');
      res.type('application/mp4').send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    const name = parseVttFileName(String(req.params['file']));
    const video = output.videos.get('src');
    if (!name || !video || output.session !== name.session || output.textLanguage === undefined) {
      res.status(404).type('text').send('not found');
      return;
    }
    let span = vttSpanOf(video, name.sequence, name.part);
    if (!span && name.part !== undefined && isHinted(video, name.sequence, name.part)) {
      // The preload hint names the next part: held until the video has it, like its media.
      const { sequence, part } = name;
      await untilHintedPart(video, sequence, part, options, res);
      if (res.writableEnded || res.destroyed) return;
      span = vttSpanOf(video, sequence, part);
    }
    if (!span) {
      res.status(404).type('text').send('not found');
      return;
    }
    // Short-lived: a cue that began in this segment ends when the next text comes.
    sendText(res, buildWebVtt(textCuesOf(output.timedEvents), span.start, span.end), 'text/vtt; charset=utf-8', 'public, max-age=2');
  });
  router.get('/:app/:key/:rendition/index.m3u8', (req, res) => mediaPlaylist(context, req, res));
  router.get('/:app/:key/:rendition/:file', (req, res, next) => mediaFile(context, req, res, next));
  return router;
}

interface HlsRouteContext {
  readonly options: HlsRouteOptions;
  /** How long a first playlist request waits for the stream's first segment. */
  readonly firstSegmentWaitMs: number;
  readonly findOutput: (req: Request, res: Response) => StreamOutput | undefined;
}

/** A media playlist, with LL-HLS blocking reload (`_HLS_msn`, `_HLS_part`) and delta updates. */
async function mediaPlaylist(context: HlsRouteContext, req: Request, res: Response): Promise<void> {
  const output = context.findOutput(req, res);
  if (!output) return;
  const track = output.rendition(String(req.params['rendition']));
  if (!track) {
    res.status(404).type('text').send('unknown rendition');
    return;
  }
  await blockingPlaylist(context, req, res, output, track, (request) => mediaPlaylistAnswer(context.options, output, track, request));
}

/**
 * Answers a playlist that lists `track`'s segments and parts (a media playlist, or the subtitles
 * cut like the source video) once the request's blocking condition is met.
 */
async function blockingPlaylist(context: HlsRouteContext, req: Request, res: Response, output: StreamOutput, track: TrackOutput, answerOf: (request: MediaPlaylistRequest) => PlaylistAnswer): Promise<void> {
  const { options, firstSegmentWaitMs } = context;
  const msn = intParam(req.query['_HLS_msn']);
  const part = intParam(req.query['_HLS_part']);
  if (msn === null || part === null || (part !== undefined && msn === undefined)) {
    res.status(400).type('text').send('invalid _HLS_msn/_HLS_part');
    return;
  }
  const skip = req.query['_HLS_skip'] === 'YES' || req.query['_HLS_skip'] === 'v2';
  if (track.segments.length === 0 && !track.ended) {
    const ok = await waitUntil([track], () => track.segments.length > 0 || track.ended, firstSegmentWaitMs, res);
    if (!ok && track.segments.length === 0) {
      if (!res.writableEnded) res.status(404).type('text').send('rendition has no media yet');
      return;
    }
  }
  const request: MediaPlaylistRequest = { msn, part, skip, userAgent: req.get('user-agent') };
  const send = (away = false): void => {
    const answer = answerOf(request);
    if (answer.vary) res.setHeader('Vary', 'User-Agent');
    sendText(res, answer.text, M3U8, away ? AWAY_CACHE_CONTROL : answer.cacheControl);
  };
  if (msn !== undefined && !track.ended) {
    // RFC 8216bis §6.2.5.2: hold until segment msn (part `part`) is listed; too far ahead is a 400.
    if (tooFarAhead(track, msn)) {
      res.status(400).type('text').send('_HLS_msn too far ahead of the live edge');
      return;
    }
    const hold = blockingHold(output, track, options);
    whenReady([track], () => track.ended || hasPart(track, msn, part), hold.timeoutMs, res, (ok) => {
      if (res.writableEnded || res.destroyed) return;
      if (ok) send();
      else if (hold.answerAnyway) send(true);
      else res.status(503).type('text').send('timed out waiting for the requested segment/part');
    });
    return;
  }
  send();
}

export interface MediaPlaylistRequest {
  readonly msn: number | undefined;
  readonly part: number | undefined;
  readonly skip: boolean;
  readonly userAgent: string | undefined;
}

export interface PlaylistAnswer {
  readonly text: string;
  readonly cacheControl: string;
  /** The listing depends on the client (Vary: User-Agent). */
  readonly vary: boolean;
}

/** `_HLS_msn` more than two segments past the live edge: a 400 (RFC 8216bis §6.2.5.2). */
export function tooFarAhead(track: TrackOutput, msn: number): boolean {
  return msn > lastPartOf(track).lastMsn + 2;
}

/** How long a blocking reload is held before a 503: three target durations. */
export function blockingTimeoutMs(track: TrackOutput, options: Pick<HlsRouteOptions, 'segmentDuration'>): number {
  return targetDurationOf(track, options.segmentDuration) * 3000;
}

/**
 * While the publisher is away (reconnect grace) nothing new is listed: a blocking reload made
 * then is answered with the playlist as it is after this long, before players give up on it
 * (hls.js times a blocking reload out after max(3 parts, 0.8 target durations), and three such
 * timeouts in a row are fatal), instead of being held three target durations for a 503. The
 * answer is not cacheable: an edge must not keep it as the answer for that part.
 */
export const AWAY_HOLD_MS = 1000;

/** How long a blocking reload is held, and whether running out of time answers anyway (publisher away). */
export function blockingHold(output: StreamOutput, track: TrackOutput, options: Pick<HlsRouteOptions, 'segmentDuration'>): { timeoutMs: number; answerAnyway: boolean } {
  return output.suspendedAt !== undefined ? { timeoutMs: AWAY_HOLD_MS, answerAnyway: true } : { timeoutMs: blockingTimeoutMs(track, options), answerAnyway: false };
}

/** The answer to a blocking reload that ran out of time while the publisher was away. */
export const AWAY_CACHE_CONTROL = 'no-store';

/**
 * A media playlist as answered now (the request's blocking condition already met): the text,
 * rendered once per change of the stream (http/rendered.ts), and its caching headers. Shared by
 * the express route and the playlist fast path.
 */
export function mediaPlaylistAnswer(
  options: Pick<HlsRouteOptions, 'segmentDuration' | 'partDuration' | 'playlistWindow' | 'keys'>,
  output: StreamOutput,
  track: TrackOutput,
  request: MediaPlaylistRequest,
): PlaylistAnswer {
  const { msn, skip } = request;
  const quirky = msn === undefined && !track.ended && listsFromStart(request.userAgent);
  const render = (): string =>
    serializeMediaPlaylist(
      buildMediaPlaylist(
        track,
        {
          ...livePlaylistOptions(options, output, skip),
          fromStart: quirky,
          events: output.timedEvents,
          wallclockAt: (seconds) => output.clock.wallclockAt(Math.round(seconds * 90_000), 90_000),
          keyOf: keyTagsOf(options.keys, output),
          sampleAesKeys: sampleAesKeysOf(output.protection),
        },
        output.trackOutputs(),
      ),
    );
  const cacheControl = playlistCacheControl(track, options, msn);
  return {
    text: renderedOnce(output, `hls/${track.id}/${skip ? 's' : ''}${quirky ? 'q' : ''}`, render, output.mediaPlaylistVersion(track)),
    cacheControl,
    // The segments listed depend on the client (http/client-quirks.ts); blocking reloads, which
    // an edge caches and collapses, never do (GStreamer's hlsdemux does not send them).
    vary: msn === undefined && !track.ended,
  };
}

/** The subtitles playlist as answered now: cut like the source video `video`, with its parts. */
function subtitlesPlaylistAnswer(options: Pick<HlsRouteOptions, 'segmentDuration' | 'partDuration' | 'playlistWindow'>, output: StreamOutput, video: TrackOutput, request: MediaPlaylistRequest): PlaylistAnswer {
  const { msn, skip } = request;
  const render = (): string => serializeMediaPlaylist(buildSubtitlesPlaylist(video, livePlaylistOptions(options, output, skip)));
  return { text: renderedOnce(output, `hls/${SUBTITLES_RENDITION}/${skip ? 's' : ''}`, render), cacheControl: playlistCacheControl(video, options, msn), vary: false };
}

/** What every playlist listing `track`'s segments and parts is built with (parts while live). */
function livePlaylistOptions(options: Pick<HlsRouteOptions, 'segmentDuration' | 'partDuration' | 'playlistWindow'>, output: StreamOutput, skip: boolean) {
  return {
    window: options.playlistWindow,
    segmentDuration: options.segmentDuration,
    partDuration: options.partDuration,
    lowLatency: true,
    skip,
    publisherPresent: output.suspendedAt === undefined,
  } satisfies Partial<MediaPlaylistOptions>;
}

/** Ended: long-lived; a blocking reload: one fixed answer for six parts; a plain reload: short. */
function playlistCacheControl(track: TrackOutput, options: Pick<HlsRouteOptions, 'partDuration'>, msn: number | undefined): string {
  return track.ended ? ENDED_LISTING : msn !== undefined ? `public, max-age=${Math.ceil(partTargetOf(track, options.partDuration) * 6)}` : LIVE_LISTING;
}

/** Media seconds of segment `sequence` of `video`, or of its part `part` (listed or in progress). */
export function vttSpanOf(video: TrackOutput, sequence: number, part: number | undefined): { start: number; end: number } | undefined {
  const segment = video.segments.find((s) => s.sequence === sequence);
  const parts = segment ? segment.parts : video.openSequence === sequence ? video.openParts : undefined;
  const startTicks = segment ? segment.startTime : video.openStartTime;
  const timescale = segment ? segment.timescale : video.openTimescale;
  if (!parts || startTicks === undefined) return undefined;
  const start = startTicks / timescale;
  if (part === undefined) return segment ? { start, end: start + segment.duration } : undefined;
  // The segment closed where the preload hint pointed: that name is the next segment's first
  // part, as its CMAF part is (TrackOutput.hintedPart).
  if (part === parts.length && segment) return vttSpanOf(video, sequence + 1, 0);
  if (part >= parts.length) return undefined;
  let offset = 0;
  for (let i = 0; i < part; i++) offset += parts[i]!.duration;
  return { start: start + offset, end: start + offset + parts[part]!.duration };
}

/**
 * `key-SESSION-INDEX.key`: a 16-byte AES-128 key of an encrypted stream (auth/media-keys.ts),
 * behind the stream's playback token like its media (http/playback-guard.ts). Never cached by a
 * shared cache; 404 for a stream the config does not encrypt.
 */
function keyFile(options: HlsRouteOptions, req: Request, res: Response, next: NextFunction): void {
  const { app, key, file } = req.params as Record<string, string>;
  const name = parseKeyFileName(String(file));
  if (!name) {
    next();
    return;
  }
  const rule = NAME_PATTERN.test(app!) && NAME_PATTERN.test(key!) ? options.keys?.aes128For(app!, key!) : undefined;
  if (!rule || !options.keys) {
    res.status(404).type('text').send('not found');
    return;
  }
  res.set('Cache-Control', 'private, no-store');
  res.type('application/octet-stream').send(options.keys.key(app!, key!, name.session, name.index));
}

/** Init segments, segments and parts: from the live window, or from the cache once they left it. */
async function mediaFile(context: HlsRouteContext, req: Request, res: Response, next: NextFunction): Promise<void> {
  const { options } = context;
  const { outputs, cache } = options;
  const file = String(req.params['file']);
  const name = parseMediaFileName(file);
  const { app, key, rendition } = req.params as Record<string, string>;
  if (!name || !NAME_PATTERN.test(app!) || !NAME_PATTERN.test(key!) || !NAME_PATTERN.test(rendition!)) {
    next();
    return;
  }
  const etag = `"${name.session}-${rendition}-${file}"`;
  let found = findMediaFile(outputs, cache, app!, key!, rendition!, file, name);
  const track = outputs.get(app!, key!)?.rendition(rendition!);
  if (!found && track && track.session === name.session && name.type === 'part' && name.part !== undefined && isHinted(track, name.number, name.part)) {
    // The preload hint names the next part: hold the request until it exists.
    await untilHintedPart(track, name.number, name.part, options, res);
    if (res.writableEnded || res.destroyed) return;
    found = liveMediaFile(track, name);
  }
  if (found) {
    const rule = options.keys?.aes128For(app!, key!);
    if (rule && name.type !== 'init') {
      // AES-128 (§4.4.4.4): the segment or part whole, with its segment's key and IV.
      const encrypted = options.keys!.encrypt(app!, key!, name.session, rule, name.number, found.chunks);
      return sendChunks(req, res, [encrypted], encrypted.byteLength, found.contentType, etag);
    }
    return sendChunks(req, res, found.chunks, found.byteLength, found.contentType, etag);
  }
  res.status(404).type('text').send('not found');
}

export function hasPart(track: TrackOutput, msn: number, part: number | undefined): boolean {
  const last = track.lastSegment;
  if (part === undefined) return last !== undefined && last.sequence >= msn;
  if (last && last.sequence > msn) return true;
  if (last && last.sequence === msn) {
    if (part < last.parts.length) return true;
    // A part index past the end of a completed segment is the first part of the next one.
    return track.openSequence === msn + 1 && track.openParts.length > 0;
  }
  return track.openSequence === msn && track.openParts.length > part;
}

/** Holds a request for the hinted part (sequence, index) until it exists, or is no longer hinted. */
function untilHintedPart(track: TrackOutput, sequence: number, index: number, options: Pick<HlsRouteOptions, 'partDuration'>, res: Response): Promise<boolean> {
  const timeoutMs = partTargetOf(track, options.partDuration) * 1000 * 6 + 1000;
  return waitUntil([track], () => track.hintedPart(sequence, index) !== undefined || track.ended || !isHinted(track, sequence, index), timeoutMs, res);
}

/** Whether (sequence, index) is the part a playlist's preload hint names, or the one right after. */
function isHinted(track: TrackOutput, sequence: number, index: number): boolean {
  if (track.openSequence === undefined || track.ended) return false;
  if (sequence === track.openSequence) return index >= track.openParts.length && index <= track.openParts.length + 1;
  if (sequence === track.openSequence + 1) return index === 0;
  // The segment closed right where the hint pointed: the hinted name becomes the next first part.
  return sequence === track.openSequence - 1 && track.openParts.length === 0 && track.segment(sequence)?.parts.length === index;
}
