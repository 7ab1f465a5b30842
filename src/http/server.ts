/** The HTTP side: express app with CORS, HLS routes, API and health. */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import { apiRoutes } from './api-routes.js';
import { hlsRoutes } from './hls-routes.js';
import { dashRoutes } from './dash-routes.js';
import { flvRoutes } from './flv-routes.js';
import { tsRoutes } from './ts-routes.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import type { GatewayMetrics } from '../observe/metrics.js';
import type { ViewerTracker } from '../observe/viewers.js';
import { metricsRoutes } from './metrics-routes.js';
import { webRoutes } from './web-routes.js';
import type { PlaylistRateLimiter } from './rate-limit.js';
import type { PlaybackAuthorizer } from '../auth/playback.js';
import { playbackGuard } from './playback-guard.js';
import { accessGuard, maySeeStream, type AccessPolicy } from './access.js';
import { pushRoutes } from './push-routes.js';
import { metadataRoutes } from './metadata-routes.js';
import type { PushManager } from '../push/push-manager.js';
import type { PullManager } from '../pull/pull-manager.js';
import { thumbnailRoutes } from './thumbnail.js';
import { CLEARKEY_LICENSE_FILE, type MediaKeys } from '../auth/media-keys.js';
import { licenseRoutes } from './license-routes.js';
import { addCorsHeaders } from './send.js';

export interface HttpAppOptions {
  readonly outputs: OutputRegistry;
  readonly relays: RelayRegistry;
  readonly cache: SegmentCache;
  readonly maxPlayerQueueBytes: number;
  readonly logger: Logger;
  readonly corsOrigin: string;
  readonly segmentDuration: number;
  readonly partDuration: number;
  readonly playlistWindow: number;
  /** Observers and the web page (optional so parts of the app can be composed in tests). */
  readonly metrics?: GatewayMetrics;
  readonly viewers?: ViewerTracker;
  readonly rtmpPort?: () => number;
  readonly apiExtras?: Parameters<typeof apiRoutes>[1];
  readonly rateLimiter?: PlaylistRateLimiter;
  readonly playbackAuth?: PlaybackAuthorizer;
  /** The API token and playback tokens, for the API, /metrics and thumbnails. */
  readonly access?: AccessPolicy;
  readonly push?: PushManager;
  /** On-demand pull sources start when their stream is first asked for. */
  readonly pull?: PullManager;
  /** HLS AES-128 of the streams the config encrypts. */
  readonly keys?: MediaKeys;
}

/** `/APP/KEY/clearkey.json`: the ClearKey licence route of a Common Encryption stream. */
function isLicenseRequest(path: string): boolean {
  return path.endsWith(`/${CLEARKEY_LICENSE_FILE}`) && path.split('/').length === 4;
}

export function createHttpApp(options: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    for (const [name, value] of Object.entries(addCorsHeaders(options.corsOrigin, {}))) res.setHeader(name, value);
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', isLicenseRequest(req.path) ? 'POST, OPTIONS' : 'GET, HEAD, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? '*');
      res.setHeader('Access-Control-Max-Age', '86400');
      res.status(204).end();
      return;
    }
    next();
  });
  // Who may see and change what: before anything answers (http/access.ts).
  if (options.access) app.use(accessGuard(options.access));
  app.use((req, res, next) => {
    // Changes go through the API only (push targets, ...): everything else is read-only.
    const change = (req.method === 'POST' || req.method === 'DELETE') && req.path.startsWith('/api/');
    // A ClearKey licence request is a POST that changes nothing (license-routes.ts).
    const license = req.method === 'POST' && isLicenseRequest(req.path);
    if (req.method !== 'GET' && req.method !== 'HEAD' && !change && !license) {
      res.status(405).setHeader('Allow', 'GET, HEAD, OPTIONS').end();
      return;
    }
    next();
  });
  if (options.metrics) app.use(options.metrics.middleware());
  if (options.viewers) app.use(options.viewers.middleware());
  if (options.rateLimiter) app.use(options.rateLimiter.middleware());
  if (options.playbackAuth?.enabled) app.use(playbackGuard(options.playbackAuth));
  if (options.pull) app.use(options.pull.middleware());
  if (options.rtmpPort) app.use(webRoutes({ rtmpPort: options.rtmpPort, logger: options.logger }));
  if (options.metrics) app.use(metricsRoutes(options.metrics));
  const access = options.access;
  const maySee = access ? (req: express.Request, app: string, key: string): boolean => maySeeStream(access, req, app, key) : undefined;
  app.use(thumbnailRoutes({ outputs: options.outputs, logger: options.logger, maySee }));
  app.use(apiRoutes(options.outputs, { ...options.apiExtras, maySee }));
  if (options.push) app.use(pushRoutes(options.push, maySee));
  app.use(metadataRoutes(options.outputs));
  app.use(licenseRoutes(options.outputs));
  const clearPlayRefused = options.keys ? (app: string, key: string): boolean => options.keys!.cbcsFor(app, key) !== undefined : undefined;
  app.use(flvRoutes({ relays: options.relays, logger: options.logger, maxQueuedBytes: options.maxPlayerQueueBytes, clearPlayRefused }));
  app.use(
    tsRoutes({
      outputs: options.outputs,
      cache: options.cache,
      segmentDuration: options.segmentDuration,
      playlistWindow: options.playlistWindow,
      keys: options.keys,
    }),
  );
  // DASH first: its in-progress (chunked) segment route must see requests before the HLS file route.
  app.use(
    dashRoutes({
      outputs: options.outputs,
      segmentDuration: options.segmentDuration,
      partDuration: options.partDuration,
      playlistWindow: options.playlistWindow,
      keys: options.keys,
    }),
  );
  app.use(
    hlsRoutes({
      outputs: options.outputs,
      cache: options.cache,
      segmentDuration: options.segmentDuration,
      partDuration: options.partDuration,
      playlistWindow: options.playlistWindow,
      keys: options.keys,
    }),
  );
  app.use((_req, res) => {
    res.status(404).type('text').send('not found');
  });
  // Express error handler: a bad request never takes the server down.
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    options.logger.warn({ err: err.message }, 'http request failed');
    if (!res.headersSent) res.status(400).type('text').send('bad request');
    else res.destroy();
  });
  return app;
}
