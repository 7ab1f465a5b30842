/** HTTP-FLV: `/APP/KEY.flv`, progressive FLV of a live stream (metadata, headers, GOP cache, live). */
import { Router } from 'express';
import type { Logger } from 'pino';
import { PlayerQueuePolicy, type RelayPlayer } from '../relay/relay-hub.js';
import { FLV_TAGS, startRelayWrites } from '../relay/relay-writer.js';
import type { RelayRegistry } from '../relay/relay-registry.js';
import { NAME_PATTERN } from '../core/names.js';

export interface FlvRouteOptions {
  readonly relays: RelayRegistry;
  readonly logger: Logger;
  readonly maxQueuedBytes: number;
  /** Streams that go out encrypted only (Common Encryption): no HTTP-FLV, it carries clear frames. */
  readonly clearPlayRefused?: (app: string, key: string) => boolean;
}

export function flvRoutes(options: FlvRouteOptions): Router {
  const router = Router();
  router.get('/:app/:file', (req, res, next) => {
    const app = String(req.params['app']);
    const file = String(req.params['file']);
    if (!file.endsWith('.flv')) return next();
    const key = file.slice(0, -4);
    if (!NAME_PATTERN.test(app) || !NAME_PATTERN.test(key)) return next();
    if (options.clearPlayRefused?.(app, key)) {
      res.status(403).type('text').send('this stream is encrypted (Common Encryption): watch it over HLS (index.m3u8) or DASH (index.mpd)');
      return;
    }
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
    let corked = false;
    const sink = {
      write: (bytes: Uint8Array): void => {
        res.write(bytes);
      },
      queuedBytes: (): number => res.writableLength + (socket?.writableLength ?? 0),
      cork: (): void => {
        if (corked) return;
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          res.uncork();
        });
      },
    };
    const hasVideo = hub.stream.video !== undefined;
    const policy = new PlayerQueuePolicy(options.maxQueuedBytes);
    const player: RelayPlayer = {
      send: startRelayWrites(sink, hub.start(), policy, hasVideo, FLV_TAGS, hub.stream.audio !== undefined),
      end() {
        res.end();
      },
    };
    hub.addPlayer(player);
    res.on('close', () => hub.removePlayer(player));
  });
  return router;
}
