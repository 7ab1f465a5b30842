/**
 * Enhanced RTMP multitrack → passthrough ABR: a test publisher sends three video tracks in one
 * connection (720p as track 0 with the audio, 480p and 360p as Multitrack OneTrack packets, as OBS
 * 31's multitrack video does); the master playlist and the MPD list three aligned renditions,
 * each decodes cleanly, hls.js plays them, and nothing is transcoded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { multitrackFixture, publishMultitrack, type ErtmpPublisher } from '../helpers/ertmp-publisher.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { decodeErrors, downloadRendition, keyframeTimes } from '../helpers/media-check.js';
import { playHlsIn } from '../helpers/players.js';
import { untilUpdate } from '../helpers/events.js';

let gw: RunningGateway;
let publisher: ErtmpPublisher;
let browser: BrowserSession | undefined;
let base: string;

describe('multitrack publish (the encoder sends its own ladder)', () => {
  beforeAll(async () => {
    gw = await startTestGateway({ transcode: true, transcodePreset: 'ultrafast' });
    const live = nextPublish(gw, 'multi');
    publisher = await publishMultitrack(await multitrackFixture(), `rtmp://127.0.0.1:${gw.rtmpPort}/live/multi`);
    const stream = await live;
    const output = gw.outputs.get('live', 'multi')!;
    await new Promise<void>((resolve) => {
      const check = (): void => (stream.videoRenditions.size === 2 && output.videos.size === 3 ? resolve() : void setTimeout(check, 50));
      check();
    });
    // Every rendition has joined the source's numbering with a few segments.
    for (const video of output.videos.values()) await untilUpdate(video, () => video.segments.length >= 3);
    base = `http://127.0.0.1:${gw.httpPort}/live/multi`;
    if (browserAvailable) browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    publisher?.stop();
    await browser?.close();
    await gw?.stop();
  });

  it('lists three renditions, cut with the same numbers, each decoding cleanly with keyframes where the source has them', async () => {
    const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    const sizes = master.playlists!.map((p) => `${p.attributes.RESOLUTION!.width}x${p.attributes.RESOLUTION!.height}`);
    expect(sizes.sort()).toEqual(['1280x720', '640x360', '854x480']);
    const downloads = await Promise.all(master.playlists!.map((p) => downloadRendition(new URL(p.uri, `${base}/index.m3u8`).href)));
    const numbered = downloads.map((d) => (d.playlist.mediaSequence ?? 0) + d.playlist.segments.length);
    // The same last segment number everywhere, give or take the one being finished.
    expect(Math.max(...numbered) - Math.min(...numbered)).toBeLessThanOrEqual(1);
    const keyframes: number[][] = [];
    for (const d of downloads) {
      expect(await decodeErrors(d.file)).toBe('');
      keyframes.push(await keyframeTimes(d.file));
    }
    // Keyframes a second apart at the same instants in every rendition.
    const common = keyframes.map((k) => new Set(k.map((t) => t.toFixed(2))));
    const shared = [...common[0]!].filter((t) => common.every((set) => set.has(t)));
    expect(shared.length).toBeGreaterThanOrEqual(3);
    const mpd = (await fetchText(`${base}/index.mpd`)).text;
    expect(mpd.match(/<Representation [^>]*mimeType="video\/mp4"|<Representation [^>]*width=/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('transcodes nothing, and says why', async () => {
    const api = JSON.parse((await fetchText(`${base.replace('/live/multi', '')}/api/streams/live/multi`)).text) as { ladder?: { reason?: string; transcoder?: unknown }; renditions: { id: string; height?: number }[] };
    expect(api.ladder?.reason).toMatch(/own renditions \(multitrack\)/);
    expect(api.ladder?.transcoder).toBeUndefined();
    expect(api.renditions.filter((r) => r.height !== undefined).map((r) => [r.id, r.height])).toEqual(expect.arrayContaining([['src', 720], ['track1', 480], ['track2', 360]]));
  });

  it('a push target can take one of the renditions (track1, 480p) with the stream audio: the receiving server gets 854x480 H.264 + AAC', async () => {
    const receiver = await startTestGateway({});
    try {
      const arrived = nextPublish(receiver, 'rung');
      const api = `http://127.0.0.1:${gw.httpPort}/api/streams/live/multi/push`;
      const res = await fetch(api, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: `rtmp://127.0.0.1:${receiver.rtmpPort}/live/rung`, rendition: 'track1' }) });
      expect(res.status).toBe(201);
      expect(((await res.json()) as { rendition: string }).rendition).toBe('track1');
      await arrived;
      const copied = receiver.outputs.get('live', 'rung')!;
      const video = copied.videos.get('src')!;
      await untilUpdate(video, () => video.segments.length >= 2 && copied.audio.segments.length >= 2);
      const vt = video.track!;
      expect(vt.kind === 'video' && [vt.width, vt.height]).toEqual([854, 480]);
      const d = await downloadRendition(`http://127.0.0.1:${receiver.httpPort}/live/rung/src/index.m3u8`);
      expect(await decodeErrors(d.file)).toBe('');
      const audio = await downloadRendition(`http://127.0.0.1:${receiver.httpPort}/live/rung/audio/index.m3u8`);
      expect(await decodeErrors(audio.file)).toBe('');
    } finally {
      await receiver.stop();
    }
  }, 60_000);

  it.runIf(browserAvailable)('hls.js plays it', async () => {
    const r = await playHlsIn(browser!, `http://127.0.0.1:${gw.httpPort}`, `${base}/index.m3u8`, false, 3);
    expect(r.fatal).toBeNull();
    expect(r.played).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
