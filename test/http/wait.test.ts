/** Blocking reload's waiting primitive, with fake clocks: answered on the event, 503 path on timeout. */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Response } from 'express';
import { waitUntil } from '../../src/http/wait.js';

class FakeSource extends EventEmitter<{ update: [] }> {}

function fakeResponse(): Response & EventEmitter {
  return new EventEmitter() as unknown as Response & EventEmitter;
}

describe('waitUntil', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('answers at once when ready', async () => {
    expect(await waitUntil([new FakeSource()], () => true, 1000, fakeResponse())).toBe(true);
  });

  it('answers on the update that makes it ready, not before, and removes its listeners', async () => {
    const src = new FakeSource();
    let ready = false;
    const p = waitUntil([src], () => ready, 6000, fakeResponse());
    let settled = false;
    void p.then(() => (settled = true));
    src.emit('update');
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBe(false);
    ready = true;
    src.emit('update');
    expect(await p).toBe(true);
    expect(src.listenerCount('update')).toBe(0);
  });

  it('gives up after the timeout (the route answers 503)', async () => {
    const src = new FakeSource();
    const p = waitUntil([src], () => false, 6000, fakeResponse());
    await vi.advanceTimersByTimeAsync(5999);
    let settled = false;
    void p.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe(false);
    expect(src.listenerCount('update')).toBe(0);
  });

  it('stops waiting when the client goes away', async () => {
    const src = new FakeSource();
    const res = fakeResponse();
    const p = waitUntil([src], () => false, 60_000, res);
    res.emit('close');
    expect(await p).toBe(false);
    expect(src.listenerCount('update')).toBe(0);
    expect(res.listenerCount('close')).toBe(0);
  });
});
