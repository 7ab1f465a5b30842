import { Router, type Request } from 'express';
import type { OutputRegistry } from '../packager/output-registry.js';
import type { StreamOutput } from '../packager/stream-output.js';
import { CLEARKEY_LICENSE_FILE } from '../auth/media-keys.js';
import { observationsOf } from '../observe/stream-observations.js';
import type { ViewerTracker } from '../observe/viewers.js';

/** What other parts of the gateway add to a stream's view (viewers, ladder state). */
export interface ApiExtras {
  readonly viewers?: ViewerTracker;
  readonly ladder?: (output: StreamOutput) => Record<string, unknown> | undefined;
  /** False once the gateway is stopping (/readyz answers 503: load balancers send nobody new). */
  readonly ready?: () => boolean;
  /** The stream's push targets and their state. */
  readonly push?: (output: StreamOutput) => unknown[];
  /** The stream's pull source, when it has one. */
  readonly pull?: (output: StreamOutput) => unknown;
  /** Whether the request may see stream app/key (http/access.ts); unset: everyone may. */
  readonly maySee?: (req: Request, app: string, key: string) => boolean;
}

export interface RenditionView {
  id: string;
  kind: 'video' | 'audio';
  codec: string;
  width?: number;
  height?: number;
  fps?: number;
  sampleRate?: number;
  channels?: number;
  /** Audio: ISO 639-2 language, when the publisher said (an MPEG-TS language descriptor). */
  language?: string;
  bitrate: number;
  peakBitrate: number;
  segments: number;
}

export interface StreamView {
  app: string;
  key: string;
  live: boolean;
  startedAt: string;
  uptimeSeconds: number;
  renditions: RenditionView[];
  urls: { hls: string; dash: string; hlsTs: string; flv: string; thumbnail: string; license?: string };
}

export function streamView(output: StreamOutput, extras: ApiExtras = {}): StreamView & Record<string, unknown> {
  const renditions: RenditionView[] = [];
  for (const t of output.tracks()) {
    const track = t.track!;
    const base = { id: t.id, codec: track.codecString, bitrate: Math.round(t.averageBitrate), peakBitrate: Math.round(t.peakBitrate), segments: t.segments.length };
    if (track.kind === 'video') renditions.push({ ...base, kind: 'video', width: track.width, height: track.height, fps: track.fps });
    else renditions.push({ ...base, kind: 'audio', sampleRate: track.sampleRate, channels: track.channels, ...(t.language ? { language: t.language } : {}) });
  }
  const end = output.endedAt ?? Date.now();
  const base = `/${encodeURIComponent(output.app)}/${encodeURIComponent(output.key)}`;
  return {
    app: output.app,
    key: output.key,
    live: !output.ended,
    startedAt: new Date(output.startedAt).toISOString(),
    uptimeSeconds: Math.round((end - output.startedAt) / 1000),
    renditions,
    urls: {
      hls: `${base}/index.m3u8`,
      dash: `${base}/index.mpd`,
      hlsTs: `${base}/ts.m3u8`,
      flv: `${base}.flv`,
      thumbnail: `/api/streams${base}/thumbnail.jpg`,
      // Common Encryption: where players get the licence (the gateway's ClearKey route, or a DRM's).
      ...(output.protection ? { license: output.protection.licenseUrl ?? `${base}/${CLEARKEY_LICENSE_FILE}` } : {}),
    },
    ...observationsOf(output.stream, extras.viewers),
    ...(extras.ladder ? { ladder: extras.ladder(output) } : {}),
    ...(extras.push ? { push: extras.push(output) } : {}),
    ...pullOf(output, extras),
    ...(output.renditionProblems.size > 0 ? { renditionProblems: Object.fromEntries(output.renditionProblems) } : {}),
  };
}

/** `{pull}` when the stream is fed by a pull source, else nothing. */
function pullOf(output: StreamOutput, extras: ApiExtras): { pull?: unknown } {
  const pull = extras.pull?.(output);
  return pull ? { pull } : {};
}

export function apiRoutes(outputs: OutputRegistry, extras: ApiExtras = {}): Router {
  const router = Router();
  const maySee = extras.maySee ?? (() => true);
  router.get('/api/streams', (req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ streams: outputs.list().filter((o) => maySee(req, o.app, o.key)).map((o) => streamView(o, extras)) });
  });
  router.get('/api/streams/:app/:key', (req, res) => {
    const [app, key] = [String(req.params['app']), String(req.params['key'])];
    // Asked before the lookup: without the stream's token, whether it exists is not told.
    if (!maySee(req, app, key)) {
      res.setHeader('Cache-Control', 'no-store');
      res.status(403).json({ error: "this stream's data needs its playback token (?token=) or the API token" });
      return;
    }
    const output = outputs.get(app, key);
    if (!output) {
      res.status(404).json({ error: 'unknown stream' });
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.json(streamView(output, extras));
  });
  router.get('/api/time', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/plain').send(new Date().toISOString());
  });
  // Ready: the listeners are up (this answers) and the packager takes streams; not while stopping.
  router.get('/readyz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    const ready = extras.ready?.() ?? true;
    res.status(ready ? 200 : 503).json({ ready, streams: outputs.list().filter((o) => !o.ended).length });
  });
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/plain').send('ok');
  });
  return router;
}
