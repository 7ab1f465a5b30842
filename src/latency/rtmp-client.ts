/**
 * A minimal RTMP client connection (handshake, connect, createStream, then publish or play) built
 * from the gateway's own byte-level pieces. I/O glue only; the parsing lives in src/rtmp.
 */
import net from 'node:net';
import { ClientHandshake } from '../rtmp/handshake.js';
import { ChunkReader, ChunkWriter, type RtmpMessage } from '../rtmp/chunk.js';
import { decodeAmf0, encodeAmf0, type Amf0Value } from '../flv/amf0.js';
import { MessageType, parseAggregate, setChunkSizePayload } from '../rtmp/messages.js';

export interface RtmpTarget {
  readonly host: string;
  readonly port: number;
  readonly app: string;
  readonly key: string;
}

export function parseRtmpUrl(url: string): RtmpTarget {
  const u = new URL(url);
  if (u.protocol !== 'rtmp:') throw new Error(`not an rtmp:// URL: ${url}`);
  const [app, ...rest] = u.pathname.replace(/^\//, '').split('/');
  if (!app || rest.length === 0) throw new Error(`URL needs /APP/KEY: ${url}`);
  return { host: u.hostname, port: Number(u.port || 1935), app, key: rest.join('/') };
}

const CSID_COMMAND = 3;
const OUT_CHUNK_SIZE = 4096;

export interface RtmpMediaMessage {
  readonly type: number;
  readonly timestamp: number;
  readonly payload: Uint8Array;
}

export class RtmpClientConnection {
  private readonly socket: net.Socket;
  private readonly writer = new ChunkWriter();
  private readonly reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  private readonly handshake = new ClientHandshake();
  private ready: Promise<void>;
  private statusWaiters: { code: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Video / audio / data messages (aggregates flattened). */
  onMedia: (m: RtmpMediaMessage) => void = () => undefined;
  closed = false;

  constructor(private readonly target: RtmpTarget) {
    this.socket = net.connect(target.port, target.host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.on('connect', () => this.socket.write(this.handshake.start()));
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
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('close', () => {
      this.closed = true;
      this.fail(new Error('RTMP connection closed'));
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
      if (name !== 'onStatus' || typeof info !== 'object' || info === null || info instanceof Date || Array.isArray(info)) return;
      const code = String((info as Record<string, Amf0Value>)['code']);
      this.resolveStatus(code);
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
    this.command(0, 'connect', 1, { app, tcUrl: `rtmp://${host}:${port}/${app}`, flashVer: 'FMLE/3.0', type: 'nonprivate' });
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

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
