/**
 * Stream outputs by `app/key`: live ones, and ended ones kept (with ENDLIST playlists) for a
 * while so players finish what they buffered.
 */
import type { SegmentCache } from '../cache/segment-cache.js';
import type { LiveStream, StreamRegistry } from '../core/stream.js';
import { StreamOutput, type PackagerConfig } from './stream-output.js';
import { attachTsOutputs, tsOutputOf } from './hls/ts-output.js';

export class OutputRegistry {
  private readonly outputs = new Map<string, StreamOutput>();
  private readonly endedTtlMs: number;
  private readonly cache: SegmentCache;
  private readonly config: PackagerConfig;
  private sweepTimer: NodeJS.Timeout | undefined;

  private readonly graceMs: number;
  private readonly graceTimers = new Map<StreamOutput, NodeJS.Timeout>();

  constructor(
    streams: StreamRegistry,
    config: PackagerConfig & { endedStreamTtl: number; reconnectGrace?: number },
    cache: SegmentCache,
  ) {
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
      return;
    }
    // A new publish of a key replaces whatever ended output it had.
    if (previous) tsOutputOf(previous)?.detach();
    const output = new StreamOutput(stream, this.config, this.cache);
    output.onPublisherGone = (o) => this.publisherGone(o);
    // TS is muxed from the same frames at the same cut points; attached at once so it starts with segment 0.
    attachTsOutputs(output, { cache: this.cache });
    this.outputs.set(stream.path, output);
  }

  /** Waits `reconnectGrace` for the same key to come back before the playlists end. */
  private publisherGone(output: StreamOutput): void {
    if (this.graceMs <= 0 || this.closing) {
      output.finish();
      return;
    }
    output.suspend();
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
        tsOutputOf(output)?.detach();
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
