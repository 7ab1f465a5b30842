/**
 * Pull sources from the config (`pull`: `{"APP/KEY": {"url": "...", "onDemand": true}}`):
 * always-on ones start with the gateway; on-demand ones start when the first viewer asks for the
 * stream (the request waits, bounded, for the stream to begin) and stop once nobody has watched
 * for `idleSeconds` (default 30).
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { PublishPath } from '../core/publish.js';
import type { LiveStream, StreamRegistry } from '../core/stream.js';
import { PullSource, type PullState } from './pull-source.js';

export interface PullSpec {
  readonly url: string;
  readonly onDemand?: boolean;
  readonly idleSeconds?: number;
}

export type PullConfig = Readonly<Record<string, PullSpec>>;

export interface PullManagerOptions {
  readonly config: PullConfig;
  readonly publishPath: PublishPath;
  /** Run before each pull connection (a Common Encryption stream's content key, see PullSource). */
  readonly prepare?: (app: string, key: string) => Promise<void>;
  readonly streams: StreamRegistry;
  readonly logger: Logger;
  readonly ffmpegPath: string | undefined;
  /** Viewers of APP/KEY right now (HTTP sessions and RTMP/FLV players). */
  readonly viewers: (app: string, key: string) => number;
  /** How long a first request waits for an on-demand stream to begin. */
  readonly startWaitMs?: number;
}

interface Entry {
  readonly source: PullSource;
  readonly spec: PullSpec;
  idleSince: number | undefined;
}

/** `/APP/KEY/...` or `/APP/KEY.flv`: the stream a media request is for. */
const STREAM_PATH = /^\/([^/]+)\/([^/]+?)(?:\.flv$|\/)/;

export class PullManager {
  private readonly entries = new Map<string, Entry>();
  private readonly options: PullManagerOptions;
  private readonly idleTimer: NodeJS.Timeout;

  constructor(options: PullManagerOptions) {
    this.options = options;
    for (const [path, spec] of Object.entries(options.config)) {
      const [app, key] = path.split('/');
      if (!app || !key) continue;
      const source = new PullSource({ app, key, url: spec.url, publishPath: options.publishPath, logger: options.logger, ffmpegPath: options.ffmpegPath, prepare: options.prepare });
      this.entries.set(path, { source, spec, idleSince: undefined });
    }
    this.idleTimer = setInterval(() => this.stopIdle(), 5000);
    this.idleTimer.unref();
  }

  /** Starts the always-on sources. */
  start(): void {
    for (const e of this.entries.values()) if (!e.spec.onDemand) e.source.start();
  }

  view(app: string, key: string): { state: PullState; lastError: string | null; onDemand: boolean } | undefined {
    const e = this.entries.get(`${app}/${key}`);
    return e && { ...e.source.view(), onDemand: e.spec.onDemand === true };
  }

  /** A request for an on-demand stream that is not live starts its source and waits for it. */
  middleware() {
    return (req: Request, _res: Response, next: NextFunction): void => {
      const m = STREAM_PATH.exec(req.path);
      const entry = m ? this.entries.get(`${m[1]}/${m[2]}`) : undefined;
      if (!entry || !entry.spec.onDemand) return next();
      entry.idleSince = undefined;
      const [app, key] = [m![1]!, m![2]!];
      if (this.options.streams.get(app, key)) return next();
      entry.source.start();
      this.untilPublished(app, key).then(() => next(), () => next());
    };
  }

  private untilPublished(app: string, key: string): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.options.streams.off('publish', on);
        resolve();
      };
      const on = (s: LiveStream): void => {
        if (s.app === app && s.key === key) done();
      };
      const timer = setTimeout(done, this.options.startWaitMs ?? 15_000);
      this.options.streams.on('publish', on);
    });
  }

  private stopIdle(now = Date.now()): void {
    for (const e of this.entries.values()) {
      if (!e.spec.onDemand || !e.source.running) continue;
      if (this.options.viewers(e.source.app, e.source.key) > 0) {
        e.idleSince = undefined;
        continue;
      }
      e.idleSince ??= now;
      if (now - e.idleSince >= (e.spec.idleSeconds ?? 30) * 1000) {
        e.idleSince = undefined;
        e.source.stop('no viewers');
      }
    }
  }

  close(): void {
    clearInterval(this.idleTimer);
    for (const e of this.entries.values()) e.source.stop('gateway stopping');
  }
}
