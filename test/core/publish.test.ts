/**
 * The protocol-neutral publish path: a second ingest (a tiny in-test publisher that reads an FLV
 * file and pushes its tracks and frames through PublishPath / Publisher, no RTMP at all) gives
 * the same playlists as the same file published over RTMP by ffmpeg.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { PublishPath, type PublishGate } from '../../src/core/publish.js';
import { StreamRegistry } from '../../src/core/stream.js';
import { readFlvSource } from '../ladder/flv-source.js';
import { committedFixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import type { Publisher } from '../../src/core/publish.js';

/** Pushes a whole FLV file through a Publisher, as any ingest protocol would. */
function pushFlvFile(publisher: Publisher, file: string): void {
  for (const e of readFlvSource(file).events) {
    if (e.type === 'track') publisher.track(e.track);
    else publisher.frame(e.frame);
  }
  publisher.end('end of file');
}

const request = (key: string) => ({ app: 'live', key, query: '', ip: '127.0.0.1' });

describe('PublishPath', () => {
  it('limits, duplicate keys and names are refused in RTMP status words; end() frees the key once', async () => {
    const registry = new StreamRegistry();
    const done: string[] = [];
    const gate: PublishGate = { authorize: async (r) => (r.key === 'bad' ? { ok: false, reason: 'no', status: 'NetStream.Publish.Unauthorized' } : { ok: true }), publishDone: (r) => void done.push(r.key) };
    const path = new PublishPath({ registry, gate, maxPublishers: 2 });
    expect(path.gated).toBe(true);
    expect(await path.authorize(request('bad'))).toMatchObject({ ok: false, status: 'NetStream.Publish.Unauthorized' });
    expect(await path.authorize(request('../x'))).toMatchObject({ ok: false, status: 'NetStream.Publish.BadName' });
    expect(await new PublishPath({ registry, gate: { authorize: () => Promise.reject(new Error('down')) } }).authorize(request('a'))).toMatchObject({ ok: false, status: 'NetStream.Publish.Unauthorized' });
    const a = path.start(request('a'), silentLogger());
    expect(a.ok).toBe(true);
    expect(path.start(request('a'), silentLogger())).toMatchObject({ ok: false, status: 'NetStream.Publish.BadName', reason: 'stream is already live' });
    const b = path.start(request('b'), silentLogger());
    expect(path.start(request('c'), silentLogger())).toMatchObject({ ok: false, reason: expect.stringMatching(/publisher limit/) });
    if (!a.ok || !b.ok) throw new Error('unreachable');
    a.end('gone');
    a.end('gone again');
    expect(done).toEqual(['a']);
    expect(registry.get('live', 'a')).toBeUndefined();
    expect(path.start(request('a'), silentLogger()).ok).toBe(true);
  });

  it('a second ingest through the publish API gives the playlists RTMP gives for the same file', async () => {
    const gw = await startTestGateway();
    try {
      const file = committedFixture('bframes3-720p30');
      // Over RTMP: ffmpeg sends the file as fast as it can and leaves.
      const rtmpLive = new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === 'viartmp' && resolve()));
      const p = publish(file, `rtmp://127.0.0.1:${gw.rtmpPort}/live/viartmp`, { realtime: false });
      await rtmpLive;
      expect(await p.done).toBe(0);
      const viaRtmp = gw.outputs.get('live', 'viartmp')!;
      await untilUpdate(viaRtmp.videos.get('src')!, () => viaRtmp.ended);
      // Through the publish path alone.
      const publisher = gw.publishPath.start(request('viaapi'), silentLogger());
      if (!publisher.ok) throw new Error(publisher.reason);
      pushFlvFile(publisher, file);
      const viaApi = gw.outputs.get('live', 'viaapi')!;
      await untilUpdate(viaApi.videos.get('src')!, () => viaApi.ended);

      for (const rendition of ['src', 'audio']) {
        const [a, b] = await Promise.all(
          ['viartmp', 'viaapi'].map(async (key) => parseM3u8((await fetchText(`http://127.0.0.1:${gw.httpPort}/live/${key}/${rendition}/index.m3u8`)).text)),
        );
        expect(a!.segments.length, `${rendition} segments`).toBeGreaterThanOrEqual(2);
        expect(b!.segments.map((s) => s.duration)).toEqual(a!.segments.map((s) => s.duration));
        expect(b!.mediaSequence).toBe(a!.mediaSequence);
        expect(b!.endList).toBe(true);
      }
      const master = (key: string) => fetchText(`http://127.0.0.1:${gw.httpPort}/live/${key}/index.m3u8`).then((r) => r.text);
      expect(await master('viaapi')).toBe(await master('viartmp'));
    } finally {
      await gw.stop();
    }
  });
});
