/**
 * The protocol-neutral publish path: everything a publish goes through between "a client wants to
 * publish app/key" and "frames reach the stream", whatever protocol carried them (RTMP today; SRT
 * and pull sources use the same two calls).
 *
 *   ingest protocol ──authorize(request)──▶ PublishGate (keys, tokens, webhook)     [async, optional]
 *                   ──start(request)──────▶ limits ▸ StreamRegistry ──▶ Publisher
 *   Publisher: track(t) ▸ frame(f) ▸ metadata(m) ▸ warning(code) ▸ end(reason)
 *
 * The ingest protocol only parses its own bytes into tracks and frames and answers in its own
 * words (RTMP: NetStream.Publish.* status codes, from `PublishRefusal.status`).
 */
import type { TimedEvent } from '../metadata/timed-event.js';
import type { Logger } from 'pino';
import { MAX_AUDIO_RENDITIONS } from './audio-renditions.js';
import type { AudioTrack, Frame, Track } from './media.js';
import { NAME_PATTERN } from './names.js';
import type { LiveStream, StreamRegistry } from './stream.js';

export interface PublishRequest {
  readonly app: string;
  /** The stream name without its `?query`. */
  readonly key: string;
  /** The stream name's query (after `?`): tokens and keys live here, never in logs. */
  readonly query: URLSearchParams | string;
  /** A query the client put on the app (RTMP `connect` app `live?token=...`). */
  readonly appQuery?: URLSearchParams | string;
  /** The publisher's address. */
  readonly ip: string;
  /** RTMP's tcUrl, for webhooks that want it. */
  readonly tcUrl?: string;
}

/** Why a publish is refused, in the status words RTMP players and encoders know. */
export type PublishStatusCode = 'NetStream.Publish.BadName' | 'NetStream.Publish.Unauthorized';
export type PublishDecision = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly status: PublishStatusCode };

/** Decides whether a publish may go ahead (stream-key list, token, webhook). */
export interface PublishGate {
  authorize(request: PublishRequest): Promise<PublishDecision>;
  publishDone?(request: PublishRequest): void;
  /**
   * While a publish runs, every `updateIntervalMs` (nginx-rtmp's on_update): `refused` ends the
   * publish; anything else (allowed, or the hook could not be reached) lets it go on.
   */
  publishUpdate?(request: PublishRequest, elapsedSeconds: number): Promise<{ readonly refused: boolean; readonly reason?: string }>;
}

export interface PublishRefusal {
  readonly ok: false;
  readonly status: PublishStatusCode;
  /** For the log (never carries a secret). */
  readonly reason: string;
  /** For the client. */
  readonly description: string;
}

export interface PublishPathOptions {
  readonly registry: StreamRegistry;
  /** Absent: publishing is open. */
  readonly gate?: PublishGate;
  /** Streams published at once on the whole server (default unlimited). */
  readonly maxPublishers?: number;
  /** Told about ingest warnings (the ingest checker); per stream. */
  readonly onWarning?: (stream: LiveStream, code: string, message: string, at: number) => void;
  /** How often the gate's publishUpdate is asked while a publish runs (0 or absent: never). */
  readonly updateIntervalMs?: number;
}

/** Splits `name?query`: the query (tokens) never reaches logs or URLs. */
export function splitQuery(name: string): { name: string; query: string } {
  const q = name.indexOf('?');
  return q < 0 ? { name, query: '' } : { name: name.slice(0, q), query: name.slice(q + 1) };
}

export class PublishPath {
  private readonly options: PublishPathOptions;

  constructor(options: PublishPathOptions) {
    this.options = options;
  }

  /** Whether `authorize` must be awaited before `start` (a gate is configured). */
  get gated(): boolean {
    return this.options.gate !== undefined;
  }

  /** The gate's decision; an open server allows everything. A failing gate refuses. */
  async authorize(request: PublishRequest): Promise<PublishDecision> {
    const gate = this.options.gate;
    if (!NAME_PATTERN.test(request.app) || !NAME_PATTERN.test(request.key)) {
      return { ok: false, reason: 'invalid stream name', status: 'NetStream.Publish.BadName' };
    }
    if (!gate) return { ok: true };
    try {
      return await gate.authorize(request);
    } catch (err) {
      return { ok: false, reason: `authorization failed: ${(err as Error).message}`, status: 'NetStream.Publish.Unauthorized' };
    }
  }

  /** Limits and the registry (after `authorize` allowed it): the stream's Publisher, or why not. */
  start(request: PublishRequest, logger: Logger): Publisher | PublishRefusal {
    const { registry, maxPublishers = Number.POSITIVE_INFINITY } = this.options;
    if (!NAME_PATTERN.test(request.app) || !NAME_PATTERN.test(request.key)) {
      return { ok: false, status: 'NetStream.Publish.BadName', reason: 'invalid stream name', description: 'invalid stream name' };
    }
    if (registry.list().length >= maxPublishers) {
      return { ok: false, status: 'NetStream.Publish.BadName', reason: `publisher limit reached (${maxPublishers})`, description: 'the server has as many publishers as it takes' };
    }
    // A stand-in for the key (the slate while its publisher was away) makes way.
    registry.get(request.app, request.key)?.preempt?.();
    let stream;
    try {
      stream = registry.publish(request.app, request.key);
    } catch (err) {
      // A publish listener failed (packager, ladder, recorder): the key must not stay taken.
      const left = registry.get(request.app, request.key);
      if (left) registry.unpublish(left);
      logger.error({ err: (err as Error).message, stream: `${request.app}/${request.key}` }, 'publish failed while setting up its outputs');
      return { ok: false, status: 'NetStream.Publish.BadName', reason: `setting up the stream failed: ${(err as Error).message}`, description: 'the server could not set up the stream' };
    }
    if (!stream) {
      const path = `${request.app}/${request.key}`;
      return { ok: false, status: 'NetStream.Publish.BadName', reason: 'stream is already live', description: `${path} is already being published` };
    }
    return new Publisher(stream, request, this.options, logger.child({ stream: stream.path }));
  }
}

/** One running publish: what an ingest protocol pushes into, and ends. */
export class Publisher {
  readonly ok = true;
  readonly stream: LiveStream;
  readonly request: PublishRequest;
  readonly log: Logger;
  private readonly options: PublishPathOptions;
  private ended = false;
  private updateTimer: NodeJS.Timeout | undefined;
  /** Set by the ingest protocol: drop the connection (the server ends this publish). */
  onTerminate: ((reason: string) => void) | undefined;

  constructor(stream: LiveStream, request: PublishRequest, options: PublishPathOptions, log: Logger) {
    this.stream = stream;
    this.request = request;
    this.options = options;
    this.log = log;
    const every = options.updateIntervalMs ?? 0;
    const gate = options.gate;
    if (every > 0 && gate?.publishUpdate) {
      const startedAt = Date.now();
      this.updateTimer = setInterval(() => {
        void gate.publishUpdate!(request, Math.round((Date.now() - startedAt) / 1000)).then((answer) => {
          if (this.ended) return;
          if (answer.refused) this.terminate(`on_update refused: ${answer.reason ?? 'refused'}`);
          else if (answer.reason) this.log.warn({ reason: answer.reason }, 'on_update not answered; the publish goes on');
        });
      }, every);
      this.updateTimer.unref();
    }
  }

  /** The server ends this publish (on_update refused it): the connection is dropped, the stream ends. */
  terminate(reason: string): void {
    if (this.ended) return;
    this.log.warn({ reason }, 'publish terminated by the server');
    this.onTerminate?.(reason);
    this.end(reason);
  }

  /** A track is announced (or its configuration changed). */
  track(t: Track): void {
    this.log.info(
      t.kind === 'video' ? { codec: t.codecString, width: t.width, height: t.height, fps: t.fps } : { codec: t.codecString, sampleRate: t.sampleRate, channels: t.channels },
      `${t.kind} track`,
    );
    this.stream.pushTrack(t);
  }

  frame(f: Frame): void {
    this.stream.pushFrame(f);
  }

  /**
   * A further video track of this publish (Enhanced RTMP multitrack, `trackId` >= 1): the
   * encoder's own rendition, listed beside the source as `track<ID>`.
   */
  renditionTrack(trackId: number, t: Track): void {
    if (t.kind !== 'video') return;
    this.log.info({ track: trackId, codec: t.codecString, width: t.width, height: t.height }, 'further video track');
    this.stream.videoRendition(`track${trackId}`).pushTrack(t);
  }

  renditionFrame(trackId: number, f: Frame): void {
    this.stream.videoRenditions.get(`track${trackId}`)?.pushFrame(f);
  }

  /**
   * The language (ISO 639-2) of the stream's audio track, when the ingest knows it (an MPEG-TS
   * ISO_639_language_descriptor); before `track` announces that audio.
   */
  audioLanguage(language: string | undefined): void {
    this.stream.language = language;
  }

  /**
   * A further audio track of this publish (an MPEG-TS program's second, third … audio stream):
   * the alternative audio rendition `id` (core/audio-renditions.ts names it), in `language`.
   * False when the stream has MAX_AUDIO_RENDITIONS audio tracks already (the track is not carried).
   */
  audioRenditionTrack(id: string, t: AudioTrack, language: string | undefined): boolean {
    const renditions = this.stream.audioRenditions;
    if (!renditions.has(id) && renditions.size + 1 >= MAX_AUDIO_RENDITIONS) return false;
    this.log.info({ rendition: id, language, codec: t.codecString, sampleRate: t.sampleRate, channels: t.channels }, 'further audio track');
    const rendition = this.stream.audioRendition(id);
    rendition.language = language;
    rendition.pushTrack(t);
    return true;
  }

  audioRenditionFrame(id: string, f: Frame): void {
    this.stream.audioRenditions.get(id)?.pushFrame(f);
  }

  private metadataSeen = false;

  /**
   * The publisher's own description of the stream (onMetaData): scalar fields only. True when
   * it updates an earlier one (a mid-stream `@setDataFrame`), which is also timed metadata.
   */
  metadata(meta: Record<string, unknown>): boolean {
    const clean: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(meta)) if (typeof v !== 'object' || v === null) clean[k] = v;
    this.stream.metadata = clean;
    this.log.info({ metadata: clean }, 'stream metadata');
    const update = this.metadataSeen;
    this.metadataSeen = true;
    return update;
  }

  /** Timed metadata the publisher sent (onCuePoint, onTextData, onCaptionInfo). */
  timedEvent(event: TimedEvent): void {
    this.log.info({ event: event.id, kind: event.kind, time: event.time }, 'timed metadata');
    this.stream.pushEvent(event);
  }

  /** Something odd in what the publisher sends (logged, and shown by the ingest checker). */
  warning(code: string, message: string, at: number): void {
    this.log.warn({ code }, message);
    this.options.onWarning?.(this.stream, code, message, at);
  }

  /** The publish is over (the client stopped, left, or was dropped). Idempotent. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    if (this.updateTimer) clearInterval(this.updateTimer);
    this.log.info({ reason }, 'publish ended');
    this.options.registry.unpublish(this.stream);
    this.options.gate?.publishDone?.(this.request);
  }
}
