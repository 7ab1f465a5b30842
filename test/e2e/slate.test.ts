/**
 * Stay on air (--slate), at the gateway: when the publisher drops, a slate at the live stream's
 * size stands in at once (a reconnect for the packagers: EXT-X-DISCONTINUITY, a new DASH Period),
 * the publisher coming back takes over at once, and when the slate's time is up the stream ends.
 */
import { describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, nextPublish, publish, startTestGateway } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';

describe('stay on air: the slate', () => {
  it('stands in when the publisher drops and makes way when it comes back; the playlists mark both joins', async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30 });
    let p = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/onair`, { loop: true });
    try {
      await nextPublish(gw, 'onair');
      const output = gw.outputs.get('live', 'onair')!;
      const video = output.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 2);
      const slateOn = nextPublish(gw, 'onair');
      p.process.kill('SIGKILL');
      const slate = await slateOn;
      expect(slate.preempt).toBeDefined();
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== video.segments[0]!.initId) && video.segments.length >= 4);
      expect(slate.video).toMatchObject({ width: 1280, height: 720 });
      expect(output.ended).toBe(false);
      const listing = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/onair/src/index.m3u8`)).text;
      expect(listing).toContain('#EXT-X-DISCONTINUITY');
      const mpd = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/onair/index.mpd`)).text;
      expect((mpd.match(/<Period /g) ?? []).length).toBeGreaterThanOrEqual(2);
      // The publisher is back: the slate makes way, the publish is not refused, the playlists go on.
      const back = nextPublish(gw, 'onair');
      p = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/onair`, { loop: true });
      const live = await back;
      expect(live.preempt).toBeUndefined();
      expect(slate.ended).toBe(true);
      const slateInit = video.segments[video.segments.length - 1]!.initId;
      await untilUpdate(video, () => video.segments.some((s) => s.initId !== slateInit && s.initId > slateInit));
      expect(gw.outputs.get('live', 'onair')).toBe(output);
      expect(output.ended).toBe(false);
      expect(p.process.exitCode).toBeNull();
    } finally {
      p.process.kill('SIGKILL');
      await gw.stop();
    }
  }, 90_000);

  it("ends the stream when the slate's time is up", async () => {
    const gw = await startTestGateway({ slate: true, reconnectGrace: 30, slateSeconds: 3 });
    const p = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${gw.rtmpPort}/live/brief`, { loop: true });
    try {
      await nextPublish(gw, 'brief');
      const output = gw.outputs.get('live', 'brief')!;
      const video = output.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 1);
      const slateOn = nextPublish(gw, 'brief');
      p.process.kill('SIGKILL');
      await slateOn;
      await untilUpdate(video, () => video.ended);
      expect(output.ended).toBe(true);
      expect((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/brief/src/index.m3u8`)).text).toContain('#EXT-X-ENDLIST');
    } finally {
      p.process.kill('SIGKILL');
      await gw.stop();
    }
  }, 60_000);
});
