/**
 * HLS with MPEG-TS segments (classic players): multivariant and media playlists without LL-HLS,
 * and the TS files they name, answered from the live window, else the LRU cache. Mount before
 * the CMAF HLS router.
 *
 *   GET /:app/:key/ts.m3u8
 *   GET /:app/:key/:rendition/ts.m3u8
 *   GET /:app/:key/:rendition/ts-SESSION-N.ts
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { SegmentCache } from '../cache/segment-cache.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { TsMuxerOptions } from '../mux/ts/muxer.js';
import { attachTsOutputs, TS_CONTENT_TYPE, type TsStreamOutput } from '../packager/hls/ts-output.js';
import { buildTsMediaPlaylist, buildTsMultivariantPlaylist } from '../packager/hls/ts-playlists.js';
import { serializeMediaPlaylist, serializeMultivariantPlaylist } from '../packager/hls/serialize.js';
import type { StreamOutput } from '../packager/stream-output.js';
import { ENDED_LISTING, LIVE_LISTING, sendChunks, sendText } from './send.js';
import { waitUntil } from './wait.js';
import { NAME_PATTERN } from '../core/names.js';
import type { MediaKeys } from '../auth/media-keys.js';
import { keyTagsOf } from './hls-routes.js';

const M3U8 = 'application/vnd.apple.mpegurl';
const TS_FILE = /^ts-([0-9a-z]{1,16})-(\d{1,12})\.ts$/;

export interface TsRouteOptions {
  readonly outputs: Pick<OutputRegistry, 'get'>;
  readonly cache: SegmentCache;
  readonly segmentDuration: number;
  readonly playlistWindow: number;
  readonly muxer?: TsMuxerOptions;
  /** HLS AES-128 of the streams the config encrypts (auth/media-keys.ts). */
  readonly keys?: MediaKeys;
}

export function tsRoutes(options: TsRouteOptions): Router {
  const router = Router();
  const { outputs, cache } = options;
  /** How long a first playlist request waits for the stream's first segment. */
  const firstSegmentWaitMs = (options.segmentDuration * 3 + 2) * 1000;

  /** The stream and its TS renditions (attached here if the registry did not do it eagerly). */
  const find = (req: Request, res: Response): { output: StreamOutput; ts: TsStreamOutput } | undefined => {
    const { app, key } = req.params as Record<string, string>;
    if (!NAME_PATTERN.test(app ?? '') || !NAME_PATTERN.test(key ?? '')) {
      res.status(404).type('text').send('not found');
      return undefined;
    }
    const output = outputs.get(app!, key!);
    if (!output) {
      res.status(404).type('text').send('unknown stream');
      return undefined;
    }
    const refusal = tsRefusal(output);
    if (refusal) {
      res.status(404).type('text').send(refusal);
      return undefined;
    }
    return { output, ts: attachTsOutputs(output, { cache, muxer: options.muxer }) };
  };

  router.get('/:app/:key/ts.m3u8', async (req, res) => {
    const found = find(req, res);
    if (!found) return;
    const { output, ts } = found;
    if (!ts.ready) {
      const ok = await waitUntil(ts.list(), () => ts.ready || ts.ended, firstSegmentWaitMs, res);
      if (res.writableEnded || res.destroyed) return;
      if (!ok || !ts.ready) {
        res.status(404).type('text').send('stream has no media yet');
        return;
      }
    }
    sendText(res, serializeMultivariantPlaylist(buildTsMultivariantPlaylist(output, ts)), M3U8, ts.ended ? ENDED_LISTING : LIVE_LISTING);
  });

  router.get('/:app/:key/:rendition/ts.m3u8', async (req, res) => {
    const rendition = String(req.params['rendition']);
    if (!NAME_PATTERN.test(rendition)) {
      res.status(404).type('text').send('not found');
      return;
    }
    const found = find(req, res);
    if (!found) return;
    const r = found.ts.rendition(rendition);
    if (!r) {
      res.status(404).type('text').send('unknown rendition');
      return;
    }
    if (r.segments.length === 0 && !r.ended) {
      await waitUntil([r], () => r.segments.length > 0 || r.ended, firstSegmentWaitMs, res);
      if (res.writableEnded || res.destroyed) return;
    }
    if (r.segments.length === 0) {
      res.status(404).type('text').send('rendition has no media yet');
      return;
    }
    const playlist = buildTsMediaPlaylist(r, { window: options.playlistWindow, segmentDuration: options.segmentDuration, keyOf: keyTagsOf(options.keys, found.output) });
    sendText(res, serializeMediaPlaylist(playlist), M3U8, r.ended ? ENDED_LISTING : LIVE_LISTING);
  });

  router.get('/:app/:key/:rendition/:file', (req, res, next) => tsFile(options, req, res, next));

  return router;
}

const AUDIO_NAMES: Readonly<Record<string, string>> = { opus: 'Opus', flac: 'FLAC', ac3: 'AC-3', eac3: 'E-AC-3' };

/**
 * Why a stream has no MPEG-TS rendition, or undefined when it has one. The TS muxer carries H.264,
 * HEVC and AAC (ADTS). No player or ffmpeg we know reads AV1 or VP9 in MPEG-TS (no or recent and
 * rare carriage); Opus, FLAC, AC-3 and E-AC-3 (Enhanced RTMP audio) are CMAF-only: a TS rendition
 * without its audio would be worse than none.
 */
function tsRefusal(output: StreamOutput): string | undefined {
  // The TS muxer reads the clear frames: a Common Encryption stream is never muxed to TS.
  if (output.protection) return 'this stream is protected with Common Encryption (cbcs): no MPEG-TS; use index.m3u8 (CMAF, SAMPLE-AES) or index.mpd';
  const video = output.videos.get('src')?.track?.codec;
  if (video === 'av1' || video === 'vp9') return `MPEG-TS does not carry ${video.toUpperCase()}: use index.m3u8 (CMAF) or index.mpd`;
  const audio = output.audio.track?.codec;
  if (audio !== undefined && audio !== 'aac') return `MPEG-TS here carries AAC audio only, not ${AUDIO_NAMES[audio] ?? audio}: use index.m3u8 (CMAF) or index.mpd`;
  return undefined;
}

/** `ts-SESSION-N.ts`: from the live window (attaching the TS output if needed), else the cache. */
function tsFile(options: TsRouteOptions, req: Request, res: Response, next: NextFunction): void {
  const { outputs, cache } = options;
  const { app, key, rendition, file } = req.params as Record<string, string>;
  const match = TS_FILE.exec(file ?? '');
  if (!match || !NAME_PATTERN.test(app ?? '') || !NAME_PATTERN.test(key ?? '') || !NAME_PATTERN.test(rendition ?? '')) {
    next();
    return;
  }
  const session = match[1]!;
  const sequence = Number(match[2]);
  const etag = `"${session}-${rendition}-${file}"`;
  const output = outputs.get(app!, key!);
  const r = output?.session === session && !tsRefusal(output) ? attachTsOutputs(output, { cache, muxer: options.muxer }).rendition(rendition!) : undefined;
  const live = r?.segment(sequence);
  const found = live ? { chunks: [live], byteLength: live.byteLength, contentType: TS_CONTENT_TYPE } : cache.get(`${app}/${key}/${rendition}/${file}`);
  if (found) {
    const rule = options.keys?.aes128For(app!, key!);
    if (rule) {
      // AES-128 (RFC 8216bis §4.4.4.4): the whole TS segment, with its key and IV.
      const encrypted = options.keys!.encrypt(app!, key!, session, rule, sequence, found.chunks);
      return sendChunks(req, res, [encrypted], encrypted.byteLength, found.contentType, etag);
    }
    return sendChunks(req, res, found.chunks, found.byteLength, found.contentType, etag);
  }
  res.status(404).type('text').send('not found');
}
