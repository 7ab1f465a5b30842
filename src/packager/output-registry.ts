/**
 * Stream outputs by `app/key`: live ones, and ended ones kept (with ENDLIST playlists) for a
 * while so players finish what they buffered.
 *
 * Events, so that what hangs off an output needs no listener order on the stream registry:
 *  - `output` (output): a new StreamOutput exists, before any frame reached it (attach sibling
 *    outputs such as the recorder here);
 *  - `publish` (output, stream): a publish feeds the output, new or resumed after a reconnect
 *    (start the ladder here).
 */
import { EventEmitter } from 'node:events';
import type { SegmentCache } from '../cache/segment-cache.js';
import { isAudioRendition } from '../core/audio-renditions.js';
import type { LiveStream, StreamRegistry } from '../core/stream.js';
import type { Logger } from 'pino';
import { StreamOutput, type PackagerConfig } from './stream-output.js';
import type { CencProtection } from '../mux/fmp4/cenc.js';

export interface OutputRegistryEvents {
  output: [output: StreamOutput];
  publish: [output: StreamOutput, stream: LiveStream];
  /** The publisher is away; the playlists wait out the reconnect grace (the slate may stand in). */
  suspend: [output: StreamOutput];
}

export class OutputRegistry extends EventEmitter<OutputRegistryEvents> {
  private readonly outputs = new Map<string, StreamOutput>();
  private readonly endedTtlMs: number;
  private readonly cache: SegmentCache;
  private readonly config: PackagerConfig & { protectionOf?: (app: string, key: string, session: string) => CencProtection | undefined };
  private sweepTimer: NodeJS.Timeout | undefined;

  private readonly graceMs: number;
  private readonly graceTimers = new Map<StreamOutput, NodeJS.Timeout>();

  private readonly streams: StreamRegistry;
  private readonly siblingPattern: RegExp | undefined;
  private readonly logger: Logger | undefined;

  constructor(
    streams: StreamRegistry,
    config: PackagerConfig & {
      endedStreamTtl: number;
      reconnectGrace?: number;
      siblingPattern?: string;
      /** The content key of a stream whose config asks for Common Encryption (auth/media-keys.ts). */
      protectionOf?: (app: string, key: string, session: string) => CencProtection | undefined;
    },
    cache: SegmentCache,
    logger?: Logger,
  ) {
    super();
    this.streams = streams;
    this.logger = logger;
    this.siblingPattern = config.siblingPattern ? new RegExp(config.siblingPattern) : undefined;
    this.cache = cache;
    this.config = config;
    this.graceMs = (config.reconnectGrace ?? 0) * 1000;
    this.endedTtlMs = config.endedStreamTtl * 1000;
    streams.on('publish', (stream) => this.add(stream));
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(10_000, Math.max(1000, this.endedTtlMs / 4)));
    this.sweepTimer.unref();
  }

  private add(stream: LiveStream): void {
    const previous = this.outputs.get(stream.path);
    if (previous && previous.suspendedAt !== undefined && !previous.ended) {
      // The publisher came back within the grace window: the playlists go on.
      clearTimeout(this.graceTimers.get(previous));
      this.graceTimers.delete(previous);
      stream.continueAfter(previous.mediaEndSeconds());
      previous.resume(stream);
      this.followRenditions(previous, stream);
      this.emit('publish', previous, stream);
      return;
    }
    // A new publish of a key replaces whatever ended output it had.
    previous?.detachOutputs();
    const output = new StreamOutput(stream, this.config, this.cache, this.config.protectionOf);
    output.onPublisherGone = (o) => this.publisherGone(o);
    output.onRenditionProblem = (id, problem) => this.logger?.warn({ stream: output.path, rendition: id }, problem);
    // MPEG-TS is not muxed here: the TS routes attach it on a stream's first TS request
    // (http/ts-routes.ts), so a stream nobody watches over TS costs no TS CPU or memory.
    this.outputs.set(stream.path, output);
    this.emit('output', output);
    this.groupSiblings(stream);
    this.followRenditions(output, stream);
    this.emit('publish', output, stream);
  }

  /** The publisher's further video tracks (Enhanced RTMP multitrack) become renditions, no transcoding. */
  private followRenditions(output: StreamOutput, stream: LiveStream): void {
    stream.onVideoRendition((name, rendition) => {
      output.addVideoRendition(name, rendition);
      this.logger?.info({ stream: output.path, rendition: name }, 'encoder rendition listed (multitrack)');
    });
  }

  /**
   * Passthrough ABR: a publisher sending its own renditions as sibling keys (`KEY_720p`, …,
   * matching `siblingPattern`) gets them listed under KEY's playlists and MPD, no transcoding.
   * They join only where their keyframes line up with KEY's; a misaligned one is reported.
   */
  private groupSiblings(stream: LiveStream): void {
    if (!this.siblingPattern) return;
    const own = this.siblingPattern.exec(stream.key);
    if (own && own[1] && own[2]) {
      const main = this.outputs.get(`${stream.app}/${own[1]}`);
      if (main && !main.ended) this.attachSibling(main, own[2], stream);
      return;
    }
    const main = this.outputs.get(stream.path)!;
    for (const other of this.streams.list()) {
      if (other.app !== stream.app || other === stream) continue;
      const m = this.siblingPattern.exec(other.key);
      if (m && m[1] === stream.key && m[2]) this.attachSibling(main, m[2], other);
    }
  }

  private attachSibling(main: StreamOutput, rendition: string, sibling: LiveStream): void {
    if (rendition === 'src' || isAudioRendition(rendition) || main.videos.has(rendition)) {
      this.logger?.warn({ stream: main.path, rendition }, 'sibling rendition not grouped: the name is taken');
      return;
    }
    main.addVideoRendition(rendition, sibling);
    this.logger?.info({ stream: main.path, rendition, sibling: sibling.path }, 'sibling key grouped as a rendition');
  }

  /** Waits `reconnectGrace` for the same key to come back before the playlists end. */
  private publisherGone(output: StreamOutput): void {
    if (this.graceMs <= 0 || this.closing || output.stream.endsOutput) {
      output.finish();
      return;
    }
    output.suspend();
    // The slate (src/slate) may stand in for the publisher from here.
    this.emit('suspend', output);
    const timer = setTimeout(() => {
      this.graceTimers.delete(output);
      output.finish();
    }, this.graceMs);
    timer.unref();
    this.graceTimers.set(output, timer);
  }

  private closing = false;

  get(app: string, key: string): StreamOutput | undefined {
    return this.outputs.get(`${app}/${key}`);
  }

  list(): StreamOutput[] {
    return [...this.outputs.values()];
  }

  /** Forgets ended outputs past their time to live. */
  sweep(now = Date.now()): void {
    for (const [path, output] of this.outputs) {
      if (output.endedAt !== undefined && now - output.endedAt >= this.endedTtlMs) {
        output.detachOutputs();
        this.outputs.delete(path);
      }
    }
  }

  close(): void {
    this.closing = true;
    for (const [output, timer] of this.graceTimers) {
      clearTimeout(timer);
      output.finish();
    }
    this.graceTimers.clear();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const output of this.outputs.values()) if (!output.ended) output.close();
  }
}
