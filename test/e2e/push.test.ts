/**
 * Restreaming: one published stream pushed at once to a second gateway (added through the API)
 * and to Debian's nginx-rtmp (from the config), both serving playable HLS (ffprobe reads them);
 * the pushed stream starts from the keyframe the source had when the target was added; killing
 * one receiver leaves the other and the local viewers going, and the target comes back by itself
 * when its receiver does. Per-target series in /metrics. A per-app (`APP`) config entry applies to
 * a new publish; a target that takes the stream and stops reading drops frames and never holds up
 * the local playlist. An rtmps:// receiver with a self-signed certificate is pushed to by a gateway
 * process started with NODE_EXTRA_CA_CERTS (and refused, naming the certificate, without it).
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { NGINX_RTMP_MODULE, peerMissing, startNginxRtmp, type VsServer } from '../../bench/vs-servers.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, nextPublish, publish, startTestGateway, type Publisher } from '../helpers/gateway.js';
import { untilUpdate } from '../helpers/events.js';
import { run } from '../helpers/process.js';
import { ffprobePath } from '../helpers/tools.js';
import { srtMissing } from '../helpers/srt.js';
import { makeSelfSignedCertificate, startGatewayProcess, type GatewayProcess } from '../push/gateway-process.js';

const missing = peerMissing('nginx-rtmp');
if (missing && process.env['REQUIRE_BROWSER'] === '1') throw new Error(`REQUIRE_BROWSER=1 (CI): ${missing}`);
void NGINX_RTMP_MODULE;
const noSrt = await srtMissing('SRT push tests');

let source: RunningGateway;
let receiver: RunningGateway | undefined;
let nginx: VsServer;
let publisher: Publisher;
let dir: string;
let api: string;

interface PushView {
  id: string;
  url: string;
  state: string;
  bytes: number;
  reconnects: number;
  source: string;
  lastError: string | null;
}

async function targets(): Promise<PushView[]> {
  return ((await (await fetch(`${api}/push`)).json()) as { push: PushView[] }).push;
}

/** ffprobe's streams of a live HLS URL: what a player would find there. */
async function probe(url: string): Promise<string[]> {
  const r = await run(ffprobePath(), ['-v', 'error', '-rw_timeout', '10000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url], 30_000);
  return [...new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean))].sort();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Polls `check` until it holds: the other server's state is seen only through HTTP. */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.runIf(!missing)('push targets (restreaming)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'push-test-'));
    // As root, nginx's workers run as nobody: they write the HLS files here.
    chmodSync(dir, 0o777);
    nginx = await startNginxRtmp({ streams: 1, dir, bound: 300, dash: false });
    const n = nginx.targets[0]!;
    source = await startTestGateway({ push: { 'live/src': [{ url: `rtmp://127.0.0.1:${n.port}/live/${n.key}` }] } });
    receiver = await startTestGateway();
    api = `http://127.0.0.1:${source.httpPort}/api/streams/live/src`;
    const live = nextPublish(source, 'src');
    publisher = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${source.rtmpPort}/live/src`, { loop: true });
    await live;
    const video = source.outputs.get('live', 'src')!.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 1);
  }, 90_000);
  afterAll(async () => {
    publisher?.process.kill('SIGKILL');
    await source?.stop();
    await receiver?.stop();
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes to a target added through the API from the last keyframe, and to the configured nginx-rtmp', async () => {
    const hub = source.relays.get('live', 'src')!;
    const keyframeAtAdd = hub.start().gop[0]!.timestamp;
    const arrived = nextPublish(receiver!, 'copy');
    const res = await fetch(`${api}/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: `rtmp://127.0.0.1:${receiver!.rtmpPort}/live/copy`, rendition: 'src' }) });
    expect(res.status).toBe(201);
    const added = (await res.json()) as PushView;
    expect(added.url).toBe(`rtmp://127.0.0.1:${receiver!.rtmpPort}/live/…`);
    const copy = await arrived;
    // The first video frame the receiver gets is the keyframe the source had when the target was added.
    const firstVideo = await new Promise<number>((resolve) => {
      const off = copy.subscribe({
        onTrack: () => undefined,
        onFrame: (f) => {
          if (f.kind !== 'video') return;
          off();
          resolve(Math.round((f.dts / (copy.video?.timescale ?? 90_000)) * 1000));
        },
        onEnd: () => undefined,
      });
    });
    expect(firstVideo).toBeLessThanOrEqual(keyframeAtAdd + 1);
    const copied = receiver!.outputs.get('live', 'copy')!.videos.get('src')!;
    await untilUpdate(copied, () => copied.segments.length >= 2);
    expect(await probe(`http://127.0.0.1:${receiver!.httpPort}/live/copy/index.m3u8`)).toEqual(['aac', 'h264']);
    await eventually(targets, (t) => t.length === 2 && t.every((x) => x.state === 'live' && x.bytes > 0), 'both targets live');
    expect((await targets()).map((t) => t.source).sort()).toEqual(['api', 'config']);
    await eventually(() => fetch(nginx.views[0]!.hls).then((r) => r.status), (s) => s === 200, 'nginx-rtmp HLS playlist');
    expect(await probe(nginx.views[0]!.hls)).toEqual(['aac', 'h264']);
  }, 90_000);

  it('a receiver killed: the other target and the local viewers go on; it is reconnected when it returns', async () => {
    const port = receiver!.rtmpPort;
    await receiver!.stop();
    receiver = undefined;
    const lost = await eventually(targets, (t) => t.some((x) => x.state === 'retrying'), 'the killed target retrying');
    expect(lost.find((x) => x.source === 'config')!.state).toBe('live');
    // Local viewers: the source's playlist goes on without a gap.
    const video = source.outputs.get('live', 'src')!.videos.get('src')!;
    const before = video.segments[video.segments.length - 1]!.sequence;
    await untilUpdate(video, () => video.segments[video.segments.length - 1]!.sequence >= before + 2);
    expect(video.segments.some((s) => s.gap)).toBe(false);
    const nginxBytes = (await targets()).find((x) => x.source === 'config')!.bytes;
    await eventually(targets, (t) => t.find((x) => x.source === 'config')!.bytes > nginxBytes, 'nginx-rtmp still fed');
    // The receiver comes back on the same port: the target reconnects by itself (back-off 1, 2, 4 s...).
    receiver = await startTestGateway({ rtmpPort: port });
    const back = nextPublish(receiver, 'copy');
    await back;
    const again = await eventually(targets, (t) => t.every((x) => x.state === 'live'), 'the target live again');
    expect(again.find((x) => x.source === 'api')!.reconnects).toBeGreaterThanOrEqual(1);
    const listed = (await (await fetch(api)).json()) as { push: PushView[] };
    expect(listed.push).toHaveLength(2);
    expect(JSON.stringify(listed)).not.toContain('/live/copy');
  }, 90_000);

  it('a target removed through the API stops; bad targets are refused', async () => {
    const apiTarget = (await targets()).find((x) => x.source === 'api')!;
    const ended = new Promise<void>((resolve) => receiver!.streams.on('unpublish', (s) => s.key === 'copy' && resolve()));
    expect((await fetch(`${api}/push/${apiTarget.id}`, { method: 'DELETE' })).status).toBe(204);
    await ended;
    expect((await targets()).map((t) => t.source)).toEqual(['config']);
    expect((await fetch(`${api}/push/${apiTarget.id}`, { method: 'DELETE' })).status).toBe(404);
    const bad = await fetch(`${api}/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: 'http://example.com/x' }) });
    expect(bad.status).toBe(400);
    const rung = await fetch(`${api}/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: 'rtmp://127.0.0.1:1/live/x', rendition: '../360p' }) });
    expect(rung.status).toBe(400);
    const metrics = (await fetchText(`http://127.0.0.1:${source.httpPort}/metrics`)).text;
    expect(metrics).toMatch(/^streamgate_push_targets\{state="live"\} 1$/m);
    // The configured nginx-rtmp target's own series, its key hidden as in /api/streams.
    const n = nginx.targets[0]!;
    const labels = `stream="live/src",id="1",target="rtmp://127.0.0.1:${n.port}/live/…"`;
    expect(Number(new RegExp(`^streamgate_push_target_bytes_total\\{${escapeRegExp(labels)}\\} (\\d+)$`, 'm').exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toContain(`streamgate_push_target_info{${labels},rendition="src",state="live"} 1`);
    expect(metrics).toMatch(new RegExp(`^streamgate_push_target_dropped_total\\{${escapeRegExp(labels)}\\} 0$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^streamgate_push_target_reconnects_total\\{${escapeRegExp(labels)}\\} 0$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^streamgate_push_target_bitrate_bits_per_second\\{${escapeRegExp(labels)}\\} [1-9]\\d*$`, 'm'));
    expect(metrics).not.toContain(n.key);
  }, 60_000);

  it.skipIf(noSrt !== undefined)("pushes to an SRT listener (another gateway's SRT ingest, with a passphrase); the secrets in its URL stay hidden", async () => {
    const srtReceiver = await startTestGateway({ srt: true, srtPassphrase: 'pushpassphrase1' });
    try {
      const arrived = nextPublish(srtReceiver, 'viasrt');
      const url = `srt://127.0.0.1:${srtReceiver.srtPort}?streamid=live/viasrt&passphrase=pushpassphrase1`;
      const res = await fetch(`${api}/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url }) });
      expect(res.status).toBe(201);
      const added = (await res.json()) as PushView;
      expect(added.url).toBe(`srt://127.0.0.1:${srtReceiver.srtPort}?…`);
      await arrived;
      const copied = srtReceiver.outputs.get('live', 'viasrt')!;
      await untilUpdate(copied.audio, () => copied.ready && (copied.videos.get('src')?.segments.length ?? 0) >= 2);
      expect(await probe(`http://127.0.0.1:${srtReceiver.httpPort}/live/viasrt/index.m3u8`)).toEqual(['aac', 'h264']);
      const live = await eventually(targets, (t) => t.some((x) => x.id === added.id && x.state === 'live' && x.bytes > 0), 'the SRT target live');
      expect(JSON.stringify(live)).not.toContain('pushpassphrase1');
      // No command line on the host shows the passphrase or the stream id (ps would).
      for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        let cmdline = '';
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          continue; // gone meanwhile
        }
        expect(cmdline).not.toContain('pushpassphrase1');
        expect(cmdline).not.toContain('live/viasrt');
      }
      expect((await fetch(`${api}/push/${added.id}`, { method: 'DELETE' })).status).toBe(204);
    } finally {
      await srtReceiver.stop();
    }
  }, 90_000);
});

/** Bounds a push target: a receiver that takes the publish and then stops reading (a proxy in front of a gateway that stops forwarding). */
interface StallingProxy {
  readonly port: number;
  /** From now on nothing more is read from the pushing side: its socket's queue grows. */
  stall(): void;
  close(): Promise<void>;
}

async function stallingProxy(upstreamPort: number): Promise<StallingProxy> {
  const clients = new Set<net.Socket>();
  let stalled = false;
  const server = net.createServer((client) => {
    clients.add(client);
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.pipe(upstream);
    upstream.pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      clients.delete(client);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    if (stalled) client.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stall: () => {
      stalled = true;
      for (const c of clients) {
        c.unpipe();
        c.pause();
      }
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('push targets from a per-app config entry; a target that stops reading', () => {
  let origin: RunningGateway;
  let sink: RunningGateway;
  let proxy: StallingProxy;
  let feed: Publisher;
  const pushList = async (): Promise<PushView[]> => ((await (await fetch(`http://127.0.0.1:${origin.httpPort}/api/streams/live/cam/push`)).json()) as { push: (PushView & { dropped: number })[] }).push;

  beforeAll(async () => {
    sink = await startTestGateway();
    proxy = await stallingProxy(sink.rtmpPort);
    // `live`, not `live/cam`: the entry applies to every key of the app. A small queue bound
    // (the smallest allowed) makes a stalled target drop within seconds.
    origin = await startTestGateway({ push: { live: [{ url: `rtmp://127.0.0.1:${proxy.port}/sink/slow` }] }, maxPlayerQueueBytes: 64 * 1024 });
  }, 60_000);
  afterAll(async () => {
    feed?.process.kill('SIGKILL');
    await origin?.stop();
    await proxy?.close();
    await sink?.stop();
  });

  it("an app's config entry (APP, not APP/KEY) is applied to a new publish of any key", async () => {
    expect(await pushList()).toEqual([]);
    const arrived = nextPublish(sink, 'slow');
    const live = nextPublish(origin, 'cam');
    feed = publish(await fixture('av720p30'), `rtmp://127.0.0.1:${origin.rtmpPort}/live/cam`, { loop: true });
    await live;
    await arrived;
    const [target] = await eventually(pushList, (t) => t.length === 1 && t[0]!.state === 'live' && t[0]!.bytes > 0, 'the configured target live');
    expect(target!.source).toBe('config');
    expect(target!.url).toBe(`rtmp://127.0.0.1:${proxy.port}/sink/…`);
  }, 60_000);

  it('a target that takes the stream and then stops reading drops frames, and the local playlist never waits for it', async () => {
    const video = origin.outputs.get('live', 'cam')!.videos.get('src')!;
    await untilUpdate(video, () => video.segments.length >= 1);
    proxy.stall();
    const stalledAt = Date.now();
    // When each local segment is announced from the stall on: none may wait for the target.
    const announced: number[] = [];
    const onSegment = (): number => announced.push(Date.now());
    video.on('segment', onSegment);
    try {
      // The kernel's socket buffers fill, then the queue passes the bound: the target skips to
      // keyframes (drops) instead of queueing, and stays connected.
      const dropping = await eventually(pushList, (t) => (t[0] as PushView & { dropped: number }).dropped > 0, 'the stalled target dropping', 60_000);
      expect(dropping[0]!.state).toBe('live');
      const dropped = (dropping[0] as PushView & { dropped: number }).dropped;
      const atDrop = video.segments[video.segments.length - 1]!.sequence;
      await untilUpdate(video, () => video.segments[video.segments.length - 1]!.sequence >= atDrop + 2);
      await eventually(pushList, (t) => (t[0] as PushView & { dropped: number }).dropped > dropped, 'drops still growing');
      // 2 s segments of a real-time publish: one every ~2 s all along, never held up.
      const elapsed = (Date.now() - stalledAt) / 1000;
      expect(announced.length).toBeGreaterThanOrEqual(Math.floor(elapsed / 2) - 1);
      const gaps = announced.slice(1).map((t, i) => (t - announced[i]!) / 1000);
      expect(Math.max(...gaps)).toBeLessThan(3.5);
      expect(video.segments.some((s) => s.gap)).toBe(false);
      console.log(`stalled push target: ${elapsed.toFixed(1)} s stalled, dropping; ${announced.length} local segments meanwhile, longest gap ${Math.max(...gaps).toFixed(2)} s`);
    } finally {
      video.off('segment', onSegment);
    }
    const metrics = (await fetchText(`http://127.0.0.1:${origin.httpPort}/metrics`)).text;
    expect(Number(/^streamgate_push_target_dropped_total\{stream="live\/cam",id="1",target="[^"]+"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  }, 90_000);
});

describe('push to an rtmps:// target with a self-signed certificate (trusted through NODE_EXTRA_CA_CERTS)', () => {
  let tlsDir: string;
  let receiverTls: RunningGateway;
  let pusher: GatewayProcess | undefined;
  let feed: Publisher | undefined;

  beforeAll(async () => {
    tlsDir = mkdtempSync(join(tmpdir(), 'push-rtmps-'));
    const { cert, key } = makeSelfSignedCertificate(tlsDir);
    receiverTls = await startTestGateway({ tlsCert: cert, tlsKey: key, rtmpsPort: 0, httpsPort: 0 });
  }, 60_000);
  afterAll(async () => {
    feed?.process.kill('SIGKILL');
    await pusher?.stop();
    await receiverTls?.stop();
    rmSync(tlsDir, { recursive: true, force: true });
  });

  it('without the certificate trusted, the target fails with the certificate error and keeps retrying', async () => {
    // This test process was started without NODE_EXTRA_CA_CERTS: its gateways trust only the system CAs.
    const plain = await startTestGateway();
    try {
      const res = await fetch(`http://127.0.0.1:${plain.httpPort}/api/streams/live/x/push`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ url: `rtmps://127.0.0.1:${receiverTls.rtmpsPort}/live/x` }) });
      expect(res.status).toBe(201);
      const live = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${plain.rtmpPort}/live/x`, { loop: true });
      try {
        const read = async (): Promise<PushView[]> => ((await (await fetch(`http://127.0.0.1:${plain.httpPort}/api/streams/live/x/push`)).json()) as { push: PushView[] }).push;
        const [t] = await eventually(read, (v) => v[0]?.state === 'retrying', 'the untrusted rtmps target retrying');
        expect(t!.lastError).toMatch(/self[- ]signed certificate/i);
      } finally {
        live.process.kill('SIGKILL');
      }
    } finally {
      await plain.stop();
    }
  }, 60_000);

  it('a gateway process started with NODE_EXTRA_CA_CERTS pushes to the rtmps:// receiver, which serves it', async () => {
    const ca = join(tlsDir, 'cert.pem');
    const pushConfig = JSON.stringify({ live: [{ url: `rtmps://127.0.0.1:${receiverTls.rtmpsPort}/live/overtls` }] });
    pusher = await startGatewayProcess(['--push', pushConfig], { NODE_EXTRA_CA_CERTS: ca });
    const arrived = nextPublish(receiverTls, 'overtls');
    feed = publish(await fixture('av360p-short'), `rtmp://127.0.0.1:${pusher.rtmpPort}/live/cam`, { loop: true });
    await Promise.race([arrived, feed.done.then((code) => Promise.reject(new Error(`ffmpeg exited ${code}: ${feed!.stderr()}`)))]);
    const copied = receiverTls.outputs.get('live', 'overtls')!.videos.get('src')!;
    await untilUpdate(copied, () => copied.segments.length >= 2);
    expect(await probe(`http://127.0.0.1:${receiverTls.httpPort}/live/overtls/index.m3u8`)).toEqual(['aac', 'h264']);
    const read = async (): Promise<PushView[]> => ((await (await fetch(`http://127.0.0.1:${pusher!.httpPort}/api/streams/live/cam/push`)).json()) as { push: PushView[] }).push;
    const [t] = await eventually(read, (v) => v[0]?.state === 'live' && v[0].bytes > 0, 'the rtmps target live');
    expect(t!.url).toBe(`rtmps://127.0.0.1:${receiverTls.rtmpsPort}/live/…`);
    expect(t!.lastError).toBeNull();
  }, 90_000);
});
