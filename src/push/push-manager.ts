/**
 * Push targets per stream (APP/KEY): those the config names (`push`, per app or per app/key)
 * and those added at run time (`POST /api/streams/APP/KEY/push`). A target lives with its stream
 * name, not with one publish: it pushes while the stream is live and waits while it is not, so a
 * publisher reconnecting goes on to every platform by itself.
 */
import type { Logger } from 'pino';
import type { LiveStream, StreamRegistry } from '../core/stream.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import { GatewayError } from '../core/errors.js';
import { parseRtmpUrl } from '../rtmp/client.js';
import { isSrtUrl, PushTarget, type PushTargetView } from './push-target.js';
import { RenditionMix, type RenditionSource } from './rendition-mix.js';

export interface PushSpec {
  readonly url: string;
  /**
   * The rendition sent: `src` (the source as published, the default), a ladder rung (`480p`, …)
   * or a further track of a multitrack publish (`track1`, …) with the stream's audio.
   */
  readonly rendition?: string;
}

/** Config `push`: `{"live": [spec...], "live/KEY": [spec...]}` (an app's entry applies to all its keys). */
export type PushConfig = Readonly<Record<string, readonly PushSpec[]>>;

export interface PushManagerOptions {
  readonly config?: PushConfig;
  readonly maxQueuedBytes: number;
  /** Targets per stream at most. */
  readonly maxTargetsPerStream?: number;
  readonly logger: Logger;
  readonly retryMs?: { readonly first: number; readonly max: number };
  readonly onBytes?: (bytes: number) => void;
  /** ffmpeg, the transport of srt:// targets. */
  readonly ffmpegPath?: string;
}

/**
 * A push spec checked: an rtmp:// or rtmps:// URL with APP/KEY, or an srt://HOST:PORT URL (its
 * query: streamid, passphrase, latency… as ffmpeg's srt protocol takes them), and a rendition we
 * can send.
 */
export function checkPushSpec(value: unknown): { url: string; rendition: string } {
  if (typeof value !== 'object' || value === null) throw new GatewayError('config', 'a push target is {"url": "rtmp://HOST/APP/KEY", "rendition": "src"}');
  const { url, rendition } = value as { url?: unknown; rendition?: unknown };
  if (typeof url !== 'string' || url.length > 2048) throw new GatewayError('config', 'a push target needs "url": "rtmp://HOST/APP/KEY" (or rtmps://, or srt://HOST:PORT?streamid=…)');
  if (isSrtUrl(url)) {
    let port = '';
    try {
      port = new URL(url).port;
    } catch {
      // reported below
    }
    if (!/^srt:\/\/[^/?#\s]+:\d+\/?(\?[^\s#]*)?$/i.test(url) || !port) throw new GatewayError('config', 'push target url: srt://HOST:PORT?streamid=… expected');
  } else {
    try {
      parseRtmpUrl(url);
    } catch (err) {
      throw new GatewayError('config', `push target url: ${(err as Error).message.replace(url, '(url)')}`);
    }
  }
  const r = rendition ?? 'src';
  if (typeof r !== 'string' || !RENDITION_NAME.test(r)) {
    throw new GatewayError('config', `push target rendition "${String(r)}": "src" (the source as published) or a rendition name such as "480p" expected`);
  }
  return { url, rendition: r };
}

/** Rendition names as the ladder and multitrack publishes make them (`480p`, `track1`). */
/** A rendition a push target may name (the config's schema uses the same pattern). */
export const RENDITION_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

export class PushManager {
  private readonly targets = new Map<string, Map<string, PushTarget>>();
  private readonly options: PushManagerOptions;
  private readonly relays: RelayRegistry;
  /** Streams whose config targets exist already (made at their first publish). */
  private readonly configured = new Set<string>();
  /** The current publish of each stream with a rendition target: its renditions' sources and mixes. */
  private readonly renditions = new Map<string, { stream: LiveStream; sources: Map<string, RenditionSource>; mixes: Map<string, RenditionMix> }>();
  private nextId = 1;

  constructor(streams: StreamRegistry, relays: RelayRegistry, options: PushManagerOptions) {
    this.options = options;
    this.relays = relays;
    // The relay registry made the stream's hub on the same event, before this listener.
    streams.on('publish', (stream: LiveStream) => this.published(stream));
    streams.on('unpublish', (stream: LiveStream) => {
      const entry = this.renditions.get(stream.path);
      if (entry?.stream !== stream) return;
      for (const mix of entry.mixes.values()) mix.end();
      this.renditions.delete(stream.path);
    });
  }

  private published(stream: LiveStream): void {
    const path = `${stream.app}/${stream.key}`;
    const config = this.options.config ?? {};
    const wanted = [...(config[stream.app] ?? []), ...(config[path] ?? [])];
    let targets = this.targets.get(path);
    if (!this.configured.has(path) && wanted.length > 0) {
      this.configured.add(path);
      if (!targets) {
        targets = new Map();
        this.targets.set(path, targets);
      }
      for (const spec of wanted) this.create(targets, path, checkPushSpec(spec), 'config');
    }
    const hub = this.relays.get(stream.app, stream.key);
    if (targets && hub) for (const t of targets.values()) if (t.rendition === 'src') t.attach(hub);
    const previous = this.renditions.get(path);
    if (previous) for (const mix of previous.mixes.values()) mix.end();
    this.renditions.set(path, { stream, sources: new Map(), mixes: new Map() });
    stream.onVideoRendition((name, rendition) => this.renditionAdded(stream, name, rendition));
  }

  /**
   * A rendition of `stream` appeared (a ladder rung once its transcoder is set up, or a further
   * track of a multitrack publish): the targets that asked for it start.
   */
  renditionAdded(stream: LiveStream, name: string, source: RenditionSource): void {
    const entry = this.renditions.get(stream.path);
    if (!entry || entry.stream !== stream || stream.ended) return;
    entry.sources.set(name, source);
    for (const t of this.targets.get(stream.path)?.values() ?? []) if (t.rendition === name) this.attachRendition(t, stream.path);
  }

  /** Attaches `target` to its rendition's mix, made on first use; it keeps waiting while there is none. */
  private attachRendition(target: PushTarget, path: string): void {
    const entry = this.renditions.get(path);
    const source = entry?.sources.get(target.rendition);
    if (!entry || !source || entry.stream.ended) return;
    let mix = entry.mixes.get(target.rendition);
    if (!mix) {
      mix = new RenditionMix(entry.stream, target.rendition, source);
      entry.mixes.set(target.rendition, mix);
    }
    target.attach(mix.hub);
  }

  private create(targets: Map<string, PushTarget>, path: string, spec: { url: string; rendition: string }, source: 'config' | 'api'): PushTarget {
    const id = String(this.nextId++);
    const target = new PushTarget({
      id,
      url: spec.url,
      rendition: spec.rendition,
      source,
      maxQueuedBytes: this.options.maxQueuedBytes,
      logger: this.options.logger.child({ stream: path }),
      retryMs: this.options.retryMs,
      onBytes: this.options.onBytes,
      ffmpegPath: this.options.ffmpegPath,
    });
    targets.set(id, target);
    return target;
  }

  /** Adds a target to APP/KEY; it starts at once when the stream is live. */
  add(app: string, key: string, spec: unknown): PushTargetView {
    const checked = checkPushSpec(spec);
    const path = `${app}/${key}`;
    let targets = this.targets.get(path);
    if (!targets) {
      targets = new Map();
      this.targets.set(path, targets);
    }
    const max = this.options.maxTargetsPerStream ?? 16;
    if (targets.size >= max) throw new GatewayError('config', `a stream has at most ${max} push targets`);
    const target = this.create(targets, path, checked, 'api');
    if (target.rendition !== 'src') {
      this.attachRendition(target, path);
      return target.view();
    }
    const hub = this.relays.get(app, key);
    if (hub && !hub.stream.ended) target.attach(hub);
    return target.view();
  }

  /** Removes target `id` of APP/KEY; false when there is none. */
  remove(app: string, key: string, id: string): boolean {
    const targets = this.targets.get(`${app}/${key}`);
    const target = targets?.get(id);
    if (!targets || !target) return false;
    target.stop();
    targets.delete(id);
    return true;
  }

  list(app: string, key: string): PushTargetView[] {
    return [...(this.targets.get(`${app}/${key}`)?.values() ?? [])].map((t) => t.view());
  }

  /** Every target's view with its stream (APP/KEY), for metrics. */
  all(): (PushTargetView & { readonly stream: string })[] {
    return [...this.targets].flatMap(([stream, m]) => [...m.values()].map((t) => ({ stream, ...t.view() })));
  }

  close(): void {
    for (const targets of this.targets.values()) for (const t of targets.values()) t.stop();
    this.targets.clear();
    for (const entry of this.renditions.values()) for (const mix of entry.mixes.values()) mix.end();
    this.renditions.clear();
  }
}
