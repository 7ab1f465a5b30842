import type { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';

export const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * A live listing (multivariant or media playlist without delivery directives, live MPD): a
 * browser revalidates it every time (max-age=0), while a shared cache (an edge, deploy/nginx)
 * may serve it for one second (RFC 9111 §5.2.2.10 s-maxage), so a thousand pollers cost the
 * origin one request a second. One second is the smallest TTL HTTP can say; LL-HLS clients use
 * blocking reloads, whose URLs are unique.
 */
export const LIVE_LISTING = 'max-age=0, s-maxage=1';

/**
 * What a proxy in front of the gateway (a request with X-Forwarded-For, as deploy/nginx sends)
 * is told besides: it may serve the listing one more second while it fetches a fresh one in the
 * background (RFC 5861 stale-while-revalidate: bounded, unlike nginx's `proxy_cache_use_stale
 * updating`, which would hand a player joining late a listing of any age). Browsers are never
 * told: RFC 5861 binds private caches too, and a stale listing names a preload-hinted part
 * that may never come (Shaka Player then fails on its 404). The edge removes it from what it
 * passes on.
 */
export const LIVE_LISTING_FOR_PROXIES = `${LIVE_LISTING}, stale-while-revalidate=1`;

/** The Cache-Control a response to `req` carries: LIVE_LISTING becomes LIVE_LISTING_FOR_PROXIES for a proxy. */
export function cacheControlFor(cacheControl: string, req: IncomingMessage | undefined): string {
  return cacheControl === LIVE_LISTING && req?.headers['x-forwarded-for'] !== undefined ? LIVE_LISTING_FOR_PROXIES : cacheControl;
}

/**
 * The CORS headers every answer carries (Fetch standard §3.2.5 CORS protocol): the configured
 * origin, and the response headers a player's script may read (hls.js and dash.js read
 * Content-Length for bandwidth, ETag and Date for clock sync). `corsOrigin` "" disables them.
 * Shared by express's first middleware and both fast paths, so every route answers alike.
 */
export function addCorsHeaders(corsOrigin: string | undefined, headers: Record<string, string>): Record<string, string> {
  if (corsOrigin) {
    headers['Access-Control-Allow-Origin'] = corsOrigin;
    headers['Access-Control-Expose-Headers'] = 'Content-Length, ETag, Date';
  }
  return headers;
}

/** An ended stream's listings no longer change (the stream may come back under the same key). */
export const ENDED_LISTING = 'public, max-age=60';

/**
 * Sends media pieces (a segment's `styp` and parts) without joining them: corked writes leave
 * the socket as one writev.
 */
export function sendChunks(
  req: Request,
  res: Response,
  chunks: readonly Uint8Array[],
  byteLength: number,
  contentType: string,
  etag: string,
  cacheControl = IMMUTABLE,
): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', cacheControl);
  res.setHeader('ETag', etag);
  if (req.headers['if-none-match'] === etag) {
    res.status(304).end();
    return;
  }
  res.setHeader('Content-Length', String(byteLength));
  res.status(200);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.cork();
  for (const chunk of chunks) res.write(chunk);
  res.uncork();
  res.end();
}

export function sendText(res: Response, body: string, contentType: string, cacheControl: string): void {
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', cacheControlFor(cacheControl, res.req));
  res.status(200).send(body);
}
