/**
 * The on_publish / on_publish_done HTTP callback, the way nginx-rtmp (ngx_rtmp_notify_module)
 * and SRS call it: a POST of `application/x-www-form-urlencoded` fields. A 2xx answer allows;
 * any other status, a redirect (nginx-rtmp's 3xx rename is not supported), a network error or
 * no answer within the timeout refuses. The answer body is ignored and discarded unread.
 *
 * I/O lives here and nowhere else in src/auth; it never rejects, it returns an outcome.
 */

export type WebhookOutcome =
  | { readonly ok: true; readonly status: number }
  | { readonly ok: false; readonly reason: string; readonly status?: number };

/** Form fields sent, in order. Values are cut to this many characters. */
export const MAX_FIELD_LENGTH = 1024;
/** Query arguments forwarded beyond the fixed fields. */
export const MAX_FORWARDED_ARGS = 32;

export async function postForm(url: string, fields: ReadonlyArray<readonly [string, string]>, timeoutMs: number): Promise<WebhookOutcome> {
  const body = new URLSearchParams();
  for (const [name, value] of fields) body.append(name.slice(0, MAX_FIELD_LENGTH), value.slice(0, MAX_FIELD_LENGTH));
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
      redirect: 'manual',
      signal,
    });
    // Free the connection without reading a body we have no use for.
    await res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, reason: `webhook status ${res.status}`, status: res.status };
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: 'webhook timeout' };
    return { ok: false, reason: `webhook error: ${errorCode(err)}` };
  }
}

/** A short cause without the URL (which may carry credentials): ECONNREFUSED, ENOTFOUND, ... */
function errorCode(err: unknown): string {
  const cause = err instanceof Error ? (err as Error & { cause?: unknown }).cause : undefined;
  if (cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'string') return cause.code;
  if (err instanceof Error) return err.name;
  return 'unknown';
}
