/** The ingest checker through the real API: a 5 s keyframe interval and B-frames are reported, with OBS advice. */
import { describe, expect, it } from 'vitest';
import { untilUpdate } from '../helpers/events.js';
import { fixture } from '../helpers/fixtures.js';
import { publish, startTestGateway } from '../helpers/gateway.js';

describe('ingest checker', () => {
  it('reports the keyframe interval and B-frames of a publisher in /api/streams, and a thumbnail is served', async () => {
    const gw = await startTestGateway();
    try {
      const live = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
      const p = publish(await fixture('gop5s-bframes'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/checkme`);
      await live;
      const video = gw.outputs.get('live', 'checkme')!.videos.get('src')!;
      // Two keyframes 5 s apart make one complete (long) segment.
      await untilUpdate(video, () => video.segments.length >= 1);
      const view = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/live/checkme`)).json()) as {
        warnings: { code: string; obs: string }[];
        urls: { thumbnail: string };
      };
      const codes = view.warnings.map((w) => w.code);
      expect(codes).toContain('keyframe-interval');
      expect(codes).toContain('b-frames');
      expect(view.warnings.find((w) => w.code === 'keyframe-interval')!.obs).toMatch(/Keyframe Interval/i);
      const thumb = await fetch(`http://127.0.0.1:${gw.httpPort}${view.urls.thumbnail}`);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      const bytes = new Uint8Array(await thumb.arrayBuffer());
      expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
      expect((await fetch(`http://127.0.0.1:${gw.httpPort}/readyz`)).status).toBe(200);
      p.process.kill('SIGKILL');
    } finally {
      await gw.stop();
    }
  });

  it('an ended stream still has its last picture (never a broken image on the page)', async () => {
    const gw = await startTestGateway();
    try {
      const live = new Promise<void>((resolve) => gw.streams.once('publish', () => resolve()));
      const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/ended`);
      await live;
      const output = gw.outputs.get('live', 'ended')!;
      // The publisher sends the whole file and leaves: the stream ends, its segments go to the cache.
      expect(await p.done).toBe(0);
      await untilUpdate(output.videos.get('src')!, () => output.ended);
      const view = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/live/ended`)).json()) as { live: boolean; urls: { thumbnail: string } };
      expect(view.live).toBe(false);
      const thumb = await fetch(`http://127.0.0.1:${gw.httpPort}${view.urls.thumbnail}`);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/jpeg');
      const bytes = new Uint8Array(await thumb.arrayBuffer());
      expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    } finally {
      await gw.stop();
    }
  });
});
