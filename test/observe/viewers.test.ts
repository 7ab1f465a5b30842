import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { classifyPath, ROUTE_LABELS } from '../../src/observe/request-kind.js';
import { ViewerTracker } from '../../src/observe/viewers.js';

function tracker(players = 0): { t: ViewerTracker; clock: { now: number } } {
  const clock = { now: 0 };
  const t = new ViewerTracker({ windowMs: 10_000, now: () => clock.now, relays: { playerCount: () => players } });
  return { t, clock };
}
const req = (path: string, ip = '10.0.0.1', userAgent = 'UA', query: Record<string, unknown> = {}) => ({ path, ip, userAgent, query });

describe('classifyPath', () => {
  it('labels every route of the contract', () => {
    expect(classifyPath('/live/k/index.m3u8')).toEqual({ route: 'master', app: 'live', key: 'k', format: 'cmaf-hls' });
    expect(classifyPath('/live/k/ts.m3u8')).toMatchObject({ route: 'master', format: 'hls-ts' });
    expect(classifyPath('/live/k/src/index.m3u8')).toMatchObject({ route: 'media', rendition: 'src', format: 'cmaf-hls' });
    expect(classifyPath('/live/k/src/ts.m3u8')).toMatchObject({ route: 'media', format: 'hls-ts' });
    expect(classifyPath('/live/k/index.mpd')).toMatchObject({ route: 'mpd', format: 'dash' });
    expect(classifyPath('/live/k/src/init-abc-0.mp4').route).toBe('init');
    expect(classifyPath('/live/k/src/seg-abc-12.m4s').route).toBe('segment');
    expect(classifyPath('/live/k/audio/part-abc-12.3.m4s')).toMatchObject({ route: 'part', rendition: 'audio' });
    expect(classifyPath('/live/k/src/ts-abc-4.ts').route).toBe('ts');
    expect(classifyPath('/live/k.flv')).toEqual({ route: 'flv', app: 'live', key: 'k' });
    expect(classifyPath('/api/streams').route).toBe('api');
    expect(classifyPath('/metrics').route).toBe('api');
    expect(classifyPath('/').route).toBe('web');
    expect(classifyPath('/watch/live/k').route).toBe('web');
    expect(classifyPath('/assets/app-1.js').route).toBe('web');
    expect(classifyPath('/live/k/src/../etc').route).toBe('other');
    expect(classifyPath('/favicon.ico').route).toBe('other');
  });

  it('never throws and always answers a fixed label', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        expect(ROUTE_LABELS).toContain(classifyPath(`/${s}`).route);
      }),
      { numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) },
    );
  });
});

describe('ViewerTracker', () => {
  it('one client polling a playlist is one viewer until the window passes', () => {
    const { t, clock } = tracker();
    t.observe(req('/live/k/index.m3u8'));
    for (let s = 0; s < 20; s += 2) {
      clock.now = s * 1000;
      t.observe(req('/live/k/src/index.m3u8'));
      t.observe(req('/live/k/src/seg-a-1.m4s'));
    }
    expect(t.viewersOf('live', 'k')).toMatchObject({ total: 1, byProtocol: { hls: 1 }, byRendition: { src: 1 } });
    clock.now = 18_000 + 9_999;
    expect(t.viewersOf('live', 'k').total).toBe(1);
    clock.now = 18_000 + 10_000;
    expect(t.viewersOf('live', 'k').total).toBe(0);
    expect(t.sessionCount).toBe(0);
  });

  it('a connection keeps its client id only while the address and User-Agent stay the same', () => {
    const { t } = tracker();
    const connection = {};
    // A keep-alive player: one connection, the same client every request.
    for (let i = 0; i < 5; i++) t.observe({ ...req('/live/k/src/index.m3u8'), connection });
    expect(t.viewersOf('live', 'k').total).toBe(1);
    // A proxy's connection carrying another client's request: another viewer, not the cached one.
    t.observe({ ...req('/live/k/src/index.m3u8', '10.0.0.1', 'Other UA'), connection });
    t.observe({ ...req('/live/k/src/index.m3u8', '10.0.0.2'), connection });
    expect(t.viewersOf('live', 'k').total).toBe(3);
    // The same client on a fresh connection (or none) is the same viewer.
    t.observe({ ...req('/live/k/src/index.m3u8'), connection: {} });
    t.observe(req('/live/k/src/index.m3u8'));
    expect(t.viewersOf('live', 'k').total).toBe(3);
  });

  it('media requests keep a session alive but do not start one', () => {
    const { t, clock } = tracker();
    t.observe(req('/live/k/src/seg-a-1.m4s'));
    expect(t.viewersOf('live', 'k').total).toBe(0);
    t.observe(req('/live/k/index.mpd'));
    for (let s = 1; s <= 30; s++) {
      clock.now = s * 1000;
      t.observe(req('/live/k/v1/seg-a-1.m4s'));
      t.observe(req('/live/k/audio/seg-a-1.m4s'));
    }
    expect(t.viewersOf('live', 'k')).toMatchObject({ total: 1, byProtocol: { dash: 1 }, byRendition: { v1: 1 } });
  });

  it('counts clients and protocols apart; _HLS_msn marks ll-hls', () => {
    const { t } = tracker();
    t.observe(req('/live/k/src/index.m3u8', 'a'));
    t.observe(req('/live/k/src/index.m3u8', 'b'));
    t.observe(req('/live/k/src/index.m3u8', 'b', 'UA', { _HLS_msn: '5', _HLS_part: '1' }));
    t.observe(req('/live/k/src/index.m3u8', 'c', 'Other UA'));
    t.observe(req('/live/k/src/ts.m3u8', 'a'));
    t.observe(req('/live/k/index.mpd', 'a'));
    t.observe(req('/live/other/index.mpd', 'a'));
    const v = t.viewersOf('live', 'k');
    expect(v.byProtocol).toEqual({ hls: 2, 'll-hls': 1, 'hls-ts': 1, dash: 1, flv: 0, rtmp: 0 });
    expect(v.total).toBe(5);
    expect(t.totals([{ app: 'live', key: 'k' }, { app: 'live', key: 'other' }]).dash).toBe(2);
  });

  it('RTMP players are the relay players not accounted for by open FLV responses', () => {
    const { t } = tracker(3);
    t.flvPlayer('live', 'k', 1);
    expect(t.viewersOf('live', 'k').byProtocol).toMatchObject({ flv: 1, rtmp: 2 });
    t.flvPlayer('live', 'k', -1);
    expect(t.viewersOf('live', 'k')).toMatchObject({ total: 3, byProtocol: { flv: 0, rtmp: 3 } });
  });

  it('holds at most maxSessions sessions', () => {
    const t = new ViewerTracker({ maxSessions: 100, now: () => 0 });
    for (let i = 0; i < 1000; i++) t.observe(req('/live/k/index.m3u8', `ip${i}`));
    expect(t.sessionCount).toBe(100);
    expect(t.viewersOf('live', 'k').total).toBe(100);
  });

  it('adds served bytes per stream', () => {
    const { t } = tracker();
    t.addServedBytes('live', 'k', 1000);
    t.addServedBytes('live', 'k', 500);
    expect(t.viewersOf('live', 'k').bytesServed).toBe(1500);
  });
});
