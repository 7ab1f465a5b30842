/**
 * Pull sources: a gateway fed from another gateway's RTMP URL (our RTMP client), from its HLS
 * URL and from an SRT listener (ffmpeg as the transport), always on, plays in hls.js like any published stream; an
 * on-demand source starts when its first viewer asks and that request is answered. An rtmps://
 * source with a self-signed certificate is pulled by a gateway process started with
 * NODE_EXTRA_CA_CERTS (and refused, naming the certificate, by one without).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { playHlsIn } from '../helpers/players.js';
import { untilSourceSegments, untilUpdate } from '../helpers/events.js';
import { freeUdpPort, srtMissing } from '../helpers/srt.js';
import { ffmpegPath, ffprobePath } from '../helpers/tools.js';
import { run } from '../helpers/process.js';
import { makeSelfSignedCertificate, startGatewayProcess, type GatewayProcess } from '../push/gateway-process.js';
import { spawn, type ChildProcess } from 'node:child_process';

const noSrt = await srtMissing('SRT pull tests');
const SRT_PASSPHRASE = 'pullpassphrase42';

let origin: RunningGateway;
let puller: RunningGateway;
let publisher: Publisher;
let srtSource: ChildProcess | undefined;
let browser: BrowserSession | undefined;

async function untilLive(gw: RunningGateway, key: string): Promise<void> {
  if (!gw.streams.get('live', key)) await new Promise<void>((resolve) => gw.streams.on('publish', (s) => s.key === key && resolve()));
  await untilSourceSegments(gw, key, 2);
}

describe('pull sources', () => {
  beforeAll(async () => {
    origin = await startTestGateway();
    const live = new Promise<void>((resolve) => origin.streams.on('publish', () => resolve()));
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${origin.rtmpPort}/live/orig`, { loop: true });
    await live;
    const video = origin.outputs.get('live', 'orig')!.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 2);
    const rtmp = `rtmp://127.0.0.1:${origin.rtmpPort}/live/orig`;
    // An SRT listener (a camera or encoder in listener mode) that the gateway calls.
    const srtPort = await freeUdpPort();
    if (!noSrt) {
      srtSource = spawn(ffmpegPath(), ['-v', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', await fixture('av720p30'), '-t', '300', '-c', 'copy', '-f', 'mpegts', `srt://127.0.0.1:${srtPort}?mode=listener&passphrase=${SRT_PASSPHRASE}`], { stdio: 'ignore' });
    }
    puller = await startTestGateway({
      // A dropped source comes back within the grace: the playlists go on.
      reconnectGrace: 30,
      pull: {
        'live/fromrtmp': { url: rtmp },
        'live/fromhls': { url: `http://127.0.0.1:${origin.httpPort}/live/orig/index.m3u8` },
        'live/ondemand': { url: rtmp, onDemand: true },
        ...(noSrt ? {} : { 'live/fromsrt': { url: `srt://127.0.0.1:${srtPort}?streamid=camera-7&passphrase=${SRT_PASSPHRASE}` } }),
      },
    });
    if (browserAvailable) browser = await openBrowser();
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    srtSource?.kill('SIGKILL');
    await browser?.close();
    await puller?.stop();
    await origin?.stop();
  });

  it('always-on sources from an RTMP URL and an HLS URL become live streams with every output', async () => {
    await untilLive(puller, 'fromrtmp');
    await untilLive(puller, 'fromhls');
    for (const key of ['fromrtmp', 'fromhls']) {
      const info = JSON.parse((await fetchText(`http://127.0.0.1:${puller.httpPort}/api/streams/live/${key}`)).text) as { pull: { state: string }; renditions: { codec: string; height?: number }[] };
      expect(info.pull.state).toBe('live');
      expect(info.renditions.map((r) => r.codec.split('.')[0]).sort()).toEqual(['avc1', 'mp4a']);
      expect((await fetchText(`http://127.0.0.1:${puller.httpPort}/live/${key}/index.mpd`)).status).toBe(200);
    }
  }, 60_000);

  it.runIf(browserAvailable)('hls.js plays both', async () => {
    const base = `http://127.0.0.1:${puller.httpPort}`;
    for (const key of ['fromrtmp', 'fromhls']) {
      const r = await playHlsIn(browser!, base, `${base}/live/${key}/index.m3u8`, false, 4);
      expect(r.fatal, key).toBeNull();
      expect(r.played, key).toBeGreaterThanOrEqual(4);
      expect(r.videoWidth, key).toBe(1280);
    }
  }, 90_000);

  it.skipIf(noSrt !== undefined)('an srt:// source (the gateway calls an SRT listener) becomes a live stream that plays', async () => {
    await untilLive(puller, 'fromsrt');
    const info = JSON.parse((await fetchText(`http://127.0.0.1:${puller.httpPort}/api/streams/live/fromsrt`)).text) as { pull: { state: string }; renditions: { codec: string; height?: number }[] };
    expect(info.pull.state).toBe('live');
    expect(info.renditions.map((r) => r.codec.split('.')[0]).sort()).toEqual(['avc1', 'mp4a']);
    // The passphrase is on no command line but the test's own listener's (ps shows command lines).
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== srtSource?.pid)) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      expect(cmdline).not.toContain(SRT_PASSPHRASE);
      expect(cmdline).not.toContain('camera-7');
    }
    if (browser) {
      const base = `http://127.0.0.1:${puller.httpPort}`;
      const r = await playHlsIn(browser, base, `${base}/live/fromsrt/index.m3u8`, false, 3);
      expect(r.fatal).toBeNull();
      expect(r.played).toBeGreaterThanOrEqual(3);
    }
  }, 60_000);

  it('the source stream drops and comes back: the pulled stream goes on (reconnect within the grace)', async () => {
    const output = puller.outputs.get('live', 'fromrtmp')!;
    const video = output.videos.get('src')!;
    const ended = new Promise<void>((resolve) => origin.streams.on('unpublish', (s) => s.key === 'orig' && resolve()));
    publisher.process.kill('SIGKILL');
    await ended;
    // The pull source sees the end and retries until the source is back.
    await new Promise<void>((resolve) => puller.streams.on('unpublish', (s) => s.key === 'fromrtmp' && resolve()));
    const back = new Promise<void>((resolve) => puller.streams.on('publish', (s) => s.key === 'fromrtmp' && resolve()));
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${origin.rtmpPort}/live/orig`, { loop: true });
    await back;
    const before = video.segments[video.segments.length - 1]!.sequence;
    await untilUpdate(video, () => video.segments[video.segments.length - 1]!.sequence >= before + 2);
    // Same output, same playlists: the viewers' stream went on.
    expect(puller.outputs.get('live', 'fromrtmp')).toBe(output);
    expect(output.ended).toBe(false);
  }, 90_000);

  it('an on-demand source starts with its first viewer, whose request is answered', async () => {
    expect(puller.streams.get('live', 'ondemand')).toBeUndefined();
    const r = await fetchText(`http://127.0.0.1:${puller.httpPort}/live/ondemand/index.m3u8`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('#EXT-X-STREAM-INF');
    expect(puller.streams.get('live', 'ondemand')).toBeDefined();
  }, 60_000);
});

describe('pull from an rtmps:// source with a self-signed certificate (trusted through NODE_EXTRA_CA_CERTS)', () => {
  let tlsDir: string;
  let cert: string;
  let secureOrigin: RunningGateway;
  let feed: Publisher | undefined;
  const started: GatewayProcess[] = [];

  beforeAll(async () => {
    tlsDir = mkdtempSync(join(tmpdir(), 'pull-rtmps-'));
    const made = makeSelfSignedCertificate(tlsDir);
    cert = made.cert;
    secureOrigin = await startTestGateway({ tlsCert: made.cert, tlsKey: made.key, rtmpsPort: 0, httpsPort: 0 });
    const live = new Promise<void>((resolve) => secureOrigin.streams.on('publish', () => resolve()));
    feed = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${secureOrigin.rtmpPort}/live/orig`, { loop: true });
    await live;
  }, 60_000);
  afterAll(async () => {
    feed?.process.kill('SIGKILL');
    for (const p of started) await p.stop();
    await secureOrigin?.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  });

  const pullConfig = (): string => JSON.stringify({ 'live/secure': { url: `rtmps://127.0.0.1:${secureOrigin.rtmpsPort}/live/orig` } });

  it('without the certificate trusted, the pull fails with the certificate error', async () => {
    const gw = await startGatewayProcess(['--pull', pullConfig()]);
    started.push(gw);
    const line = await gw.logLine(/pull source lost/);
    expect(line).toMatch(/self[- ]signed certificate/i);
    await gw.stop();
  }, 60_000);

  it('a gateway process started with NODE_EXTRA_CA_CERTS pulls it into a live stream with playable HLS', async () => {
    const gw = await startGatewayProcess(['--pull', pullConfig()], { NODE_EXTRA_CA_CERTS: cert });
    started.push(gw);
    await gw.logLine(/pull started/);
    const api = `http://127.0.0.1:${gw.httpPort}/api/streams/live/secure`;
    // The other process's segments are seen only through HTTP: polled.
    const deadline = Date.now() + 30_000;
    let info: { pull: { state: string; lastError: string | null }; renditions: { codec: string }[] } | undefined;
    for (;;) {
      const r = await fetchText(api);
      if (r.status === 200) {
        info = JSON.parse(r.text) as typeof info;
        const playlist = await fetchText(`http://127.0.0.1:${gw.httpPort}/live/secure/index.m3u8`);
        if (info!.pull.state === 'live' && playlist.status === 200) {
          const media = /^(?!#)(.+\.m3u8.*)$/m.exec(playlist.text)?.[1];
          if (media && ((await fetchText(new URL(media, `http://127.0.0.1:${gw.httpPort}/live/secure/`).href)).text.match(/#EXTINF/g)?.length ?? 0) >= 2) break;
        }
      }
      if (Date.now() > deadline) throw new Error(`no live pulled stream with 2 segments: ${JSON.stringify(info)}\n${gw.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(info!.pull.lastError).toBeNull();
    expect(info!.renditions.map((r) => r.codec.split('.')[0]).sort()).toEqual(['avc1', 'mp4a']);
    const probe = await run(ffprobePath(), ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `http://127.0.0.1:${gw.httpPort}/live/secure/index.m3u8`], 30_000);
    expect([...new Set(probe.stdout.split('\n').map((l) => l.trim()).filter(Boolean))].sort()).toEqual(['aac', 'h264']);
  }, 90_000);
});
