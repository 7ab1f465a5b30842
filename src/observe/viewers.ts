/**
 * Viewer counting. HTTP players hold no connection we could count, so an HLS/DASH viewer is a
 * *session*: one client (hash of IP + User-Agent) that fetched a playlist or manifest of a stream
 * and keeps fetching it or its media within a window (default 10 s, i.e. several target
 * durations: a playing client refreshes a live playlist every target duration, an MPD every
 * minimumUpdatePeriod, and fetches a segment at least that often).
 *
 *   protocol   | a session starts with                      | and is kept alive by
 *   -----------+--------------------------------------------+-----------------------------
 *   hls        | index.m3u8 / R/index.m3u8                  | playlists, init/seg/part
 *   ll-hls     | ... any R/index.m3u8?_HLS_msn=N (sticky)   | the same
 *   hls-ts     | ts.m3u8 / R/ts.m3u8                        | playlists, ts-*.ts
 *   dash       | index.mpd                                  | the MPD, init/seg
 *   flv        | an open /APP/KEY.flv response              | (connection)
 *   rtmp       | relays.playerCount minus the open FLV ones | (connection)
 *
 * Two players in one browser (same IP and User-Agent) on one protocol count once, as with a CDN's
 * "unique viewers". Memory is bounded: at most `maxSessions` sessions, oldest dropped first.
 */
import { createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { isAudioRendition } from '../core/audio-renditions.js';
import { classifyPath, isMediaRoute, type RequestKind } from './request-kind.js';

export const VIEWER_PROTOCOLS = ['hls', 'll-hls', 'hls-ts', 'dash', 'flv', 'rtmp'] as const;
export type ViewerProtocol = (typeof VIEWER_PROTOCOLS)[number];

export interface ViewerCounts {
  total: number;
  byProtocol: Record<ViewerProtocol, number>;
  /** HTTP sessions by the rendition they last fetched (video preferred over audio). */
  byRendition: Record<string, number>;
  /** Media bytes sent for this stream since the gateway started (segments, parts, init, ts, flv). */
  bytesServed: number;
}

/** Only the player counts the tracker needs from the RelayRegistry. */
export interface PlayerCounter {
  playerCount(app: string, key: string): number;
}

export interface ViewerTrackerOptions {
  readonly relays?: PlayerCounter;
  /** A session with no request for this long is gone. */
  readonly windowMs?: number;
  readonly maxSessions?: number;
  /** Streams whose served-bytes total is remembered (oldest forgotten first). */
  readonly maxStreams?: number;
  readonly now?: () => number;
}

type Family = 'cmaf-hls' | 'hls-ts' | 'dash';

interface Session {
  readonly stream: string;
  readonly family: Family;
  protocol: Exclude<ViewerProtocol, 'flv' | 'rtmp'>;
  rendition: string | undefined;
  lastSeen: number;
}

/** A request as the tracker sees it: enough to identify the client and what it asked for. */
export interface ObservedRequest {
  readonly path: string;
  readonly query: Record<string, unknown>;
  readonly ip: string;
  readonly userAgent: string;
  /**
   * The connection the request came on (its socket), if known: its client id is kept with it, so
   * a keep-alive player's polls (ten a second for LL-HLS) hash the id once, not every request.
   */
  readonly connection?: object;
}

export function emptyProtocolCounts(): Record<ViewerProtocol, number> {
  return { hls: 0, 'll-hls': 0, 'hls-ts': 0, dash: 0, flv: 0, rtmp: 0 };
}

export function clientId(ip: string, userAgent: string): string {
  // Hashed so a kilobyte User-Agent costs 16 bytes per session, and no IP is kept in clear.
  return createHash('sha1').update(ip).update('\n').update(userAgent).digest('base64url').slice(0, 16);
}

/** Each connection's last client id, gone with the connection (it holds its address already). */
const idByConnection = new WeakMap<object, { readonly ip: string; readonly userAgent: string; readonly id: string }>();

/**
 * clientId of a request, hashed once per connection and User-Agent: at a player's pace each
 * hash cost about as much as the rest of observing the request.
 */
function clientIdOf(request: ObservedRequest): string {
  const connection = request.connection;
  const known = connection && idByConnection.get(connection);
  if (known && known.ip === request.ip && known.userAgent === request.userAgent) return known.id;
  const id = clientId(request.ip, request.userAgent);
  if (connection) idByConnection.set(connection, { ip: request.ip, userAgent: request.userAgent, id });
  return id;
}

export class ViewerTracker {
  private readonly windowMs: number;
  private readonly maxSessions: number;
  private readonly maxStreams: number;
  private readonly now: () => number;
  private readonly relays: PlayerCounter | undefined;
  /** Every session, least recently seen first (a refresh re-inserts), so expiry scans the front. */
  private readonly sessions = new Map<string, Session>();
  private readonly byStream = new Map<string, Set<string>>();
  private readonly openFlv = new Map<string, number>();
  private readonly served = new Map<string, number>();

  constructor(options: ViewerTrackerOptions = {}) {
    this.windowMs = options.windowMs ?? 10_000;
    this.maxSessions = options.maxSessions ?? 100_000;
    this.maxStreams = options.maxStreams ?? 10_000;
    this.now = options.now ?? Date.now;
    this.relays = options.relays;
  }

  /** Records a playlist/manifest/media request (any other request is ignored). */
  observe(request: ObservedRequest, kind: RequestKind = classifyPath(request.path)): void {
    if (kind.app === undefined || kind.key === undefined) return;
    const now = this.now();
    this.expire(now);
    const stream = `${kind.app}/${kind.key}`;
    const client = clientIdOf(request);
    switch (kind.route) {
      case 'master':
      case 'media':
      case 'mpd': {
        const family = kind.format!;
        const session = this.touch(stream, client, family, now, true)!;
        if (family === 'cmaf-hls' && request.query['_HLS_msn'] !== undefined) session.protocol = 'll-hls';
        if (kind.rendition !== undefined) setRendition(session, kind.rendition);
        break;
      }
      case 'segment':
      case 'part':
      case 'init':
        for (const family of ['cmaf-hls', 'dash'] as const) {
          const session = this.touch(stream, client, family, now, false);
          if (session && kind.rendition !== undefined) setRendition(session, kind.rendition);
        }
        break;
      case 'ts': {
        const session = this.touch(stream, client, 'hls-ts', now, false);
        if (session && kind.rendition !== undefined) setRendition(session, kind.rendition);
        break;
      }
      default:
        break;
    }
  }

  /** An HTTP-FLV response opened (`delta` 1) or closed (-1). */
  flvPlayer(app: string, key: string, delta: 1 | -1): void {
    const stream = `${app}/${key}`;
    const n = (this.openFlv.get(stream) ?? 0) + delta;
    if (n > 0) this.openFlv.set(stream, n);
    else this.openFlv.delete(stream);
  }

  /** Adds media bytes sent for a stream. */
  addServedBytes(app: string, key: string, bytes: number): void {
    if (!(bytes > 0)) return;
    const stream = `${app}/${key}`;
    const total = (this.served.get(stream) ?? 0) + bytes;
    this.served.delete(stream);
    this.served.set(stream, total);
    while (this.served.size > this.maxStreams) this.served.delete(this.served.keys().next().value!);
  }

  viewersOf(app: string, key: string): ViewerCounts {
    this.expire(this.now());
    const stream = `${app}/${key}`;
    const byProtocol = emptyProtocolCounts();
    const byRendition: Record<string, number> = {};
    for (const id of this.byStream.get(stream) ?? []) {
      const session = this.sessions.get(id)!;
      byProtocol[session.protocol]++;
      const r = session.rendition ?? 'unknown';
      byRendition[r] = (byRendition[r] ?? 0) + 1;
    }
    const players = this.relays?.playerCount(app, key);
    const flv = this.openFlv.get(stream) ?? 0;
    byProtocol.flv = players === undefined ? flv : Math.min(flv, players);
    byProtocol.rtmp = players === undefined ? 0 : Math.max(0, players - byProtocol.flv);
    let total = 0;
    for (const p of VIEWER_PROTOCOLS) total += byProtocol[p];
    return { total, byProtocol, byRendition, bytesServed: this.served.get(stream) ?? 0 };
  }

  /** Viewers per protocol summed over the given streams (the metrics gauge). */
  totals(streams: Iterable<{ readonly app: string; readonly key: string }>): Record<ViewerProtocol, number> {
    const sum = emptyProtocolCounts();
    for (const s of streams) {
      const counts = this.viewersOf(s.app, s.key).byProtocol;
      for (const p of VIEWER_PROTOCOLS) sum[p] += counts[p];
    }
    return sum;
  }

  /** Live HTTP sessions held (for tests and the memory bound). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Express middleware: observes requests without touching them. Mount it before the routers
   * (`app.use(viewers.middleware())`).
   */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction): void => {
      const kind = classifyPath(req.path);
      if (kind.app !== undefined && kind.key !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
        const { app, key } = kind;
        this.observe({ path: req.path, query: req.query as Record<string, unknown>, ip: req.ip ?? req.socket.remoteAddress ?? '', userAgent: req.get('user-agent') ?? '', connection: req.socket }, kind);
        if (isMediaRoute(kind.route)) this.countServedBytes(res, app, key);
        if (kind.route === 'flv') {
          this.flvPlayer(app, key, 1);
          res.once('close', () => this.flvPlayer(app, key, -1));
        }
      }
      next();
    };
  }

  /**
   * Bytes of a media response: its Content-Length when it finished with one, else (chunked
   * in-progress segments, FLV, aborted transfers) what the socket wrote meanwhile, headers and
   * chunk framing included, which is close enough for a served-bytes figure.
   */
  private countServedBytes(res: Response, app: string, key: string): void {
    const socket = res.socket;
    const startBytes = socket?.bytesWritten ?? 0;
    let counted = false;
    const count = (finished: boolean): void => {
      if (counted) return;
      counted = true;
      if (res.statusCode !== 200 && res.statusCode !== 206) return;
      const length = Number(res.getHeader('content-length'));
      if (finished && Number.isFinite(length) && length > 0) this.addServedBytes(app, key, length);
      else if (socket) this.addServedBytes(app, key, socket.bytesWritten - startBytes);
    };
    res.once('finish', () => count(true));
    res.once('close', () => count(res.writableFinished));
  }

  private touch(stream: string, client: string, family: Family, now: number, create: boolean): Session | undefined {
    const id = `${stream}\n${client}\n${family}`;
    let session = this.sessions.get(id);
    if (session) {
      this.sessions.delete(id);
    } else {
      if (!create) return undefined;
      session = { stream, family, protocol: family === 'cmaf-hls' ? 'hls' : family, rendition: undefined, lastSeen: now };
      let ids = this.byStream.get(stream);
      if (!ids) this.byStream.set(stream, (ids = new Set()));
      ids.add(id);
    }
    session.lastSeen = now;
    this.sessions.set(id, session);
    while (this.sessions.size > this.maxSessions) this.drop(this.sessions.keys().next().value!);
    return session;
  }

  private expire(now: number): void {
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeen < this.windowMs) break;
      this.drop(id);
    }
  }

  private drop(id: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const ids = this.byStream.get(session.stream);
    ids?.delete(id);
    if (ids?.size === 0) this.byStream.delete(session.stream);
  }
}

/** Video renditions win: a player fetches the audio rendition beside the one it shows. */
function setRendition(session: Session, rendition: string): void {
  if (isAudioRendition(rendition) && session.rendition !== undefined) return;
  session.rendition = rendition;
}
