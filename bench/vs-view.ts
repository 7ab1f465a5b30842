/**
 * The vs bench's viewers, in their own process: per stream, a player-like poller that reloads
 * the HLS media playlist and the DASH MPD every 100 ms and fetches every newly listed segment
 * (init segments once), and for LL-HLS an RFC 8216bis blocking-reload client (_HLS_msn /
 * _HLS_part, like bench/availability-client.ts). Records when each segment and part was first
 * listed. Prints `ready` once running; on "stop" (stdin) or stdin's end it writes a ViewResult to
 * config.out.
 * Each stream's viewer connects from its own loopback address (127.1.x.y): it is one client to
 * the server, as separate viewers would be (and per-address playlist rate limits see it so).
 * Usage: node --import tsx bench/vs-view.ts CONFIG.json
 */
import { stopRequested } from './vs-proc.js';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { mpdSegmentUrls, parseMediaPlaylist, type MediaPlaylist } from './vs-playlist.js';
import type { ListedPart, ListedSegment, ViewConfig, ViewedStream, ViewTarget } from './vs-types.js';

/**
 * Mean reload interval. Each wait is drawn from [POLL_MS/2, 3*POLL_MS/2]: with a fixed 100 ms a
 * poller keeps the same phase against 2 s segments for the whole run, so a stream's every sample
 * would land at the same point of the poll cycle (luck, not the server).
 */
const POLL_MS = 100;
/** How many of the errors are kept as examples. */
const ERROR_SAMPLES = 5;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let stopping = false;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly bytes: number;
  /** When the whole answer had arrived. */
  readonly at: number;
}

/** One viewer's HTTP client: keep-alive connections from its own loopback address. */
class Client {
  private readonly agent: http.Agent;

  constructor(private readonly localAddress: string) {
    // Idle connections are let go after 30 s, before either server closes them (the gateway after
    // 65 s, nginx after 75 s): a request put on a connection at the instant the server closes it
    // fails with "socket hang up" (nodejs/node#20256), where a browser would quietly retry it.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 16, timeout: 30_000 });
  }

  /** GET; the body is kept as text only when asked (playlists), otherwise only counted (media). */
  get(url: string, keepBody: boolean): Promise<Answer> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { agent: this.agent, localAddress: this.localAddress }, (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (d: Buffer) => {
            bytes += d.byteLength;
            if (keepBody) chunks.push(d);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: keepBody ? Buffer.concat(chunks).toString('utf8') : '', bytes, at: now() }));
          res.on('error', reject);
          // A connection cut mid-answer (our own shutdown) may end with 'close' alone.
          res.on('close', () => res.complete || reject(new Error('connection closed mid-answer')));
        })
        .on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

class StreamViewer {
  private readonly client: Client;
  private readonly hlsSegments = new Map<number, ListedSegment>();
  private readonly llSegments = new Map<number, ListedSegment>();
  private readonly llParts = new Map<string, ListedPart>();
  /** URLs fetched, per poller: the HLS and the DASH poller are two players (the gateway's CMAF URLs are shared by both). */
  private readonly fetchedHls = new Set<string>();
  private readonly fetchedDash = new Set<string>();
  private firstPlayableAt: number | null = null;
  private firstPlayableTried = false;
  private segmentsFetched = 0;
  private bytes = 0;
  private httpErrors = 0;
  private readonly errorSamples: string[] = [];
  /** Resolves with the first media playlist answered 200: the stream is live. */
  private live!: () => void;
  private readonly isLive = new Promise<void>((r) => (this.live = r));
  /** Playlists (URL without query) answered 200 once: a 404 for them is an error from then on. */
  private readonly answered = new Set<string>();

  constructor(
    private readonly target: ViewTarget,
    localAddress: string,
  ) {
    this.client = new Client(localAddress);
  }

  run(): Promise<unknown> {
    const loops: Promise<unknown>[] = [this.pollHls()];
    if (this.target.mpd) loops.push(this.pollMpd(this.target.mpd));
    if (this.target.llHls) loops.push(this.isLive.then(() => this.llHls()));
    return Promise.all(loops);
  }

  close(): void {
    this.client.close();
  }

  result(): ViewedStream {
    const byIndex = <T extends { index: number }>(m: Map<number, T>): T[] => [...m.values()].sort((a, b) => a.index - b.index);
    return {
      key: this.target.key,
      hlsSegments: byIndex(this.hlsSegments),
      llSegments: byIndex(this.llSegments),
      llParts: [...this.llParts.values()].sort((a, b) => a.msn - b.msn || a.part - b.part),
      firstPlayableAt: this.firstPlayableAt,
      segmentsFetched: this.segmentsFetched,
      bytes: this.bytes,
      httpErrors: this.httpErrors,
      errorSamples: this.errorSamples,
    };
  }

  private error(what: string): void {
    if (stopping) return; // requests cut by our own shutdown are not the server's errors
    this.httpErrors++;
    if (this.errorSamples.length < ERROR_SAMPLES) this.errorSamples.push(what);
  }

  /** A playlist GET: 200 body, or undefined (a 404 before that playlist first exists is expected, not an error). */
  private async getPlaylist(url: string): Promise<Answer | undefined> {
    const playlist = url.split('?')[0]!;
    try {
      const r = await this.client.get(url, true);
      if (r.status === 200) {
        this.answered.add(playlist);
        return r;
      }
      if (!(r.status === 404 && !this.answered.has(playlist))) this.error(`${r.status} ${url}`);
    } catch (e) {
      this.error(`${(e as Error).message} ${url}`);
    }
    return undefined;
  }

  /** Fetches a segment (body counted, not kept); true on 200 with bytes. */
  private async fetch(url: string, media: boolean): Promise<boolean> {
    try {
      const r = await this.client.get(url, false);
      this.bytes += r.bytes;
      if (r.status === 200 && r.bytes > 0) {
        if (media) this.segmentsFetched++;
        return true;
      }
      this.error(`${r.status} ${url}`);
    } catch (e) {
      this.error(`${(e as Error).message} ${url}`);
    }
    return false;
  }

  /** Fetches a URL once per player, in the background (a player downloads while it keeps reloading). */
  private fetchOnce(fetched: Set<string>, url: string, media: boolean): void {
    if (fetched.has(url)) return;
    fetched.add(url);
    void this.fetch(url, media);
  }

  /** Calls `once` about every POLL_MS (from the start of one call to the next) until stopped. */
  private async every(once: () => Promise<void>): Promise<void> {
    while (!stopping) {
      const started = performance.now();
      await once();
      await sleep(Math.max(0, POLL_MS * (0.5 + Math.random()) - (performance.now() - started)));
    }
  }

  private pollHls(): Promise<void> {
    const url = this.target.hls;
    return this.every(async () => {
      const r = await this.getPlaylist(url);
      if (!r) return;
      this.live();
      const playlist = parseMediaPlaylist(r.body);
      if (playlist.map) this.fetchOnce(this.fetchedHls, new URL(playlist.map, url).href, false);
      for (const s of playlist.segments) {
        if (this.hlsSegments.has(s.index)) continue;
        this.hlsSegments.set(s.index, { index: s.index, duration: s.duration, listedAt: r.at });
        const segmentUrl = new URL(s.uri, url).href;
        if (!this.firstPlayableTried) {
          this.firstPlayableTried = true;
          this.fetchedHls.add(segmentUrl);
          void this.firstPlayable(segmentUrl);
        } else this.fetchOnce(this.fetchedHls, segmentUrl, true);
      }
    });
  }

  /** The first segment listed, fetched: from then on a player can start. */
  private async firstPlayable(url: string): Promise<void> {
    if (await this.fetch(url, true)) this.firstPlayableAt = now();
  }

  private pollMpd(url: string): Promise<void> {
    return this.every(async () => {
      const r = await this.getPlaylist(url);
      if (!r) return;
      const { init, media } = mpdSegmentUrls(r.body, url);
      for (const u of init) this.fetchOnce(this.fetchedDash, u, false);
      for (const u of media) this.fetchOnce(this.fetchedDash, u, true);
    });
  }

  /** Records what a blocking-reload answer lists that was not listed before. */
  private noteLl(playlist: MediaPlaylist, at: number | null): void {
    for (const s of playlist.segments) if (!this.llSegments.has(s.index)) this.llSegments.set(s.index, { index: s.index, duration: s.duration, listedAt: at });
    for (const p of playlist.parts) {
      const key = `${p.msn}.${p.part}`;
      if (!this.llParts.has(key)) this.llParts.set(key, { msn: p.msn, part: p.part, duration: p.duration, listedAt: at });
    }
  }

  private async llHls(): Promise<void> {
    const first = await this.getPlaylist(this.target.hls);
    if (!first) return;
    const playlist = parseMediaPlaylist(first.body);
    // What the first answer lists was there before we asked: its listing instant is unknown.
    this.noteLl(playlist, null);
    await Promise.all([this.llSegmentLoop(playlist), this.llPartLoop(playlist)]);
  }

  /** `_HLS_msn=N`: answered once segment N is complete. */
  private async llSegmentLoop(start: MediaPlaylist): Promise<void> {
    let next = start.mediaSequence + start.segments.length;
    while (!stopping) {
      const r = await this.getPlaylist(`${this.target.hls}?_HLS_msn=${next}`);
      if (!r) {
        await sleep(POLL_MS); // an error: do not spin on it
        continue;
      }
      const playlist = parseMediaPlaylist(r.body);
      this.noteLl(playlist, r.at);
      next = Math.max(next, playlist.mediaSequence + playlist.segments.length);
    }
  }

  /** `_HLS_msn=M&_HLS_part=P` for the part after the newest one listed. */
  private async llPartLoop(start: MediaPlaylist): Promise<void> {
    let playlist = start;
    while (!stopping) {
      const { msn, part } = nextPart(playlist);
      const r = await this.getPlaylist(`${this.target.hls}?_HLS_msn=${msn}&_HLS_part=${part}`);
      if (!r) {
        await sleep(POLL_MS);
        continue;
      }
      playlist = parseMediaPlaylist(r.body);
      this.noteLl(playlist, r.at);
    }
  }
}

/** The part a player asks for next: after the newest listed one, or part 0 after a complete segment. */
function nextPart(playlist: MediaPlaylist): { msn: number; part: number } {
  const completeUpTo = playlist.mediaSequence + playlist.segments.length; // first incomplete msn
  const last = playlist.parts[playlist.parts.length - 1];
  if (!last || last.msn < completeUpTo) return { msn: completeUpTo, part: 0 };
  return { msn: last.msn, part: last.part + 1 };
}

/** A distinct loopback source address per viewer (all of 127/8 is local on Linux). */
function localAddress(i: number): string {
  return `127.1.${(i >> 8) & 255}.${(i & 255) + 1}`;
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ViewConfig;
  const viewers = config.streams.map((t, i) => new StreamViewer(t, localAddress(i)));
  const running = viewers.map((v) => v.run());
  process.stdout.write('ready\n');
  await stopRequested();
  stopping = true;
  for (const v of viewers) v.close();
  // In-flight requests were cut by close(); their loops end on `stopping` (errors are not counted).
  await Promise.race([Promise.allSettled(running), sleep(2000)]);
  writeFileSync(config.out, JSON.stringify({ streams: viewers.map((v) => v.result()) }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`vs-view: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
