/**
 * DASH routes: the dynamic MPD, and LL-DASH delivery of the segment still being written.
 * Media files are the HLS route's CMAF files (same URLs); only the in-progress segment is
 * answered here, with chunked transfer, so a low-latency player gets each CMAF chunk as it is
 * produced: the MPD signals it with availabilityTimeComplete="false" and availabilityTimeOffset
 * (ISO/IEC 23009-1 §5.3.9.5.3), and dash.js then fetches that segment progressively.
 *
 * Mount order: `dashRoutes` (or at least `serveInProgressSegment`) before the HLS file route;
 * every request it does not own falls through with next().
 */
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { CLEARKEY_LICENSE_FILE, type MediaKeys } from '../auth/media-keys.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { StreamOutput } from '../packager/stream-output.js';
import { segmentFileName, type SegmentInfo, type TrackOutput } from '../packager/track-output.js';
import type { CmafPart, CmafSegment } from '../mux/fmp4/cmaf.js';
import { buildMpd, TIME_ADDRESSED_SEGMENT } from '../packager/dash/mpd.js';
import { serializeMpd } from '../packager/dash/serialize.js';
import { buildSegmentHeader } from '../mux/fmp4/fragment.js';
import { ENDED_LISTING, LIVE_LISTING, sendText } from './send.js';
import { listsFromStart } from './client-quirks.js';
import { untilOutputReady, waitUntil } from './wait.js';
import { NAME_PATTERN } from '../core/names.js';
import { renderedOnce } from './rendered.js';
import type { PlaylistAnswer } from './hls-routes.js';

export const DASH_MIME = 'application/dash+xml';

export interface DashRouteOptions {
  readonly outputs: OutputRegistry;
  readonly segmentDuration: number;
  readonly partDuration: number;
  readonly playlistWindow: number;
  /** LL-DASH signalling in the MPD (default true; the in-progress route is always mounted). */
  readonly lowLatency?: boolean;
  /** Streams encrypted for HLS (AES-128) have no DASH: it would hand out their media in the clear. */
  readonly keys?: MediaKeys;
}

export type InProgressSegmentOptions = Pick<DashRouteOptions, 'outputs' | 'segmentDuration'>;

const SEGMENT_FILE = /^seg-([0-9a-z]{1,16})-(\d{1,12})\.m4s$/;
/** The same bytes the segmenter puts in front of every complete segment (see track-segmenter). */
const STYP = buildSegmentHeader();

export function dashRoutes(options: DashRouteOptions): Router {
  const router = Router();
  const { outputs } = options;
  /** How long a first MPD request waits for the stream's first segments (as the HLS master). */
  const firstSegmentWaitMs = (options.segmentDuration * 3 + 2) * 1000;

  // An HLS AES-128 stream: no MPD, and its files only through the HLS route (encrypted there).
  // A Common Encryption stream's store is encrypted already: DASH serves it as it is.
  const encrypted = (req: Request): boolean => options.keys?.aes128For(String(req.params['app']), String(req.params['key'])) !== undefined;
  router.get('/:app/:key/index.mpd', async (req, res) => {
    if (encrypted(req)) {
      res.status(403).type('text').send('this stream is encrypted for HLS (AES-128): watch index.m3u8 or ts.m3u8; DASH would need Common Encryption, not offered yet');
      return;
    }
    const output = findOutput(outputs, req, res);
    if (!output || !(await untilOutputReady(output, firstSegmentWaitMs, res))) return;
    const answer = mpdAnswer(options, output, timeUrlFor(req), req.get('user-agent'), licenseUrlFor(req, output));
    if (answer.vary) res.setHeader('Vary', 'User-Agent');
    sendText(res, answer.text, DASH_MIME, answer.cacheControl);
  });

  router.get('/:app/:key/:rendition/:file', (req, _res, next) => (encrypted(req) ? next('router') : next()));
  router.get('/:app/:key/:rendition/:file', resolveTimeAddressedSegment(outputs));
  router.get('/:app/:key/:rendition/:file', serveInProgressSegment(options));
  return router;
}

/**
 * The MPD of a ready output as answered now: rendered once per change of the stream (unchanged
 * content gives the same MPD, publishTime included: the instant it was made), with its caching
 * headers. Shared by the express route and the playlist fast path.
 */
export function mpdAnswer(
  options: Pick<DashRouteOptions, 'segmentDuration' | 'partDuration' | 'playlistWindow' | 'lowLatency'>,
  output: StreamOutput,
  utcTimingUrl: string,
  userAgent: string | undefined,
  licenseUrl?: string,
): PlaylistAnswer {
  const timelineFromZero = listsFromStart(userAgent);
  const { text, dynamic } = renderedOnce(output, `mpd/${timelineFromZero ? 'q' : ''}/${utcTimingUrl}/${licenseUrl ?? ''}`, () => {
    const mpd = buildMpd(output, {
      segmentDuration: options.segmentDuration,
      partDuration: options.partDuration,
      window: options.playlistWindow,
      utcTimingUrl,
      lowLatency: options.lowLatency ?? true,
      timelineFromZero,
      licenseUrl,
    });
    return { text: serializeMpd(mpd), dynamic: mpd.type === 'dynamic' };
  }, output.mpdVersion(options.segmentDuration, options.partDuration));
  // A live timeline's head depends on the client (http/client-quirks.ts); a static MPD's does not.
  return { text, cacheControl: dynamic ? LIVE_LISTING : ENDED_LISTING, vary: dynamic };
}

/** Absolute URL of /api/time as this client reached us: dash.js resolves UTCTiming against the page, not the MPD. */
function timeUrlFor(req: Request): string {
  const host = req.get('host');
  return host ? `${req.protocol}://${host}/api/time` : '/api/time';
}

/**
 * The licence URL of a Common Encryption stream's MPD: the DRM's when its rule names one, else
 * the gateway's ClearKey route as this client reached us (absolute: players resolve a licence
 * URL against the page, not the MPD). The playback guard adds the token to it.
 */
function licenseUrlFor(req: Request, output: StreamOutput): string | undefined {
  const protection = output.protection;
  if (!protection) return undefined;
  if (protection.licenseUrl) return protection.licenseUrl;
  const host = req.get('host');
  const path = `/${output.app}/${output.key}/${CLEARKEY_LICENSE_FILE}`;
  // Behind a TLS-terminating proxy the page is https: a licence URL in http would be mixed content.
  // The header only shapes the URL handed back to this same client.
  const scheme = req.get('x-forwarded-proto') === 'https' ? 'https' : req.protocol;
  return host ? `${scheme}://${host}${path}` : path;
}

function findOutput(outputs: OutputRegistry, req: Request, res: Response): StreamOutput | undefined {
  const { app, key } = req.params as Record<string, string>;
  if (!NAME_PATTERN.test(app ?? '') || !NAME_PATTERN.test(key ?? '')) {
    res.status(404).type('text').send('not found');
    return undefined;
  }
  const output = outputs.get(app!, key!);
  if (!output) res.status(404).type('text').send('unknown stream');
  return output;
}

/**
 * `GET /:app/:key/:rendition/seg-SESSION-tTIME.m4s` ($Time$ addressing, used by a Representation
 * whose timeline has a gap, see packager/dash/mpd.ts): the segment of that track starting at
 * TIME is the numbered file `seg-SESSION-N.m4s`, so the request continues as a request for it
 * (the in-progress route, then the HLS file route, with their caching and ETags). The segment in
 * progress starts where the last listed one ends. Unknown times are 404.
 */
export function resolveTimeAddressedSegment(outputs: OutputRegistry): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const { app, key, rendition, file } = req.params as Record<string, string | undefined>;
    const match = TIME_ADDRESSED_SEGMENT.exec(file ?? '');
    if (!match || !NAME_PATTERN.test(app ?? '') || !NAME_PATTERN.test(key ?? '') || !NAME_PATTERN.test(rendition ?? '')) {
      next();
      return;
    }
    const session = match[1]!;
    const time = Number(match[2]);
    const track = outputs.get(app!, key!)?.rendition(rendition!);
    const sequence = track && track.session === session ? sequenceAt(track, time) : undefined;
    if (sequence === undefined) {
      res.status(404).type('text').send('not found');
      return;
    }
    const numbered = segmentFileName(session, sequence);
    const query = req.url.indexOf('?');
    const path = query < 0 ? req.url : req.url.slice(0, query);
    req.url = `${path.slice(0, path.length - file!.length)}${numbered}${query < 0 ? '' : req.url.slice(query)}`;
    next();
  };
}

/** The sequence number of the segment of `track` whose media starts at `time` ticks (not a gap). */
function sequenceAt(track: TrackOutput, time: number): number | undefined {
  let last: SegmentInfo | undefined;
  for (const s of track.segments) {
    if (s.gap) continue;
    if (s.startTime === time) return s.sequence;
    last = s;
  }
  // Listed a moment ago, left the window since: served from the cache, as by its number.
  for (let i = track.history.length - 1; i >= 0; i--) {
    const s = track.history[i]!;
    if (!s.gap && s.startTime === time) return s.sequence;
    if (s.startTime < time) break;
  }
  if (last && !track.ended && track.openSequence === last.sequence + 1 && last.startTime + last.durationTicks === time && track.currentInitId === last.initId) return track.openSequence;
  // The head of a live timeline (packager/dash/mpd.ts, timelineHead): served while the cache holds it.
  if (track.firstSegment && !track.firstSegment.gap && track.firstSegment.startTime === time) return track.firstSegment.sequence;
  return undefined;
}

/**
 * `GET /:app/:key/:rendition/seg-SESSION-N.m4s` where N is the track's open segment: answered
 * with chunked transfer (no Content-Length), `styp` + every part so far, then each part as it is
 * produced, ending with the segment. N = open + 1 waits (bounded) for that segment to open.
 * Anything else: next().
 */
export function serveInProgressSegment(options: InProgressSegmentOptions): RequestHandler {
  const { outputs } = options;
  const segmentWaitMs = (options.segmentDuration * 3 + 1) * 1000;
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const { app, key, rendition, file } = req.params as Record<string, string | undefined>;
    const match = SEGMENT_FILE.exec(file ?? '');
    if (!match || !NAME_PATTERN.test(app ?? '') || !NAME_PATTERN.test(key ?? '') || !NAME_PATTERN.test(rendition ?? '')) {
      next();
      return;
    }
    const session = match[1]!;
    const sequence = Number(match[2]);
    const output = outputs.get(app!, key!);
    const track = output?.rendition(rendition!);
    // While the publisher is away nothing is in progress: the next segment is the reconnected
    // session's, with another init (a new Period), and must not be streamed as this one.
    if (!track || track.session !== session || track.ended || track.openSequence === undefined || output?.suspendedAt !== undefined) {
      next();
      return;
    }
    if (sequence === track.openSequence + 1) {
      // A player whose clock runs slightly ahead asks for the next segment before it opens.
      await waitUntil([track], () => track.ended || track.openSequence !== sequence - 1, segmentWaitMs, res);
      if (res.writableEnded || res.destroyed) return;
    }
    if (track.ended || track.openSequence !== sequence || track.segment(sequence) !== undefined) {
      next();
      return;
    }
    const timeoutMs = Math.max(options.segmentDuration, track.maxSegmentDuration) * 3000 + 1000;
    streamOpenSegment(req, res, track, sequence, timeoutMs);
  };
}

/**
 * Writes segment `sequence` while it grows. Parts are written strictly in index order; a part
 * event that skips ahead is caught up from the track's own part store. Writes ignore
 * backpressure on purpose: the data is bounded by one segment, already held in memory.
 */
export function streamOpenSegment(req: Request, res: Response, track: TrackOutput, sequence: number, timeoutMs: number): void {
  res.status(200);
  res.setHeader('Content-Type', track.contentType);
  // The response is complete only at its end; intermediaries must not serve a prefix as the
  // segment, and an nginx edge passes it through as it grows instead of buffering it.
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Accel-Buffering', 'no');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  let written = 0;
  let finished = false;
  /** The init the segment started with: parts of another (a reconnect) end the response, unfinished. */
  const initId = track.openInitId;

  const writePartsFrom = (parts: readonly Uint8Array[] | undefined): void => {
    if (parts) {
      for (; written < parts.length; written++) res.write(parts[written]!);
      return;
    }
    for (;;) {
      const bytes = track.part(sequence, written);
      if (!bytes) return;
      res.write(bytes);
      written++;
    }
  };

  const finish = (complete: boolean): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    track.off('part', onPart);
    track.off('segment', onSegment);
    track.off('end', onEnd);
    res.off('close', onClose);
    if (res.writableEnded || res.destroyed) return;
    // An incomplete segment must not look complete to the client: cut the connection instead.
    if (complete) res.end();
    else res.destroy();
  };
  const onPart = (part: CmafPart): void => {
    if (part.initId !== initId) finish(false);
    else if (part.segment === sequence) writePartsFrom(undefined);
    else if (part.segment > sequence) finish(false);
  };
  const onSegment = (segment: CmafSegment): void => {
    if (segment.initId !== initId) finish(false);
    else if (segment.sequence === sequence) {
      writePartsFrom(segment.parts.map((p) => p.bytes));
      finish(true);
    } else if (segment.sequence > sequence) finish(false);
  };
  const onEnd = (): void => finish(written > 0);
  const onClose = (): void => finish(false);
  const timer = setTimeout(() => finish(false), timeoutMs);

  res.write(STYP);
  writePartsFrom(undefined);
  track.on('part', onPart);
  track.on('segment', onSegment);
  track.on('end', onEnd);
  res.on('close', onClose);
}
