/**
 * One push target: a stream's relay (src/relay) republished to another RTMP or RTMPS server with
 * our own RTMP client (src/rtmp/client.ts), not a process per target; or to an SRT listener, with
 * ffmpeg as the SRT transport (srt-push.ts). It starts at a keyframe
 * (the relay's cached GOP), writes the relay's messages chunked once for every player and target
 * (src/rtmp/play-chunks.ts), and has a bounded queue: a slow or dead target skips to the next
 * keyframe and never slows the publisher, the other targets or the viewers. A lost connection is
 * retried with back-off (1 s doubling to 30 s) for as long as the target exists.
 */
import type { Logger } from 'pino';
import { RtmpClientConnection, parseRtmpUrl } from '../rtmp/client.js';
import { RTMP_CHUNKS } from '../rtmp/play-chunks.js';
import { PlayerQueuePolicy, type RelayHub, type RelayPlayer } from '../relay/relay-hub.js';
import { FLV_TAGS, startRelayWrites } from '../relay/relay-writer.js';
import { SrtPushConnection, type PushConnection } from './srt-push.js';

export type PushState = 'waiting' | 'connecting' | 'live' | 'retrying' | 'stopped';

export interface PushTargetView {
  readonly id: string;
  /** The URL with its stream key hidden (keys are secrets on every platform). */
  readonly url: string;
  readonly rendition: string;
  readonly state: PushState;
  readonly bytes: number;
  /** Bits per second over the last few seconds. */
  readonly bitrate: number;
  readonly dropped: number;
  readonly reconnects: number;
  readonly lastError: string | null;
  /** From config (kept) or the API (removable). */
  readonly source: 'config' | 'api';
}

export interface PushTargetOptions {
  readonly id: string;
  readonly url: string;
  readonly rendition: string;
  readonly source: 'config' | 'api';
  /** Bytes queued on the socket before the target skips to the next keyframe. */
  readonly maxQueuedBytes: number;
  readonly logger: Logger;
  /** Back-off bounds, ms (tests shorten them). */
  readonly retryMs?: { readonly first: number; readonly max: number };
  /** Told of every byte written (metrics). */
  readonly onBytes?: (bytes: number) => void;
  /** ffmpeg, the transport of srt:// targets. */
  readonly ffmpegPath?: string;
}

/** Whether `url` is an SRT target (pushed through ffmpeg) rather than RTMP/RTMPS. */
export function isSrtUrl(url: string): boolean {
  return /^srt:\/\//i.test(url);
}

/** `rtmp://host/app/KEY...` -> `rtmp://host/app/…` for views and logs. */
export function redactPushUrl(url: string): string {
  try {
    const u = new URL(url);
    // srt://host:port?streamid=…&passphrase=…: the whole query is secret.
    if (isSrtUrl(url)) return `srt://${u.host}${u.search ? '?…' : ''}`;
    const path = u.pathname.split('/');
    if (path.length > 2) path[path.length - 1] = '…';
    return `${u.protocol}//${u.host}${path.join('/')}`;
  } catch {
    return '(invalid URL)';
  }
}

const RATE_WINDOW_S = 5;
/** A connection up this long resets the back-off. */
const STABLE_MS = 30_000;

export class PushTarget {
  readonly id: string;
  readonly rendition: string;
  readonly source: 'config' | 'api';
  private readonly url: string;
  /** An srt:// target (ffmpeg fed FLV) rather than RTMP/RTMPS (our client, RTMP chunks). */
  private readonly srt: boolean;
  private readonly options: PushTargetOptions;
  private readonly log: Logger;
  private state: PushState = 'waiting';
  private hub: RelayHub | undefined;
  private connection: PushConnection | undefined;
  private player: RelayPlayer | undefined;
  private policy: PlayerQueuePolicy;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private liveSince: number | undefined;
  private bytes = 0;
  private dropped = 0;
  private reconnects = 0;
  private lastError: string | null = null;
  /** Bytes per whole second, the last RATE_WINDOW_S seconds. */
  private readonly perSecond = new Map<number, number>();

  constructor(options: PushTargetOptions) {
    this.options = options;
    this.id = options.id;
    this.rendition = options.rendition;
    this.source = options.source;
    this.url = options.url;
    this.srt = isSrtUrl(options.url);
    if (!this.srt) parseRtmpUrl(options.url);
    this.policy = new PlayerQueuePolicy(options.maxQueuedBytes);
    this.retryDelay = options.retryMs?.first ?? 1000;
    this.log = options.logger.child({ push: this.id, to: redactPushUrl(options.url) });
  }

  view(): PushTargetView {
    const now = Math.floor(Date.now() / 1000);
    let recent = 0;
    for (const [second, bytes] of this.perSecond) if (now - second < RATE_WINDOW_S && second < now) recent += bytes;
    return {
      id: this.id,
      url: redactPushUrl(this.url),
      rendition: this.rendition,
      state: this.state,
      bytes: this.bytes,
      bitrate: Math.round((recent * 8) / (RATE_WINDOW_S - 1)),
      dropped: this.dropped + this.policy.dropped,
      reconnects: this.reconnects,
      lastError: this.lastError,
      source: this.source,
    };
  }

  /** The stream is live (again): connect and push it. */
  attach(hub: RelayHub): void {
    if (this.state === 'stopped') return;
    this.detach();
    this.hub = hub;
    this.connect();
  }

  /** The stream ended: close, and wait for it to come back. */
  detach(): void {
    this.disconnect();
    this.hub = undefined;
    if (this.state !== 'stopped') this.state = 'waiting';
  }

  /** Removed: never again. */
  stop(): void {
    this.detach();
    this.state = 'stopped';
  }

  private connect(): void {
    const hub = this.hub;
    if (!hub) return;
    const codec = hub.stream.video?.codec;
    const audioCodec = hub.stream.audio?.codec;
    if (this.srt && ((codec !== undefined && codec !== 'avc') || (audioCodec !== undefined && audioCodec !== 'aac'))) {
      // ffmpeg (the SRT transport) is fed FLV, which Debian's ffmpeg 5.1 reads for H.264 and AAC
      // only (no Enhanced RTMP); AV1, VP9, Opus and FLAC have no usual MPEG-TS carriage either.
      // Waits for the stream's next publish.
      const what = codec !== undefined && codec !== 'avc' ? codec.toUpperCase() : `${audioCodec!.toUpperCase()} audio`;
      this.lastError = `SRT targets take H.264 + AAC streams; this one is ${what}`;
      this.state = 'waiting';
      this.log.warn({ codec, audioCodec }, 'push target skipped: SRT targets take H.264 + AAC streams');
      return;
    }
    this.state = 'connecting';
    let connection: PushConnection;
    try {
      connection = this.open();
    } catch (err) {
      this.lost((err as Error).message);
      return;
    }
    this.connection = connection;
    connection.onClose = (error) => {
      if (this.connection !== connection) return;
      this.lost(error?.message ?? 'connection closed by the target');
    };
    connection.publish().then(
      () => {
        if (this.connection !== connection || this.hub !== hub) return;
        this.startPushing(hub, connection);
      },
      (err: unknown) => {
        if (this.connection !== connection) return;
        this.lost(err instanceof Error ? err.message : String(err));
      },
    );
  }

  /** RTMP(S) through our client; SRT through ffmpeg, fed FLV. */
  private open(): PushConnection {
    if (this.srt) {
      if (!this.options.ffmpegPath) throw new Error('ffmpeg not found (set FFMPEG_PATH): it carries srt:// push targets');
      return new SrtPushConnection(this.options.ffmpegPath, this.url, redactPushUrl(this.url));
    }
    // Our RTMP client is a PushConnection as it is.
    return new RtmpClientConnection(parseRtmpUrl(this.url));
  }

  private startPushing(hub: RelayHub, connection: PushConnection): void {
    this.state = 'live';
    this.liveSince = Date.now();
    this.lastError = null;
    // The relay's chunks (RTMP) or tags (FLV into ffmpeg for SRT) as every player gets them, counted on the way out.
    const sink = { write: (bytes: Uint8Array) => this.write(connection, bytes), queuedBytes: () => connection.queuedBytes(), cork: () => connection.cork() };
    const hasVideo = hub.stream.video !== undefined;
    const send = startRelayWrites(sink, hub.start(), this.policy, hasVideo, this.srt ? FLV_TAGS : RTMP_CHUNKS, hub.stream.audio !== undefined);
    const player: RelayPlayer = {
      send,
      end: () => this.detach(),
    };
    this.player = player;
    hub.addPlayer(player);
    this.log.info('push started');
  }

  private write(connection: PushConnection, bytes: Uint8Array): void {
    connection.write(bytes);
    this.bytes += bytes.byteLength;
    const second = Math.floor(Date.now() / 1000);
    this.perSecond.set(second, (this.perSecond.get(second) ?? 0) + bytes.byteLength);
    if (this.perSecond.size > RATE_WINDOW_S) for (const s of this.perSecond.keys()) if (second - s >= RATE_WINDOW_S) this.perSecond.delete(s);
    this.options.onBytes?.(bytes.byteLength);
  }

  private lost(reason: string): void {
    this.disconnect();
    if (this.state === 'stopped' || !this.hub) return;
    // The back-off starts over only after a connection that lasted: a target that takes the
    // connection and drops it at once (wrong key or passphrase) is retried ever more slowly.
    if (this.liveSince !== undefined && Date.now() - this.liveSince >= STABLE_MS) this.retryDelay = this.options.retryMs?.first ?? 1000;
    this.liveSince = undefined;
    this.lastError = reason;
    this.state = 'retrying';
    this.reconnects++;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, this.options.retryMs?.max ?? 30_000);
    this.log.warn({ err: reason, retryInMs: delay }, 'push target lost; retrying');
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.hub && this.state === 'retrying') this.connect();
    }, delay);
    this.retryTimer.unref();
  }

  private disconnect(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.player && this.hub) this.hub.removePlayer(this.player);
    this.player = undefined;
    this.dropped += this.policy.dropped;
    this.policy = new PlayerQueuePolicy(this.options.maxQueuedBytes);
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
  }
}
