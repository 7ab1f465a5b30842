/**
 * `/api/streams/APP/KEY/thumbnail.jpg`: the latest keyframe of the source rendition as a small
 * JPEG, decoded by ffmpeg from the init segment and the first part of the newest segment (which
 * starts with that keyframe). One decode per segment, shared by every request; bounded.
 */
import { spawn } from 'node:child_process';
import { Router, type Request } from 'express';
import type { Logger } from 'pino';
import { resolveFfmpegPath } from '../ladder/ffmpeg-path.js';
import type { OutputRegistry } from '../packager/output-registry.js';
import { NAME_PATTERN } from '../core/names.js';

const MAX_CACHED = 64;
const MAX_RUNNING = 2;
const DECODE_TIMEOUT_MS = 5000;

export function thumbnailRoutes(options: { outputs: OutputRegistry; logger: Logger; maySee?: (req: Request, app: string, key: string) => boolean }): Router {
  const router = Router();
  const cache = new Map<string, Promise<Buffer | undefined>>();
  let running = 0;
  const ffmpeg = resolveFfmpegPath();

  const decode = (input: Uint8Array[]): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      if (!ffmpeg || running >= MAX_RUNNING) return resolve(undefined);
      running++;
      const child = spawn(ffmpeg, ['-v', 'error', '-f', 'mp4', '-i', 'pipe:0', '-frames:v', '1', '-vf', 'scale=320:-2', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '5', 'pipe:1'], {
        stdio: ['pipe', 'pipe', 'ignore'],
      });
      const out: Buffer[] = [];
      let size = 0;
      const timer = setTimeout(() => child.kill('SIGKILL'), DECODE_TIMEOUT_MS);
      child.stdout.on('data', (d: Buffer) => {
        size += d.byteLength;
        if (size > 2 * 1024 * 1024) child.kill('SIGKILL');
        else out.push(d);
      });
      child.stdin.on('error', () => undefined);
      child.on('error', () => undefined);
      child.on('close', (code) => {
        clearTimeout(timer);
        running--;
        resolve(code === 0 && size > 0 ? Buffer.concat(out) : undefined);
      });
      for (const piece of input) child.stdin.write(piece);
      child.stdin.end();
    });

  router.get('/api/streams/:app/:key/thumbnail.jpg', async (req, res) => {
    const app = String(req.params['app']);
    const key = String(req.params['key']);
    // With playback tokens, a protected picture needs its stream's token (http/access.ts).
    if (options.maySee && !options.maySee(req, app, key)) {
      res.setHeader('Cache-Control', 'no-store');
      res.status(403).type('text').send("this stream's thumbnail needs its playback token (?token=) or the API token");
      return;
    }
    const track = NAME_PATTERN.test(app) && NAME_PATTERN.test(key) ? options.outputs.get(app, key)?.videos.get('src') : undefined;
    // The newest segment with media (a gap has none); an ended stream's comes from the cache.
    const segments = track?.segments ?? [];
    let last: (typeof segments)[number] | undefined;
    for (let i = segments.length - 1; i >= 0 && !last; i--) if (!segments[i]!.gap) last = segments[i];
    const id = last ? `${app}/${key}/${track!.session}/${last.sequence}` : '';
    let job = cache.get(id);
    const media = last && !job ? track!.keyframeMedia(last.sequence, last.initId) : undefined;
    if (!last || (!job && !media)) {
      res.status(404).type('text').send('no picture yet');
      return;
    }
    if (!job) {
      job = decode([...media!.init, ...media!.media]);
      cache.set(id, job);
      if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
      void job.then((jpeg) => {
        if (!jpeg) {
          cache.delete(id);
          options.logger.debug({ stream: `${app}/${key}` }, 'thumbnail decode failed or busy');
        }
      });
    }
    const jpeg = await job;
    if (!jpeg) {
      res.status(503).type('text').send('thumbnail not available right now');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.type('image/jpeg').send(jpeg);
  });
  return router;
}
