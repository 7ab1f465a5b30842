/**
 * The ClearKey licence service of Common Encryption streams (auth/media-keys.ts, 'cbcs'):
 * `POST /APP/KEY/clearkey.json` takes the CDM's licence request (W3C Encrypted Media Extensions
 * §9.1.3, `{"kids": [base64url KID, …], "type": "temporary"}`) and answers the stream's content
 * key as a JSON Web Key Set (§9.1.4, `{"keys": [{"kty": "oct", "kid", "k"}]}`, unpadded
 * base64url). Only the key of the stream named in the path, only when its KID is asked for, and
 * behind the stream's playback token like its media (http/playback-guard.ts). Never cached,
 * never logged. A stream whose rule names another licence service has no licence here.
 */
import express, { Router, type Request, type Response } from 'express';
import { NAME_PATTERN } from '../core/names.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import { CLEARKEY_LICENSE_FILE } from '../auth/media-keys.js';

/** A licence request is a few KIDs: anything larger is not one. */
const MAX_REQUEST_BYTES = 4096;

/** The KIDs of a ClearKey licence request, or undefined when the body is not one. */
export function requestedKids(body: Uint8Array): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  const kids = (parsed as { kids?: unknown } | null)?.kids;
  if (!Array.isArray(kids) || kids.length === 0 || kids.length > 16 || !kids.every((k) => typeof k === 'string' && /^[A-Za-z0-9_-]{22}={0,2}$/.test(k))) return undefined;
  return kids.map((k: string) => k.replace(/=+$/, ''));
}

export function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function licenseRoutes(outputs: OutputRegistry): Router {
  const router = Router();
  router.post(`/:app/:key/${CLEARKEY_LICENSE_FILE}`, express.raw({ type: () => true, limit: MAX_REQUEST_BYTES }), (req: Request, res: Response) => {
    const { app, key } = req.params as Record<string, string>;
    res.set('Cache-Control', 'private, no-store');
    const protection = NAME_PATTERN.test(app!) && NAME_PATTERN.test(key!) ? outputs.get(app!, key!)?.protection : undefined;
    if (!protection || protection.licenseUrl) {
      res.status(404).type('text').send('no ClearKey licence for this stream');
      return;
    }
    const kids = Buffer.isBuffer(req.body) ? requestedKids(req.body) : undefined;
    if (!kids) {
      res.status(400).type('text').send('expected a ClearKey licence request: {"kids": [base64url key id, …]}');
      return;
    }
    const kid = base64Url(protection.kid);
    if (!kids.includes(kid)) {
      res.status(404).type('text').send('no key with that key id for this stream');
      return;
    }
    res.type('application/json').send(JSON.stringify({ keys: [{ kty: 'oct', kid, k: base64Url(protection.key) }], type: 'temporary' }));
  });
  return router;
}
