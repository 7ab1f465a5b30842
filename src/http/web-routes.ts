/**
 * The operator's web page: `GET /` (stream list), `GET /watch/APP/KEY` (player; `?embed=1` for
 * the player alone, as in the embed snippet), and its assets under `/assets/`. The page is plain
 * HTML/CSS/ES-module JS in src/web/ (no build step); the player libraries come from node_modules.
 * Everything is read once at start-up from the project root (found by walking up from this file
 * to package.json, so it works from src/ under tsx and from dist/ under node).
 *
 * Asset URLs carry a content hash (own files) or the library version, so they are cached for a
 * year; the HTML itself is `no-cache`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Response } from 'express';
import type { Logger } from 'pino';
import { IMMUTABLE } from './send.js';
import { NAME_PATTERN } from '../core/names.js';

export interface WebRouteOptions {
  /** The RTMP port shown in the OBS snippet (a function: it may be known only after listen). */
  readonly rtmpPort: number | (() => number);
  /** Project root; default: the nearest directory above this file holding package.json. */
  readonly root?: string;
  readonly logger?: Logger;
}

interface Asset {
  readonly url: string;
  readonly body: Buffer;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';

/** The libraries the page loads, relative to the project root. */
export const VENDOR_ASSETS = {
  hls: { pkg: 'hls.js', file: 'node_modules/hls.js/dist/hls.min.js' },
  dash: { pkg: 'dashjs', file: 'node_modules/dashjs/dist/modern/umd/dash.all.min.js' },
  mpegts: { pkg: 'mpegts.js', file: 'node_modules/mpegts.js/dist/mpegts.js' },
} as const;

export function findProjectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'web'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

function hashOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12);
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function webRoutes(options: WebRouteOptions): Router {
  const root = options.root ?? findProjectRoot();
  const webDir = join(root, 'src', 'web');
  const assets = new Map<string, Asset>();
  const urls: Record<string, string> = {};

  const own = (name: string, type: string): void => {
    const body = readFileSync(join(webDir, name));
    const dot = name.lastIndexOf('.');
    const url = `/assets/${name.slice(0, dot)}-${hashOf(body)}${name.slice(dot)}`;
    assets.set(url, { url, body, type });
    urls[name] = url;
  };
  own('app.js', JS);
  own('style.css', 'text/css; charset=utf-8');

  for (const [id, spec] of Object.entries(VENDOR_ASSETS)) {
    const file = join(root, spec.file);
    if (!existsSync(file)) {
      // The page still works for the other players; this one says its library is missing.
      options.logger?.warn({ file }, `${spec.pkg} not installed: its player tab is unavailable`);
      urls[id] = '';
      continue;
    }
    let version = 'x';
    try {
      const pkg = JSON.parse(readFileSync(join(root, 'node_modules', spec.pkg, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') version = pkg.version;
    } catch {
      version = hashOf(readFileSync(file));
    }
    const url = `/assets/${spec.pkg}@${version}/${file.slice(file.lastIndexOf('/') + 1)}`;
    assets.set(url, { url, body: readFileSync(file), type: JS });
    urls[id] = url;
  }

  const template = readFileSync(join(webDir, 'index.html'), 'utf8');
  const page = (): string => {
    const port = typeof options.rtmpPort === 'function' ? options.rtmpPort() : options.rtmpPort;
    return template.replace(/\{\{(\w+(?:\.\w+)?)\}\}/g, (_m, name: string) => {
      if (name === 'rtmpPort') return String(port);
      return escapeAttr(urls[name] ?? '');
    });
  };

  const sendPage = (res: Response): void => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.status(200).send(page());
  };

  const router = Router();
  router.get(['/', '/index.html'], (_req, res) => sendPage(res));
  router.get('/watch/:app/:key', (req, res, next) => {
    if (!NAME_PATTERN.test(String(req.params['app'])) || !NAME_PATTERN.test(String(req.params['key']))) return next();
    sendPage(res);
  });
  router.get(/^\/assets\/.+/, (req, res, next) => {
    const asset = assets.get(req.path);
    if (!asset) return next();
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', IMMUTABLE);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.status(200).send(asset.body);
  });
  return router;
}
