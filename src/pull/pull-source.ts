/**
 * One pull source: a stream fed from a URL instead of a publisher, through the same publish path
 * (core/publish.ts), so every output, the ladder, recording and reconnect behave as for RTMP.
 *  - `rtmp://` and `rtmps://`: our own RTMP client plays the remote stream (src/rtmp/client.ts);
 *  - `srt://` (caller mode, MPEG-TS inside): our libsrt helper receives, ffmpeg remuxes (srt-feed.ts);
 *  - `http(s)://` (HLS), and anything else ffmpeg reads: ffmpeg is the transport
 *    (`-c copy -f flv pipe:1`, no re-encoding) and our FLV reader takes its output.
 * Either way the FLV tags go through the RTMP ingest (flv/ingest.ts), exactly as a publisher's.
 * A source that fails or ends is retried with back-off (1 s doubling to 30 s) until stopped; the
 * stream's reconnect grace keeps its playlists going meanwhile.
 */
import type { Logger } from 'pino';
import { FlvIngest } from '../flv/ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO } from '../flv/reader.js';
import { spawnFlvFeed, type TagFeed } from './flv-feed.js';
import { spawnSrtFeed } from './srt-feed.js';
import { feedTag } from '../flv/publish-tags.js';
import type { Publisher, PublishPath } from '../core/publish.js';
import { RtmpClientConnection, parseRtmpUrl } from '../rtmp/client.js';

export type PullState = 'idle' | 'connecting' | 'live' | 'retrying' | 'stopped';

/** No media from an RTMP source this long: reconnect. */
const SILENCE_MS = 10_000;

export interface PullSourceOptions {
  readonly app: string;
  readonly key: string;
  readonly url: string;
  readonly publishPath: PublishPath;
  readonly logger: Logger;
  /** ffmpeg for http(s) sources. */
  readonly ffmpegPath: string | undefined;
  readonly retryMs?: { readonly first: number; readonly max: number };
  /**
   * Before each connection: what a publisher's authorization would do besides checking it (a
   * Common Encryption stream's content key from the key server). A rejection is a lost source.
   */
  readonly prepare?: (app: string, key: string) => Promise<void>;
}

export class PullSource {
  readonly app: string;
  readonly key: string;
  private readonly options: PullSourceOptions;
  private readonly log: Logger;
  private state: PullState = 'idle';
  private feed: TagFeed | undefined;
  private publisher: Publisher | undefined;
  private ingest: FlvIngest | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private lastError: string | null = null;
  private generation = 0;

  constructor(options: PullSourceOptions) {
    this.options = options;
    this.app = options.app;
    this.key = options.key;
    this.retryDelay = options.retryMs?.first ?? 1000;
    // Never log the URL's query or key: it may carry credentials.
    this.log = options.logger.child({ pull: `${options.app}/${options.key}` });
  }

  get running(): boolean {
    return this.state !== 'idle' && this.state !== 'stopped';
  }

  view(): { state: PullState; lastError: string | null } {
    return { state: this.state, lastError: this.lastError };
  }

  start(): void {
    if (this.running) return;
    this.connect();
  }

  /** Stops pulling (on-demand source without viewers, or shutdown); the stream ends. */
  stop(reason = 'pull stopped'): void {
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.closeFeed(reason);
    this.state = 'idle';
  }

  private connect(): void {
    const generation = ++this.generation;
    this.state = 'connecting';
    const onTag = (type: number, timestamp: number, payload: Uint8Array): void => {
      if (generation === this.generation) this.tag(type, timestamp, payload);
    };
    const onEnd = (reason: string): void => {
      if (generation === this.generation) this.lost(reason);
    };
    const open = (): void => {
      try {
        this.feed = /^rtmps?:/i.test(this.options.url) ? this.rtmpFeed(onTag, onEnd) : this.ffmpegFeed(onTag, onEnd);
      } catch (err) {
        this.lost((err as Error).message);
      }
    };
    const prepare = this.options.prepare;
    if (!prepare) return open();
    prepare(this.app, this.key).then(
      () => {
        if (generation === this.generation) open();
      },
      (err: unknown) => {
        if (generation === this.generation) this.lost(`not ready to publish: ${(err as Error).message}`);
      },
    );
  }

  /** Our RTMP client playing the remote stream. */
  private rtmpFeed(onTag: (type: number, ts: number, payload: Uint8Array) => void, onEnd: (reason: string) => void): TagFeed {
    const connection = new RtmpClientConnection(parseRtmpUrl(this.options.url));
    // A source that goes quiet (its publisher stalled, a half-open connection) is reconnected.
    let lastMedia = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastMedia > SILENCE_MS) onEnd(`no media from the source for ${SILENCE_MS / 1000} s`);
    }, 1000);
    watchdog.unref();
    connection.onMedia = (m) => {
      lastMedia = Date.now();
      onTag(m.type, m.timestamp, m.payload);
    };
    connection.onStatus = (code) => {
      // The remote stream ended (its publisher left): the play connection stays open but idle.
      if (code === 'NetStream.Play.UnpublishNotify' || code === 'NetStream.Play.Stop' || code === 'NetStream.Play.StreamNotFound') onEnd(`the source says ${code}`);
    };
    connection.onClose = (error) => onEnd(error?.message ?? 'the source closed the connection');
    connection.play().catch((err: unknown) => onEnd(err instanceof Error ? err.message : String(err)));
    return {
      close: () => {
        clearInterval(watchdog);
        connection.close();
      },
    };
  }

  /** ffmpeg reading the URL, remuxing (no re-encoding) to FLV on its stdout. */
  private ffmpegFeed(onTag: (type: number, ts: number, payload: Uint8Array) => void, onEnd: (reason: string) => void): TagFeed {
    const ffmpeg = this.options.ffmpegPath;
    if (!ffmpeg) throw new Error('ffmpeg not found (set FFMPEG_PATH): it reads http(s) pull sources');
    if (/^srt:\/\//i.test(this.options.url)) return spawnSrtFeed(ffmpeg, this.options.url, onTag, onEnd);
    const args = ['-rw_timeout', '15000000', '-i', this.options.url, '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy'];
    return spawnFlvFeed(ffmpeg, args, onTag, onEnd);
  }

  private tag(type: number, timestamp: number, payload: Uint8Array): void {
    if (!this.publisher) {
      if (type !== FLV_TAG_VIDEO && type !== FLV_TAG_AUDIO) return;
      const started = this.options.publishPath.start({ app: this.app, key: this.key, query: '', ip: 'pull' }, this.log);
      if (!started.ok) {
        this.lost(`the stream cannot start: ${started.reason}`);
        return;
      }
      started.onTerminate = (reason) => this.lost(reason);
      this.publisher = started;
      this.ingest = new FlvIngest();
      this.state = 'live';
      this.lastError = null;
      this.retryDelay = this.options.retryMs?.first ?? 1000;
      this.log.info('pull started');
    }
    feedTag(this.publisher, this.ingest!, type, timestamp, payload);
  }

  private closeFeed(reason: string): void {
    const feed = this.feed;
    this.feed = undefined;
    feed?.close();
    const publisher = this.publisher;
    this.publisher = undefined;
    this.ingest = undefined;
    publisher?.end(reason);
  }

  private lost(reason: string): void {
    if (this.state === 'idle' || this.state === 'stopped') return;
    this.generation++;
    this.closeFeed(reason);
    this.lastError = reason;
    this.state = 'retrying';
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMs?.max ?? 30_000);
    this.log.warn({ reason, retryInMs: delay }, 'pull source lost; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state === 'retrying') this.connect();
    }, delay);
    this.retryTimer.unref();
  }
}
