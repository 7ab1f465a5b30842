/** The access rules of http/access.ts on fabricated requests: which answer each request gets. */
import { describe, expect, it } from 'vitest';
import type { NextFunction, Request, Response } from 'express';
import { accessGuard, isLoopback, secretEquals, type AccessPolicy } from '../../src/http/access.js';
import { PlaybackAuthorizer } from '../../src/auth/playback.js';

const PLAY = 'unit-test-playback-secret';
const playback = new PlaybackAuthorizer({ secret: PLAY, ttlSeconds: 600 });
const open = new PlaybackAuthorizer({ ttlSeconds: 600 });

/** What the guard did with one request: 'next', or the status it answered. */
function decide(policy: AccessPolicy, method: string, url: string, options: { address?: string; auth?: string } = {}): number | 'next' {
  const [path, query] = url.split('?');
  const req = {
    method,
    path,
    query: Object.fromEntries(new URLSearchParams(query ?? '')),
    headers: options.auth ? { authorization: options.auth } : {},
    socket: { remoteAddress: options.address ?? '127.0.0.1' },
  } as unknown as Request;
  let status: number | undefined;
  const res = {
    setHeader: () => res,
    status(code: number) {
      status = code;
      return res;
    },
    type: () => res,
    send: () => res,
  } as unknown as Response;
  let went = false;
  accessGuard(policy)(req, res, (() => (went = true)) as NextFunction);
  return went ? 'next' : status!;
}

describe('access rules', () => {
  it('without --api-token: reading is open, changing only from loopback', () => {
    const policy = { playback: open };
    expect(decide(policy, 'GET', '/api/streams', { address: '192.0.2.7' })).toBe('next');
    expect(decide(policy, 'GET', '/metrics', { address: '192.0.2.7' })).toBe('next');
    expect(decide(policy, 'POST', '/api/streams/live/k/push', { address: '192.0.2.7' })).toBe(403);
    expect(decide(policy, 'DELETE', '/api/streams/live/k/push/1', { address: '::ffff:192.0.2.7' })).toBe(403);
    expect(decide(policy, 'POST', '/api/streams/live/k/push', { address: '127.0.0.1' })).toBe('next');
    expect(decide(policy, 'POST', '/api/streams/live/k/push', { address: '::1' })).toBe('next');
  });

  it('with --api-token: the API, /metrics and changes need it; probes and the clock stay open', () => {
    const policy = { apiToken: 'a-long-enough-api-token', playback: open };
    const bearer = { auth: 'Bearer a-long-enough-api-token' };
    for (const url of ['/api/streams', '/api/streams/live/k', '/api/streams/live/k/thumbnail.jpg', '/metrics']) {
      expect(decide(policy, 'GET', url), url).toBe(401);
      expect(decide(policy, 'GET', url, bearer), url).toBe('next');
    }
    for (const url of ['/healthz', '/readyz', '/api/time', '/', '/live/k/index.m3u8']) expect(decide(policy, 'GET', url), url).toBe('next');
    expect(decide(policy, 'POST', '/api/streams/live/k/push', { address: '127.0.0.1' })).toBe(401);
    expect(decide(policy, 'POST', '/api/streams/live/k/push', { address: '192.0.2.7', ...bearer })).toBe('next');
    expect(decide(policy, 'GET', '/api/streams', { auth: 'Bearer a-long-enough-api-tokeN' })).toBe(401);
    expect(decide(policy, 'GET', '/api/streams', { auth: 'Basic a-long-enough-api-token' })).toBe(401);
  });

  it("with both: a stream's own data and thumbnail open to its playback token, nothing else does", () => {
    const policy = { apiToken: 'a-long-enough-api-token', playback };
    const token = playback.tokenFor('live', 'k')!;
    expect(decide(policy, 'GET', `/api/streams/live/k?token=${token}`)).toBe('next');
    expect(decide(policy, 'GET', `/api/streams/live/k/thumbnail.jpg?token=${token}`)).toBe('next');
    expect(decide(policy, 'GET', `/api/streams/live/other?token=${token}`)).toBe(401);
    expect(decide(policy, 'GET', `/api/streams?token=${token}`)).toBe(401);
    expect(decide(policy, 'GET', `/metrics?token=${token}`)).toBe(401);
  });

  it('compares secrets whole, whatever their lengths', () => {
    expect(secretEquals('abc', 'abc')).toBe(true);
    expect(secretEquals('abc', 'abd')).toBe(false);
    expect(secretEquals('abc', 'abcd')).toBe(false);
    expect(secretEquals('', 'x')).toBe(false);
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });
});
