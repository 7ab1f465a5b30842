import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_REDACT_INPUT, REDACTED, maskKey, redact } from '../../src/auth/redact.js';
import { mintToken } from '../../src/auth/token.js';

const TOKEN = mintToken({ secret: 'k', subject: 'publish:live/cam', expiresAt: 1_700_000_000 });

describe('redact', () => {
  it('hides credential query values in names, tcUrls and URLs', () => {
    expect(redact(`cam?token=${TOKEN}`)).toBe('cam?token=[redacted]');
    expect(redact('rtmp://gw.test/live?key=abc&user=bob&Secret=xyz#f')).toBe('rtmp://gw.test/live?key=[redacted]&user=bob&Secret=[redacted]#f');
    expect(redact('a?token=&sig=123 b?password=p;auth=q')).toBe('a?token=&sig=[redacted] b?password=[redacted];auth=[redacted]');
  });

  it('hides bare tokens wherever they stand', () => {
    expect(redact(`stream name cam.${TOKEN} refused`)).toBe(`stream name cam.${REDACTED} refused`);
    expect(redact(`"${TOKEN}"`)).toBe(`"${REDACTED}"`);
  });

  it('hides given secrets literally, longest first, and ignores tiny ones', () => {
    expect(redact('live/studio-key-1 and studio-key-10', ['studio-key-1', 'studio-key-10'])).toBe(`live/${REDACTED} and ${REDACTED}`);
    expect(redact('a cat', ['a'])).toBe('a cat');
  });

  it('hides URL passwords', () => {
    expect(redact('POST http://user:hunter2@hooks.test/x failed')).toBe(`POST http://user:${REDACTED}@hooks.test/x failed`);
  });

  it('leaves innocent text alone and bounds its input', () => {
    expect(redact('publish started live/cam (keyframe interval 2 s)')).toBe('publish started live/cam (keyframe interval 2 s)');
    expect(redact('x'.repeat(MAX_REDACT_INPUT * 2)).length).toBe(MAX_REDACT_INPUT + 3);
  });

  it('never leaks a planted secret or token (property)', () => {
    const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'), minLength: 6, maxLength: 30 });
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), word, fc.string({ maxLength: 60 }), (before, secret, after) => {
        const line = `${before}${secret}${after} ?token=${TOKEN}`;
        const out = redact(line, [secret]);
        expect(out).not.toContain(secret);
        expect(out).not.toContain(TOKEN);
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300) },
    );
  });
});

describe('maskKey', () => {
  it('is stable, short and does not contain the key', () => {
    expect(maskKey('my-secret-key')).toBe(maskKey('my-secret-key'));
    expect(maskKey('my-secret-key')).not.toBe(maskKey('my-secret-kex'));
    expect(maskKey('my-secret-key')).toMatch(/^key#[0-9a-f]{8}$/);
  });
});
