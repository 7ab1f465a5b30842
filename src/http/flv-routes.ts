/** HTTP-FLV: `/APP/KEY.flv`, progressive FLV of a live stream (metadata, headers, GOP cache, live). */
import { Router } from 'express';
import type { Logger } from 'pino';
import { encodeFlvTag, flvHeader } from '../flv/writer.js';
import { batchBytes, encodedOnce, PlayerQueuePolicy, TAG_VIDEO, type RelayMessage, type RelayPlayer } from '../relay/relay-hub.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import { NAME_PATTERN } from '../core/names.js';

export interface FlvRouteOptions {
  readonly relays: RelayRegistry;
  readonly logger: Logger;
  readonly maxQueuedBytes: number;
}

function flvTag(m: RelayMessage): Uint8Array {
  return encodedOnce(m, 'flv', (x) => encodeFlvTag(x.type, x.timestamp, x.body));
}

export function flvRoutes(options: FlvRouteOptions): Router {
  const router = Router();
  router.get('/:app/:file', (req, res, next) => {
    const app = String(req.params['app']);
    const file = String(req.params['file']);
    if (!file.endsWith('.flv')) return next();
    const key = file.slice(0, -4);
    if (!NAME_PATTERN.test(app) || !NAME_PATTERN.test(key)) return next();
    const hub = options.relays.get(app, key);
    if (!hub) {
      res.status(404).type('text').send('unknown stream');
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'video/x-flv');
    res.setHeader('Cache-Control', 'no-cache, no-store');
    // A live stream that never ends: a proxy in front (deploy/nginx) must pass it on as it comes.
    res.setHeader('X-Accel-Buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const socket = res.socket;
    const policy = new PlayerQueuePolicy(options.maxQueuedBytes);
    const hasVideo = hub.stream.video !== undefined;
    let corked = false;
    const write = (bytes: Uint8Array): void => {
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          res.uncork();
        });
      }
      res.write(bytes);
    };
    const start = hub.start();
    write(flvHeader({ audio: hub.stream.audio !== undefined, video: hasVideo }));
    if (start.metadata) write(flvTag(start.metadata));
    for (const m of start.headers) write(flvTag(m));
    for (const m of start.gop) write(flvTag(m));
    const player: RelayPlayer = {
      send(batch) {
        const queued = (): number => res.writableLength + (socket?.writableLength ?? 0);
        if (policy.admitsAll(queued())) {
          res.write(batchBytes(batch, 'flv', flvTag));
          return;
        }
        for (const m of batch.messages) if (policy.admit(m, queued(), hasVideo || m.type === TAG_VIDEO)) write(flvTag(m));
      },
      end() {
        res.end();
      },
    };
    hub.addPlayer(player);
    res.on('close', () => hub.removePlayer(player));
  });
  return router;
}
