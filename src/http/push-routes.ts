/**
 * Push targets over HTTP (CONTRACT.md): `POST /api/streams/APP/KEY/push` with
 * `{"url": "rtmp://…", "rendition": "src"}` → `201 {"id", …}`; `DELETE
 * /api/streams/APP/KEY/push/ID` → 204; `GET /api/streams/APP/KEY/push` → the targets and their
 * state (also under `push` in `/api/streams/APP/KEY`). Who may call them is http/access.ts's
 * business (the API token, or loopback).
 */
import express, { Router, type Request } from 'express';
import { GatewayError } from '../core/errors.js';
import { NAME_PATTERN } from '../core/names.js';
import type { PushManager } from '../push/push-manager.js';

export function pushRoutes(push: PushManager, maySee: (req: Request, app: string, key: string) => boolean = () => true): Router {
  const router = Router();
  const names = (req: Request): [string, string] | undefined => {
    const app = String(req.params['app']);
    const key = String(req.params['key']);
    return NAME_PATTERN.test(app) && NAME_PATTERN.test(key) ? [app, key] : undefined;
  };
  router.get('/api/streams/:app/:key/push', (req, res) => {
    const n = names(req);
    if (!n || !maySee(req, ...n)) {
      res.status(n ? 403 : 404).json({ error: n ? "this stream's data needs its playback token or the API token" : 'bad stream name' });
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ push: push.list(...n) });
  });
  router.post('/api/streams/:app/:key/push', express.json({ limit: '16kb' }), (req, res) => {
    const n = names(req);
    if (!n) {
      res.status(404).json({ error: 'bad stream name' });
      return;
    }
    try {
      const view = push.add(n[0], n[1], req.body as unknown);
      res.status(201).json(view);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      res.status(400).json({ error: err.message.replace(/^config: /, '') });
    }
  });
  router.delete('/api/streams/:app/:key/push/:id', (req, res) => {
    const n = names(req);
    if (n && push.remove(n[0], n[1], String(req.params['id']))) res.status(204).end();
    else res.status(404).json({ error: 'no such push target' });
  });
  return router;
}
