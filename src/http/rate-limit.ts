/**
 * Per-client token bucket for playlist and manifest requests: polling abuse (thousands of
 * reloads a second from one address) gets 429 instead of CPU. Media files are not limited:
 * they are cheap and bounded by what a playlist lists.
 */
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

export interface RateLimitOptions {
  /** Sustained requests per second per address; 0 disables. */
  readonly perSecond: number;
  /** Bucket size (burst). */
  readonly burst: number;
  /** Addresses tracked at most (oldest forgotten first). */
  readonly maxClients?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const LIMITED = /\.(m3u8|mpd)$/;

const TOO_MANY_BODY = 'too many playlist requests';

/**
 * The 429 of an empty bucket (RFC 6585 §4, with Retry-After), written at once with `headers`
 * (CORS) added: the same answer from express and from the playlist fast path, which must not cost
 * more than the playlist it refuses.
 */
export function sendTooMany(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(429, { ...headers, 'Retry-After': '1', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(TOO_MANY_BODY.length) });
  res.end(TOO_MANY_BODY);
}

export class PlaylistRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly options: RateLimitOptions;
  private readonly now: () => number;
  limited = 0;

  constructor(options: RateLimitOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
  }

  /** Takes one token for `client`; false when the bucket is empty. */
  take(client: string): boolean {
    if (this.options.perSecond <= 0) return true;
    const now = this.now();
    let b = this.buckets.get(client);
    if (!b) {
      if (this.buckets.size >= (this.options.maxClients ?? 100_000)) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.options.burst, at: now };
      this.buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.options.burst, b.tokens + ((now - b.at) / 1000) * this.options.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) {
      this.limited++;
      return false;
    }
    b.tokens -= 1;
    return true;
  }

  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      if (!LIMITED.test(req.path) || this.take(req.socket.remoteAddress ?? '')) {
        next();
        return;
      }
      sendTooMany(res);
    };
  }
}
