/** SRT streamids as encoders send them: Access Control `#!::` form, plain paths, and what is refused. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseSrtStreamId } from '../../src/srt/stream-id.js';

describe('parseSrtStreamId', () => {
  it.each([
    ['live/KEY', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
    ['/live/KEY', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
    ['live/KEY?token=abc.def', { app: 'live', key: 'KEY', query: 'token=abc.def', mode: 'publish' }],
    ['#!::r=live/KEY,m=publish', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
    ['#!::m=publish,r=live/KEY?key=s3cret,u=me', { app: 'live', key: 'KEY', query: 'key=s3cret', mode: 'publish' }],
    ['#!::r=live/KEY', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
    ['#!::r=live/KEY,m=request', { app: 'live', key: 'KEY', query: '', mode: 'request' }],
    ['publish:live/KEY', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
    ['read:live/KEY', { app: 'live', key: 'KEY', query: '', mode: 'request' }],
    ['%23!%3A%3Ar%3Dlive%2FKEY%2Cm%3Dpublish', { app: 'live', key: 'KEY', query: '', mode: 'publish' }],
  ])('%s', (id, expected) => {
    expect(parseSrtStreamId(id)).toEqual({ ok: true, request: expected });
  });

  it.each(['', 'live', 'live/', '/KEY', '#!::', '#!::m=publish', '#!::r=live/KEY,m=play', '#!::r', '%23%ZZ'])('refuses %j', (id) => {
    const r = parseSrtStreamId(id);
    expect(r.ok).toBe(false);
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (id) => {
        const r = parseSrtStreamId(id);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 500) },
    );
  });
});
