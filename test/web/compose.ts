/**
 * TODO(lead): until webRoutes/metricsRoutes and the observers are mounted in src/http/server.ts,
 * the web tests serve a small express app composed here from the gateway's registries: the
 * observers' middlewares and routers first, then the gateway's own HTTP app.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { defaultConfig } from '../../src/config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RunningGateway } from '../../src/gateway.js';
import { createHttpApp } from '../../src/http/server.js';
import { metricsRoutes } from '../../src/http/metrics-routes.js';
import { webRoutes } from '../../src/http/web-routes.js';
import { GatewayMetrics } from '../../src/observe/metrics.js';
import { ViewerTracker } from '../../src/observe/viewers.js';

export interface ComposedApp {
  readonly origin: string;
  readonly viewers: ViewerTracker;
  readonly metrics: GatewayMetrics;
  close(): Promise<void>;
}

export async function composeApp(gw: Pick<RunningGateway, 'streams' | 'outputs' | 'relays' | 'cache' | 'rtmpPort'>): Promise<ComposedApp> {
  const config = defaultConfig();
  const viewers = new ViewerTracker({ relays: gw.relays });
  const metrics = new GatewayMetrics().attach({ ...gw, viewers });
  const app = express();
  app.use(metrics.middleware());
  app.use(viewers.middleware());
  app.use(webRoutes({ rtmpPort: () => gw.rtmpPort }));
  app.use(metricsRoutes(metrics));
  app.use(
    createHttpApp({
      outputs: gw.outputs,
      relays: gw.relays,
      cache: gw.cache,
      maxPlayerQueueBytes: config.maxPlayerQueueBytes,
      logger: silentLogger(),
      corsOrigin: '*',
      segmentDuration: config.segmentDuration,
      partDuration: config.partDuration,
      playlistWindow: config.playlistWindow,
    }),
  );
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    viewers,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        metrics.detach();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
