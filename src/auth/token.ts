/**
 * Signed, expiring access tokens for publishing and playback.
 *
 *   token = EXP "." SIG
 *     EXP = expiry, unix seconds, decimal digits (1..12)
 *     SIG = base64url (RFC 4648 §5, no padding) of HMAC-SHA256(secret, DOMAIN "\n" SUBJECT "\n" EXP)
 *           (RFC 2104), always 43 characters
 *
 * SUBJECT names what the token grants: `publish:APP/KEY` or `play:APP/KEY`, so a playback token
 * can never be replayed to publish and a token for one stream never opens another. EXP is the
 * last field and holds no "\n", so (subject, exp) -> signed message is injective. Every character
 * is URL-safe, so a token goes into `?token=` or an OBS stream key field unescaped.
 *
 * Pure and synchronous: the caller passes `now`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../core/errors.js';

/** Domain separation: a signature made for anything else with the same secret never verifies here. */
const DOMAIN = 'streamgate-token-v1';
/** Longest string verifyToken looks at: 12 digits + "." + 43, with room to spare. */
export const MAX_TOKEN_LENGTH = 128;
const SIGNATURE_LENGTH = 43;
const TOKEN_SHAPE = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
/** What a token may look like anywhere in a string (used by redaction). */
export const TOKEN_LIKE = /\b\d{1,12}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

export type TokenAction = 'publish' | 'play';

export interface MintTokenOptions {
  readonly secret: string;
  /** `publish:APP/KEY` or `play:APP/KEY` (see subjectOf). */
  readonly subject: string;
  /** Unix seconds after which the token is refused. */
  readonly expiresAt: number;
}

export interface VerifyTokenOptions {
  readonly secret: string;
  readonly subject: string;
  /** Unix seconds. */
  readonly now: number;
}

export type TokenFailure = 'malformed' | 'expired' | 'bad-signature';
export type TokenVerdict = { readonly ok: true; readonly expiresAt: number } | { readonly ok: false; readonly reason: TokenFailure };

/** The subject a token for `action` on stream `app/key` is signed for. */
export function subjectOf(action: TokenAction, app: string, key: string): string {
  return `${action}:${app}/${key}`;
}

function signature(secret: string, subject: string, exp: string): string {
  return createHmac('sha256', secret).update(`${DOMAIN}\n${subject}\n${exp}`, 'utf8').digest('base64url');
}

function requireSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new GatewayError('config', 'token secret is empty', {});
  }
}

export function mintToken({ secret, subject, expiresAt }: MintTokenOptions): string {
  requireSecret(secret);
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0 || expiresAt >= 1e12) {
    throw new GatewayError('config', 'token expiry must be a positive integer of unix seconds', { expiresAt });
  }
  const exp = String(expiresAt);
  return `${exp}.${signature(secret, subject, exp)}`;
}

/**
 * Checks shape, then signature (constant time), then expiry. Never throws for any `token`
 * value: a hostile query string is just a refusal. The signature is checked before expiry so
 * "expired" is only ever said about a token we actually issued.
 */
export function verifyToken(token: unknown, { secret, subject, now }: VerifyTokenOptions): TokenVerdict {
  requireSecret(secret);
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const m = TOKEN_SHAPE.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const exp = m[1]!;
  const given = Buffer.from(m[2]!, 'latin1');
  // Compare the base64url text, not decoded bytes: the last character of 43 carries 2 unused
  // bits, and comparing bytes would accept 4 spellings of one signature.
  const expected = Buffer.from(signature(secret, subject, exp), 'latin1');
  if (given.length !== SIGNATURE_LENGTH || expected.length !== SIGNATURE_LENGTH || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'bad-signature' };
  }
  const expiresAt = Number(exp);
  if (!(now < expiresAt)) return { ok: false, reason: 'expired' };
  return { ok: true, expiresAt };
}

/** Unix seconds now (the one impure helper; callers that must be pure pass `now` themselves). */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
