/** `GET /metrics`: the gateway's Prometheus metrics in text exposition format. */
import { Router } from 'express';
import type { GatewayMetrics } from '../observe/metrics.js';

export function metricsRoutes(metrics: GatewayMetrics): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const body = await metrics.text();
    res.setHeader('Content-Type', metrics.contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(body);
  });
  return router;
}
