/**
 * One RTMP connection's protocol state: handshake, chunk stream, the NetConnection / NetStream
 * commands a publisher (OBS, ffmpeg, librtmp) sends, and the media it publishes. Transport-free:
 * bytes come in through `push`, bytes go out through the `RtmpTransport` it was given, so it can
 * be driven by a socket or by a test.
 *
 * It speaks RTMP only: whether a publish may go ahead, the limits and the registry are the
 * protocol-neutral publish path's (core/publish.ts); the session turns FLV bodies into tracks and
 * frames for its Publisher and answers in RTMP's words.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';
import type { LiveStream } from '../core/stream.js';
import { type PublishDecision, type PublishPath, type PublishRequest, type Publisher } from '../core/publish.js';
import { FlvIngest } from '../flv/ingest.js';
import { publishData, publishMedia } from '../flv/publish-tags.js';
import { NAME_PATTERN } from '../core/names.js';
import { decodeAmf0, type Amf0Value } from '../flv/amf0.js';
import { ChunkReader, ChunkWriter, type RtmpMessage } from './chunk.js';
import { ServerHandshake } from './handshake.js';
import { PlayerQueuePolicy, type RelayHub, type RelayPlayer } from '../relay/relay-hub.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import type { PlaybackAuthorizer } from '../auth/playback.js';
import { PLAY_CHUNK_SIZE, startRelayChunks } from './play-chunks.js';
import { callError, callResult, connectResult, onBwDone, parseConnect, type ConnectCommand } from './net-connection.js';
import { onFcPublish, onStatus, parseStreamNameCommand, sampleAccess, type StatusLevel, type StreamNameCommand } from './net-stream.js';
import {
  MessageType,
  UserControlEvent,
  ackPayload,
  parseUserControl,
  setChunkSizePayload,
  setPeerBandwidthPayload,
  userControlPayload,
  windowAckSizePayload,
  parseAggregate,
} from './messages.js';

export interface RtmpTransport {
  write(bytes: Uint8Array): void;
  /** Bytes written but not yet sent (the socket's queue): players are bounded by it. */
  queuedBytes(): number;
  /** Batches the writes of this tick into one writev. */
  cork(): void;
  /** Closes after what was written is flushed. */
  close(): void;
}


export interface RtmpSessionOptions {
  /** Authorization, limits and the stream registry: where publishes go. */
  readonly publishPath: PublishPath;
  /** Playback tokens for RTMP play (`?token=` on the play name or the connect app). */
  readonly playbackAuth?: PlaybackAuthorizer;
  /** Streams whose media only goes out encrypted (Common Encryption): no RTMP play, it is clear. */
  readonly clearPlayRefused?: (app: string, key: string) => boolean;
  /** AMF0 nesting accepted in commands (default 32). */
  readonly maxAmfDepth?: number;
  /** The peer's address, for the gate and logs. */
  readonly remoteAddress?: string;
  readonly logger: Logger;
  readonly maxMessageSize: number;
  /** Where RTMP players find live streams. */
  readonly relays?: RelayRegistry;
  /** Unsent bytes a player may have queued before it skips to the next keyframe. */
  readonly maxPlayerQueueBytes?: number;
}

/** Chunk stream ids we send on (the values ffmpeg and nginx-rtmp use). */
const CSID_PROTOCOL = 2;
const CSID_COMMAND = 3;
const CSID_STATUS = 5;
const WINDOW_ACK_SIZE = 5_000_000;
const PUBLISH_STREAM_ID = 1;

type SessionState = 'handshake' | 'connecting' | 'connected' | 'authorizing' | 'publishing' | 'playing' | 'closed';

/** Messages held while a publish is being authorized (ffmpeg sends media right after `publish`). */
const MAX_HELD_BYTES = 16 * 1024 * 1024;

export class RtmpSession {
  private state: SessionState = 'handshake';
  private readonly handshake = new ServerHandshake();
  private readonly reader: ChunkReader;
  private readonly writer: ChunkWriter;
  private readonly transport: RtmpTransport;
  private readonly publishPath: PublishPath;
  private log: Logger;
  private app = '';
  private publisher: Publisher | undefined;
  private ingest: FlvIngest | undefined;
  private peerWindowAck = 2_500_000;
  private lastAckSent = 0;
  private nextStreamId = PUBLISH_STREAM_ID;

  constructor(transport: RtmpTransport, options: RtmpSessionOptions) {
    this.transport = transport;
    this.publishPath = options.publishPath;
    this.log = options.logger;
    this.reader = new ChunkReader({ maxMessageSize: options.maxMessageSize });
    this.writer = new ChunkWriter();
    this.relays = options.relays;
    this.playbackAuth = options.playbackAuth;
    this.clearPlayRefused = options.clearPlayRefused;
    this.amfLimits = { maxDepth: options.maxAmfDepth ?? 32, maxItems: 4096 };
    this.remoteAddress = options.remoteAddress ?? '';
    this.maxPlayerQueueBytes = options.maxPlayerQueueBytes ?? 8 * 1024 * 1024;
  }

  private readonly relays: RelayRegistry | undefined;
  private readonly playbackAuth: PlaybackAuthorizer | undefined;
  private readonly clearPlayRefused: ((app: string, key: string) => boolean) | undefined;
  private readonly amfLimits: { maxDepth: number; maxItems: number };
  private readonly remoteAddress: string;
  private appQuery = '';
  private tcUrl = '';
  /** Messages that arrived while the publish was being authorized, replayed in order after. */
  private held: RtmpMessage[] = [];
  private heldBytes = 0;
  private readonly maxPlayerQueueBytes: number;
  private playing: { hub: RelayHub; player: RelayPlayer; policy: PlayerQueuePolicy } | undefined;

  get isPlaying(): boolean {
    return this.playing !== undefined;
  }

  get publishing(): LiveStream | undefined {
    return this.publisher?.stream;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Feeds received bytes. Throws GatewayError on a protocol violation (the caller closes). */
  push(data: Uint8Array): void {
    if (this.state === 'closed') return;
    let rest = data;
    if (this.state === 'handshake') {
      const r = this.handshake.push(data);
      for (const out of r.send) this.transport.write(out);
      if (!r.done) return;
      this.state = 'connecting';
      rest = r.rest;
      if (rest.byteLength === 0) return;
    }
    const messages = this.reader.push(rest);
    for (const message of messages) {
      if (this.isClosed) return;
      if (this.state === 'authorizing') {
        this.hold(message);
        continue;
      }
      this.handleMessage(message);
    }
    this.maybeAcknowledge();
  }

  private hold(message: RtmpMessage): void {
    this.heldBytes += message.payload.byteLength;
    if (this.heldBytes > MAX_HELD_BYTES) {
      throw new GatewayError('rtmp.session', 'too much data while the publish was being authorized', { type: message.type });
    }
    // The reader may hand out views of its input: keep a copy only of what is held.
    this.held.push({ ...message, payload: message.payload.slice() });
  }

  /** The connection is gone (socket closed or error): end what it published. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.playing) {
      this.playing.hub.removePlayer(this.playing.player);
      this.playing = undefined;
    }
    this.publisher?.end(reason);
    this.publisher = undefined;
    this.held = [];
  }

  private maybeAcknowledge(): void {
    const received = this.reader.bytesReceived;
    if (received - this.lastAckSent >= this.peerWindowAck) {
      this.lastAckSent = received;
      this.send(CSID_PROTOCOL, MessageType.Acknowledgement, 0, ackPayload(received >>> 0));
    }
  }

  private send(csid: number, type: number, streamId: number, payload: Uint8Array, timestamp = 0): void {
    this.transport.write(this.writer.encode({ csid, type, streamId, timestamp, payload }));
  }

  /** A command message (AMF0 body from net-connection.ts / net-stream.ts). */
  private sendCommand(streamId: number, body: Uint8Array): void {
    this.send(streamId === 0 ? CSID_COMMAND : CSID_STATUS, MessageType.CommandAMF0, streamId, body);
  }

  private sendStatus(streamId: number, level: StatusLevel, code: string, description: string): void {
    this.sendCommand(streamId, onStatus(level, code, description));
  }

  private handleMessage(message: RtmpMessage): void {
    switch (message.type) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return; // the chunk reader already applied what affects parsing
      case MessageType.WindowAckSize:
        if (message.payload.byteLength >= 4) {
          const v = new DataView(message.payload.buffer, message.payload.byteOffset, 4).getUint32(0);
          if (v > 0) this.peerWindowAck = v;
        }
        return;
      case MessageType.UserControl: {
        const event = parseUserControl(message.payload);
        if (event && event.type === UserControlEvent.PingRequest) {
          this.send(CSID_PROTOCOL, MessageType.UserControl, 0, userControlPayload(UserControlEvent.PingResponse, event.value));
        }
        return;
      }
      case MessageType.CommandAMF0:
        return this.handleCommand(decodeAmf0(message.payload, this.amfLimits), message);
      case MessageType.CommandAMF3:
        // AMF3 command messages carry a leading 0 byte, then AMF0 values (FMS behaviour).
        return this.handleCommand(decodeAmf0(message.payload.subarray(1), this.amfLimits), message);
      case MessageType.DataAMF0:
        return this.handleData(decodeAmf0(message.payload, this.amfLimits), message.timestamp);
      case MessageType.DataAMF3:
        return this.handleData(decodeAmf0(message.payload.subarray(1), this.amfLimits), message.timestamp);
      case MessageType.Audio:
        return this.handleMedia('audio', message.timestamp, message.payload);
      case MessageType.Video:
        return this.handleMedia('video', message.timestamp, message.payload);
      case MessageType.Aggregate:
        for (const sub of parseAggregate(message.payload, message.timestamp)) {
          if (sub.type === MessageType.Audio) this.handleMedia('audio', sub.timestamp, sub.payload);
          else if (sub.type === MessageType.Video) this.handleMedia('video', sub.timestamp, sub.payload);
        }
        return;
      default:
        this.log.debug({ type: message.type }, 'ignored rtmp message');
    }
  }

  private handleCommand(values: Amf0Value[], message: RtmpMessage): void {
    const name = values[0];
    const txn = typeof values[1] === 'number' ? values[1] : 0;
    if (typeof name !== 'string') {
      throw new GatewayError('rtmp.session', 'command without a name', { type: message.type });
    }
    switch (name) {
      case 'connect':
        return this.onConnect(parseConnect(values));
      case 'releaseStream':
      case 'FCPublish':
        this.sendCommand(0, callResult(txn));
        if (name === 'FCPublish') this.sendCommand(0, onFcPublish());
        return;
      case 'createStream':
        this.requireConnected(name);
        this.sendCommand(0, callResult(txn, this.nextStreamId));
        return;
      case 'publish':
        return this.onPublish(parseStreamNameCommand(values), message.streamId || PUBLISH_STREAM_ID);
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        if (this.playing && name !== 'FCUnpublish') {
          this.playing.hub.removePlayer(this.playing.player);
          this.playing = undefined;
          this.state = 'connected';
        }
        if (this.publisher) {
          this.publisher.end(name);
          this.publisher = undefined;
          this.ingest = undefined;
          this.state = 'connected';
        }
        if (name === 'FCUnpublish') this.sendCommand(0, callResult(txn));
        return;
      case 'getStreamLength':
      case '_checkbw':
      case 'receiveAudio':
      case 'receiveVideo':
        if (txn > 0) this.sendCommand(0, callResult(txn));
        return;
      case 'play':
        return this.onPlay(parseStreamNameCommand(values), message.streamId || PUBLISH_STREAM_ID);
      case '_result':
      case '_error':
      case 'onBWDone':
        return;
      default:
        this.log.debug({ command: name }, 'unknown rtmp command');
        if (txn > 0) this.sendCommand(0, callError(txn, 'NetConnection.Call.Failed', `Method not found (${name.slice(0, 64)})`));
    }
  }

  private requireConnected(command: string): void {
    if (this.state === 'connecting' || this.state === 'handshake') {
      throw new GatewayError('rtmp.session', `${command} before connect`, {});
    }
  }

  private onConnect(command: ConnectCommand): void {
    if (this.state !== 'connecting') throw new GatewayError('rtmp.session', 'connect sent twice', {});
    const { txn, app } = command;
    this.appQuery = command.appQuery;
    this.tcUrl = command.tcUrl;
    if (!NAME_PATTERN.test(app)) {
      this.sendCommand(0, callError(txn, 'NetConnection.Connect.Rejected', 'invalid application name'));
      this.transport.close();
      this.state = 'closed';
      return;
    }
    this.app = app;
    this.log = this.log.child({ app });
    this.send(CSID_PROTOCOL, MessageType.WindowAckSize, 0, windowAckSizePayload(WINDOW_ACK_SIZE));
    this.send(CSID_PROTOCOL, MessageType.SetPeerBandwidth, 0, setPeerBandwidthPayload(WINDOW_ACK_SIZE, 2));
    this.send(CSID_PROTOCOL, MessageType.SetChunkSize, 0, setChunkSizePayload(PLAY_CHUNK_SIZE));
    this.writer.chunkSize = PLAY_CHUNK_SIZE;
    this.sendCommand(0, connectResult(txn, command.enhanced));
    this.sendCommand(0, onBwDone());
    this.state = 'connected';
  }

  private onPublish(command: StreamNameCommand, streamId: number): void {
    this.requireConnected('publish');
    const { name, query } = command;
    if (!NAME_PATTERN.test(name)) {
      this.sendStatus(streamId, 'error', 'NetStream.Publish.BadName', 'invalid stream name');
      this.log.warn('publish refused: invalid stream name');
      this.transport.close();
      this.close('bad name');
      return;
    }
    if (this.publisher || this.state === 'authorizing') {
      this.sendStatus(streamId, 'error', 'NetStream.Publish.BadName', 'already publishing on this connection');
      return;
    }
    const request: PublishRequest = { app: this.app, key: name, query, appQuery: this.appQuery, ip: this.remoteAddress, tcUrl: this.tcUrl };
    if (!this.publishPath.gated) {
      this.startPublish(request, streamId);
      return;
    }
    // Media that follows `publish` is held (bounded) until the gate has decided.
    this.state = 'authorizing';
    void this.publishPath
      .authorize(request)
      .then((decision) => this.decided(request, streamId, decision))
      .catch((err: unknown) => {
        this.log.error({ err: (err as Error).message }, 'publish failed after authorization');
        this.transport.close();
        this.close('publish failed');
      });
  }

  private decided(request: PublishRequest, streamId: number, decision: PublishDecision): void {
    if (this.isClosed) return;
    if (!decision.ok) {
      this.sendStatus(streamId, 'error', decision.status, 'publish refused');
      this.log.warn({ stream: `${request.app}/${request.key}`, reason: decision.reason }, 'publish refused');
      this.transport.close();
      this.close('publish refused');
      return;
    }
    this.state = 'connected';
    this.startPublish(request, streamId);
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    try {
      for (const message of held) {
        if (this.isClosed) return;
        this.handleMessage(message);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'rtmp protocol error, dropping connection');
      this.transport.close();
      this.close((err as Error).message);
    }
  }

  private startPublish(request: PublishRequest, streamId: number): void {
    const started = this.publishPath.start(request, this.log);
    if (!started.ok) {
      this.sendStatus(streamId, 'error', started.status, started.description);
      this.log.warn({ stream: `${request.app}/${request.key}`, reason: started.reason }, 'publish refused');
      this.transport.close();
      this.close(started.reason);
      return;
    }
    this.publisher = started;
    started.onTerminate = (reason) => {
      this.sendStatus(streamId, 'error', 'NetStream.Publish.Unauthorized', 'the server ended this publish');
      this.transport.close();
      this.close(reason);
    };
    this.ingest = new FlvIngest();
    this.log = started.log;
    this.state = 'publishing';
    this.send(CSID_PROTOCOL, MessageType.UserControl, 0, userControlPayload(UserControlEvent.StreamBegin, streamId));
    this.sendStatus(streamId, 'status', 'NetStream.Publish.Start', `${started.stream.path} is now published`);
    this.log.info('publish started');
  }

  private onPlay(command: StreamNameCommand, streamId: number): void {
    this.requireConnected('play');
    const { name, query } = command;
    if (this.playbackAuth?.enabled) {
      const token = new URLSearchParams(query).get('token') ?? new URLSearchParams(this.appQuery).get('token') ?? '';
      if (!this.playbackAuth.check(this.app, name, token)) {
        this.sendStatus(streamId, 'error', 'NetStream.Play.Failed', 'unauthorized');
        this.log.warn('play refused: missing or invalid playback token');
        return;
      }
    }
    if (NAME_PATTERN.test(name) && this.clearPlayRefused?.(this.app, name)) {
      this.sendStatus(streamId, 'error', 'NetStream.Play.Failed', 'this stream is encrypted (Common Encryption): watch it over HLS or DASH');
      this.log.info('play refused: the stream goes out encrypted only');
      return;
    }
    const hub = NAME_PATTERN.test(name) ? this.relays?.get(this.app, name) : undefined;
    if (!hub) {
      this.sendStatus(streamId, 'error', 'NetStream.Play.StreamNotFound', `no live stream ${this.app}/${name.slice(0, 128)}`);
      this.log.info('play refused: stream not found');
      return;
    }
    if (this.playing) return;
    this.log = this.log.child({ play: hub.stream.path });
    this.state = 'playing';
    this.send(CSID_PROTOCOL, MessageType.UserControl, 0, userControlPayload(UserControlEvent.StreamIsRecorded, streamId));
    this.send(CSID_PROTOCOL, MessageType.UserControl, 0, userControlPayload(UserControlEvent.StreamBegin, streamId));
    this.sendStatus(streamId, 'status', 'NetStream.Play.Reset', `Playing and resetting ${hub.stream.path}.`);
    this.sendStatus(streamId, 'status', 'NetStream.Play.Start', `Started playing ${hub.stream.path}.`);
    this.send(CSID_STATUS, MessageType.DataAMF0, streamId, sampleAccess());

    const transport = this.transport;
    const policy = new PlayerQueuePolicy(this.maxPlayerQueueBytes);
    const hasVideo = hub.stream.video !== undefined;
    const player: RelayPlayer = {
      send: startRelayChunks(transport, hub.start(), policy, hasVideo),
      end: () => {
        if (this.state === 'closed') return;
        this.send(CSID_PROTOCOL, MessageType.UserControl, 0, userControlPayload(UserControlEvent.StreamEOF, streamId));
        this.sendStatus(streamId, 'status', 'NetStream.Play.UnpublishNotify', `${hub.stream.path} is now unpublished.`);
        this.sendStatus(streamId, 'status', 'NetStream.Play.Stop', `Stopped playing ${hub.stream.path}.`);
        this.playing = undefined;
        this.state = 'connected';
      },
    };
    this.playing = { hub, player, policy };
    hub.addPlayer(player);
    this.log.info('play started');
  }

  private handleData(values: Amf0Value[], timestamp: number): void {
    if (this.publisher && this.ingest) publishData(this.publisher, this.ingest, timestamp, values);
  }

  private handleMedia(kind: 'audio' | 'video', timestamp: number, payload: Uint8Array): void {
    if (this.publisher && this.ingest) publishMedia(this.publisher, this.ingest, kind === 'video', timestamp, payload);
  }

}
