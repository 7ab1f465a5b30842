/**
 * Playback tokens over HTTP: every media request (playlists, MPD, init, segments, parts, TS,
 * FLV, AES-128 keys, WebVTT, ClearKey licences) needs a valid `?token=`, and the token is carried into every URI the playlists and MPD
 * name, so players and CDN edges work unchanged.
 */
import type { NextFunction, Request, Response } from 'express';
import type { PlaybackAuthorizer } from '../auth/playback.js';

const MEDIA = /\.(m3u8|mpd|m4s|mp4|ts|flv|key|vtt)$|^\/[^/]+\/[^/]+\/clearkey\.json$/;

export function playbackGuard(auth: PlaybackAuthorizer) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!auth.enabled || !MEDIA.test(req.path)) {
      next();
      return;
    }
    const [, app, rest] = /^\/([^/]+)\/([^/]+)/.exec(req.path) ?? [];
    const key = rest?.endsWith('.flv') ? rest.slice(0, -4) : rest;
    const token = typeof req.query['token'] === 'string' ? req.query['token'] : '';
    if (!app || !key || !auth.check(decodeURIComponent(app), decodeURIComponent(key), token)) {
      res.status(403).type('text').send('missing or invalid playback token');
      return;
    }
    if (/\.(m3u8|mpd)$/.test(req.path)) {
      const send = res.send.bind(res);
      const isMpd = req.path.endsWith('.mpd');
      res.send = ((body?: unknown) =>
        send(typeof body === 'string' ? (isMpd ? auth.tokenizeMpdText(body, token) : auth.tokenizePlaylistText(body, token)) : body)) as Response['send'];
    }
    next();
  };
}
