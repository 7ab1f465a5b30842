/**
 * Log hygiene: stream keys, tokens and secrets never reach a log line.
 *
 * `redact` works on free text (a tcUrl, a publish name with its query, an error message):
 *  - the value of every credential-like query parameter (`token=`, `key=`, `secret=`, `sig=`,
 *    `auth=`, `password=`, `pass=`, `signature=`, `expires` is kept) becomes `[redacted]`;
 *  - anything shaped like one of our tokens (EXP.SIG, see token.ts) becomes `[redacted]`;
 *  - every literal occurrence of the given secrets (configured stream keys, HMAC secrets) too;
 *  - `user:password@` in URLs loses the password.
 * `maskKey` turns a stream key into a stable, non-reversible label for correlating log lines.
 */
import { createHash } from 'node:crypto';
import { TOKEN_LIKE } from './token.js';

export const REDACTED = '[redacted]';
/** Longest text redact looks at; the rest is cut (a log line has no use for more). */
export const MAX_REDACT_INPUT = 8192;
/** Secrets shorter than this are not searched for: "a" would blank every log line. */
const MIN_SECRET_LENGTH = 4;

const CREDENTIAL_PARAM = /([?&;\s]|^)(token|key|streamkey|stream_key|secret|sig|signature|auth|password|pass|pwd)=([^&#;\s"']*)/gi;
const URL_PASSWORD = /(\/\/[^/:@\s]*):[^@/\s]*@/g;

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text.length > MAX_REDACT_INPUT ? `${text.slice(0, MAX_REDACT_INPUT)}...` : text;
  // Longest first, so a secret that contains another is hidden whole.
  const literal = secrets.filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  for (const secret of literal) out = out.split(secret).join(REDACTED);
  out = out.replace(CREDENTIAL_PARAM, (_m, lead: string, name: string, value: string) => (value ? `${lead}${name}=${REDACTED}` : `${lead}${name}=`));
  out = out.replace(TOKEN_LIKE, REDACTED);
  out = out.replace(URL_PASSWORD, `$1:${REDACTED}@`);
  return out;
}

/**
 * A stable label for a stream key: `key#` + 8 hex digits of SHA-256. The same key gives the
 * same label in every line, so an operator can follow one publisher without seeing the key.
 */
export function maskKey(key: string): string {
  return `key#${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 8)}`;
}
