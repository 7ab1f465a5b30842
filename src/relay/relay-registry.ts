import type { LiveStream, StreamRegistry } from '../core/stream.js';
import { metadataBody } from './metadata.js';
import { RelayHub } from './relay-hub.js';

/** One RelayHub per live stream, created at publish and dropped at its end. */
export class RelayRegistry {
  private readonly hubs = new Map<string, RelayHub>();

  constructor(streams: StreamRegistry, batchMs = 0) {
    streams.on('publish', (stream: LiveStream) => this.hubs.set(stream.path, new RelayHub(stream, metadataBody, batchMs)));
    streams.on('unpublish', (stream: LiveStream) => {
      if (this.hubs.get(stream.path)?.stream === stream) this.hubs.delete(stream.path);
    });
  }

  get(app: string, key: string): RelayHub | undefined {
    return this.hubs.get(`${app}/${key}`);
  }

  /** Players (RTMP and HTTP-FLV) of a stream. */
  playerCount(app: string, key: string): number {
    return this.get(app, key)?.playerCount ?? 0;
  }
}
