/** Composition root: wires ingest, packagers, cache and HTTP into one running gateway. */
import http from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { SegmentCache } from './cache/segment-cache.js';
import { StreamRegistry } from './core/stream.js';
import { createHttpApp } from './http/server.js';
import { serveMediaFast } from './http/fast-path.js';
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
  /** Stops accepting, ends every stream (playlists get ENDLIST), closes sockets. */
  stop(): Promise<void>;
}

export async function startGateway(config: Config, logger: Logger): Promise<RunningGateway> {
  const streams = new StreamRegistry();
  const cache = new SegmentCache(config.cacheMaxBytes);
  const outputs = new OutputRegistry(streams, config, cache, logger.child({ component: 'packager' }));
  if (config.recordDir) {
    const record = {
      dir: config.recordDir,
      retention: { maxAgeHours: config.recordMaxAgeHours, maxBytes: config.recordMaxBytes },
      logger: logger.child({ component: 'record' }),
    };
    // Every new output is recorded; a reconnect into the same output keeps its recorder.
    outputs.on('output', (output) => attachRecorder(output, record));
  }
  const relays = new RelayRegistry(streams, config.relayBatchMs);
  const viewers = new ViewerTracker({ relays });
  const metrics = new GatewayMetrics().attach({ streams, outputs, relays, cache, viewers });
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
      if (!output || output.stream !== stream) return;
      output.addVideoRendition(id, source);
    },
  });
  outputs.on('publish', (_output, stream) => ladders.attach(stream));
  const detachCheckers = attachIngestCheckers(streams, { segmentDuration: config.segmentDuration, logger: logger.child({ component: 'ingest-checker' }) });
  streams.on('publish', (s) => logger.info({ stream: s.path }, 'stream live'));
  streams.on('unpublish', (s) => logger.info({ stream: s.path }, 'stream ended'));

  const publishAuth = new PublishAuthorizer({
    mode: config.publishAuth,
    keys: config.publishKeys,
    secret: config.publishSecret,
    webhook:
      config.onPublishUrl || config.onPublishDoneUrl
        ? { onPublish: config.onPublishUrl, onPublishDone: config.onPublishDoneUrl, timeoutMs: config.webhookTimeout * 1000 }
        : undefined,
  });
  const playbackAuth = new PlaybackAuthorizer({ secret: config.playbackSecret, ttlSeconds: config.playbackTokenTtl });
  const publishGate = publishAuth.isOpen && !config.onPublishDoneUrl
    ? undefined
    : {
        authorize: (req: PublishRequest) => publishAuth.authorize(req),
        publishDone: (req: PublishRequest) => void publishAuth.publishDone(req),
      };

  // The one publish path every ingest protocol goes through (RTMP today).
  const publishPath = new PublishPath({
    registry: streams,
    gate: publishGate,
    maxPublishers: config.maxPublishers,
    onWarning: (stream, code, message, at) => checkerOf(stream)?.onIngestWarning(code, message, at),
  });
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
  const app = createHttpApp({
    outputs,
    relays,
    cache,
    maxPlayerQueueBytes: config.maxPlayerQueueBytes,
    logger: logger.child({ component: 'http' }),
    metrics,
    viewers,
    rtmpPort: () => rtmpPortBound,
    playbackAuth,
    rateLimiter: new PlaylistRateLimiter({ perSecond: config.playlistRateLimit, burst: config.playlistRateLimit * 2 }),
    apiExtras: { viewers, ladder: (output) => ({ ...ladders.get(output.path)?.info() }) },
    corsOrigin: config.corsOrigin,
    segmentDuration: config.segmentDuration,
    partDuration: config.partDuration,
    playlistWindow: config.playlistWindow,
  });
  let rtmpPortBound = config.rtmpPort;
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
  const httpServer = http.createServer(
    { keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 30_000, maxHeaderSize: config.httpMaxHeaderBytes },
    (req, res) => {
      if ((req.url?.length ?? 0) > config.httpMaxUrlLength) {
        res.writeHead(414, { 'Content-Type': 'text/plain' }).end('URI too long');
        return;
      }
      if (!fast.enabled || !serveMediaFast(fast, req, res)) app(req, res);
    },
  );

  const rtmpPort = await rtmp.listen(config.rtmpPort, config.host);
  rtmpPortBound = rtmpPort;
  const httpPort = await new Promise<number>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.httpPort, config.host, () => {
      const addr = httpServer.address();
      resolve(typeof addr === 'object' && addr ? addr.port : config.httpPort);
    });
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      httpServer.close();
      await rtmp.close();
      for (const s of streams.list()) streams.unpublish(s);
      // Transcoders drain briefly; the process-exit hook kills whatever is left (stop stays under 5 s).
      await Promise.race([ladders.stopAll(), new Promise((r) => setTimeout(r, 2500).unref())]);
      outputs.close();
      // The last VOD playlists and MPDs of recordings are written before the process exits.
      await Promise.race([recordingsSettled(), new Promise((r) => setTimeout(r, 1500).unref())]);
      detachCheckers();
      metrics.detach();
      httpServer.closeIdleConnections();
      // Blocked playlist requests end as their streams end; whatever is still open goes now.
      setTimeout(() => httpServer.closeAllConnections(), 500).unref();
    })();
    return stopping;
  };

  return {
    rtmpPort,
    httpPort,
    streams,
    outputs,
    cache,
    relays,
    metrics,
    viewers,
    publishPath,
    publishAuthDescription: {
      text: publishAuth.isOpen ? 'publishing is open to anyone who can reach the RTMP port (no stream-key list, token or webhook configured)' : publishAuth.describeMode(),
      warn: publishAuth.isOpen,
    },
    stop,
  };
}
