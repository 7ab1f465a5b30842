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
import { MediaKeys } from './auth/media-keys.js';
import { servePlaylistFast, type PlaylistFastPathOptions } from './http/playlist-fast-path.js';
import { PlaylistRateLimiter } from './http/rate-limit.js';
import { PublishAuthorizer } from './auth/publish-auth.js';
import { PlaybackAuthorizer } from './auth/playback.js';
import { PublishPath, type PublishDecision, type PublishRequest } from './core/publish.js';
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
import { CertificateStore } from './tls/certificate-store.js';
import { SecureHttpServer, type HttpListener } from './http/secure-server.js';
import { http2Handler, type Http1Handler } from './http/http2-bridge.js';
import { GatewayError } from './core/errors.js';
import { SrtIngest } from './srt/srt-ingest.js';
import { listenOn } from './core/listen.js';

export interface RunningGateway {
  readonly rtmpPort: number;
  readonly httpPort: number;
  /** RTMPS and HTTPS ports, when a certificate is configured. */
  readonly rtmpsPort?: number;
  readonly httpsPort?: number;
  /** The SRT ingest's UDP port, when SRT is on and its relay is built. */
  readonly srtPort?: number;
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
  // Media encryption: AES-128 at the HLS routes, Common Encryption ('cbcs') in the CMAF store.
  const keys = new MediaKeys(config.encrypt ?? {}, config.encryptionSecret);
  const outputs = new OutputRegistry(streams, { ...config, protectionOf: (app, key, session) => keys.contentKey(app, key, session) }, cache, logger.child({ component: 'packager' }));
  if (config.recordDir) recordEveryOutput(outputs, config, logger);
  const relays = new RelayRegistry(streams, config.relayBatchMs);
  // After the relays: a stream's hub exists when the push targets hear of its publish. Bytes
  // are counted only once a stream is pushed, long after `metrics` below exists.
  const ffmpegPath = resolveFfmpegPath();
  const push = new PushManager(streams, relays, {
    ffmpegPath,
    config: config.push,
    maxQueuedBytes: config.maxPlayerQueueBytes,
    logger: logger.child({ component: 'push' }),
    onBytes: (bytes) => metrics.pushBytes.inc(bytes),
  });
  const viewers = new ViewerTracker({ relays });
  const metrics = new GatewayMetrics().attach({ streams, outputs, relays, cache, viewers, push });
  const ladders = createLadders(config, outputs, metrics, logger, push);
  const detachCheckers = attachIngestCheckers(streams, { segmentDuration: config.segmentDuration, logger: logger.child({ component: 'ingest-checker' }) });
  streams.on('publish', (s) => logger.info({ stream: s.path }, 'stream live'));
  streams.on('unpublish', (s) => logger.info({ stream: s.path }, 'stream ended'));

  const { publishAuth, publishPath } = createPublishPath(config, streams, keys);
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
    // A pulled stream gets its content key from the key server as a publisher's would.
    prepare: (app, key) => keys.prepare(app, key),
  });
  const playbackAuth = new PlaybackAuthorizer({ secret: config.playbackSecret, ttlSeconds: config.playbackTokenTtl });
  const certificates = loadCertificates(config, logger);
  const rtmpOptions = {
    publishPath,
    playbackAuth,
    // Common Encryption streams go out encrypted only: RTMP play would hand out the clear frames.
    clearPlayRefused: (app: string, key: string) => keys.cbcsFor(app, key) !== undefined,
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
  };
  const rtmp = new RtmpServer(rtmpOptions);
  const rtmps = certificates ? new RtmpServer({ ...rtmpOptions, logger: logger.child({ component: 'rtmps' }), tls: certificates }) : undefined;
  let rtmpPortBound = config.rtmpPort;
  let stopRequested = false;
  const { server: httpServer, app: httpApp, handle: handleHttp } = createHttpServer(config, logger, {
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
    keys,
  });

  const https = certificates
    ? new SecureHttpServer({
        certificates,
        logger: logger.child({ component: 'https' }),
        maxHeaderBytes: config.httpMaxHeaderBytes,
        onRequest: http2Handler(httpApp, handleHttp),
      })
    : undefined;

  const srt = createSrtIngest(config, publishPath, logger);

  rtmpPortBound = await rtmp.listen(config.rtmpPort, config.host);
  const rtmpsPort = await rtmps?.listen(config.rtmpsPort, config.host);
  // SRT is one ingest among others: a taken port or a missing libsrt leaves it off, with a warning.
  const srtPort = await srt?.start().catch((err: unknown) => {
    logger.warn({ component: 'srt', err: (err as Error).message, port: config.srtPort }, 'SRT ingest is off: its listener did not start');
    return undefined;
  });
  pull.start();
  const httpPort = await listenOn(httpServer, config.httpPort, config.host);
  const httpsPort = await https?.listen(config.httpsPort, config.host);
  certificates?.watch();

  const httpServers: HttpListener[] = https ? [httpServer, https] : [httpServer];
  const rtmpServers = rtmps ? [rtmp, rtmps] : [rtmp];
  const stopInner = stopInOrder({ httpServers, rtmpServers, srt, certificates, streams, ladders, outputs, detachCheckers, metrics, drainMs: config.shutdownDrain * 1000, push, pull, slate });
  const stop = (): Promise<void> => {
    stopRequested = true;
    return stopInner();
  };

  return {
    rtmpPort: rtmpPortBound,
    httpPort,
    rtmpsPort,
    httpsPort,
    srtPort,
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
  httpServers: readonly HttpListener[];
  rtmpServers: readonly RtmpServer[];
  srt: SrtIngest | undefined;
  certificates: CertificateStore | undefined;
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
  const { httpServers, rtmpServers, streams, ladders, outputs, metrics } = parts;
  const closeHttp = (): void => {
    for (const server of httpServers) server.close();
  };
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      if (parts.drainMs <= 0) closeHttp();
      parts.certificates?.close();
      await Promise.all([...rtmpServers.map((server) => server.close()), parts.srt?.stop()]);
      parts.pull.close();
      parts.slate?.close();
      for (const s of streams.list()) streams.unpublish(s);
      // Transcoders drain briefly; the process-exit hook kills whatever is left (stop stays under 5 s).
      await Promise.race([ladders.stopAll(), new Promise((r) => setTimeout(r, 2500).unref())]);
      outputs.close();
      parts.push.close();
      if (parts.drainMs > 0) {
        await new Promise((r) => setTimeout(r, parts.drainMs).unref());
        closeHttp();
      }
      // The last VOD playlists and MPDs of recordings are written before the process exits.
      await Promise.race([recordingsSettled(), new Promise((r) => setTimeout(r, 1500).unref())]);
      parts.detachCheckers();
      metrics.detach();
      for (const server of httpServers) server.closeIdleConnections();
      // Blocked playlist requests end as their streams end; whatever is still open goes now.
      setTimeout(() => {
        for (const server of httpServers) server.closeAllConnections();
      }, 500).unref();
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
function createLadders(config: Config, outputs: OutputRegistry, metrics: GatewayMetrics, logger: Logger, push: PushManager): LadderManager {
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
      // A push target may ask for this rung (push/rendition-mix.ts).
      push.renditionAdded(stream, id, source);
    },
    removeVideoRendition: (stream, id) => {
      const output = outputs.get(stream.app, stream.key);
      if (output && output.stream === stream) output.removeVideoRendition(id);
    },
  });
  outputs.on('publish', (_output, stream) => ladders.attach(stream));
  return ladders;
}

/** Who may publish (keys, tokens, webhook) in front of the one publish path every ingest uses. */
function createPublishPath(config: Config, streams: StreamRegistry, keys: MediaKeys): { publishAuth: PublishAuthorizer; publishPath: PublishPath } {
  const publishAuth = new PublishAuthorizer({
    mode: config.publishAuth,
    keys: config.publishKeys,
    secret: config.publishSecret,
    webhook:
      config.onPublishUrl || config.onPublishDoneUrl || config.onUpdateUrl
        ? { onPublish: config.onPublishUrl, onPublishDone: config.onPublishDoneUrl, onUpdate: config.onUpdateUrl, timeoutMs: config.webhookTimeout * 1000 }
        : undefined,
  });
  // A stream whose content key comes from a key server gets it before the publish goes ahead:
  // without it the stream would go out clear or not at all, so a failure refuses the publish.
  const withContentKey = async (req: PublishRequest, decision: PublishDecision): Promise<PublishDecision> => {
    if (!decision.ok) return decision;
    try {
      await keys.prepare(req.app, req.key);
      return decision;
    } catch (err) {
      return { ok: false, reason: `no content key from the key server: ${(err as Error).message}`, status: 'NetStream.Publish.Unauthorized' };
    }
  };
  const gate =
    publishAuth.isOpen && !config.onPublishDoneUrl && !config.onUpdateUrl && !keys.needsKeyServer
      ? undefined
      : {
          authorize: async (req: PublishRequest) => withContentKey(req, await publishAuth.authorize(req)),
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
  readonly keys: MediaKeys;
}

/** The HTTP side: the media fast path in front of the express app, with the URL length limit. */
function createHttpServer(config: Config, logger: Logger, parts: HttpParts): { server: http.Server; app: Express; handle: HttpHandler } {
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
    keys: parts.keys,
  });
  const fast = {
    keys: parts.keys,
    // With playback tokens every request is checked by the express middleware: no fast path.
    enabled: !playbackAuth.enabled,
    outputs,
    cache,
    corsOrigin: config.corsOrigin,
    onServed: (route: string, app: string, key: string, status: number, bytes: number): void => {
      metrics.countRequest(route, status);
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
    observe: (request, kind) => viewers.observe(request, kind),
    onAnswered: (route, status) => metrics.countRequest(route, status),
    keys: parts.keys,
  };
  // HTTP and HTTPS (HTTP/1.1 and HTTP/2) requests alike: `enterExpress` is how this protocol enters the app.
  const handle: HttpHandler = (req, res, enterExpress) => {
    if ((req.url?.length ?? 0) > config.httpMaxUrlLength) {
      res.writeHead(414, { 'Content-Type': 'text/plain' }).end('URI too long');
      return;
    }
    // With playback tokens every request is checked by the express middleware: no fast paths.
    if (!fast.enabled || !(serveMediaFast(fast, req, res) || servePlaylistFast(playlists, req, res))) enterExpress(req, res);
  };
  const server = http.createServer(
    { keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 30_000, maxHeaderSize: config.httpMaxHeaderBytes },
    (req, res) => handle(req, res, app),
  );
  return { server, app, handle };
}

type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse, enterExpress: Http1Handler) => void;

/** SRT ingest when it is on and its libsrt relay was built (else one warning saying how). */
function createSrtIngest(config: Config, publishPath: PublishPath, logger: Logger): SrtIngest | undefined {
  if (!config.srt) return undefined;
  const log = logger.child({ component: 'srt' });
  if (!SrtIngest.available()) {
    log.warn('SRT ingest is off: its libsrt relay is not built (apt-get install -y libsrt-gnutls-dev pkg-config gcc, then npm run build)');
    return undefined;
  }
  return new SrtIngest({
    publishPath,
    logger: log,
    port: config.srtPort,
    host: config.host,
    latencyMs: config.srtLatency,
    passphrase: config.srtPassphrase,
    pbkeylen: config.srtPbkeylen,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
  });
}

/** The certificate for RTMPS and HTTPS: both files or neither. */
function loadCertificates(config: Config, logger: Logger): CertificateStore | undefined {
  if (config.tlsCert === undefined && config.tlsKey === undefined) return undefined;
  if (config.tlsCert === undefined || config.tlsKey === undefined) {
    throw new GatewayError('config', 'RTMPS and HTTPS need both tls-cert and tls-key');
  }
  return new CertificateStore({ certFile: config.tlsCert, keyFile: config.tlsKey }, logger.child({ component: 'tls' }));
}

