/**
 * Who may publish. One mode, chosen in config:
 *
 *   open     anyone (the default; the gateway logs a loud warning at start, see describeMode)
 *   keys     the stream key must be on a list; an entry is `KEY` (any app) or `APP/KEY`
 *   token    the publish name or the connect app carries `?token=EXP.SIG` signed for
 *            `publish:APP/KEY` (token.ts). OBS: Server `rtmp://HOST/live`, Stream Key
 *            `KEY?token=...`; ffmpeg: `rtmp://HOST/live/KEY?token=...`. The name's query wins
 *            over the app's. (A `KEY.TOKEN` form is deliberately not accepted: `.` is legal in
 *            a stream name, so it would be ambiguous.)
 *   webhook  POST on_publish like nginx-rtmp / SRS (webhook.ts): 2xx allows, anything else,
 *            or no answer within the timeout, refuses. on_publish_done is told when it ends.
 *
 * Refusals say which onStatus code to send: `NetStream.Publish.BadName` when the name itself is
 * unusable or not a known key (OBS shows "Invalid Path or Stream Key"),
 * `NetStream.Publish.Unauthorized` for a missing/bad token or a webhook refusal. Reasons never
 * contain the key or the token, so they can be logged and sent as the onStatus description.
 */
import { createHash } from 'node:crypto';
import { GatewayError } from '../core/errors.js';
import { maskKey, redact } from './redact.js';
import { subjectOf, unixNow, verifyToken } from './token.js';
import { MAX_FORWARDED_ARGS, postForm, type WebhookOutcome } from './webhook.js';

export type PublishAuthMode = 'open' | 'keys' | 'token' | 'webhook';

export interface PublishWebhookConfig {
  /** nginx-rtmp `on_publish`: POSTed before a publish starts. Required in webhook mode. */
  readonly onPublish?: string;
  /** nginx-rtmp `on_publish_done`: POSTed when a publish ends; honoured in every mode. */
  readonly onPublishDone?: string;
  /** nginx-rtmp `on_update`: POSTed while a publish runs; a non-2xx answer ends it. Every mode. */
  readonly onUpdate?: string;
  readonly timeoutMs: number;
}

export interface PublishAuthConfig {
  readonly mode: PublishAuthMode;
  /** keys mode: `KEY` (any app) or `APP/KEY`. */
  readonly keys?: readonly string[];
  /** token mode: the HMAC secret. */
  readonly secret?: string;
  /** webhook mode; onPublishDone is honoured in every mode. */
  readonly webhook?: PublishWebhookConfig;
}

// The request and decision of the protocol-neutral publish path (core/publish.ts).
export type { PublishDecision, PublishRequest, PublishStatusCode } from '../core/publish.js';
import type { PublishDecision, PublishRequest } from '../core/publish.js';

/** A query longer than this is refused before it is parsed. */
export const MAX_QUERY_LENGTH = 4096;
/** publish_done calls in flight at once; beyond it they are dropped (and said so). */
export const MAX_DONE_IN_FLIGHT = 64;
const MAX_KEY_ENTRY_LENGTH = 257;
/** Fields we set ourselves; query arguments of the same name are not forwarded. */
const FIXED_FIELDS = new Set(['call', 'app', 'name', 'addr', 'tcurl', 'type']);

const BAD_NAME = 'NetStream.Publish.BadName';
const UNAUTHORIZED = 'NetStream.Publish.Unauthorized';

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** URLSearchParams from either form, or undefined when it is over the bound. */
function paramsOf(query: URLSearchParams | string | undefined): URLSearchParams | undefined {
  if (query === undefined) return new URLSearchParams();
  if (typeof query !== 'string') return query.toString().length > MAX_QUERY_LENGTH ? undefined : query;
  if (query.length > MAX_QUERY_LENGTH) return undefined;
  return new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
}

/** A webhook URL fit for a log line: origin and path, no credentials, no query. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function requireHttpUrl(url: string, setting: string): void {
  let ok = false;
  try {
    const u = new URL(url);
    ok = u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) throw new GatewayError('config', `${setting} must be an http(s) URL`, { setting });
}

export class PublishAuthorizer {
  readonly mode: PublishAuthMode;
  private readonly keyHashes: ReadonlySet<string>;
  private readonly keyCount: number;
  private readonly secret: string | undefined;
  private readonly webhook: PublishWebhookConfig | undefined;
  /** Literal strings redact() hides: the configured keys and secret. */
  private readonly secrets: readonly string[];
  private doneInFlight = 0;

  constructor(config: PublishAuthConfig) {
    this.mode = config.mode;
    const keys = config.keys ?? [];
    for (const k of keys) {
      if (typeof k !== 'string' || k.length === 0 || k.length > MAX_KEY_ENTRY_LENGTH || /[\s?&#]/.test(k) || k.split('/').length > 2) {
        throw new GatewayError('config', 'publish key entries are KEY or APP/KEY, without spaces or query characters', { index: keys.indexOf(k) });
      }
    }
    // Only hashes are kept for matching: a Set lookup on a hash leaks nothing usable about the keys.
    this.keyHashes = new Set(keys.map(sha256));
    this.keyCount = this.keyHashes.size;
    this.secret = config.secret || undefined;
    this.webhook = config.webhook;
    if (this.webhook) {
      if (!(this.webhook.timeoutMs > 0)) throw new GatewayError('config', 'webhook timeout must be positive', { timeoutMs: this.webhook.timeoutMs });
      if (this.webhook.onPublish !== undefined) requireHttpUrl(this.webhook.onPublish, 'onPublishUrl');
      if (this.webhook.onPublishDone !== undefined) requireHttpUrl(this.webhook.onPublishDone, 'onPublishDoneUrl');
      if (this.webhook.onUpdate !== undefined) requireHttpUrl(this.webhook.onUpdate, 'onUpdateUrl');
    }
    if (this.mode === 'keys' && this.keyCount === 0) throw new GatewayError('config', 'publishAuth=keys needs at least one publish key', {});
    if (this.mode === 'token' && !this.secret) throw new GatewayError('config', 'publishAuth=token needs publishSecret', {});
    if (this.mode === 'webhook' && !this.webhook?.onPublish) throw new GatewayError('config', 'publishAuth=webhook needs onPublishUrl', {});
    this.secrets = [...keys, ...(this.secret ? [this.secret] : [])];
  }

  /** True when anyone may publish: the start-up line for it should be a warning. */
  get isOpen(): boolean {
    return this.mode === 'open';
  }

  /** One line for the start-up log. Never contains a key, a secret or a webhook's query. */
  describeMode(): string {
    const done = this.webhook?.onPublishDone ? `; on_publish_done -> ${describeUrl(this.webhook.onPublishDone)}` : '';
    switch (this.mode) {
      case 'open':
        return `publish auth: OPEN - anyone who reaches the RTMP port may publish any stream name (set publishAuth to keys, token or webhook)${done}`;
      case 'keys':
        return `publish auth: stream key list (${this.keyCount} key${this.keyCount === 1 ? '' : 's'})${done}`;
      case 'token':
        return `publish auth: signed expiring tokens (?token= on the stream name or app, HMAC-SHA256)${done}`;
      case 'webhook':
        return `publish auth: webhook on_publish -> ${describeUrl(this.webhook?.onPublish ?? '')} (timeout ${this.webhook?.timeoutMs} ms)${done}`;
    }
  }

  /** Hides this authorizer's keys and secret, and anything token-like, in a log string. */
  redact(text: string): string {
    return redact(text, this.secrets);
  }

  /** A stable label for a stream key, for log lines (see redact.ts maskKey). */
  maskKey(key: string): string {
    return maskKey(key);
  }

  async authorize(req: PublishRequest, now: number = unixNow()): Promise<PublishDecision> {
    if (typeof req.key !== 'string' || req.key.length === 0) return { ok: false, reason: 'invalid stream name', status: BAD_NAME };
    const query = paramsOf(req.query);
    const appQuery = paramsOf(req.appQuery);
    if (!query || !appQuery) return { ok: false, reason: 'query too long', status: BAD_NAME };
    switch (this.mode) {
      case 'open':
        return { ok: true };
      case 'keys': {
        // `NAME?key=SECRET` keeps the secret out of the stream name (and so out of playback URLs
        // and logs); a bare name that is itself a listed key works too.
        const secret = query.get('key') ?? appQuery.get('key');
        const candidates = secret ? [secret, `${req.app}/${secret}`] : [req.key, `${req.app}/${req.key}`];
        return candidates.some((k) => this.keyHashes.has(sha256(k)))
          ? { ok: true }
          : { ok: false, reason: 'unknown stream key', status: BAD_NAME };
      }
      case 'token': {
        const token = query.get('token') ?? appQuery.get('token');
        if (token === null || token === '') return { ok: false, reason: 'token missing', status: UNAUTHORIZED };
        const verdict = verifyToken(token, { secret: this.secret ?? '', subject: subjectOf('publish', req.app, req.key), now });
        return verdict.ok ? { ok: true } : { ok: false, reason: `token ${verdict.reason}`, status: UNAUTHORIZED };
      }
      case 'webhook': {
        const outcome = await postForm(this.webhook?.onPublish ?? '', this.fields('publish', req, query, appQuery), this.webhook?.timeoutMs ?? 1);
        return outcome.ok ? { ok: true } : { ok: false, reason: outcome.reason, status: UNAUTHORIZED };
      }
    }
  }

  /**
   * Tells on_publish_done (if configured) that a publish ended. Fire and forget: never rejects,
   * bounded by the webhook timeout and by MAX_DONE_IN_FLIGHT concurrent calls.
   */
  async publishDone(req: PublishRequest): Promise<WebhookOutcome | { readonly ok: false; readonly reason: 'not configured' }> {
    const url = this.webhook?.onPublishDone;
    if (!url) return { ok: false, reason: 'not configured' };
    if (this.doneInFlight >= MAX_DONE_IN_FLIGHT) return { ok: false, reason: 'webhook busy' };
    const query = paramsOf(req.query) ?? new URLSearchParams();
    const appQuery = paramsOf(req.appQuery) ?? new URLSearchParams();
    this.doneInFlight++;
    try {
      return await postForm(url, this.fields('publish_done', req, query, appQuery), this.webhook?.timeoutMs ?? 1);
    } finally {
      this.doneInFlight--;
    }
  }

  /**
   * on_update (nginx-rtmp's `on_update`, call=update_publish, with `time`: seconds since the
   * publish began): a non-2xx HTTP answer refuses; no answer or a network error does not (a
   * webhook outage must not end every stream).
   */
  async publishUpdate(req: PublishRequest, elapsedSeconds: number): Promise<{ readonly refused: boolean; readonly reason?: string }> {
    const url = this.webhook?.onUpdate;
    if (!url) return { refused: false };
    const query = paramsOf(req.query) ?? new URLSearchParams();
    const appQuery = paramsOf(req.appQuery) ?? new URLSearchParams();
    const fields = this.fields('update_publish', req, query, appQuery);
    fields.splice(5, 0, ['time', String(elapsedSeconds)], ['timestamp', String(elapsedSeconds * 1000)]);
    const outcome = await postForm(url, fields, this.webhook?.timeoutMs ?? 1);
    if (outcome.ok) return { refused: false };
    return { refused: outcome.status !== undefined, reason: outcome.reason };
  }

  /**
   * nginx-rtmp's form: call, app, name, type, addr, tcurl, then the client's own query
   * arguments (stream name's first, then the app's), bounded, never overriding ours.
   */
  private fields(call: 'publish' | 'publish_done' | 'update_publish', req: PublishRequest, query: URLSearchParams, appQuery: URLSearchParams): Array<[string, string]> {
    const fields: Array<[string, string]> = [
      ['call', call],
      ['app', req.app],
      ['name', req.key],
      ['type', 'live'],
      ['addr', req.ip],
    ];
    if (req.tcUrl !== undefined) fields.push(['tcurl', req.tcUrl]);
    let forwarded = 0;
    for (const params of [query, appQuery]) {
      for (const [name, value] of params) {
        if (forwarded >= MAX_FORWARDED_ARGS) break;
        if (FIXED_FIELDS.has(name.toLowerCase())) continue;
        fields.push([name, value]);
        forwarded++;
      }
    }
    return fields;
  }
}

export { maskKey, redact } from './redact.js';
