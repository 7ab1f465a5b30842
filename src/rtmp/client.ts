/**
 * Our RTMP client connection (handshake, connect, createStream, then publish or play), over TCP
 * or TLS (rtmps://), built from the gateway's own byte-level pieces: the latency tool's publisher
 * and player, and push targets (src/push). I/O glue only; the parsing lives in src/rtmp.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ClientHandshake } from './handshake.js';
import { ChunkReader, ChunkWriter, type RtmpMessage } from './chunk.js';
import { decodeAmf0, encodeAmf0, isAmf0Object, type Amf0Value } from '../flv/amf0.js';
import { MessageType, parseAggregate, setChunkSizePayload } from './messages.js';
import { PLAY_CHUNK_SIZE } from './play-chunks.js';

export interface RtmpTarget {
  readonly host: string;
  readonly port: number;
  readonly app: string;
  /** The stream name, with its query (`KEY?token=...`) as the server expects it. */
  readonly key: string;
  /** rtmps://: TLS. */
  readonly tls?: boolean;
}

/**
 * `rtmp://HOST[:PORT]/APP/KEY` or `rtmps://HOST[:PORT]/APP/KEY` (port 1935 / 443 by default).
 * The last path element is the stream key and keeps the URL's query (`?token=` and the like);
 * everything before it is the app (`rtmp://a.rtmp.youtube.com/live2/KEY`, `.../app/inst/KEY`).
 */
export function parseRtmpUrl(url: string): RtmpTarget {
  const u = new URL(url);
  if (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') throw new Error(`not an rtmp:// or rtmps:// URL: ${url}`);
  const parts = u.pathname.replace(/^\//, '').split('/');
  const key = parts.pop();
  const app = parts.join('/');
  if (!app || !key) throw new Error(`URL needs /APP/KEY: ${url}`);
  const secure = u.protocol === 'rtmps:';
  return { host: u.hostname, port: Number(u.port || (secure ? 443 : 1935)), app, key: `${decodeURIComponent(key)}${u.search}`, ...(secure ? { tls: true } : {}) };
}

const CSID_COMMAND = 3;
/** The play sessions' chunk size: push targets send relay messages chunked for players as they are. */
const OUT_CHUNK_SIZE = PLAY_CHUNK_SIZE;

export interface RtmpMediaMessage {
  readonly type: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export class RtmpClientConnection {
  private readonly socket: net.Socket;
  /** Every onStatus code the server sends (NetStream.Play.UnpublishNotify, ...). */
  onStatus: (code: string) => void = () => undefined;
  /** Told once when the connection is gone (closed, reset, refused). */
  onClose: (error: Error | undefined) => void = () => undefined;
  private readonly writer = new ChunkWriter();
  private readonly reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  private readonly handshake = new ClientHandshake();
  private ready: Promise<void>;
  private statusWaiters: { code: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Video / audio / data messages (aggregates flattened). */
  onMedia: (m: RtmpMediaMessage) => void = () => undefined;
  closed = false;

  constructor(private readonly target: RtmpTarget) {
    // SNI names hosts, never addresses (RFC 6066 §3): an IP target sends none.
    this.socket = target.tls ? tls.connect({ port: target.port, host: target.host, ...(net.isIP(target.host) ? {} : { servername: target.host }) }) : net.connect(target.port, target.host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.on(target.tls ? 'secureConnect' : 'connect', () => this.socket.write(this.handshake.start()));
      this.socket.on('data', (data: Buffer) => {
        try {
          let rest: Uint8Array = data;
          if (!this.handshake.done) {
            const step = this.handshake.push(data);
            for (const out of step.send) this.socket.write(out);
            if (!step.done) return;
            rest = step.rest;
            resolve();
          }
          for (const m of this.reader.push(rest)) this.dispatch(m);
        } catch (e) {
          this.fail(e instanceof Error ? e : new Error(String(e)));
        }
      });
    });
    let lastError: Error | undefined;
    this.socket.on('error', (e) => {
      lastError = e;
      this.fail(e);
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('RTMP connection closed'));
      this.onClose(lastError);
    });
  }

  private fail(e: Error): void {
    const waiters = this.statusWaiters;
    this.statusWaiters = [];
    for (const w of waiters) w.reject(e);
  }

  private dispatch(m: RtmpMessage): void {
    if (m.type === MessageType.CommandAMF0) {
      const [name, , , info] = decodeAmf0(m.payload);
      if (name !== 'onStatus' || !isAmf0Object(info)) return;
      const code = String(info['code']);
      this.resolveStatus(code);
      this.onStatus(code);
      if (code.endsWith('NotFound') || code.endsWith('BadName') || code.endsWith('Failed')) this.fail(new Error(`RTMP ${code}`));
      return;
    }
    // Some servers skip Play.Start; media flowing means playing.
    if (m.type === MessageType.Aggregate || m.type === MessageType.Video || m.type === MessageType.Audio) this.resolveStatus('NetStream.Play.Start');
    if (m.type === MessageType.Aggregate) {
      for (const sub of parseAggregate(m.payload, m.timestamp)) this.onMedia(sub);
      return;
    }
    if (m.type === MessageType.Video || m.type === MessageType.Audio || m.type === MessageType.DataAMF0) this.onMedia(m);
  }

  private resolveStatus(code: string): void {
    if (this.statusWaiters.length === 0) return;
    for (const w of this.statusWaiters.filter((x) => x.code === code)) w.resolve();
    this.statusWaiters = this.statusWaiters.filter((x) => x.code !== code);
  }

  private command(streamId: number, ...values: Amf0Value[]): void {
    this.socket.write(this.writer.encode({ csid: CSID_COMMAND, type: MessageType.CommandAMF0, streamId, timestamp: 0, payload: encodeAmf0(...values) }));
  }

  private waitStatus(code: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${code} within ${timeoutMs} ms`)), timeoutMs);
      this.statusWaiters.push({
        code,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private async open(): Promise<void> {
    await this.ready;
    this.socket.write(this.writer.encode({ csid: 2, type: MessageType.SetChunkSize, streamId: 0, timestamp: 0, payload: setChunkSizePayload(OUT_CHUNK_SIZE) }));
    this.writer.chunkSize = OUT_CHUNK_SIZE;
    const { host, port, app } = this.target;
    this.command(0, 'connect', 1, { app, tcUrl: `${this.target.tls ? 'rtmps' : 'rtmp'}://${host}:${port}/${app}`, flashVer: 'FMLE/3.0', type: 'nonprivate' });
    this.command(0, 'createStream', 2, null);
  }

  /** Resolves once the server answers NetStream.Publish.Start. */
  async publish(timeoutMs = 10_000): Promise<void> {
    await this.open();
    const started = this.waitStatus('NetStream.Publish.Start', timeoutMs);
    this.command(1, 'publish', 3, null, this.target.key, 'live');
    await started;
  }

  /** Starts playing; media arrives through onMedia. */
  async play(timeoutMs = 10_000): Promise<void> {
    await this.open();
    const started = this.waitStatus('NetStream.Play.Start', timeoutMs);
    this.command(1, 'play', 3, null, this.target.key, -1000);
    await started;
  }

  /** Writes one media message on message stream 1. Returns false when the socket buffer is full. */
  sendMedia(type: number, timestamp: number, payload: Uint8Array): boolean {
    const csid = type === MessageType.Audio ? 4 : type === MessageType.Video ? 6 : 5;
    return this.socket.write(this.writer.encode({ csid, type, streamId: 1, timestamp: timestamp >>> 0, payload }));
  }

  /** Writes bytes already chunked for message stream 1 at chunk size 4096 (src/rtmp/play-chunks.ts). */
  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes);
  }

  /** Batches the writes of this tick into one writev. */
  cork(): void {
    if (this.socket.writableCorked > 0 || this.socket.destroyed) return;
    this.socket.cork();
    process.nextTick(() => this.socket.uncork());
  }

  /** Bytes written but not yet taken by the kernel. */
  queuedBytes(): number {
    return this.socket.writableLength;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
