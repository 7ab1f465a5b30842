/**
 * One pull source: a stream fed from a URL instead of a publisher, through the same publish path
 * (core/publish.ts), so every output, the ladder, recording and reconnect behave as for RTMP.
 *  - `rtmp://` and `rtmps://`: our own RTMP client plays the remote stream (src/rtmp/client.ts);
 *  - `http(s)://` (HLS, and anything else ffmpeg reads): ffmpeg is the transport
 *    (`-c copy -f flv pipe:1`, no re-encoding) and our FLV reader takes its output.
 * Either way the FLV tags go through the RTMP ingest (flv/ingest.ts), exactly as a publisher's.
 * A source that fails or ends is retried with back-off (1 s doubling to 30 s) until stopped; the
 * stream's reconnect grace keeps its playlists going meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { decodeAmf0, isAmf0Object } from '../flv/amf0.js';
import { FlvIngest } from '../flv/ingest.js';
import { FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO, FlvReader } from '../flv/reader.js';
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
}

/** Something that delivers FLV tags until it stops. */
interface TagFeed {
  close(): void;
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
    try {
      this.feed = /^rtmps?:/i.test(this.options.url) ? this.rtmpFeed(onTag, onEnd) : this.ffmpegFeed(onTag, onEnd);
    } catch (err) {
      this.lost((err as Error).message);
    }
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
    const child: ChildProcess = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-rw_timeout', '15000000', '-i', this.options.url, '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reader = new FlvReader();
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    child.stdout!.on('data', (chunk: Buffer) => {
      try {
        for (const t of reader.push(chunk)) onTag(t.type, t.timestamp, t.payload);
      } catch (err) {
        child.kill('SIGKILL');
        onEnd(`bad FLV from ffmpeg: ${(err as Error).message}`);
      }
    });
    child.on('error', (err) => onEnd(`ffmpeg: ${err.message}`));
    // ffmpeg's message may quote the URL (and a token in it): not in logs or the API.
    const lastLine = (): string => (stderr.trim().split('\n').pop() ?? '').replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, '(url)');
    child.on('close', (code) => onEnd(`ffmpeg exited (${code ?? 'signal'})${stderr ? `: ${lastLine()}` : ''}`));
    return { close: () => child.kill('SIGKILL') };
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
    const publisher = this.publisher;
    const ingest = this.ingest!;
    if (type === FLV_TAG_SCRIPT) {
      const values = decodeAmf0(payload);
      const i = values[0] === '@setDataFrame' ? 1 : 0;
      const meta = values[i + 1];
      if (values[i] === 'onMetaData' && meta !== undefined && isAmf0Object(meta)) publisher.metadata(meta);
      return;
    }
    if ((type !== FLV_TAG_VIDEO && type !== FLV_TAG_AUDIO) || payload.byteLength === 0) return;
    const now = performance.timeOrigin + performance.now();
    const events = type === FLV_TAG_VIDEO ? ingest.pushVideo(timestamp, payload, now) : ingest.pushAudio(timestamp, payload, now);
    for (const event of events) {
      if (event.type === 'frame') publisher.frame(event.frame);
      else if (event.type === 'track') publisher.track(event.track);
      else publisher.warning(event.code, event.message, now);
    }
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
