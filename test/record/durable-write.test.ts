/**
 * Temp file + fsync + rename + directory fsync, and the serial queue that orders a track's writes.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TMP_SUFFIX, nodeFs, writeFileDurably, type RecorderFileHandle, type RecorderFs } from '../../src/record/durable-write.js';
import { SerialQueue } from '../../src/record/serial-queue.js';

const dir = mkdtempSync(join(tmpdir(), 'sg-durable-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Records the calls made, and lets each write accept at most `maxWrite` bytes (short writes). */
function tracingFs(maxWrite = Infinity): { fs: RecorderFs; calls: string[] } {
  const calls: string[] = [];
  const fs: RecorderFs = {
    mkdir: (p, o) => nodeFs.mkdir(p, o),
    async open(path, flags) {
      const h = await nodeFs.open(path, flags);
      const name = path.slice(dir.length + 1) || '.';
      calls.push(`open ${name} ${flags}`);
      const handle: RecorderFileHandle = {
        write: (b, o, l, p) => h.write(b, o, Math.min(l, maxWrite), p),
        sync: async () => {
          calls.push(`sync ${name}`);
          await h.sync();
        },
        close: () => h.close(),
      };
      return handle;
    },
    async rename(from, to) {
      calls.push(`rename ${from.slice(dir.length + 1)} ${to.slice(dir.length + 1)}`);
      await nodeFs.rename(from, to);
    },
  };
  return { fs, calls };
}

describe('writeFileDurably', () => {
  it('writes NAME.tmp, fsyncs it, renames it, fsyncs the directory', async () => {
    const { fs, calls } = tracingFs();
    const n = await writeFileDurably(fs, dir, 'a.m4s', [new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])]);
    expect(n).toBe(3);
    expect(calls).toEqual(['open a.m4s.tmp w', 'sync a.m4s.tmp', 'rename a.m4s.tmp a.m4s', 'open . r', 'sync .']);
    expect([...readFileSync(join(dir, 'a.m4s'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).filter((f) => f.endsWith(TMP_SUFFIX))).toEqual([]);
  });

  it('continues short writes and writes strings as UTF-8', async () => {
    const { fs } = tracingFs(2);
    const bytes = new Uint8Array(101).map((_, i) => i);
    await writeFileDurably(fs, dir, 'b.m4s', [bytes.subarray(0, 7), bytes.subarray(7)]);
    expect([...readFileSync(join(dir, 'b.m4s'))]).toEqual([...bytes]);
    await writeFileDurably(fs, dir, 'c.m3u8', '#EXTM3U\n# é\n');
    expect(readFileSync(join(dir, 'c.m3u8'), 'utf8')).toBe('#EXTM3U\n# é\n');
  });

  it('truncates a .tmp left by a crash and replaces the old file atomically', async () => {
    writeFileSync(join(dir, 'd.m3u8'), 'old');
    writeFileSync(join(dir, 'd.m3u8.tmp'), 'a much longer leftover from a crash');
    await writeFileDurably(nodeFs, dir, 'd.m3u8', 'new');
    expect(readFileSync(join(dir, 'd.m3u8'), 'utf8')).toBe('new');
    expect(existsSync(join(dir, 'd.m3u8.tmp'))).toBe(false);
  });

  it('a failed write leaves the old file in place and rejects', async () => {
    writeFileSync(join(dir, 'e.m3u8'), 'old');
    const failing: RecorderFs = {
      ...nodeFs,
      async open(path, flags) {
        const h = await nodeFs.open(path, flags);
        return { write: () => Promise.reject(new Error('EIO')), sync: () => h.sync(), close: () => h.close() };
      },
    };
    await expect(writeFileDurably(failing, dir, 'e.m3u8', 'new')).rejects.toThrow('EIO');
    expect(readFileSync(join(dir, 'e.m3u8'), 'utf8')).toBe('old');
  });
});

describe('SerialQueue', () => {
  it('runs jobs one at a time in order, counts held bytes, and goes on after a failure', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const errors: unknown[] = [];
    let release: () => void = () => undefined;
    q.push(() => new Promise<void>((r) => { log.push('a start'); release = () => { log.push('a end'); r(); }; }), 10, (e) => errors.push(e));
    q.push(async () => { log.push('b'); throw new Error('boom'); }, 5, (e) => errors.push(e));
    q.push(async () => { log.push('c'); }, 1, (e) => errors.push(e));
    expect(q.pendingBytes).toBe(16);
    expect(q.length).toBe(3);
    await Promise.resolve();
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    release();
    await q.idle();
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(q.pendingBytes).toBe(0);
    expect(q.length).toBe(0);
  });
});
