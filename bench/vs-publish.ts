/**
 * The vs bench's publishers, in their own process (their CPU is neither the server's nor the
 * orchestrator's): one RTMP publisher per target replaying the bench fixture in real time, looped
 * with continuous timestamps, as an encoder would send it. Records when each video frame was
 * written. Prints `first-media <epoch ms>` once the first audio/video message is written; on
 * "stop" (stdin) or stdin's end it closes the connections and writes a PublishResult to
 * config.out.
 * Usage: node --import tsx bench/vs-publish.ts CONFIG.json
 */
import { stopRequested } from './vs-proc.js';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { ClientHandshake } from '../src/rtmp/handshake.js';
import { ChunkReader, ChunkWriter, type RtmpMessage } from '../src/rtmp/chunk.js';
import { decodeAmf0, encodeAmf0, type Amf0Value } from '../src/flv/amf0.js';
import { MessageType, setChunkSizePayload } from '../src/rtmp/messages.js';
import { FlvReader, FLV_TAG_AUDIO, FLV_TAG_SCRIPT, FLV_TAG_VIDEO } from '../src/flv/reader.js';
import { parseAudioTagBody, parseVideoTagBody } from '../src/flv/tag.js';
import type { PublishConfig, PublishedStream, RtmpTarget, SentFrame } from './vs-types.js';

const OUT_CHUNK_SIZE = 4096;
/** Chunk stream ids as ffmpeg uses them: commands 3, audio 4, data 5, video 6. */
const CSID = { command: 3, audio: 4, data: 5, video: 6 } as const;
/** A peer that listens late (ffmpeg -listen 1 says nothing when it is ready) is retried for this long. */
const CONNECT_RETRY_MS = 15_000;
const COMMAND_TIMEOUT_MS = 10_000;

const now = (): number => performance.timeOrigin + performance.now();

interface MediaTag {
  readonly type: typeof FLV_TAG_AUDIO | typeof FLV_TAG_VIDEO;
  readonly ts: number;
  readonly payload: Uint8Array;
  /** AVC/AAC sequence headers: sent once, not again when the file loops (that would be a new codec config). */
  readonly sequenceHeader: boolean;
  /** A video frame (not a sequence header): its send instant is recorded. */
  readonly frame: boolean;
  readonly key: boolean;
}

interface Fixture {
  /** The onMetaData script tag body, sent as @setDataFrame. */
  readonly metadata: Uint8Array | undefined;
  readonly tags: MediaTag[];
  /** Timestamp offset added per loop: the file's length, so timestamps continue without a jump. */
  readonly loopMs: number;
}

function classify(type: number, payload: Uint8Array): { sequenceHeader: boolean; frame: boolean; key: boolean } {
  if (type === FLV_TAG_VIDEO) {
    const body = parseVideoTagBody(payload);
    return { sequenceHeader: body.kind === 'sequence-header', frame: body.kind === 'frame', key: body.kind === 'frame' && body.key };
  }
  return { sequenceHeader: parseAudioTagBody(payload).kind === 'sequence-header', frame: false, key: false };
}

/** Median gap between consecutive timestamps: one frame's duration. */
function frameGap(ts: number[]): number {
  const gaps = ts.slice(1).map((t, i) => t - ts[i]!).sort((a, b) => a - b);
  return gaps[gaps.length >> 1] ?? 0;
}

function loadFixture(file: string): Fixture {
  let metadata: Uint8Array | undefined;
  const tags: MediaTag[] = [];
  for (const tag of new FlvReader().push(readFileSync(file))) {
    if (tag.type === FLV_TAG_SCRIPT) metadata ??= tag.payload;
    else if (tag.type === FLV_TAG_AUDIO || tag.type === FLV_TAG_VIDEO) tags.push({ type: tag.type, ts: tag.timestamp, payload: tag.payload, ...classify(tag.type, tag.payload) });
  }
  const video = tags.filter((t) => t.type === FLV_TAG_VIDEO).map((t) => t.ts);
  const audio = tags.filter((t) => t.type === FLV_TAG_AUDIO).map((t) => t.ts);
  // The loop must start after the last frame of either track plus its duration, so no timestamp goes back.
  const end = (ts: number[]): number => (ts.length ? ts[ts.length - 1]! + frameGap(ts) : 0);
  return { metadata, tags, loopMs: Math.max(end(video), end(audio)) };
}

/** AMF0 string '@setDataFrame' followed by the file's onMetaData body: what ffmpeg and OBS send. */
function setDataFrame(metadata: Uint8Array): Uint8Array {
  const prefix = encodeAmf0('@setDataFrame');
  const out = new Uint8Array(prefix.byteLength + metadata.byteLength);
  out.set(prefix, 0);
  out.set(metadata, prefix.byteLength);
  return out;
}

function connectOnce(target: RtmpTarget): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target.port, target.host);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

async function connect(target: RtmpTarget): Promise<net.Socket> {
  const deadline = performance.now() + CONNECT_RETRY_MS;
  for (;;) {
    try {
      return await connectOnce(target);
    } catch (e) {
      // Only "nobody listens yet" is retried (as encoders retry); anything else is a failure.
      if ((e as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || performance.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

class Publisher {
  private socket: net.Socket | undefined;
  private readonly handshake = new ClientHandshake();
  private readonly writer = new ChunkWriter();
  private readonly reader = new ChunkReader({ maxMessageSize: 16 * 1024 * 1024 });
  private readonly results = new Map<number, (values: Amf0Value[]) => void>();
  private readonly statuses = new Map<string, () => void>();
  private failure: ((e: Error) => void) | undefined;
  private streamId = 0;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  private loop = 0;
  private baseAt = 0;
  private stopped = false;
  firstMediaAt = NaN;
  readonly frames: SentFrame[] = [];

  constructor(
    private readonly target: RtmpTarget,
    private readonly fixture: Fixture,
    private readonly onFirstMedia: (at: number) => void,
  ) {}

  /** Handshake, connect, releaseStream/FCPublish/createStream, publish: resolves on NetStream.Publish.Start. */
  async open(): Promise<void> {
    const socket = await connect(this.target);
    this.socket = socket;
    socket.setNoDelay(true);
    const failed = new Promise<never>((_, reject) => (this.failure = reject));
    failed.catch(() => undefined); // observed through the races below
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(`${this.target.key}: connection closed by the server`)));
    const handshaken = new Promise<void>((resolve) => socket.on('data', (data: Buffer) => this.onData(data, resolve)));
    socket.write(this.handshake.start());
    await Promise.race([handshaken, failed]);
    this.write(2, MessageType.SetChunkSize, 0, 0, setChunkSizePayload(OUT_CHUNK_SIZE));
    this.writer.chunkSize = OUT_CHUNK_SIZE;
    const { host, port, app, key } = this.target;
    const tcUrl = `rtmp://${host}:${port}/${app}`;
    await Promise.race([this.call(1, 'connect', { app, type: 'nonprivate', flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)', tcUrl }), failed]);
    // What ffmpeg and OBS send once connected; only createStream's answer is awaited.
    this.command(0, 'releaseStream', 2, null, key);
    this.command(0, 'FCPublish', 3, null, key);
    const created = await Promise.race([this.call(4, 'createStream', null), failed]);
    const id = created[3];
    if (typeof id !== 'number') throw new Error(`${key}: createStream answered without a stream id`);
    this.streamId = id;
    const started = this.status('NetStream.Publish.Start');
    this.command(id, 'publish', 5, null, key, 'live');
    await Promise.race([started, failed]);
  }

  /** Starts sending: the fixture's timestamp 0 is due at `baseAt` (performance.now() clock). */
  start(baseAt: number): void {
    this.baseAt = baseAt;
    if (this.fixture.metadata) this.write(CSID.data, MessageType.DataAMF0, this.streamId, 0, setDataFrame(this.fixture.metadata));
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }

  result(): PublishedStream {
    return { key: this.target.key, firstMediaAt: this.firstMediaAt, frames: this.frames };
  }

  /** Sends every tag that is due, then sleeps until the next one is (real-time pacing). */
  private readonly pump = (): void => {
    const { tags, loopMs } = this.fixture;
    while (!this.stopped) {
      const tag = tags[this.next]!;
      const dts = tag.ts + this.loop * loopMs;
      const wait = this.baseAt + dts - performance.now();
      if (wait > 0) {
        this.timer = setTimeout(this.pump, wait);
        return;
      }
      if (!(tag.sequenceHeader && this.loop > 0)) this.send(tag, dts);
      if (++this.next === tags.length) {
        this.next = 0;
        this.loop++;
      }
    }
  };

  private send(tag: MediaTag, dts: number): void {
    const video = tag.type === FLV_TAG_VIDEO;
    this.write(video ? CSID.video : CSID.audio, video ? MessageType.Video : MessageType.Audio, this.streamId, dts, tag.payload);
    const at = now();
    if (Number.isNaN(this.firstMediaAt)) {
      this.firstMediaAt = at;
      this.onFirstMedia(at);
    }
    if (tag.frame) this.frames.push([dts, at, tag.key ? 1 : 0]);
  }

  /** One socket.write per RTMP message. */
  private write(csid: number, type: number, streamId: number, timestamp: number, payload: Uint8Array): void {
    this.socket!.write(this.writer.encode({ csid, type, streamId, timestamp: timestamp >>> 0, payload }));
  }

  private command(streamId: number, ...values: Amf0Value[]): void {
    this.write(CSID.command, MessageType.CommandAMF0, streamId, 0, encodeAmf0(...values));
  }

  /** A command on stream 0 whose _result (same transaction id) is awaited. */
  private call(transaction: number, name: string, ...args: Amf0Value[]): Promise<Amf0Value[]> {
    const answered = new Promise<Amf0Value[]>((resolve) => this.results.set(transaction, resolve));
    this.command(0, name, transaction, ...args);
    return withTimeout(answered, `${this.target.key}: no answer to ${name}`);
  }

  private status(code: string): Promise<void> {
    return withTimeout(new Promise<void>((resolve) => this.statuses.set(code, resolve)), `${this.target.key}: no ${code}`);
  }

  private onData(data: Buffer, handshaken: () => void): void {
    try {
      if (!this.handshake.done) {
        const step = this.handshake.push(data);
        for (const out of step.send) this.socket!.write(out);
        if (!step.done) return;
        handshaken();
        this.onMessages(step.rest);
        return;
      }
      this.onMessages(data);
    } catch (e) {
      this.fail(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private onMessages(data: Uint8Array): void {
    for (const m of this.reader.push(data)) this.onMessage(m);
  }

  private onMessage(m: RtmpMessage): void {
    if (m.type !== MessageType.CommandAMF0) return; // control messages: the ChunkReader applies chunk size itself
    const values = decodeAmf0(m.payload);
    const [name, transaction] = values;
    if ((name === '_result' || name === '_error') && typeof transaction === 'number') {
      if (name === '_error') this.fail(new Error(`${this.target.key}: _error for transaction ${transaction}`));
      this.results.get(transaction)?.(values);
      this.results.delete(transaction);
    } else if (name === 'onStatus') {
      const info = values[3];
      const code = info && typeof info === 'object' && !Array.isArray(info) && !(info instanceof Date) ? String(info['code']) : '';
      if (/Failed|BadName|Rejected/.test(code)) this.fail(new Error(`${this.target.key}: ${code}`));
      this.statuses.get(code)?.();
    }
  }

  private fail(e: Error): void {
    if (this.stopped) return;
    if (this.failure) this.failure(e);
    // Once media flows a failure is not awaited by anyone: say it, the viewer's figures will show it.
    if (!Number.isNaN(this.firstMediaAt)) process.stderr.write(`vs-publish: ${e.message}\n`);
  }
}

function withTimeout<T>(p: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), COMMAND_TIMEOUT_MS)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

async function main(): Promise<void> {
  const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as PublishConfig;
  const stop = stopRequested();
  const fixture = loadFixture(config.fixture);
  let announced = false;
  const firstMedia = (at: number): void => {
    if (announced) return;
    announced = true;
    process.stdout.write(`first-media ${at}\n`);
  };
  const publishers = config.targets.map((t) => new Publisher(t, fixture, firstMedia));
  await Promise.all(publishers.map((p) => p.open()));
  // Streams start staggered over the first second, as independent encoders would.
  const t0 = performance.now();
  publishers.forEach((p, i) => p.start(t0 + (i * 1000) / publishers.length));
  await stop;
  for (const p of publishers) p.stop();
  writeFileSync(config.out, JSON.stringify({ streams: publishers.map((p) => p.result()) }));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`vs-publish: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
