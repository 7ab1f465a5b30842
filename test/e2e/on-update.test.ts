/**
 * on_update (nginx-rtmp semantics): while a publish runs the gateway POSTs call=update_publish
 * every --on-update-interval; a non-2xx answer ends the publish (the publisher's connection is
 * dropped and its playlists end); a webhook that cannot be reached does not.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway } from '../helpers/gateway.js';

describe('on_update', () => {
  it('a refusal ends a running publish at that update; the calls before it carry nginx-rtmp fields', async () => {
    const calls: URLSearchParams[] = [];
    let refusedAt = 0;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        calls.push(new URLSearchParams(body));
        // The first update allows, the second refuses.
        if (calls.length >= 2 && refusedAt === 0) refusedAt = calls.length;
        res.writeHead(calls.length >= 2 ? 403 : 200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/update`;
    const gw = await startTestGateway({ onUpdateUrl: url, onUpdateInterval: 0.5 });
    try {
      const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
      const ended = new Promise<void>((resolve) => gw.streams.on('unpublish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/upd?foo=bar`, { loop: true });
      await live;
      await ended;
      // Ended by the refusal (the second call), not before it.
      expect(refusedAt).toBe(2);
      expect(Object.fromEntries(calls[0]!)).toMatchObject({ call: 'update_publish', app: 'live', name: 'upd', type: 'live', addr: '127.0.0.1', foo: 'bar' });
      expect(Number(calls[1]!.get('time'))).toBeGreaterThanOrEqual(Number(calls[0]!.get('time')));
      // The publisher's connection was dropped: ffmpeg stops with an error.
      expect(await p.done).not.toBe(0);
      expect(gw.outputs.get('live', 'upd')?.ended).toBe(true);
    } finally {
      await gw.stop();
      hook.close();
    }
  }, 60_000);

  it('an unreachable on_update does not end the publish', async () => {
    const gw = await startTestGateway({ onUpdateUrl: 'http://127.0.0.1:1/update', onUpdateInterval: 0.3, webhookTimeout: 0.5 });
    try {
      const live = new Promise<void>((resolve) => gw.streams.on('publish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/keep`, { realtime: true });
      await live;
      // The whole short file goes through (several update intervals) and ends normally.
      expect(await p.done).toBe(0);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
