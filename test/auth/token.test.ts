import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GatewayError } from '../../src/core/errors.js';
import { MAX_TOKEN_LENGTH, mintToken, subjectOf, verifyToken } from '../../src/auth/token.js';

const SECRET = 'correct horse battery staple';
const SUBJECT = subjectOf('publish', 'live', 'cam');
const EXP = 1_700_000_000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

// Made independently with openssl:
// printf 'streamgate-token-v1\npublish:live/cam\n1700000000' | openssl dgst -sha256 -hmac 'correct horse battery staple' -binary | base64 | tr '+/' '-_' | tr -d '='
const GOLDEN_PUBLISH = '1700000000.bID3-tQVczCfx_OL7I3GpKCgnTa775IflhYI5ED-qfU';
const GOLDEN_PLAY = '1700000000.Aizzn4GEq8vpMOM50oFjjCI1f9U51Yb5Mn_Kv6MfuL4';

describe('mintToken', () => {
  it('matches the openssl-made golden tokens', () => {
    expect(mintToken({ secret: SECRET, subject: SUBJECT, expiresAt: EXP })).toBe(GOLDEN_PUBLISH);
    expect(mintToken({ secret: SECRET, subject: subjectOf('play', 'live', 'cam'), expiresAt: EXP })).toBe(GOLDEN_PLAY);
  });

  it('is URL-safe and compact', () => {
    const t = mintToken({ secret: SECRET, subject: SUBJECT, expiresAt: EXP });
    expect(t).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(encodeURIComponent(t)).toBe(t);
  });

  it('refuses an empty secret and a non-integer expiry with GatewayError', () => {
    expect(() => mintToken({ secret: '', subject: SUBJECT, expiresAt: EXP })).toThrow(GatewayError);
    expect(() => mintToken({ secret: SECRET, subject: SUBJECT, expiresAt: 1.5 })).toThrow(GatewayError);
    expect(() => mintToken({ secret: SECRET, subject: SUBJECT, expiresAt: -1 })).toThrow(GatewayError);
    expect(() => mintToken({ secret: SECRET, subject: SUBJECT, expiresAt: 1e13 })).toThrow(GatewayError);
  });
});

describe('verifyToken', () => {
  const opts = { secret: SECRET, subject: SUBJECT, now: EXP - 10 };

  it('accepts a golden token before its expiry', () => {
    expect(verifyToken(GOLDEN_PUBLISH, opts)).toEqual({ ok: true, expiresAt: EXP });
  });

  it('refuses it at and after its expiry', () => {
    expect(verifyToken(GOLDEN_PUBLISH, { ...opts, now: EXP })).toEqual({ ok: false, reason: 'expired' });
    expect(verifyToken(GOLDEN_PUBLISH, { ...opts, now: EXP + 1 })).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another subject: a play token cannot publish, one stream cannot open another', () => {
    expect(verifyToken(GOLDEN_PLAY, opts)).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(GOLDEN_PUBLISH, { ...opts, subject: subjectOf('publish', 'live', 'cam2') })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verifyToken(GOLDEN_PUBLISH, { ...opts, subject: subjectOf('publish', 'other', 'cam') })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses another secret', () => {
    expect(verifyToken(GOLDEN_PUBLISH, { ...opts, secret: 'other secret' })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses an extended expiry (the signature covers it)', () => {
    const stretched = GOLDEN_PUBLISH.replace(/^\d+/, String(EXP + 86_400));
    expect(verifyToken(stretched, { ...opts, now: EXP + 10 })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('refuses every single-character change to the signature, including the last one', () => {
    const [exp, sig] = GOLDEN_PUBLISH.split('.') as [string, string];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < sig.length; i++) {
      for (const c of alphabet) {
        if (c === sig[i]) continue;
        const tampered = `${exp}.${sig.slice(0, i)}${c}${sig.slice(i + 1)}`;
        expect(verifyToken(tampered, opts).ok).toBe(false);
      }
    }
  });

  it('calls garbage malformed', () => {
    for (const bad of ['', '.', 'abc', '1700000000', '1700000000.', `.${'a'.repeat(43)}`, `x.${'a'.repeat(43)}`, `1.${'a'.repeat(42)}`, `1.${'a'.repeat(44)}`, `1.${'a'.repeat(42)}=`, `1234567890123.${'a'.repeat(43)}`, ` ${GOLDEN_PUBLISH}`, `${GOLDEN_PUBLISH}\n`, 'x'.repeat(10_000_000)]) {
      expect(verifyToken(bad, opts)).toEqual({ ok: false, reason: 'malformed' });
    }
    for (const notString of [undefined, null, 42, {}, ['a'], Symbol('t')]) {
      expect(verifyToken(notString, opts)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('round-trips any subject and expiry (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 999_999_999_999 }), (subject, secret, exp) => {
        const t = mintToken({ secret, subject, expiresAt: exp });
        expect(t.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
        expect(verifyToken(t, { secret, subject, now: exp - 1 })).toEqual({ ok: true, expiresAt: exp });
        expect(verifyToken(t, { secret, subject, now: exp })).toEqual({ ok: false, reason: 'expired' });
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws and never accepts random or mutated input (fuzz)', () => {
    const mutated = fc
      .tuple(fc.nat(GOLDEN_PUBLISH.length - 1), fc.string({ minLength: 0, maxLength: 3 }), fc.nat(3))
      .map(([at, insert, del]) => GOLDEN_PUBLISH.slice(0, at) + insert + GOLDEN_PUBLISH.slice(at + del))
      .filter((t) => t !== GOLDEN_PUBLISH);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), mutated), (token) => {
        const v = verifyToken(token, opts);
        expect(v.ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
