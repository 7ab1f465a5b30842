/**
 * The SRT `streamid` (SRTO_STREAMID, up to 512 bytes) names what a caller wants. Two forms are
 * in use and both are accepted:
 *
 *  - the SRT Access Control format (Haivision's "SRT Access Control Guidelines", also in
 *    draft-sharabayko-srt §3.2.1.3.1): `#!::` then comma-separated `key=value` pairs, with
 *    `r` the resource name, `m` the mode (`request` = play, `publish`), `u` the user, `s` a
 *    session id; e.g. `#!::r=live/KEY,m=publish`;
 *  - a plain path, as OBS and most users type it: `live/KEY` (MediaMTX's `publish:live/KEY` too).
 *
 * The resource may carry a query (`live/KEY?token=…`): it is what the publish path checks keys
 * and tokens against, exactly like an RTMP stream name's query.
 */
import { splitQuery } from '../core/publish.js';

export interface SrtStreamRequest {
  readonly app: string;
  readonly key: string;
  /** The query after `?` in the resource (tokens, keys): never logged. */
  readonly query: string;
  readonly mode: 'publish' | 'request';
}

export type SrtStreamIdResult = { readonly ok: true; readonly request: SrtStreamRequest } | { readonly ok: false; readonly reason: string };

const ACCESS_CONTROL_PREFIX = '#!::';

export function parseSrtStreamId(streamid: string): SrtStreamIdResult {
  // Some callers percent-encode the whole id in their srt:// URL (`streamid=%23!%3A%3Ar%3D…`) and
  // ffmpeg 5 passes it on as it is.
  if (streamid.startsWith('%23')) {
    try {
      streamid = decodeURIComponent(streamid);
    } catch {
      return { ok: false, reason: 'streamid is not valid percent-encoding' };
    }
  }
  let resource: string;
  let mode: SrtStreamRequest['mode'] = 'publish';
  if (streamid.startsWith(ACCESS_CONTROL_PREFIX)) {
    const fields = new Map<string, string>();
    for (const pair of streamid.slice(ACCESS_CONTROL_PREFIX.length).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) return { ok: false, reason: 'streamid has a field without a value' };
      fields.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const r = fields.get('r');
    if (!r) return { ok: false, reason: 'streamid has no resource (r=APP/KEY)' };
    resource = r;
    const m = fields.get('m');
    if (m !== undefined) {
      if (m !== 'publish' && m !== 'request') return { ok: false, reason: 'streamid mode is not publish or request' };
      mode = m;
    }
  } else {
    resource = streamid;
    if (resource.startsWith('publish:')) resource = resource.slice('publish:'.length);
    else if (resource.startsWith('read:')) {
      resource = resource.slice('read:'.length);
      mode = 'request';
    }
  }
  const { name, query } = splitQuery(resource.replace(/^\/+/, ''));
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return { ok: false, reason: 'streamid names no APP/KEY' };
  const app = name.slice(0, slash);
  const key = name.slice(slash + 1);
  return { ok: true, request: { app, key, query, mode } };
}
