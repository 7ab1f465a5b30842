import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { MAX_DONE_IN_FLIGHT, MAX_QUERY_LENGTH, PublishAuthorizer, type PublishRequest } from '../../src/auth/publish-auth.js';
import { mintToken, subjectOf } from '../../src/auth/token.js';

const NOW = 1_700_000_000;
const SECRET = 'publish-secret-0123456789';

function req(key: string, query: string | URLSearchParams = '', extra: Partial<PublishRequest> = {}): PublishRequest {
  return { app: 'live', key, query, ip: '192.0.2.7', ...extra };
}

describe('open mode', () => {
  it('allows anything and says so loudly', async () => {
    const auth = new PublishAuthorizer({ mode: 'open' });
    expect(await auth.authorize(req('anything'))).toEqual({ ok: true });
    expect(auth.isOpen).toBe(true);
    expect(auth.describeMode()).toMatch(/OPEN/);
  });

  it('still refuses an empty name and an oversized query', async () => {
    const auth = new PublishAuthorizer({ mode: 'open' });
    expect(await auth.authorize(req(''))).toEqual({ ok: false, reason: 'invalid stream name', status: 'NetStream.Publish.BadName' });
    expect(await auth.authorize(req('cam', `a=${'x'.repeat(MAX_QUERY_LENGTH)}`))).toEqual({ ok: false, reason: 'query too long', status: 'NetStream.Publish.BadName' });
  });
});

describe('keys mode', () => {
  const auth = new PublishAuthorizer({ mode: 'keys', keys: ['s3cret-any-app', 'studio/s3cret-studio-only'] });

  it('allows a bare key on any app and an APP/KEY entry on its app only', async () => {
    expect(await auth.authorize(req('s3cret-any-app'))).toEqual({ ok: true });
    expect(await auth.authorize(req('s3cret-any-app', '', { app: 'studio' }))).toEqual({ ok: true });
    expect(await auth.authorize(req('s3cret-studio-only', '', { app: 'studio' }))).toEqual({ ok: true });
    expect(await auth.authorize(req('s3cret-studio-only'))).toEqual({ ok: false, reason: 'unknown stream key', status: 'NetStream.Publish.BadName' });
  });

  it('denies unknown keys, near misses and other case', async () => {
    for (const key of ['nope', 's3cret-any-ap', 's3cret-any-app2', 'S3CRET-ANY-APP', 'studio']) {
      const d = await auth.authorize(req(key));
      expect(d).toEqual({ ok: false, reason: 'unknown stream key', status: 'NetStream.Publish.BadName' });
    }
  });

  it('describes itself and redacts without the keys', () => {
    expect(auth.describeMode()).toBe('publish auth: stream key list (2 keys)');
    const line = auth.redact('publish refused for rtmp://gw/live/s3cret-any-app and studio/s3cret-studio-only');
    expect(line).not.toContain('s3cret');
    expect(auth.maskKey('s3cret-any-app')).toMatch(/^key#[0-9a-f]{8}$/);
  });

  it('will not start without keys or with a malformed entry', () => {
    expect(() => new PublishAuthorizer({ mode: 'keys' })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'keys', keys: ['has space'] })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'keys', keys: ['a/b/c'] })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'keys', keys: ['k?token=x'] })).toThrow(GatewayError);
  });
});

describe('token mode', () => {
  const auth = new PublishAuthorizer({ mode: 'token', secret: SECRET });
  const token = mintToken({ secret: SECRET, subject: subjectOf('publish', 'live', 'cam'), expiresAt: NOW + 60 });

  it('accepts ?token= on the stream name, as a string or URLSearchParams', async () => {
    expect(await auth.authorize(req('cam', `token=${token}`), NOW)).toEqual({ ok: true });
    expect(await auth.authorize(req('cam', `?token=${token}&foo=1`), NOW)).toEqual({ ok: true });
    expect(await auth.authorize(req('cam', new URLSearchParams({ token })), NOW)).toEqual({ ok: true });
  });

  it('accepts ?token= on the connect app', async () => {
    expect(await auth.authorize(req('cam', '', { appQuery: `token=${token}` }), NOW)).toEqual({ ok: true });
  });

  it('prefers the stream name token over the app one', async () => {
    expect(await auth.authorize(req('cam', 'token=junk', { appQuery: `token=${token}` }), NOW)).toEqual({
      ok: false,
      reason: 'token malformed',
      status: 'NetStream.Publish.Unauthorized',
    });
  });

  it('refuses missing, expired, tampered and other-stream tokens with Unauthorized', async () => {
    const U = 'NetStream.Publish.Unauthorized';
    expect(await auth.authorize(req('cam'), NOW)).toEqual({ ok: false, reason: 'token missing', status: U });
    expect(await auth.authorize(req('cam', 'token='), NOW)).toEqual({ ok: false, reason: 'token missing', status: U });
    expect(await auth.authorize(req('cam', `token=${token}`), NOW + 60)).toEqual({ ok: false, reason: 'token expired', status: U });
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect(await auth.authorize(req('cam', `token=${tampered}`), NOW)).toEqual({ ok: false, reason: 'token bad-signature', status: U });
    expect(await auth.authorize(req('cam2', `token=${token}`), NOW)).toEqual({ ok: false, reason: 'token bad-signature', status: U });
    const play = mintToken({ secret: SECRET, subject: subjectOf('play', 'live', 'cam'), expiresAt: NOW + 60 });
    expect(await auth.authorize(req('cam', `token=${play}`), NOW)).toEqual({ ok: false, reason: 'token bad-signature', status: U });
  });

  it('never puts the token or secret into a reason, description or redacted line', async () => {
    const d = await auth.authorize(req('cam', `token=${token}`), NOW + 999);
    expect(JSON.stringify(d)).not.toContain(token);
    expect(auth.describeMode()).not.toContain(SECRET);
    expect(auth.redact(`publish live/cam?token=${token} secret ${SECRET}`)).toBe('publish live/cam?token=[redacted] secret [redacted]');
  });

  it('will not start without a secret', () => {
    expect(() => new PublishAuthorizer({ mode: 'token' })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'token', secret: '' })).toThrow(GatewayError);
  });
});

interface Hook {
  url: string;
  calls: Array<{ path: string; contentType: string | undefined; form: URLSearchParams }>;
  server: Server;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

/** A local on_publish endpoint. `answer` returns a status, or 'hang' to never answer. */
async function webhookServer(answer: (form: URLSearchParams, path: string) => number | 'hang'): Promise<Hook> {
  const calls: Hook['calls'] = [];
  const server = createServer((rq: IncomingMessage, rs: ServerResponse) => {
    let body = '';
    rq.setEncoding('utf8');
    rq.on('data', (c: string) => (body += c));
    rq.on('end', () => {
      const form = new URLSearchParams(body);
      calls.push({ path: rq.url ?? '', contentType: rq.headers['content-type'], form });
      const a = answer(form, rq.url ?? '');
      if (a === 'hang') return;
      rs.writeHead(a, { 'content-type': 'text/plain' });
      rs.end(a === 302 ? '' : 'answer body that is ignored');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, server };
}

describe('webhook mode', () => {
  it('posts nginx-rtmp form fields plus the query args; 2xx allows', async () => {
    const hook = await webhookServer(() => 200);
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: `${hook.url}/on_publish`, timeoutMs: 5000 } });
    const d = await auth.authorize(req('cam', 'secret=abc&call=evil', { appQuery: 'user=u1', tcUrl: 'rtmp://gw.test/live?user=u1' }));
    expect(d).toEqual({ ok: true });
    expect(hook.calls).toHaveLength(1);
    const call = hook.calls[0]!;
    expect(call.path).toBe('/on_publish');
    expect(call.contentType).toBe('application/x-www-form-urlencoded');
    expect([...call.form]).toEqual([
      ['call', 'publish'],
      ['app', 'live'],
      ['name', 'cam'],
      ['type', 'live'],
      ['addr', '192.0.2.7'],
      ['tcurl', 'rtmp://gw.test/live?user=u1'],
      ['secret', 'abc'],
      ['user', 'u1'],
    ]);
  });

  it('a 204 also allows', async () => {
    const hook = await webhookServer(() => 204);
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: hook.url, timeoutMs: 5000 } });
    expect(await auth.authorize(req('cam'))).toEqual({ ok: true });
  });

  it('403, 500 and a redirect refuse with Unauthorized', async () => {
    for (const status of [403, 500, 302]) {
      const hook = await webhookServer(() => status);
      const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: hook.url, timeoutMs: 5000 } });
      expect(await auth.authorize(req('cam'))).toEqual({ ok: false, reason: `webhook status ${status}`, status: 'NetStream.Publish.Unauthorized' });
    }
  });

  it('the answer decides per stream (key checked by the hook)', async () => {
    const hook = await webhookServer((form) => (form.get('name') === 'good' ? 200 : 403));
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: hook.url, timeoutMs: 5000 } });
    expect((await auth.authorize(req('good'))).ok).toBe(true);
    expect((await auth.authorize(req('bad'))).ok).toBe(false);
  });

  it('a hook that never answers is a refusal after the timeout', async () => {
    const hook = await webhookServer(() => 'hang');
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: hook.url, timeoutMs: 150 } });
    expect(await auth.authorize(req('cam'))).toEqual({ ok: false, reason: 'webhook timeout', status: 'NetStream.Publish.Unauthorized' });
    expect(hook.calls).toHaveLength(1);
  });

  it('a hook nobody listens on is a refusal, without the URL in the reason', async () => {
    const hook = await webhookServer(() => 200);
    const url = `${hook.url}/hook?apikey=zzz`;
    await new Promise<void>((resolve) => hook.server.close(() => resolve()));
    servers.splice(servers.indexOf(hook.server), 1);
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: url, timeoutMs: 5000 } });
    const d = await auth.authorize(req('cam'));
    expect(d.ok).toBe(false);
    if (!d.ok) {
      expect(d.reason).toMatch(/^webhook error: /);
      expect(d.reason).not.toContain('zzz');
      expect(d.status).toBe('NetStream.Publish.Unauthorized');
    }
  });

  it('publishDone posts call=publish_done (in any mode) and never rejects', async () => {
    const hook = await webhookServer(() => 200);
    const auth = new PublishAuthorizer({ mode: 'keys', keys: ['cam'], webhook: { onPublishDone: `${hook.url}/done`, timeoutMs: 5000 } });
    expect(await auth.publishDone(req('cam', 'token=t1', { tcUrl: 'rtmp://gw.test/live' }))).toEqual({ ok: true, status: 200 });
    expect(hook.calls[0]!.path).toBe('/done');
    expect(Object.fromEntries(hook.calls[0]!.form)).toEqual({ call: 'publish_done', app: 'live', name: 'cam', type: 'live', addr: '192.0.2.7', tcurl: 'rtmp://gw.test/live', token: 't1' });

    const hang = await webhookServer(() => 'hang');
    const slow = new PublishAuthorizer({ mode: 'open', webhook: { onPublishDone: hang.url, timeoutMs: 100 } });
    expect(await slow.publishDone(req('cam'))).toEqual({ ok: false, reason: 'webhook timeout' });
    expect(await new PublishAuthorizer({ mode: 'open' }).publishDone(req('cam'))).toEqual({ ok: false, reason: 'not configured' });
  });

  it('publishDone is bounded: calls beyond the in-flight limit are dropped, not queued', async () => {
    const hang = await webhookServer(() => 'hang');
    const auth = new PublishAuthorizer({ mode: 'open', webhook: { onPublishDone: hang.url, timeoutMs: 300 } });
    const pending = Array.from({ length: MAX_DONE_IN_FLIGHT }, () => auth.publishDone(req('cam')));
    expect(await auth.publishDone(req('cam'))).toEqual({ ok: false, reason: 'webhook busy' });
    const results = await Promise.all(pending);
    expect(results.every((r) => !r.ok && r.reason === 'webhook timeout')).toBe(true);
  });

  it('forwards at most 32 query args, cut to 1024 characters', async () => {
    const hook = await webhookServer(() => 200);
    const auth = new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: hook.url, timeoutMs: 5000 } });
    const q = new URLSearchParams();
    for (let i = 0; i < 40; i++) q.append(`a${i}`, 'v');
    q.set('a0', 'x'.repeat(2000));
    await auth.authorize(req('cam', q));
    const form = hook.calls[0]!.form;
    expect([...form].length).toBe(5 + 32);
    expect(form.get('a0')).toHaveLength(1024);
  });

  it('describes the hook without credentials or query, and validates its config', () => {
    const auth = new PublishAuthorizer({
      mode: 'webhook',
      webhook: { onPublish: 'http://user:pw@hooks.test:8080/rtmp/on_publish?apikey=zzz', onPublishDone: 'https://hooks.test/done?k=1', timeoutMs: 3000 },
    });
    expect(auth.describeMode()).toBe('publish auth: webhook on_publish -> http://hooks.test:8080/rtmp/on_publish (timeout 3000 ms); on_publish_done -> https://hooks.test/done');
    expect(() => new PublishAuthorizer({ mode: 'webhook', webhook: { timeoutMs: 1000 } })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: 'ftp://x/y', timeoutMs: 1000 } })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: 'not a url', timeoutMs: 1000 } })).toThrow(GatewayError);
    expect(() => new PublishAuthorizer({ mode: 'webhook', webhook: { onPublish: 'http://h/', timeoutMs: 0 } })).toThrow(GatewayError);
  });
});
