/**
 * RTMP play and HTTP-FLV fan-out for one live stream: metadata, sequence headers and a GOP
 * cache for players that join late, then live messages. Every message body is built once and
 * its encoded forms (RTMP chunks, FLV tag) are cached on it, so N players cost N writes of the
 * same bytes, never N encodings.
 */
import type { AudioCodec, Frame, Track, VideoCodec } from '../core/media.js';
import type { LiveStream, StreamSink } from '../core/stream.js';
import { audioFrameHead, audioSequenceHeaderBody, frameMs, videoColourMetadataBody, videoFrameHead, videoSequenceHeaderBody } from '../flv/tag.js';

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
export const TAG_SCRIPT = 18;

/**
 * One FLV/RTMP message. A frame's body is its FLV header (`head`, a few bytes) and the frame's
 * own bytes (`data`, a view of what the publisher sent): nothing is copied for the GOP cache or
 * for a stream nobody plays; the body is joined only when a player's encoding needs it.
 */
export class RelayMessage {
  readonly type: typeof TAG_AUDIO | typeof TAG_VIDEO | typeof TAG_SCRIPT;
  /** RTMP/FLV millisecond clock. */
  readonly timestamp: number;
  /** A video keyframe: a lagging player may resume here. */
  readonly key: boolean;
  readonly head: Uint8Array;
  /**
   * Where the frame's bytes are read from when needed: the frame itself, not its bytes as they
   * were when it arrived, so a message in the GOP cache holds what the frame was moved into (its
   * CMAF part, core/media.ts rehomeFrameData) rather than the publisher's buffers.
   */
  private readonly source: { readonly data: Uint8Array } | undefined;
  /** Encoded forms, filled lazily by the first player of each kind. */
  encoded: Map<string, Uint8Array> | undefined = undefined;

  constructor(type: RelayMessage['type'], timestamp: number, head: Uint8Array, source: { readonly data: Uint8Array } | undefined, key: boolean) {
    this.type = type;
    this.timestamp = timestamp;
    this.head = head;
    this.source = source;
    this.key = key;
  }

  /** The frame's own bytes (after `head`), if the message carries a frame. */
  get data(): Uint8Array | undefined {
    return this.source?.data;
  }

  /** The same message at another timestamp (a header sent to a joining player). */
  at(timestamp: number): RelayMessage {
    return new RelayMessage(this.type, timestamp, this.head, this.source, this.key);
  }

  get byteLength(): number {
    return this.head.byteLength + (this.data?.byteLength ?? 0);
  }

  /** The whole FLV tag body (built on each call: encoders call it once per output kind). */
  get body(): Uint8Array {
    if (!this.data) return this.head;
    const body = new Uint8Array(this.byteLength);
    body.set(this.head, 0);
    body.set(this.data, this.head.byteLength);
    return body;
  }
}

/** Live messages flushed together: their encodings are concatenated once for every player. */
export interface RelayBatch {
  readonly messages: readonly RelayMessage[];
  encoded: Map<string, Uint8Array> | undefined;
}

/** The concatenated encoding of a whole batch for one output kind, computed once. */
export function batchBytes(batch: RelayBatch, kind: string, encode: (m: RelayMessage) => Uint8Array): Uint8Array {
  batch.encoded ??= new Map();
  let bytes = batch.encoded.get(kind);
  if (!bytes) {
    const parts = batch.messages.map(encode);
    let total = 0;
    for (const p of parts) total += p.byteLength;
    bytes = new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.byteLength;
    }
    batch.encoded.set(kind, bytes);
  }
  return bytes;
}

export interface RelayPlayer {
  /** Sends live messages (the player may drop some to stay within its queue bound). */
  send(batch: RelayBatch): void;
  /** The stream ended. */
  end(): void;
}

export interface RelayStart {
  readonly metadata: RelayMessage | undefined;
  readonly headers: readonly RelayMessage[];
  readonly gop: readonly RelayMessage[];
}

/** The GOP cache never holds more than this, whatever the keyframe interval. */
const GOP_CACHE_MAX_BYTES = 32 * 1024 * 1024;

export function message(type: RelayMessage['type'], timestamp: number, body: Uint8Array, key = false): RelayMessage {
  return new RelayMessage(type, timestamp, body, undefined, key);
}

/** The encoded form of a message for one output kind, computed once. */
export function encodedOnce(m: RelayMessage, kind: string, encode: (m: RelayMessage) => Uint8Array): Uint8Array {
  m.encoded ??= new Map();
  let bytes = m.encoded.get(kind);
  if (!bytes) {
    bytes = encode(m);
    m.encoded.set(kind, bytes);
  }
  return bytes;
}

export class RelayHub implements StreamSink {
  readonly stream: LiveStream;
  private readonly players = new Set<RelayPlayer>();
  private videoHeader: RelayMessage | undefined;
  private videoColour: RelayMessage | undefined;
  private audioHeader: RelayMessage | undefined;
  private videoCodec: VideoCodec = 'avc';
  private videoTimescale = 90_000;
  private audioTimescale = 48_000;
  private audioCodec: AudioCodec = 'aac';
  private gop: RelayMessage[] = [];
  private gopBytes = 0;
  private hasVideo = false;
  private readonly unsubscribe: () => void;
  /** The metadata message, rebuilt when the stream's metadata or tracks change. */
  metadataBuilder: ((stream: LiveStream) => Uint8Array) | undefined;

  /**
   * Messages are written to players in batches every `batchMs`: with a hundred players, one write
   * of a few frames per player costs a fraction of one write per frame. 0: the messages of one
   * event-loop turn (the frames parsed from the publisher's reads handled in it, typically a video
   * frame and the audio beside it) go out together at the end of that turn, so nothing waits for
   * a timer.
   */
  private readonly batchMs: number;
  private pending: RelayMessage[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushImmediate: NodeJS.Immediate | undefined;

  constructor(stream: LiveStream, metadataBuilder?: (stream: LiveStream) => Uint8Array, batchMs = 0) {
    this.stream = stream;
    this.metadataBuilder = metadataBuilder;
    this.batchMs = batchMs;
    this.unsubscribe = stream.subscribe(this);
  }

  get playerCount(): number {
    return this.players.size;
  }

  /** What a joining player is sent before live messages. */
  start(): RelayStart {
    // What is pending goes to the players already here: the joiner gets it in its GOP instead.
    this.flush();
    const headers: RelayMessage[] = [];
    // E-RTMP: the colorInfo Metadata goes ahead of the sequence it describes.
    if (this.videoColour) headers.push(this.videoColour);
    if (this.videoHeader) headers.push(this.videoHeader);
    if (this.audioHeader) headers.push(this.audioHeader);
    const ts = this.gop[0]?.timestamp ?? 0;
    // onMetaData at timestamp 0, as every FLV file and RTMP server sends it: ffmpeg's FLV demuxer
    // reads a script tag with a non-zero timestamp as a data packet and adds a phantom
    // `subtitle: text` stream (libavformat/flvdec.c: header metadata only `if dts == 0`).
    const metadata = this.metadataBuilder ? message(TAG_SCRIPT, 0, this.metadataBuilder(this.stream)) : undefined;
    // Headers carry the GOP's first timestamp so a player's clock never goes backwards.
    return { metadata, headers: headers.map((h) => h.at(ts)), gop: [...this.gop] };
  }

  addPlayer(player: RelayPlayer): void {
    this.players.add(player);
    if (this.stream.ended) player.end();
  }

  removePlayer(player: RelayPlayer): void {
    this.players.delete(player);
  }

  onTrack(track: Track): void {
    if (track.kind === 'video') {
      this.hasVideo = true;
      this.videoCodec = track.codec;
      this.videoTimescale = track.timescale;
      this.videoHeader = message(TAG_VIDEO, 0, videoSequenceHeaderBody(track), true);
      const colour = videoColourMetadataBody(track);
      this.videoColour = colour ? message(TAG_VIDEO, 0, colour, false) : undefined;
      this.gop = [];
      this.gopBytes = 0;
      if (this.videoColour) this.broadcast(this.videoColour);
      this.broadcast(this.videoHeader);
    } else {
      this.audioTimescale = track.timescale;
      this.audioCodec = track.codec;
      // AC-3 and E-AC-3 have no sequence header: their frames go out alone.
      const body = audioSequenceHeaderBody(track);
      this.audioHeader = body ? message(TAG_AUDIO, 0, body) : undefined;
      if (this.audioHeader) this.broadcast(this.audioHeader);
    }
  }

  onFrame(frame: Frame): void {
    let m: RelayMessage;
    if (frame.kind === 'video') {
      m = new RelayMessage(TAG_VIDEO, frameMs(frame, this.videoTimescale), videoFrameHead(frame, this.videoCodec), frame, frame.key);
      if (frame.key) {
        this.gop = [];
        this.gopBytes = 0;
      }
    } else {
      m = new RelayMessage(TAG_AUDIO, frameMs(frame, this.audioTimescale), audioFrameHead(this.audioCodec), frame, false);
      // Audio-only: keep about the last second for joiners.
      if (!this.hasVideo) {
        while (this.gop.length > 0 && m.timestamp - this.gop[0]!.timestamp > 1000) this.gopBytes -= this.gop.shift()!.byteLength;
      }
    }
    if (this.hasVideo && this.gop.length === 0 && !(frame.kind === 'video' && frame.key)) {
      // Nothing is cached until the first keyframe: a joiner must start with one.
    } else if (this.gopBytes + m.byteLength <= GOP_CACHE_MAX_BYTES) {
      this.gop.push(m);
      this.gopBytes += m.byteLength;
    }
    this.broadcast(m);
  }

  onEnd(): void {
    this.flush();
    for (const p of this.players) p.end();
    this.players.clear();
    this.gop = [];
    this.unsubscribe();
  }

  private broadcast(m: RelayMessage): void {
    if (this.players.size === 0) return;
    this.pending.push(m);
    if (this.batchMs <= 0) {
      this.flushImmediate ??= setImmediate(() => this.flush());
      return;
    }
    this.flushTimer ??= setTimeout(() => this.flush(), this.batchMs);
  }

  /** Sends what is pending now (also before a joiner's start, and at the end). */
  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    if (this.pending.length === 0) return;
    const batch: RelayBatch = { messages: this.pending, encoded: undefined };
    this.pending = [];
    for (const p of this.players) p.send(batch);
  }
}

/**
 * Queue bound for one player: past `maxQueuedBytes` of unsent data, messages are dropped until
 * the next keyframe (audio-only: until the queue drains), so a slow player never slows the
 * publisher or the others, and never holds unbounded memory.
 */
export class PlayerQueuePolicy {
  private skipping = false;

  /** Whether a whole batch can go out as it is (the common case: no lag). */
  admitsAll(queuedBytes: number): boolean {
    return !this.skipping && queuedBytes <= this.maxQueuedBytes;
  }

  dropped = 0;
  constructor(private readonly maxQueuedBytes: number) {}

  /** Whether to send `m` now, given how many bytes are already queued on the socket. */
  admit(m: RelayMessage, queuedBytes: number, hasVideo: boolean): boolean {
    if (this.skipping) {
      const resume = hasVideo ? m.type === TAG_VIDEO && m.key : true;
      if (resume && queuedBytes <= this.maxQueuedBytes / 2) this.skipping = false;
      else {
        this.dropped++;
        return false;
      }
    }
    if (m.type !== TAG_SCRIPT && queuedBytes > this.maxQueuedBytes) {
      this.skipping = true;
      this.dropped++;
      return false;
    }
    return true;
  }
}
