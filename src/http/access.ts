/**
 * Who may see and change what over HTTP (CONTRACT.md, "who may change and see things"):
 *  - `/healthz`, `/readyz` and `/api/time` are always open (probes, players' clocks);
 *  - with `--api-token`, `GET /api/...`, `/metrics` and the page's stream list need
 *    `Authorization: Bearer TOKEN`; a stream's own API data and thumbnail also open to that
 *    stream's playback token (`?token=`), so a viewer's page can show what it is watching;
 *  - every non-GET `/api/...` request needs the API token, or comes from loopback when none is
 *    set (others get 403);
 *  - with playback tokens on and no API token given, the API names only the streams whose
 *    playback token the request carries: the list is empty without one, a stream's data and
 *    thumbnail answer 403 (before looking the stream up: whether it exists is not told either).
 * Secrets are compared in constant time (SHA-256 of both, then timingSafeEqual).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { PlaybackAuthorizer } from '../auth/playback.js';

export interface AccessPolicy {
  /** `--api-token`; undefined: the API is open to reading, mutating only from loopback. */
  readonly apiToken?: string;
  readonly playback: PlaybackAuthorizer;
}

const OPEN = new Set(['/healthz', '/readyz', '/api/time']);
/** `/api/streams/APP/KEY` and `/api/streams/APP/KEY/thumbnail.jpg`. */
const STREAM_ROUTE = /^\/api\/streams\/([^/]+)\/([^/]+)(?:\/thumbnail\.jpg)?$/;

/** Equal secrets, in time that does not depend on where they differ (or on their lengths). */
export function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function isLoopback(address: string | undefined): boolean {
  // 127.0.0.0/8, as itself or IPv4-mapped, and ::1.
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/** True when the request carries `Authorization: Bearer` with the API token (false when none is set). */
export function hasApiToken(policy: AccessPolicy, req: IncomingMessage): boolean {
  if (!policy.apiToken) return false;
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m !== null && secretEquals(m[1]!, policy.apiToken);
}

/** May this request see stream app/key through the API (its data, its thumbnail, in the list)? */
export function maySeeStream(policy: AccessPolicy, req: Request, app: string, key: string): boolean {
  if (hasApiToken(policy, req)) return true;
  const token = typeof req.query['token'] === 'string' ? req.query['token'] : undefined;
  return policy.playback.check(app, key, token);
}

function refuse(res: Response, status: 401 | 403, text: string): void {
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="streamgate"');
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).type('text').send(text);
}

/** Mounted first: answers 401/403 for what the request may not reach, else goes on. */
export function accessGuard(policy: AccessPolicy) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path;
    if (OPEN.has(path)) return next();
    const api = path.startsWith('/api/');
    if (!api && path !== '/metrics') return next();
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS') {
      if (!api) return next();
      if (policy.apiToken ? hasApiToken(policy, req) : isLoopback(req.socket.remoteAddress)) return next();
      if (policy.apiToken) return refuse(res, 401, 'this API call needs Authorization: Bearer <api token>');
      return refuse(res, 403, 'changes through the API are accepted from loopback only (or set --api-token)');
    }
    if (!policy.apiToken || hasApiToken(policy, req)) return next();
    // A stream's own data and thumbnail: its playback token is enough.
    const m = STREAM_ROUTE.exec(path);
    if (m && policy.playback.enabled && maySeeStream(policy, req, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!))) return next();
    refuse(res, 401, 'this needs Authorization: Bearer <api token>');
  };
}
