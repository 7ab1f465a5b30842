/**
 * Graceful termination (deploy/k8s): with --shutdown-drain, stopping ends every stream at once
 * (ENDLIST), answers /readyz with 503 and keeps HTTP serving the ended playlists for the drain,
 * so players and edges see the end instead of a refused connection.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';

let gw: RunningGateway | undefined;
let publisher: Publisher | undefined;
afterAll(async () => {
  publisher?.process.kill('SIGKILL');
  await gw?.stop();
});

describe('shutdown drain', () => {
  it('ends the playlists, says not ready, and keeps serving them until the drain is over', async () => {
    gw = await startTestGateway({ shutdownDrain: 3, reconnectGrace: 10 });
    const base = `http://127.0.0.1:${gw.httpPort}`;
    const live = new Promise<void>((resolve) => gw!.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/drain`, { loop: true });
    await live;
    const video = gw.outputs.get('live', 'drain')!.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 1);
    expect((await fetchText(`${base}/readyz`)).status).toBe(200);
    expect((await fetchText(`${base}/live/drain/src/index.m3u8`)).text).not.toContain('#EXT-X-ENDLIST');

    const stopping = gw.stop();
    // Streams end at once, not after the reconnect grace: the output is finished as stopping begins.
    await untilUpdate(video, () => video.ended);
    const ready = await fetchText(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ ready: false });
    const ended = await fetchText(`${base}/live/drain/src/index.m3u8`);
    expect(ended.status).toBe(200);
    expect(ended.text).toContain('#EXT-X-ENDLIST');
    expect((await fetchText(`${base}/live/drain/index.mpd`)).text).toContain('type="static"');
    await stopping;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    gw = undefined;
  }, 60_000);
});
