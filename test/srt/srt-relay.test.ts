/**
 * The libsrt relay (native/srt-relay.c through src/srt/srt-relay.ts) with real SRT publishers:
 * Debian's ffmpeg (built with libsrt) pushing MPEG-TS to srt://127.0.0.1:PORT?streamid=...
 *
 * The binary is built first when missing (scripts/build-native.mjs). Without it (no libsrt-dev,
 * pkg-config or cc), or without an ffmpeg that speaks SRT, the tests fail under CI
 * (REQUIRE_BROWSER=1 or CI set) and skip loudly elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { findOnPath } from '../../src/ladder/ffmpeg-path.js';
import { SrtRelay, type SrtCloseEvent, type SrtOpenEvent, type SrtRelayStartOptions } from '../../src/srt/srt-relay.js';
import { freeUdpPort, srtMissing } from '../helpers/srt.js';

const missing = await srtMissing('SRT relay tests');
const FFMPEG = findOnPath('ffmpeg') ?? 'ffmpeg';

interface Recorded {
  opens: SrtOpenEvent[];
  closes: SrtCloseEvent[];
  data: Map<number, Uint8Array[]>;
  bytes(conn: number): number;
  /** Resolves once cond() holds, re-checked on every relay event (no polling). */
  until(cond: () => boolean, label: string, timeoutMs?: number): Promise<void>;
}

function record(relay: SrtRelay): Recorded {
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const w of [...waiters]) w();
  };
  const rec: Recorded = {
    opens: [],
    closes: [],
    data: new Map(),
    bytes: (conn) => (rec.data.get(conn) ?? []).reduce((n, d) => n + d.length, 0),
    until: (cond, label, timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const done = (): void => {
          waiters.delete(check);
          clearTimeout(timer);
        };
        const check = (): void => {
          if (!cond()) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${label}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
  relay.on('open', (e) => {
    rec.opens.push(e);
    notify();
  });
  relay.on('data', (e) => {
    let list = rec.data.get(e.conn);
    if (!list) rec.data.set(e.conn, (list = []));
    list.push(e.data);
    notify();
  });
  relay.on('close', (e) => {
    rec.closes.push(e);
    notify();
  });
  return rec;
}

interface Publisher {
  child: ChildProcess;
  stderr: () => string;
  /** Exit code (null when killed by a signal); rejects when the process outlives timeoutMs. */
  done: Promise<number | null>;
}

const children: ChildProcess[] = [];
const relays: SrtRelay[] = [];

/** ffmpeg publishing `seconds` of a generated 320x180 picture as MPEG-TS over SRT. */
function publishSrt(port: number, query: string, seconds: number, timeoutMs = 30_000): Publisher {
  const args = ['-hide_banner', '-v', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25', '-t', String(seconds)];
  args.push('-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'mpegts', `srt://127.0.0.1:${port}?${query}`);
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill(child);
      reject(new Error(`ffmpeg (${query}) still running after ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  done.catch(() => undefined); // observed by the tests that await it
  return { child, stderr: () => stderr, done };
}

function kill(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startRelay(opts: Partial<SrtRelayStartOptions> = {}, logLines?: string[]): Promise<SrtRelay> {
  const logger = logLines ? pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }) : undefined;
  const relay = new SrtRelay({ startTimeoutMs: 10_000, stopGraceMs: 1000, ...(logger ? { logger } : {}) });
  relays.push(relay);
  await relay.start({ port: 0, host: '127.0.0.1', ...opts });
  return relay;
}

/** Every message is whole TS packets (the relay passes SRT messages through as received). */
function expectTs(chunks: Uint8Array[]): void {
  expect(chunks.length).toBeGreaterThan(0);
  expect(chunks[0]![0]).toBe(0x47);
  for (const c of chunks) {
    expect(c.length % 188).toBe(0);
    expect(c[0]).toBe(0x47);
  }
}

afterEach(async () => {
  for (const c of children.splice(0)) kill(c);
  await Promise.all(relays.splice(0).map((r) => r.stop()));
});

describe.skipIf(missing !== undefined)('SrtRelay (libsrt) with ffmpeg SRT publishers', () => {
  it('binds the port asked for and relays one publisher: OPEN, TS data, CLOSE when ffmpeg ends', async () => {
    const port = await freeUdpPort();
    const logLines: string[] = [];
    const relay = await startRelay({ port }, logLines);
    expect(relay.port).toBe(port);
    const rec = record(relay);
    const pub = publishSrt(port, 'streamid=live/abc', 3);
    try {
      await rec.until(() => rec.opens.length === 1, 'OPEN');
      const open = rec.opens[0]!;
      expect(open.streamid).toBe('live/abc');
      expect(open.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await pub.done).toBe(0);
      await rec.until(() => rec.closes.some((c) => c.conn === open.conn), 'CLOSE');
      expect(rec.closes).toEqual([{ conn: open.conn, reason: 'peer closed' }]);
      expect(rec.bytes(open.conn)).toBeGreaterThan(10_000);
      expectTs(rec.data.get(open.conn)!);
      expect([...rec.data.keys()]).toEqual([open.conn]);
      expect(relay.connections()).toEqual([]);
      // the relay's stderr lines reach the logger, at debug level
      const logged = logLines.map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(logged).toContainEqual(expect.objectContaining({ level: 20, msg: expect.stringMatching(/^srt-relay: listening on 127\.0\.0\.1:\d+/) }));
      // The stream id (a stream key, maybe a token) is not logged: only its length.
      expect(logged).toContainEqual(expect.objectContaining({ level: 20, msg: expect.stringContaining('with a stream id of 8 bytes') }));
      expect(logLines.join('\n')).not.toContain('live/abc');
    } finally {
      kill(pub.child);
    }
  });

  it('passes an access-control stream id through verbatim', async () => {
    const relay = await startRelay();
    expect(relay.port).toBeGreaterThan(0);
    const rec = record(relay);
    const streamid = '#!::r=live/xyz,m=publish';
    // raw in the URL: ffmpeg 5.1 passes the value on as is (later versions URL-decode it, which
    // leaves this one unchanged)
    const pub = publishSrt(relay.port!, `streamid=${streamid}`, 1);
    try {
      await rec.until(() => rec.opens.length === 1, 'OPEN');
      expect(rec.opens[0]!.streamid).toBe(streamid);
      expect(await pub.done).toBe(0);
      await rec.until(() => rec.closes.length === 1, 'CLOSE');
    } finally {
      kill(pub.child);
    }
  });

  it('serves two publishers at once on one port, as two connections', async () => {
    const relay = await startRelay();
    const rec = record(relay);
    const a = publishSrt(relay.port!, 'streamid=live/one', 3);
    const b = publishSrt(relay.port!, 'streamid=live/two', 3);
    try {
      await rec.until(() => rec.opens.length === 2, 'two OPENs');
      const one = rec.opens.find((o) => o.streamid === 'live/one')!;
      const two = rec.opens.find((o) => o.streamid === 'live/two')!;
      expect(one).toBeDefined();
      expect(two).toBeDefined();
      expect(one.conn).not.toBe(two.conn);
      // both flowing at the same time
      await rec.until(() => rec.bytes(one.conn) > 5000 && rec.bytes(two.conn) > 5000 && rec.closes.length === 0, 'data from both');
      expect(await a.done).toBe(0);
      expect(await b.done).toBe(0);
      await rec.until(() => rec.closes.length === 2, 'two CLOSEs');
      expect(rec.closes.map((c) => c.conn).sort()).toEqual([one.conn, two.conn].sort());
      expectTs(rec.data.get(one.conn)!);
      expectTs(rec.data.get(two.conn)!);
    } finally {
      kill(a.child);
      kill(b.child);
    }
  });

  it('with a passphrase: the right one gets through, a wrong or missing one is rejected by the handshake', async () => {
    const passphrase = 'correct-horse-battery';
    const logLines: string[] = [];
    const relay = await startRelay({ passphrase, pbkeylen: 16 }, logLines);
    const rec = record(relay);
    // the passphrase is in the child's environment, never on its command line
    const pid = relay.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(passphrase);
    expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(`SRT_PASSPHRASE=${passphrase}`);

    const wrong = publishSrt(relay.port!, 'streamid=live/abc&passphrase=wrong-horse-battery', 1);
    const none = publishSrt(relay.port!, 'streamid=live/abc', 1);
    try {
      expect(await wrong.done).not.toBe(0);
      expect(await none.done).not.toBe(0);
      expect(rec.opens).toEqual([]);
    } finally {
      kill(wrong.child);
      kill(none.child);
    }

    const right = publishSrt(relay.port!, `streamid=live/abc&passphrase=${passphrase}&pbkeylen=16`, 1);
    try {
      await rec.until(() => rec.opens.length === 1, 'OPEN');
      expect(rec.opens[0]!.streamid).toBe('live/abc');
      expect(await right.done).toBe(0);
      await rec.until(() => rec.closes.length === 1, 'CLOSE');
      expectTs(rec.data.get(rec.opens[0]!.conn)!);
    } finally {
      kill(right.child);
    }
    // libsrt's rejections were logged as warnings (long before the right caller's CLOSE), without the passphrase
    const logged = logLines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logged.filter((l) => l.level === 40 && l.msg.startsWith('srt-relay: warning: libsrt:')).length).toBeGreaterThanOrEqual(2);
    expect(logLines.join('\n')).not.toContain(passphrase);
  });

  it('close(conn) drops the publisher: CLOSE for it, and ffmpeg exits', async () => {
    const relay = await startRelay();
    const rec = record(relay);
    const pub = publishSrt(relay.port!, 'streamid=live/refused', 30, 40_000);
    try {
      await rec.until(() => rec.opens.length === 1 && rec.bytes(rec.opens[0]!.conn) > 0, 'OPEN and data');
      const { conn } = rec.opens[0]!;
      relay.close(conn);
      await rec.until(() => rec.closes.length === 1, 'CLOSE');
      expect(rec.closes[0]).toEqual({ conn, reason: 'closed by gateway' });
      await pub.done; // well before its 30 s (bounded by the publisher's timeout)
      expect(relay.connections()).toEqual([]);
    } finally {
      kill(pub.child);
    }
  });

  it('stop() ends the relay and its connections, leaving no process behind', async () => {
    const relay = await startRelay();
    const rec = record(relay);
    const pid = relay.pid!;
    expect(alive(pid)).toBe(true);
    const pub = publishSrt(relay.port!, 'streamid=live/abc', 30, 40_000);
    try {
      await rec.until(() => rec.opens.length === 1 && rec.bytes(rec.opens[0]!.conn) > 0, 'OPEN and data');
      await relay.stop();
      expect(alive(pid)).toBe(false);
      expect(relay.pid).toBeUndefined();
      expect(rec.closes).toEqual([{ conn: rec.opens[0]!.conn, reason: 'relay stopping' }]);
      await pub.done;
    } finally {
      kill(pub.child);
    }
  });

  it('start() rejects with the relay stderr when it cannot start', async () => {
    const relay = new SrtRelay({ startTimeoutMs: 10_000 });
    relays.push(relay);
    await expect(relay.start({ port: 0, host: '127.0.0.1', passphrase: 'short' })).rejects.toThrow(/srt: srt-relay exited \(code 2\) before READY:\n.*SRT_PASSPHRASE must be 10 to 79 characters/);
    expect(relay.pid).toBeUndefined();
  });
});
