/**
 * The hot path: GET/HEAD of a media file (init, segment, part) that is in memory right now is
 * answered straight from `node:http`, before express' router stack, which costs more than the
 * send itself for a 100 KB segment. Anything else (blocking waits, playlists, misses) goes on to
 * express unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import { addCorsHeaders, IMMUTABLE } from './send.js';
import { NAME_PATTERN } from '../core/names.js';
import { findMediaFile, parseMediaFileName, type MediaFile } from './media-files.js';
import type { MediaKeys } from '../auth/media-keys.js';

const MEDIA_PATH = /^\/([^/?]{1,128})\/([^/?]{1,128})\/([^/?]{1,128})\/((init|seg|part)-([0-9a-z]{1,16})-(\d{1,12})(?:\.(\d{1,6}))?\.(mp4|m4s))$/;

export interface FastPathOptions {
  readonly outputs: OutputRegistry;
  readonly cache: SegmentCache;
  readonly corsOrigin: string;
  /** Streams encrypted for HLS (AES-128) are answered by express, which encrypts. */
  readonly keys?: MediaKeys;
  /** Told of every answer (metrics, bytes served per stream): express middleware never sees these. */
  readonly onServed?: (route: 'init' | 'segment' | 'part', app: string, key: string, status: number, bytes: number) => void;
}

function lookup(options: FastPathOptions, m: RegExpExecArray): MediaFile | undefined {
  const [, app, key, rendition, file] = m;
  if (!NAME_PATTERN.test(app!) || !NAME_PATTERN.test(key!) || !NAME_PATTERN.test(rendition!)) return undefined;
  const name = parseMediaFileName(file!);
  return name && findMediaFile(options.outputs, options.cache, app!, key!, rendition!, file!, name);
}

/** Returns true when it answered the request. */
export function serveMediaFast(options: FastPathOptions, req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  if (url.length > 600 || url.includes('?')) return false;
  const m = MEDIA_PATH.exec(url);
  if (!m || options.keys?.ruleFor(m[1]!, m[2]!)) return false;
  const found = lookup(options, m);
  if (!found) return false;
  const etag = `"${m[6]}-${m[3]}-${m[4]}"`;
  const headers: Record<string, string> = {
    'Content-Type': found.contentType,
    'Cache-Control': IMMUTABLE,
    ETag: etag,
  };
  addCorsHeaders(options.corsOrigin, headers);
  const route = m[5] === 'init' ? 'init' : m[5] === 'seg' ? 'segment' : 'part';
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    options.onServed?.(route, m[1]!, m[2]!, 304, 0);
    return true;
  }
  headers['Content-Length'] = String(found.byteLength);
  res.writeHead(200, headers);
  options.onServed?.(route, m[1]!, m[2]!, 200, req.method === 'HEAD' ? 0 : found.byteLength);
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  if (found.chunks.length === 1) {
    res.end(found.chunks[0]);
    return true;
  }
  res.cork();
  for (const chunk of found.chunks) res.write(chunk);
  res.uncork();
  res.end();
  return true;
}
