/**
 * Playback authorization (off unless a playback secret is configured).
 *
 * A viewer presents `?token=EXP.SIG` signed for `play:APP/KEY` (token.ts) on the multivariant
 * playlist or MPD. The gateway checks it there and on every other request (media playlists,
 * init, segments, parts, HTTP-FLV, RTMP play), and writes the same token into every URI the
 * playlists and MPDs it serves name, so a player or CDN edge that just follows relative URIs
 * keeps presenting it without knowing about tokens.
 *
 * The token's expiry bounds a viewing session: players reload the media playlist URL they were
 * given for as long as they play, so the TTL must cover the longest session you allow.
 *
 * The text rewriters are pure string functions.
 */
import { subjectOf, mintToken, unixNow, verifyToken } from './token.js';

export interface PlaybackAuthConfig {
  /** HMAC secret; absent or empty: playback is open and the rewriters pass text through. */
  readonly secret?: string;
  /** Lifetime of tokens minted by tokenFor, seconds. */
  readonly ttlSeconds: number;
}

export class PlaybackAuthorizer {
  readonly enabled: boolean;
  private readonly secret: string;
  private readonly ttlSeconds: number;

  constructor({ secret, ttlSeconds }: PlaybackAuthConfig) {
    this.secret = secret ?? '';
    this.enabled = this.secret.length > 0;
    this.ttlSeconds = Math.max(1, Math.floor(ttlSeconds));
  }

  /** True when playback is open or `token` is a live token for app/key. */
  check(app: string, key: string, token: string | null | undefined, now: number = unixNow()): boolean {
    if (!this.enabled) return true;
    if (typeof token !== 'string' || token.length === 0) return false;
    return verifyToken(token, { secret: this.secret, subject: subjectOf('play', app, key), now }).ok;
  }

  /** A playback token for app/key valid for ttlSeconds from `now`; undefined when disabled. */
  tokenFor(app: string, key: string, now: number = unixNow()): string | undefined {
    if (!this.enabled) return undefined;
    return mintToken({ secret: this.secret, subject: subjectOf('play', app, key), expiresAt: Math.floor(now) + this.ttlSeconds });
  }

  tokenizeUri(uri: string, token: string | undefined): string {
    return this.enabled && token ? tokenizeUri(uri, token) : uri;
  }

  tokenizePlaylistText(m3u8: string, token: string | undefined): string {
    return this.enabled && token ? tokenizePlaylistText(m3u8, token) : m3u8;
  }

  tokenizeMpdText(xml: string, token: string | undefined): string {
    return this.enabled && token ? tokenizeMpdText(xml, token) : xml;
  }
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * `uri` with `token=TOKEN` in its query: appended, or replacing an existing `token` parameter.
 * Other parameters are kept byte for byte (no re-encoding: a DASH `$Number$` or an LL-HLS
 * `_HLS_msn` survives), the fragment stays last. URIs with a scheme other than http(s)
 * (`data:`, `skd:`) are returned unchanged. The token is percent-encoded if it needs to be
 * (ours never does).
 */
export function tokenizeUri(uri: string, token: string): string {
  const scheme = SCHEME.exec(uri);
  if (scheme && !/^https?$/i.test(scheme[1]!)) return uri;
  const hashAt = uri.indexOf('#');
  const fragment = hashAt < 0 ? '' : uri.slice(hashAt);
  const beforeFragment = hashAt < 0 ? uri : uri.slice(0, hashAt);
  const queryAt = beforeFragment.indexOf('?');
  const path = queryAt < 0 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const kept = queryAt < 0 ? [] : beforeFragment.slice(queryAt + 1).split('&').filter((p) => p !== '' && p.split('=', 1)[0] !== 'token');
  kept.push(`token=${encodeURIComponent(token)}`);
  return `${path}?${kept.join('&')}${fragment}`;
}

/** `URI="..."` as an attribute of a tag: after the `:` or a `,`, never a suffix of another name. */
const URI_ATTRIBUTE = /([:,])URI="([^"\r\n]*)"/g;

/**
 * Adds the token to every URI an HLS playlist names (RFC 8216bis §4.4): every URI line
 * (segments, variant streams) and every `URI="..."` attribute (EXT-X-MAP, EXT-X-PART,
 * EXT-X-PRELOAD-HINT, EXT-X-RENDITION-REPORT, EXT-X-MEDIA, EXT-X-I-FRAME-STREAM-INF, ...).
 * Comments, blank lines and line endings are kept as they are.
 */
export function tokenizePlaylistText(m3u8: string, token: string): string {
  return m3u8
    .split('\n')
    .map((line) => {
      const cr = line.endsWith('\r') ? '\r' : '';
      const body = cr ? line.slice(0, -1) : line;
      const trimmed = body.trim();
      if (trimmed === '') return line;
      if (trimmed.startsWith('#')) {
        // §4.1: lines starting with "#EXT" are tags; other "#" lines are comments.
        if (!trimmed.startsWith('#EXT')) return line;
        return body.replace(URI_ATTRIBUTE, (_m, lead: string, uri: string) => `${lead}URI="${tokenizeUri(uri, token)}"`) + cr;
      }
      return tokenizeUri(trimmed, token) + cr;
    })
    .join('\n');
}

/** Elements whose URL attributes name media (ISO/IEC 23009-1 §5.3.9). */
const MPD_URL_ELEMENT = /<(SegmentTemplate|SegmentURL|Initialization|RepresentationIndex)\b([^>]*)>/g;
const MPD_URL_ATTRIBUTE = /(\s)(media|initialization|index|sourceURL)=("([^"]*)"|'([^']*)')/g;
/** MPD.Location (§5.3.1.2): where a dynamic MPD is reloaded from. */
const MPD_LOCATION = /(<Location\b[^>]*>)([^<]*)(<\/Location>)/g;
/**
 * A ClearKey licence URL (DASH-IF IOP `dashif:Laurl`) of the gateway's own licence route: it needs
 * the token like the media. A DRM's licence URL never gets it.
 */
const MPD_OWN_LICENSE_URL = /(<dashif:Laurl>)([^<]*\/clearkey\.json)(<\/dashif:Laurl>)/g;

function xmlUnescape(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e: string) => {
    switch (e) {
      case 'amp':
        return '&';
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const code = e.startsWith('#x') ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
      }
    }
  });
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/**
 * Adds the token to the media URLs of a DASH MPD: SegmentTemplate `media`, `initialization`,
 * `index`; SegmentURL `media`/`index`; Initialization / RepresentationIndex `sourceURL`; and
 * MPD.Location. A query after a `$Number$` / `$Time$` template is fine: identifiers are
 * substituted wherever they stand (§5.3.9.4.4). BaseURL is left alone: RFC 3986 §5.2.2 drops
 * a base URL's query when a relative URL is resolved against it, so it would not carry over.
 */
export function tokenizeMpdText(xml: string, token: string): string {
  const tokenized = (raw: string): string => xmlEscape(tokenizeUri(xmlUnescape(raw), token));
  return xml
    .replace(MPD_URL_ELEMENT, (_m, name: string, attrs: string) => {
      const rewritten = attrs.replace(MPD_URL_ATTRIBUTE, (_a, space: string, attr: string, _q: string, dq: string | undefined, sq: string | undefined) =>
        dq !== undefined ? `${space}${attr}="${tokenized(dq)}"` : `${space}${attr}='${tokenized(sq ?? '')}'`,
      );
      return `<${name}${rewritten}>`;
    })
    .replace(MPD_LOCATION, (_m, open: string, url: string, close: string) => `${open}${tokenized(url.trim())}${close}`)
    .replace(MPD_OWN_LICENSE_URL, (_m, open: string, url: string, close: string) => `${open}${tokenized(url.trim())}${close}`);
}
