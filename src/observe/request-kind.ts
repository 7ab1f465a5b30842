/**
 * What an HTTP request is for, from its path alone: the route label of the request metrics and
 * the stream/rendition/protocol a viewer session is counted under. A small fixed set of labels
 * keeps the metrics' cardinality bounded whatever clients ask for.
 *
 *   /APP/KEY/index.m3u8            master   (hls)
 *   /APP/KEY/ts.m3u8               master   (hls-ts)
 *   /APP/KEY/R/index.m3u8          media    (hls, ll-hls with _HLS_msn)
 *   /APP/KEY/R/ts.m3u8             media    (hls-ts)
 *   /APP/KEY/index.mpd             mpd      (dash)
 *   /APP/KEY/R/init-S-N.mp4        init
 *   /APP/KEY/R/seg-S-N.m4s         segment
 *   /APP/KEY/R/part-S-N.I.m4s      part
 *   /APP/KEY/R/ts-S-N.ts           ts
 *   /APP/KEY.flv                   flv
 *   /api/..., /healthz, /metrics   api
 *   /, /watch/..., /assets/...     web
 */
import { NAME_PATTERN } from '../core/names.js';

export const ROUTE_LABELS = ['master', 'media', 'segment', 'part', 'init', 'mpd', 'ts', 'flv', 'api', 'web', 'other'] as const;
export type RouteLabel = (typeof ROUTE_LABELS)[number];

export interface RequestKind {
  readonly route: RouteLabel;
  /** Set for stream routes (everything but api, web, other). */
  readonly app?: string;
  readonly key?: string;
  /** Set for per-rendition routes (media playlists and media files). */
  readonly rendition?: string;
  /** For playlists/manifests: the delivery format the request names. */
  readonly format?: 'cmaf-hls' | 'hls-ts' | 'dash';
}

const OTHER: RequestKind = { route: 'other' };
const MEDIA_FILE = /^(init|seg|part)-[0-9a-z]{1,16}-\d{1,12}(?:\.\d{1,6})?\.(?:mp4|m4s)$/;
const TS_FILE = /^ts-[0-9a-z]{1,16}-\d{1,12}\.ts$/;

/**
 * What classifyPath gives a CMAF media playlist (`/APP/KEY/R/index.m3u8`) or an MPD
 * (`/APP/KEY/index.mpd`), for a caller that has already parsed the path (the playlist fast path).
 */
export function playlistKindOf(app: string, key: string, rendition: string | undefined): RequestKind {
  return rendition === undefined ? { route: 'mpd', app, key, format: 'dash' } : { route: 'media', app, key, rendition, format: 'cmaf-hls' };
}

/** Classifies a request path (no query string; percent-decoding is not needed: names are ASCII). */
export function classifyPath(path: string): RequestKind {
  if (path === '/' || path === '/index.html' || path.startsWith('/watch/') || path.startsWith('/assets/')) return { route: 'web' };
  if (path.startsWith('/api/') || path === '/healthz' || path === '/metrics') return { route: 'api' };
  if (path.length > 1024) return OTHER;
  const parts = path.split('/');
  // parts[0] is '' (the leading slash).
  if (parts[0] !== '' || parts.some((p, i) => i > 0 && !NAME_PATTERN.test(p))) return OTHER;
  if (parts.length === 3) {
    const [, app, file] = parts as [string, string, string];
    if (file.endsWith('.flv') && file.length > 4) return { route: 'flv', app, key: file.slice(0, -4) };
    return OTHER;
  }
  if (parts.length === 4) {
    const [, app, key, file] = parts as [string, string, string, string];
    if (file === 'index.m3u8') return { route: 'master', app, key, format: 'cmaf-hls' };
    if (file === 'ts.m3u8') return { route: 'master', app, key, format: 'hls-ts' };
    if (file === 'index.mpd') return playlistKindOf(app, key, undefined);
    return OTHER;
  }
  if (parts.length === 5) {
    const [, app, key, rendition, file] = parts as [string, string, string, string, string];
    if (file === 'index.m3u8') return playlistKindOf(app, key, rendition);
    if (file === 'ts.m3u8') return { route: 'media', app, key, rendition, format: 'hls-ts' };
    const media = MEDIA_FILE.exec(file);
    if (media) {
      const route: RouteLabel = media[1] === 'init' ? 'init' : media[1] === 'seg' ? 'segment' : 'part';
      return { route, app, key, rendition };
    }
    if (TS_FILE.test(file)) return { route: 'ts', app, key, rendition };
  }
  return OTHER;
}

/** Routes whose responses are media bytes (counted as bytes served per stream). */
export function isMediaRoute(route: RouteLabel): boolean {
  return route === 'segment' || route === 'part' || route === 'init' || route === 'ts' || route === 'flv';
}
