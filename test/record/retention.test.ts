/**
 * Retention: whole sessions go, oldest first, by age and by bytes; a live session never does.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listRecordedSessions, pruneRecordings } from '../../src/record/retention.js';
import { fixtureEvents, publish } from './record-fixture.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 4, 1, 12, 0, 0);

const roots: string[] = [];
function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'sg-retention-'));
  roots.push(d);
  return d;
}
afterAll(() => {
  for (const d of roots) rmSync(d, { recursive: true, force: true });
});

/** A fake session started at `startedAt`, last written at `lastWriteAt`, holding `bytes` in src/. */
function makeSession(root: string, app: string, key: string, startedAt: number, lastWriteAt: number, bytes: number): string {
  const session = join(root, app, key, startedAt.toString(36));
  mkdirSync(join(session, 'src'), { recursive: true });
  const seg = join(session, 'src', 'seg-x-0.m4s');
  writeFileSync(seg, new Uint8Array(bytes));
  const playlist = join(session, 'index.m3u8');
  writeFileSync(playlist, '#EXTM3U\n');
  const t = lastWriteAt / 1000;
  utimesSync(seg, t, t);
  utimesSync(playlist, t, t);
  return session;
}

describe('listRecordedSessions', () => {
  it('finds DIR/APP/KEY/SESSION directories with their size, start and last write, oldest first', async () => {
    const root = tempRoot();
    const b = makeSession(root, 'live', 'b', NOW - 2 * HOUR, NOW - HOUR, 1000);
    const a = makeSession(root, 'live', 'a', NOW - 5 * HOUR, NOW - 4 * HOUR, 500);
    writeFileSync(join(root, 'live', 'stray.txt'), 'not a session');
    const sessions = await listRecordedSessions(root);
    expect(sessions.map((s) => s.path)).toEqual([a, b]);
    expect(sessions[0]).toMatchObject({ startedAt: NOW - 5 * HOUR, bytes: 508 });
    expect(sessions[0]!.lastWriteAt).toBeCloseTo(NOW - 4 * HOUR, -3);
    expect(await listRecordedSessions(join(root, 'missing'))).toEqual([]);
  });
});

describe('pruneRecordings', () => {
  it('removes sessions last written longer ago than maxAgeHours, and the emptied KEY/APP dirs', async () => {
    const root = tempRoot();
    const old = makeSession(root, 'old', 'cam', NOW - 30 * HOUR, NOW - 26 * HOUR, 100);
    const recent = makeSession(root, 'live', 'cam', NOW - 3 * HOUR, NOW - HOUR, 100);
    const result = await pruneRecordings(root, { maxAgeHours: 24, now: NOW });
    expect(result.removed).toEqual([old]);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(join(root, 'old'))).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(root)).toBe(true);
  });

  it('removes the oldest sessions until the rest fit maxBytes', async () => {
    const root = tempRoot();
    const s1 = makeSession(root, 'live', 'a', NOW - 4 * HOUR, NOW - 4 * HOUR, 992); // 1000 bytes with the playlist
    const s2 = makeSession(root, 'live', 'b', NOW - 3 * HOUR, NOW - 3 * HOUR, 992);
    const s3 = makeSession(root, 'live', 'a', NOW - 2 * HOUR, NOW - 2 * HOUR, 992);
    const result = await pruneRecordings(root, { maxBytes: 1500, now: NOW });
    expect(result.removed).toEqual([s1, s2]);
    expect(result.keptBytes).toBe(1000);
    expect(existsSync(s3)).toBe(true);
    // KEY dir `a` still holds s3.
    expect(existsSync(join(root, 'live', 'a'))).toBe(true);
  });

  it('never removes a live session, by age or by bytes', async () => {
    const root = tempRoot();
    const live = makeSession(root, 'live', 'a', NOW - 50 * HOUR, NOW - 49 * HOUR, 5000);
    const older = makeSession(root, 'live', 'b', NOW - 60 * HOUR, NOW - 2 * HOUR, 100);
    const newer = makeSession(root, 'live', 'c', NOW - 2 * HOUR, NOW - HOUR, 100);
    const result = await pruneRecordings(root, { maxAgeHours: 24, maxBytes: 10, now: NOW, live: [live] });
    expect(result.removed).toEqual([older, newer]);
    expect(existsSync(live)).toBe(true);
    expect(result.keptBytes).toBeGreaterThan(10); // the live session alone exceeds the budget: kept anyway
  });

  it('removes nothing without limits', async () => {
    const root = tempRoot();
    makeSession(root, 'live', 'a', NOW - 500 * HOUR, NOW - 500 * HOUR, 100);
    expect((await pruneRecordings(root, { now: NOW })).removed).toEqual([]);
  });
});

describe('retention driven by the recorder', async () => {
  const events = await fixtureEvents();

  it('prunes at the first recording in a dir and after each recording ends, never the live one', async () => {
    const root = tempRoot();
    const ancient = makeSession(root, 'live', 'gone', Date.now() - 100 * HOUR, Date.now() - 99 * HOUR, 100);
    const retention = { maxAgeHours: 48, maxBytes: 1 };
    const a = publish(root, 'first', { retention });
    const b = publish(root, 'second', { retention });
    a.feed(events);
    b.feed(events, 0, Math.floor(events.length / 2));
    a.stream.end();
    await a.recorder.done;
    expect(a.recorder.state).toBe('ended');
    // The start pass removed the stale session; the end of `a` removed `a` itself (over budget),
    // but `b` is still recording: kept although it is over the byte budget too.
    expect(existsSync(ancient)).toBe(false);
    expect(existsSync(a.recorder.sessionDir)).toBe(false);
    expect(existsSync(b.recorder.sessionDir)).toBe(true);
    b.feed(events, Math.floor(events.length / 2));
    b.stream.end();
    await b.recorder.done;
    expect(existsSync(b.recorder.sessionDir)).toBe(false);
  });
});
