/**
 * SRT ingest from outside: ffmpeg (Debian's, with libsrt) publishes MPEG-TS to
 * `srt://127.0.0.1:PORT?streamid=…` as OBS does; the stream gets its ladder, decodes, and plays in
 * hls.js; the streamid forms select the stream; a wrong passphrase and a refused key are turned
 * away while the others go on; the publisher coming back within the grace continues the playlists;
 * a TS with two audio languages offers both as audio renditions (HLS audio group, DASH
 * AdaptationSets), read by m3u8-parser, mpd-parser, ffmpeg and hls.js. `--srt-pbkeylen` reaches
 * the libsrt relay; publish auth (token, webhook), the connection limits and the ingest checker
 * apply to SRT publishes as to RTMP ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseMpd } from 'mpd-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningGateway } from '../../src/gateway.js';
import { browserAvailable, HLS_JS_PATH, openBrowser, type BrowserSession } from '../helpers/browser.js';
import { fixture } from '../helpers/fixtures.js';
import { fetchText, nextPublish, startTestGateway } from '../helpers/gateway.js';
import { decodeErrors, downloadRendition, probe } from '../helpers/media-check.js';
import { parseM3u8 } from '../helpers/m3u8.js';
import { playHlsIn } from '../helpers/players.js';
import { untilSourceSegments, untilUpdate } from '../helpers/events.js';
import { exited, run } from '../helpers/process.js';
import { ffmpegPath } from '../helpers/tools.js';
import { freeUdpPort, srtMissing } from '../helpers/srt.js';
import { mintToken, subjectOf, unixNow } from '../../src/auth/token.js';

const missing = await srtMissing('SRT ingest tests');

interface SrtPublisher {
  readonly process: ChildProcess;
  readonly done: Promise<number | null>;
  stderr(): string;
}

/** ffmpeg sending a file as MPEG-TS over SRT (in real time, looped), bounded in time; `maps` selects its streams (default: ffmpeg's one video, one audio). */
function publishSrt(file: string, url: string, seconds = 120, maps: string[] = []): SrtPublisher {
  // ffmpeg itself is the child (killing a `timeout` wrapper would leave it running); `-t` bounds it.
  const child = spawn(ffmpegPath(), ['-v', 'error', '-nostdin', '-re', '-stream_loop', '-1', '-i', file, ...maps, '-t', String(seconds), '-c', 'copy', '-f', 'mpegts', url], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return { process: child, done: exited(child), stderr: () => stderr };
}


/** 6 s of 320x240 H.264 (a keyframe every second) with English and French AAC, as MPEG-TS with ISO 639 language descriptors. */
async function twoLanguageTs(dir: string): Promise<string> {
  const file = join(dir, 'eng-fra.ts');
  const r = await run(ffmpegPath(), [
    '-v', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=f=440', '-f', 'lavfi', '-i', 'sine=f=660',
    '-map', '0', '-map', '1', '-map', '2', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', '-threads', '1', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    '-metadata:s:a:0', 'language=eng', '-metadata:s:a:1', 'language=fra', '-t', '6', '-f', 'mpegts', file,
  ], 60_000);
  if (r.code !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
  return file;
}

/** The audio tracks hls.js offers for a multivariant playlist (its audio track controller's list). */
async function hlsAudioTracks(browser: BrowserSession, origin: string, src: string): Promise<{ lang?: string; name: string; default: boolean }[]> {
  await browser.page.goto(`${origin}/healthz`);
  await browser.page.addScriptTag({ path: HLS_JS_PATH });
  return browser.page.evaluate(
    (src) =>
      new Promise<{ lang?: string; name: string; default: boolean }[]>((resolve, reject) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const HlsCtor = (window as unknown as { Hls: any }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        document.body.appendChild(video);
        const hls = new HlsCtor();
        const timer = setTimeout(() => reject(new Error('hls.js listed no audio tracks within 15 s')), 15_000);
        hls.on(HlsCtor.Events.AUDIO_TRACKS_UPDATED, (_e: string, data: { audioTracks: { lang?: string; name: string; default: boolean }[] }) => {
          clearTimeout(timer);
          resolve(data.audioTracks.map((t) => ({ lang: t.lang, name: t.name, default: t.default })));
          hls.destroy();
        });
        hls.on(HlsCtor.Events.ERROR, (_e: string, data: { fatal?: boolean; details?: string }) => {
          if (data.fatal) reject(new Error(`hls.js: ${data.details}`));
        });
        hls.loadSource(src);
        hls.attachMedia(video);
      }),
    src,
  );
}

/** Segment numbers a media playlist lists (from its segment URIs). */
function segmentNumbers(text: string): number[] {
  return parseM3u8(text).segments.map((s) => Number(/seg-[0-9a-z]+-(\d+)\.m4s$/.exec(s.uri)![1]));
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

  it('two audio languages in the TS are two audio renditions: HLS audio group and DASH AdaptationSets with their languages, numbered like the video', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'srt-lang-'));
    try {
      const live = nextPublish(gw, 'srtlang');
      started(publishSrt(await twoLanguageTs(dir), `srt://127.0.0.1:${gw.srtPort}?streamid=live/srtlang`, 60, ['-map', '0']));
      await live;
      await untilSourceSegments(gw, 'srtlang', 3, () => (gw.outputs.get('live', 'srtlang')!.audioRenditions.get('audio-fra')?.segments.length ?? 0) >= 3);
      const origin = `http://127.0.0.1:${gw.httpPort}`;
      const base = `${origin}/live/srtlang`;

      // HLS: both in the audio group every variant refers to, English the default.
      const master = parseM3u8((await fetchText(`${base}/index.m3u8`)).text);
      const group = master.mediaGroups!.AUDIO!['audio']!;
      expect(Object.entries(group).map(([name, a]) => [name, a.language, a.default, a.autoselect, a.uri])).toEqual([
        ['English', 'en', true, true, 'audio/index.m3u8'],
        ['French', 'fr', false, true, 'audio-fra/index.m3u8'],
      ]);
      expect(master.playlists!.map((p) => p.attributes.AUDIO)).toEqual(master.playlists!.map(() => 'audio'));

      // The same segment numbers in both audio playlists and the video's (one may have moved on
      // between the requests: the numbers they share run without a hole, at least two of them).
      const [video, eng, fra] = await Promise.all(['src', 'audio', 'audio-fra'].map(async (r) => segmentNumbers((await fetchText(`${base}/${r}/index.m3u8`)).text)));
      const from = Math.max(video![0]!, eng![0]!, fra![0]!);
      const to = Math.min(video!.at(-1)!, eng!.at(-1)!, fra!.at(-1)!);
      expect(to - from).toBeGreaterThanOrEqual(1);
      for (const list of [video!, eng!, fra!]) expect(list.filter((n) => n >= from && n <= to)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));

      // Each audio rendition's init + segments decode as AAC.
      for (const rendition of ['audio', 'audio-fra']) {
        const downloaded = await downloadRendition(`${base}/${rendition}/index.m3u8`);
        expect(await decodeErrors(downloaded.file)).toBe('');
        expect((await probe(downloaded.file)).streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
      }

      // DASH: one audio AdaptationSet per language.
      const mpdText = (await fetchText(`${base}/index.mpd`)).text;
      // RFC 5646 tags (ISO 639-1 where there is one), from the TS's ISO 639-2 codes.
      expect(mpdText).toMatch(/<AdaptationSet [^>]*contentType="audio"[^>]*lang="en"/);
      expect(mpdText).toMatch(/<AdaptationSet [^>]*contentType="audio"[^>]*lang="fr"/);
      const mpd = parseMpd(mpdText, { manifestUri: `${base}/index.mpd` });
      const audio = Object.values(mpd.mediaGroups.AUDIO['audio']!);
      expect(audio.map((a) => [a.language, a.default])).toEqual([['en', true], ['fr', false]]);
      expect(audio[1]!.playlists[0]!.segments[0]!.resolvedUri).toMatch(new RegExp(`^${base}/audio-fra/seg-`));

      // The API lists the rendition with its language.
      const api = JSON.parse((await fetchText(`${origin}/api/streams/live/srtlang`)).text) as { renditions: { id: string; language?: string }[] };
      expect(api.renditions.filter((r) => r.id.startsWith('audio')).map((r) => [r.id, r.language])).toEqual([['audio', 'eng'], ['audio-fra', 'fra']]);

      if (browser) {
        expect(await hlsAudioTracks(browser, origin, `${base}/index.m3u8`)).toEqual([
          { lang: 'en', name: 'English', default: true },
          { lang: 'fr', name: 'French', default: false },
        ]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

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

/**
 * The relay helper's command line, found among this process's children by its UDP port: what
 * the gateway's settings made of it (a caller with another pbkeylen still connects: libsrt lets
 * the sending side's length win, and only logs the conflict on the caller's side).
 */
function relayArgs(port: number): string[] | undefined {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let args: string[];
    let ppid: number;
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      continue; // the process ended meanwhile
    }
    if (ppid !== process.pid || !args[0]?.endsWith('srt-relay')) continue;
    const at = args.indexOf('--port');
    if (at >= 0 && args[at + 1] === String(port)) return args;
  }
  return undefined;
}

describe.skipIf(missing !== undefined)('SRT key length (--srt-pbkeylen)', () => {
  afterAll(() => {
    for (const p of publishers) p.process.kill('SIGKILL');
  });
  it('the relay listens with the configured AES key length, and a caller with pbkeylen=32 and the passphrase publishes', async () => {
    const port = await freeUdpPort();
    const gw = await startTestGateway({ srt: true, srtPort: port, srtPassphrase: 'correcthorsebattery', srtPbkeylen: 32 });
    try {
      // The relay starts with the first caller (the port is on standby until then).
      const live = nextPublish(gw, 'aes256');
      started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/aes256&passphrase=correcthorsebattery&pbkeylen=32`));
      await live;
      const args = relayArgs(gw.srtPort!);
      expect(args, 'srt-relay child on the SRT port').toBeDefined();
      expect(args![args!.indexOf('--pbkeylen') + 1]).toBe('32');
      await untilSourceSegments(gw, 'aes256', 1);
      // libsrt's own word: a caller that insists on 16 is told the listener's key length is 32
      // (the sender keeps its own; a caller that sets none takes the listener's).
      const other = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/aes128&passphrase=correcthorsebattery&pbkeylen=16`, 1));
      await other.done;
      expect(other.stderr()).toMatch(/peer-advertised PBKEYLEN 32/);
    } finally {
      await gw.stop();
    }
  }, 60_000);

  it('without the setting the relay is given no key length (libsrt\'s 16)', async () => {
    const port = await freeUdpPort();
    const gw = await startTestGateway({ srt: true, srtPort: port, srtPassphrase: 'correcthorsebattery' });
    try {
      const live = nextPublish(gw, 'aes128');
      started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/aes128&passphrase=correcthorsebattery`));
      await live;
      expect(relayArgs(gw.srtPort!)).toBeDefined();
      expect(relayArgs(gw.srtPort!)).not.toContain('--pbkeylen');
    } finally {
      await gw.stop();
    }
  }, 60_000);
});

/** Issue 13 item 5: publish auth, limits and the ingest checker apply to SRT as to RTMP. */
describe.skipIf(missing !== undefined)('SRT ingest goes through the same publish auth, limits and ingest checker as RTMP', () => {
  afterAll(() => {
    for (const p of publishers) p.process.kill('SIGKILL');
  });
  const SECRET = 'a-publish-secret-of-some-length';

  it('token auth: no token and a tampered token are refused; a valid token in the stream id publishes', async () => {
    const gw = await startTestGateway({ srt: true, publishAuth: 'token', publishSecret: SECRET });
    try {
      const good = mintToken({ secret: SECRET, subject: subjectOf('publish', 'live', 'cam'), expiresAt: unixNow() + 600 });
      const url = (query: string): string => `srt://127.0.0.1:${gw.srtPort}?streamid=live/cam${query}`;
      for (const query of ['', `?token=${good.slice(0, -2)}xx`]) {
        const refused = started(publishSrt(await fixture('av360p-short'), url(query), 30));
        expect(await refused.done, `streamid live/cam${query.slice(0, 8)}`).not.toBe(0);
        expect(gw.streams.get('live', 'cam')).toBeUndefined();
      }
      const live = nextPublish(gw, 'cam');
      started(publishSrt(await fixture('av360p-short'), url(`?token=${good}`)));
      await live;
      await untilSourceSegments(gw, 'cam', 1);
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('webhook auth: a publish the on_publish hook answers 403 is refused, one it answers 200 publishes', async () => {
    const names: string[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const name = new URLSearchParams(body).get('name') ?? '';
        names.push(name);
        res.statusCode = name === 'allowed' ? 200 : 403;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const gw = await startTestGateway({ srt: true, publishAuth: 'webhook', onPublishUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/on_publish`, webhookTimeout: 2 });
    try {
      const denied = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/denied`, 30));
      expect(await denied.done).not.toBe(0);
      expect(gw.streams.get('live', 'denied')).toBeUndefined();
      const live = nextPublish(gw, 'allowed');
      started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/allowed`));
      await live;
      expect(names).toEqual(['denied', 'allowed']);
    } finally {
      await gw.stop();
      hook.closeAllConnections();
      hook.close();
    }
  }, 90_000);

  it.each([
    ['max-connections-per-ip', { maxConnectionsPerIp: 1 }],
    ['max-connections', { maxConnections: 1 }],
  ] as const)('beyond %s (1) a second SRT caller is refused while the first goes on', async (_name, limit) => {
    const gw = await startTestGateway({ srt: true, ...limit });
    try {
      const live = nextPublish(gw, 'first');
      const first = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/first`));
      await live;
      const second = started(publishSrt(await fixture('av360p-short'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/second`, 30));
      expect(await second.done).not.toBe(0);
      expect(gw.streams.get('live', 'second')).toBeUndefined();
      expect(gw.streams.get('live', 'first')).toBeDefined();
      expect(first.process.exitCode).toBeNull();
    } finally {
      await gw.stop();
    }
  }, 90_000);

  it('the ingest checker reports a 5 s keyframe interval and B-frames of an SRT publish in /api/streams', async () => {
    const gw = await startTestGateway({ srt: true });
    try {
      const live = nextPublish(gw, 'checkme');
      started(publishSrt(await fixture('gop5s-bframes'), `srt://127.0.0.1:${gw.srtPort}?streamid=live/checkme`));
      await live;
      // Two keyframes 5 s apart make one complete (long) segment; the checker has seen both.
      await untilSourceSegments(gw, 'checkme', 1);
      const view = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/streams/live/checkme`)).json()) as { warnings: { code: string; obs: string }[] };
      const codes = view.warnings.map((w) => w.code);
      expect(codes).toContain('keyframe-interval');
      expect(codes).toContain('b-frames');
      expect(view.warnings.find((w) => w.code === 'keyframe-interval')!.obs).toMatch(/Keyframe Interval/i);
    } finally {
      await gw.stop();
    }
  }, 90_000);
});
