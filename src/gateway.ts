/**
 * Composition root: wires ingest, packagers, cache and HTTP into one running gateway.
 *
 *   RTMP server ──▶ PublishPath (auth, limits) ──▶ StreamRegistry ──▶ LiveStream
 *                                                      │ publish
 *          ┌───────────────┬───────────────────────────┼──────────────────────┐
 *   OutputRegistry     RelayRegistry               ingest checkers       metrics
 *   (CMAF store ▸ HLS/DASH; siblings: TS, recorder)   (RTMP play, HTTP-FLV)
 *          │ output / publish
 *   recorder, LadderManager (rungs join the output as renditions)
 *
 *   HTTP: fast path (media from memory) ▸ express (playlists, MPD, FLV, API, page, metrics)
 *
 * Each builder below makes one box; startGateway reads as the diagram.
 */
import http from 'node:http';
import type { Express } from 'express';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { SegmentCache } from './cache/segment-cache.js';
import { StreamRegistry } from './core/stream.js';
import { createHttpApp } from './http/server.js';
import { PushManager } from './push/push-manager.js';
import { PullManager } from './pull/pull-manager.js';
import { SlateManager } from './slate/slate-manager.js';
import { resolveFfmpegPath } from './ladder/ffmpeg-path.js';
import { serveMediaFast } from './http/fast-path.js';
import { servePlaylistFast, type PlaylistFastPathOptions } from './http/playlist-fast-path.js';
import { PlaylistRateLimiter } from './http/rate-limit.js';
import { PublishAuthorizer } from './auth/publish-auth.js';
import { PlaybackAuthorizer } from './auth/playback.js';
import { PublishPath, type PublishRequest } from './core/publish.js';
import { checkerOf } from './observe/ingest-checker.js';
import { GatewayMetrics } from './observe/metrics.js';
import { ViewerTracker } from './observe/viewers.js';
import { attachIngestCheckers } from './observe/ingest-checker.js';
import { LadderManager } from './ladder/ladder-manager.js';
import { parseLadderConfig } from './ladder/ladder.js';
import { TranscodeSlots } from './ladder/slots.js';
import { attachRecorder, recordingsSettled } from './record/stream-recorder.js';
import { OutputRegistry } from './packager/output-registry.js';
import { RtmpServer } from './rtmp/server.js';
import { RelayRegistry } from './relay/relay-registry.js';

export interface RunningGateway {
  readonly rtmpPort: number;
  readonly httpPort: number;
  readonly streams: StreamRegistry;
  /** Where every ingest protocol publishes (authorization, limits, registry). */
  readonly publishPath: PublishPath;
  readonly outputs: OutputRegistry;
  readonly cache: SegmentCache;
  readonly relays: RelayRegistry;
  readonly metrics: GatewayMetrics;
  readonly viewers: ViewerTracker;
  /** The start-up line about who may publish, and whether it is a warning (open publishing). */
  readonly publishAuthDescription: { text: string; warn: boolean };
  /** The express app behind the fast paths: its router lists every HTTP route (tools, tests). */
  readonly httpApp: Express;
  /** Stops accepting, ends every stream (playlists get ENDLIST), closes sockets. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const streams = new StreamRegistry();
  const cache = new SegmentCache(config.cacheMaxBytes);
  const outputs = new OutputRegistry(streams, config, cache, logger.child({ component: 'packager' }));
  if (config.recordDir) recordEveryOutput(outputs, config, logger);
  const relays = new RelayRegistry(streams, config.relayBatchMs);
  // After the relays: a stream's hub exists when the push targets hear of its publish. Bytes
  // are counted only once a stream is pushed, long after `metrics` below exists.
  const push = new PushManager(streams, relays, {
    config: config.push,
    maxQueuedBytes: config.maxPlayerQueueBytes,
    logger: logger.child({ component: 'push' }),
    onBytes: (bytes) => metrics.pushBytes.inc(bytes),
  });
  const viewers = new ViewerTracker({ relays });
  const metrics = new GatewayMetrics().attach({ streams, outputs, relays, cache, viewers, push });
  const ladders = createLadders(config, outputs, metrics, logger);
  const detachCheckers = attachIngestCheckers(streams, { segmentDuration: config.segmentDuration, logger: logger.child({ component: 'ingest-checker' }) });
  streams.on('publish', (s) => logger.info({ stream: s.path }, 'stream live'));
  streams.on('unpublish', (s) => logger.info({ stream: s.path }, 'stream ended'));

  const { publishAuth, publishPath } = createPublishPath(config, streams);
  const ffmpegPath = resolveFfmpegPath();
  const slate = config.slate
    ? new SlateManager(outputs, {
        image: config.slateImage,
        seconds: config.slateSeconds ?? config.reconnectGrace,
        segmentDuration: config.segmentDuration,
        ffmpegPath,
        publishPath,
        logger: logger.child({ component: 'slate' }),
      })
    : undefined;
  const pull = new PullManager({
    config: config.pull ?? {},
    publishPath,
    streams,
    logger: logger.child({ component: 'pull' }),
    ffmpegPath,
    viewers: (app, key) => viewers.viewersOf(app, key).total,
  });
  const playbackAuth = new PlaybackAuthorizer({ secret: config.playbackSecret, ttlSeconds: config.playbackTokenTtl });
  const rtmp = new RtmpServer({
    publishPath,
    playbackAuth,
    redact: (text: string) => publishAuth.redact(text),
    relays,
    maxPlayerQueueBytes: config.maxPlayerQueueBytes,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    maxAmfDepth: config.maxAmfDepth,
    logger: logger.child({ component: 'rtmp' }),
    maxConnections: config.maxConnections,
    maxMessageSize: config.maxMessageSize,
    handshakeTimeout: config.handshakeTimeout,
    idleTimeout: config.idleTimeout,
  });
  let rtmpPortBound = config.rtmpPort;
  let stopRequested = false;
  const { server: httpServer, app: httpApp } = createHttpServer(config, logger, {
    outputs,
    relays,
    cache,
    metrics,
    viewers,
    playbackAuth,
    ladders,
    push,
    pull,
    rtmpPort: () => rtmpPortBound,
    ready: () => !stopRequested,
  });

  rtmpPortBound = await rtmp.listen(config.rtmpPort, config.host);
  pull.start();
  const httpPort = await listenHttp(httpServer, config);

  const stopInner = stopInOrder({ httpServer, rtmp, streams, ladders, outputs, detachCheckers, metrics, drainMs: config.shutdownDrain * 1000, push, pull, slate });
  const stop = (): Promise<void> => {
    stopRequested = true;
    return stopInner();
  };

  return {
    rtmpPort: rtmpPortBound,
    httpPort,
    streams,
    outputs,
    cache,
    relays,
    metrics,
    viewers,
    publishPath,
    httpApp,
    publishAuthDescription: {
      text: publishAuth.isOpen ? 'publishing is open to anyone who can reach the RTMP port (no stream-key list, token or webhook configured)' : publishAuth.describeMode(),
      warn: publishAuth.isOpen,
    },
    stop,
  };
}

/**
 * Stopping, outside in: no new publishers, streams end (playlists get ENDLIST), HTTP goes on for
 * `drainMs` so players and edges fetch the ended playlists (and /readyz says 503), then the rest.
 */
function stopInOrder(parts: {
  httpServer: http.Server;
  rtmp: RtmpServer;
  streams: StreamRegistry;
  ladders: LadderManager;
  outputs: OutputRegistry;
  detachCheckers: () => void;
  metrics: GatewayMetrics;
  drainMs: number;
  push: PushManager;
  pull: PullManager;
  slate: SlateManager | undefined;
}): () => Promise<void> {
  const { httpServer, rtmp, streams, ladders, outputs, metrics } = parts;
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (parts.drainMs <= 0) httpServer.close();
      await rtmp.close();
      parts.pull.close();
      parts.slate?.close();
      for (const s of streams.list()) streams.unpublish(s);
      // Transcoders drain briefly; the process-exit hook kills whatever is left (stop stays under 5 s).
      await Promise.race([ladders.stopAll(), new Promise((r) => setTimeout(r, 2500).unref())]);
      outputs.close();
      parts.push.close();
      if (parts.drainMs > 0) {
        await new Promise((r) => setTimeout(r, parts.drainMs).unref());
        httpServer.close();
      }
      // The last VOD playlists and MPDs of recordings are written before the process exits.
      await Promise.race([recordingsSettled(), new Promise((r) => setTimeout(r, 1500).unref())]);
      parts.detachCheckers();
      metrics.detach();
      httpServer.closeIdleConnections();
      // Blocked playlist requests end as their streams end; whatever is still open goes now.
      setTimeout(() => httpServer.closeAllConnections(), 500).unref();
    })();
    return stopping;
  };
}

/** Every new output is recorded; a reconnect into the same output keeps its recorder. */
function recordEveryOutput(outputs: OutputRegistry, config: Config, logger: Logger): void {
  const record = {
    dir: config.recordDir!,
    retention: { maxAgeHours: config.recordMaxAgeHours, maxBytes: config.recordMaxBytes },
    logger: logger.child({ component: 'record' }),
  };
  outputs.on('output', (output) => attachRecorder(output, record));
}

/** The ABR ladder: started for every publish an output takes; its rungs join that output. */
function createLadders(config: Config, outputs: OutputRegistry, metrics: GatewayMetrics, logger: Logger): LadderManager {
  const ladderConfig = parseLadderConfig(config.ladder ?? {});
  const ladders = new LadderManager({
    config: config.transcode ? ladderConfig : { ...ladderConfig, default: 'passthrough', apps: {}, keys: {} },
    slots: config.maxTranscodes !== undefined ? new TranscodeSlots(config.maxTranscodes) : undefined,
    measureMs: config.segmentDuration * 1000,
    transcoder: { preset: config.transcodePreset },
    logger: logger.child({ component: 'ladder' }),
    onTranscoderRestart: (stream) => metrics.transcoderRestarted(stream.app),
    addVideoRendition: (stream, id, source) => {
      const output = outputs.get(stream.app, stream.key);
      if (output && output.stream === stream) output.addVideoRendition(id, source);
    },
  });
  outputs.on('publish', (_output, stream) => ladders.attach(stream));
  return ladders;
}

/** Who may publish (keys, tokens, webhook) in front of the one publish path every ingest uses. */
function createPublishPath(config: Config, streams: StreamRegistry): { publishAuth: PublishAuthorizer; publishPath: PublishPath } {
  const publishAuth = new PublishAuthorizer({
    mode: config.publishAuth,
    keys: config.publishKeys,
    secret: config.publishSecret,
    webhook:
      config.onPublishUrl || config.onPublishDoneUrl || config.onUpdateUrl
        ? { onPublish: config.onPublishUrl, onPublishDone: config.onPublishDoneUrl, onUpdate: config.onUpdateUrl, timeoutMs: config.webhookTimeout * 1000 }
        : undefined,
  });
  const gate =
    publishAuth.isOpen && !config.onPublishDoneUrl && !config.onUpdateUrl
      ? undefined
      : {
          authorize: (req: PublishRequest) => publishAuth.authorize(req),
          publishDone: (req: PublishRequest) => void publishAuth.publishDone(req),
          publishUpdate: (req: PublishRequest, elapsed: number) => publishAuth.publishUpdate(req, elapsed),
        };
  const publishPath = new PublishPath({
    registry: streams,
    gate,
    updateIntervalMs: config.onUpdateUrl ? config.onUpdateInterval * 1000 : 0,
    maxPublishers: config.maxPublishers,
    onWarning: (stream, code, message, at) => checkerOf(stream)?.onIngestWarning(code, message, at),
  });
  return { publishAuth, publishPath };
}

interface HttpParts {
  readonly outputs: OutputRegistry;
  readonly relays: RelayRegistry;
  readonly cache: SegmentCache;
  readonly metrics: GatewayMetrics;
  readonly viewers: ViewerTracker;
  readonly playbackAuth: PlaybackAuthorizer;
  readonly ladders: LadderManager;
  readonly rtmpPort: () => number;
  readonly ready: () => boolean;
  readonly push: PushManager;
  readonly pull: PullManager;
}

/** The HTTP side: the media fast path in front of the express app, with the URL length limit. */
function createHttpServer(config: Config, logger: Logger, parts: HttpParts): { server: http.Server; app: Express } {
  const { outputs, relays, cache, metrics, viewers, playbackAuth, ladders, push, pull } = parts;
  const rateLimiter = new PlaylistRateLimiter({ perSecond: config.playlistRateLimit, burst: config.playlistRateLimit * 2 });
  const app = createHttpApp({
    outputs,
    relays,
    cache,
    maxPlayerQueueBytes: config.maxPlayerQueueBytes,
    logger: logger.child({ component: 'http' }),
    metrics,
    viewers,
    rtmpPort: parts.rtmpPort,
    playbackAuth,
    access: { apiToken: config.apiToken, playback: playbackAuth },
    rateLimiter,
    apiExtras: { viewers, ladder: (output) => ({ ...ladders.get(output.path)?.info() }), ready: parts.ready, push: (output) => push.list(output.app, output.key), pull: (output) => pull.view(output.app, output.key) },
    push,
    pull,
    corsOrigin: config.corsOrigin,
    segmentDuration: config.segmentDuration,
    partDuration: config.partDuration,
    playlistWindow: config.playlistWindow,
  });
  const fast = {
    // With playback tokens every request is checked by the express middleware: no fast path.
    enabled: !playbackAuth.enabled,
    outputs,
    cache,
    corsOrigin: config.corsOrigin,
    onServed: (route: string, app: string, key: string, status: number, bytes: number): void => {
      metrics.httpRequests.inc({ route, status: String(status) });
      if (bytes > 0) viewers.addServedBytes(app, key, bytes);
    },
  };
  const playlists: PlaylistFastPathOptions = {
    outputs,
    segmentDuration: config.segmentDuration,
    partDuration: config.partDuration,
    playlistWindow: config.playlistWindow,
    corsOrigin: config.corsOrigin,
    rateLimiter,
    observe: (request) => viewers.observe(request),
    onAnswered: (route, status) => metrics.httpRequests.inc({ route, status: String(status) }),
  };
  const server = http.createServer(
    { keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 30_000, maxHeaderSize: config.httpMaxHeaderBytes },
    (req, res) => {
      if ((req.url?.length ?? 0) > config.httpMaxUrlLength) {
        res.writeHead(414, { 'Content-Type': 'text/plain' }).end('URI too long');
        return;
      }
      // With playback tokens every request is checked by the express middleware: no fast paths.
      if (!fast.enabled || !(serveMediaFast(fast, req, res) || servePlaylistFast(playlists, req, res))) app(req, res);
    },
  );
  return { server, app };
}

function listenHttp(server: http.Server, config: Config): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.httpPort, config.host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : config.httpPort);
    });
  });
}
