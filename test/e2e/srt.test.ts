/**
 * SRT ingest from outside: ffmpeg (Debian's, with libsrt) publishes MPEG-TS to
 * `srt://127.0.0.1:PORT?streamid=…` as OBS does; the stream gets its ladder, decodes, and plays in
 * hls.js; the streamid forms select the stream; a wrong passphrase and a refused key are turned
 * away while the others go on; the publisher coming back within the grace continues the playlists.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { playHlsIn } from '../helpers/players.js';
import { untilSourceSegments, untilUpdate } from '../helpers/events.js';
import { exited } from '../helpers/process.js';
import { ffmpegPath } from '../helpers/tools.js';
import { srtMissing } from '../helpers/srt.js';

const missing = await srtMissing('SRT ingest tests');

interface SrtPublisher {
  readonly process: ChildProcess;
  readonly done: Promise<number | null>;
  stderr(): string;
}

/** ffmpeg sending a file as MPEG-TS over SRT (in real time, looped), bounded in time. */
function publishSrt(file: string, url: string, seconds = 120): SrtPublisher {
  // ffmpeg itself is the child (killing a `timeout` wrapper would leave it running); `-t` bounds it.
  const child = spawn(ffmpegPath(), ['-v', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, '-t', String(seconds), '-c', 'copy', '-f', 'mpegts', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { process: child, done: exited(child), stderr: () => stderr };
}


const publishers: SrtPublisher[] = [];
function started(p: SrtPublisher): SrtPublisher {
  publishers.push(p);
  return p;
}

describe.skipIf(missing !== undefined)('SRT ingest', () => {
  let gw: RunningGateway;
  let browser: BrowserSession | undefined;

  beforeAll(async () => {
    gw = await startTestGateway({ srt: true, transcode: true, transcodePreset: 'ultrafast', maxTranscodes: 1, reconnectGrace: 20 });
    if (browserAvailable) browser = await openBrowser();
  }, 60_000);
  afterAll(async () => {
    for (const p of publishers) p.process.kill('SIGKILL');
    await browser?.close();
    await gw?.stop();
  });

  it('a B-frame H.264 + AAC publish over SRT gets its ladder, decodes cleanly and plays in hls.js', async () => {
    const live = nextPublish(gw, 'srt1');
    started(publishSrt(await fixture('av720p30-bframes'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/srt1`));
    await live;
    await untilSourceSegments(gw, 'srt1', 3);
    const base = `http://127.0.0.1:${gw.httpPort}/live/srt1`;
    // The ladder lists transcoded rungs beside the source, as for an RTMP publish.
    let master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    for (let i = 0; i < 30 && (master.playlists?.length ?? 0) < 2; i++) {
      await untilSourceSegments(gw, 'srt1', 4 + i);
      master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
    }
    expect(master.playlists!.length).toBeGreaterThanOrEqual(2);
    const heights = master.playlists!.map((p) => p.attributes.RESOLUTION?.height).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(heights.at(-1)).toBe(720);
    const source = master.playlists!.find((p) => p.attributes.RESOLUTION?.height === 720)!;
    expect(source.attributes.CODECS).toMatch(/^avc1\.64[0-9a-f]{4},mp4a\.40\.2$/);
    const rendition = await downloadRendition(new URL(source.uri, `${base}/index.m3u8`).href);
    expect(await decodeErrors(rendition.file)).toBe('');
    const streams = (await probe(rendition.file)).streams;
    expect(streams.map((s) => s.codec_name)).toEqual(['h264']);
    if (browser) {
      const r = await playHlsIn(browser, `http://127.0.0.1:${gw.httpPort}`, `${base}/index.m3u8`, false, 3);
      expect(r.fatal).toBeNull();
      expect(r.played).toBeGreaterThanOrEqual(3);
    }
  }, 180_000);

  it('the Access Control streamid form selects the stream; a second publisher to a live key is turned away', async () => {
    const live = nextPublish(gw, 'srt2');
    started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=#!::r=live/srt2,m=publish`));
    await live;
    await untilSourceSegments(gw, 'srt2', 1);
    const api = JSON.parse((await fetchText(`http://127.0.0.1:${gw.httpPort}/api/streams/live/srt2`)).text) as { renditions: { codec: string }[] };
    expect(api.renditions.map((r) => r.codec.split('.')[0]).sort()).toEqual(['avc1', 'mp4a']);
    const second = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/srt2`, 30));
    expect(await second.done).not.toBe(0);
    expect(gw.streams.get('live', 'srt2')).toBeDefined();
  }, 90_000);

  it('a publisher that drops and comes back within the grace continues the same playlists', async () => {
    const live = nextPublish(gw, 'srt3');
    const first = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/srt3`));
    await live;
    await untilSourceSegments(gw, 'srt3', 2);
    const before = gw.outputs.get('live', 'srt3')!;
    const video = before.videos.get('src')!;
    const lastBefore = video.segments.at(-1)!.sequence;
    // A caller that vanishes is noticed by libsrt's peer idle timeout (5 s); until then the key is live.
    const gone = new Promise<void>((resolve) => gw.streams.on('unpublish', (s) => s.key === 'srt3' && resolve()));
    first.process.kill('SIGKILL');
    await first.done;
    await gone;
    const back = nextPublish(gw, 'srt3');
    started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/srt3`));
    await back;
    await untilUpdate(video, () => (video.segments.at(-1)?.sequence ?? 0) >= lastBefore + 3);
    expect(gw.outputs.get('live', 'srt3')).toBe(before);
    const media = (await fetchText(`http://127.0.0.1:${gw.httpPort}/live/srt3/src/index.m3u8`)).text;
    expect(media).toContain('#EXT-X-DISCONTINUITY');
  }, 90_000);
});

describe.skipIf(missing !== undefined)('SRT ingest with a passphrase and publish keys', () => {
  let gw: RunningGateway;
  
  beforeAll(async () => {
    gw = await startTestGateway({ srt: true, srtPassphrase: 'correcthorsebattery', publishAuth: 'keys', publishKeys: ['letmein'] });
  });
  afterAll(async () => {
    for (const p of publishers) p.process.kill('SIGKILL');
    await gw?.stop();
  });

  it('a wrong passphrase is refused by the SRT handshake; the right one with a good key publishes', async () => {
    const wrong = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/letmein&passphrase=wronghorsebattery`, 30));
    expect(await wrong.done).not.toBe(0);
    expect(gw.streams.get('live', 'letmein')).toBeUndefined();
    const live = nextPublish(gw, 'letmein');
    started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/letmein&passphrase=correcthorsebattery`));
    await live;
    await untilSourceSegments(gw, 'letmein', 1);
  }, 60_000);

  it('a key the server does not know is refused: the caller is dropped, no stream appears', async () => {
    const refused = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/intruder&passphrase=correcthorsebattery`, 30));
    expect(await refused.done).not.toBe(0);
    expect(gw.streams.get('live', 'intruder')).toBeUndefined();
  }, 60_000);
});
