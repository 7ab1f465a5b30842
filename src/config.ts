/**
 * Settings: one table drives the CLI flags, the environment variables, the config file keys,
 * the `--help` text and validation. Precedence: flag > environment > config file > default.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { GatewayError } from './core/errors.js';

interface SettingSpec<T extends z.ZodType> {
  /** Flag name without dashes; the env var is its SCREAMING_SNAKE form, the config key its camelCase form. */
  readonly flag: string;
  readonly schema: T;
  readonly help: string;
}

function setting<T extends z.ZodType>(flag: string, schema: T, help: string): SettingSpec<T> {
  return { flag, schema, help };
}

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().positive();
const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v))]);

export const SETTINGS = {
  rtmpPort: setting('rtmp-port', port.default(1935), 'RTMP listen port'),
  httpPort: setting('http-port', port.default(8000), 'HTTP listen port'),
  rtmpsPort: setting('rtmps-port', port.default(1936), 'RTMPS (RTMP over TLS) listen port; listening only when tls-cert and tls-key are set'),
  httpsPort: setting('https-port', port.default(8443), 'HTTPS (HTTP/2 and HTTP/1.1) listen port; listening only when tls-cert and tls-key are set'),
  tlsCert: setting('tls-cert', z.string().min(1).optional(), 'PEM certificate (chain) for RTMPS and HTTPS; reloaded when the file changes'),
  tlsKey: setting('tls-key', z.string().min(1).optional(), 'PEM private key of tls-cert; reloaded when the file changes'),
  srt: setting('srt', bool.default(true), 'SRT ingest on srt-port (needs libsrt when building: apt-get install -y libsrt-gnutls-dev pkg-config gcc)'),
  srtPort: setting('srt-port', port.default(8890), 'SRT listen port (UDP): srt://HOST:PORT?streamid=APP/KEY'),
  srtPassphrase: setting('srt-passphrase', z.string().min(10).max(79).optional(), 'SRT callers must use this passphrase (AES encryption, 10 to 79 characters); unset: unencrypted'),
  srtPbkeylen: setting('srt-pbkeylen', z.coerce.number().int().refine((n) => n === 16 || n === 24 || n === 32, 'must be 16, 24 or 32').optional(), 'SRT AES key length in bytes with srt-passphrase: 16, 24 or 32 (SRTO_PBKEYLEN; unset: 16, libsrt\'s default)'),
  srtLatency: setting('srt-latency', z.coerce.number().int().min(20).max(8000).default(120), 'SRT receive latency in ms (retransmission window; raise it on lossy links)'),
  host: setting('host', z.string().min(1).default('0.0.0.0'), 'interface to listen on (both servers)'),
  segmentDuration: setting('segment-duration', positive.max(30).default(2), 'target segment duration in seconds (cuts at the first keyframe after it)'),
  partDuration: setting('part-duration', positive.max(2).default(0.1), 'LL-HLS part / CMAF chunk target duration in seconds'),
  playlistWindow: setting('playlist-window', z.coerce.number().int().min(2).max(1000).default(6), 'segments listed in a live media playlist'),
  reconnectGrace: setting('reconnect-grace', z.coerce.number().min(0).max(600).default(10), 'seconds a publisher may be gone and come back with the playlists going on (0: end at once)'),
  cacheMaxBytes: setting('cache-max-bytes', z.coerce.number().int().min(1 << 20).default(128 * 1024 * 1024), 'bytes of segments kept after they leave the live window (LRU; ended streams stay playable while in it)'),
  endedStreamTtl: setting('ended-stream-ttl', z.coerce.number().min(0).default(300), 'seconds an ended stream stays listed (ENDLIST) before it is forgotten'),
  corsOrigin: setting('cors-origin', z.string().default('*'), 'Access-Control-Allow-Origin value ("" to disable)'),
  maxConnections: setting('max-connections', z.coerce.number().int().min(1).default(1000), 'maximum concurrent RTMP connections'),
  maxConnectionsPerIp: setting('max-connections-per-ip', z.coerce.number().int().min(1).default(500), 'concurrent RTMP connections from one address'),
  maxPublishers: setting('max-publishers', z.coerce.number().int().min(1).default(100), 'streams published at once; more are refused'),
  maxAmfDepth: setting('max-amf-depth', z.coerce.number().int().min(2).max(512).default(32), 'deepest nesting of AMF0 objects accepted in RTMP commands'),
  httpMaxHeaderBytes: setting('http-max-header-bytes', z.coerce.number().int().min(1024).max(1024 * 1024).default(16 * 1024), 'largest HTTP request header block (431 above)'),
  httpMaxUrlLength: setting('http-max-url-length', z.coerce.number().int().min(64).max(65536).default(2048), 'longest HTTP request URL (414 above)'),
  playlistRateLimit: setting('playlist-rate-limit', z.coerce.number().min(0).default(200), 'playlist/manifest requests per second per address (burst 2x; 429 above; 0: no limit)'),
  maxMessageSize: setting('max-message-size', z.coerce.number().int().min(1024).max(0xffffff).default(8 * 1024 * 1024), 'largest RTMP message accepted, bytes'),
  maxPlayerQueueBytes: setting('max-player-queue-bytes', z.coerce.number().int().min(64 * 1024).default(8 * 1024 * 1024), 'unsent bytes an RTMP/HTTP-FLV player may queue before it skips to the next keyframe'),
  relayBatchMs: setting('relay-batch-ms', z.coerce.number().min(0).max(200).default(0), 'RTMP play / HTTP-FLV: milliseconds of live media written to players at once (0: what each event-loop turn brought, at once, no added latency)'),
  shutdownDrain: setting('shutdown-drain', z.coerce.number().min(0).max(300).default(0), 'seconds HTTP keeps answering after SIGTERM/SIGINT, with every stream ended (ENDLIST) and /readyz answering 503, so players and edges fetch the ended playlists (Kubernetes: less than terminationGracePeriodSeconds)'),
  handshakeTimeout: setting('handshake-timeout', positive.default(10), 'seconds a client has to finish the RTMP handshake and publish/play'),
  idleTimeout: setting('idle-timeout', positive.default(30), 'seconds without data before an RTMP connection is closed'),
  siblingPattern: setting('sibling-pattern', z.string().max(200).refine((v) => { try { new RegExp(v); return true; } catch { return false; } }, 'not a regular expression').default('^(.+)_(\\d{3,4}p)$'), 'stream keys KEY_720p... published beside KEY are listed as its renditions (regex with groups: key, rendition; "" to disable)'),
  transcode: setting('transcode', bool.default(true), 'make the ABR ladder: transcode lower renditions with ffmpeg (false: the source only)'),
  transcodePreset: setting('transcode-preset', z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'), 'x264 preset of the transcoded renditions'),
  maxTranscodes: setting('max-transcodes', z.coerce.number().int().min(0).optional(), 'streams transcoded at once (default: CPU cores - 1); streams beyond it get the source only'),
  ladder: setting(
    'ladder',
    z.preprocess((v) => (typeof v === 'string' && v.trim().startsWith('{') ? JSON.parse(v) : v), z.record(z.string(), z.unknown()).optional()),
    'ladder config as JSON: {"default": [rungs] | "passthrough", "apps": {...}, "keys": {"app/key": ...}} (see README)',
  ),
  push: setting(
    'push',
    z.preprocess(
      (v) => (typeof v === 'string' && v.trim().startsWith('{') ? JSON.parse(v) : v),
      z.record(z.string(), z.array(z.object({ url: z.string().regex(/^(rtmps?:\/\/[^/]+\/.+\/.+|srt:\/\/[^/?]+:\d+)/, 'an rtmp:// or rtmps:// URL with /APP/KEY, or srt://HOST:PORT?streamid=…'), rendition: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, '"src" or a rendition name such as "480p"').optional() }))).optional(),
    ),
    'push targets as JSON: {"APP": [{"url": "rtmp://HOST/APP/KEY"}], "APP/KEY": [...]} (every stream of APP, or one stream; see README)',
  ),
  pull: setting(
    'pull',
    z.preprocess(
      (v) => (typeof v === 'string' && v.trim().startsWith('{') ? JSON.parse(v) : v),
      z
        .record(
          z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/, 'APP/KEY'),
          z.object({ url: z.string().regex(/^(rtmps?|https?|srt):\/\/./, 'an rtmp://, rtmps://, srt://, http:// or https:// URL'), onDemand: z.boolean().optional(), idleSeconds: z.number().positive().optional() }),
        )
        .optional(),
    ),
    'pull sources as JSON: {"APP/KEY": {"url": "rtmp://… | srt://… | https://…/index.m3u8", "onDemand": false}} (see README)',
  ),
  encrypt: setting(
    'encrypt',
    z.preprocess(
      (v) => (typeof v === 'string' && v.trim().startsWith('{') ? JSON.parse(v) : v),
      z
        .record(
          z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}(\/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127})?$/, 'APP or APP/KEY'),
          z.discriminatedUnion('method', [
            z.object({ method: z.literal('aes-128'), rotate: z.number().int().min(0).max(1_000_000).default(0) }),
            z
              .object({
                method: z.literal('cbcs'),
                keyServer: z.string().url().refine((u) => /^https?:/.test(u), 'http(s) URL').optional(),
                licenseUrl: z.string().url().refine((u) => /^https?:/.test(u), 'http(s) URL').optional(),
              })
              // A DRM's licence service can only answer for keys its key server handed out.
              .refine((r) => r.licenseUrl === undefined || r.keyServer !== undefined, 'licenseUrl needs keyServer (the DRM must know the key)'),
          ]),
        )
        .optional(),
    ),
    'media encryption as JSON: {"APP" or "APP/KEY": {"method": "aes-128", "rotate": N}} (HLS AES-128, a new key every N segments; 0: one per publish) or {"method": "cbcs"[, "keyServer": URL][, "licenseUrl": URL]} (Common Encryption for HLS SAMPLE-AES and DASH ClearKey/DRM); see README',
  ),
  encryptionSecret: setting('encryption-secret', z.string().min(16).optional(), 'secret the AES-128 and cbcs keys are derived from (unset: random at each start, so keys change with a restart)'),
  slate: setting('slate', bool.default(false), 'stay on air: while a publisher is away (reconnect grace), the stream goes on with a "back soon" picture and silence'),
  slateImage: setting('slate-image', z.string().min(1).optional(), 'the slate picture (PNG/JPEG; default: "Back soon" on a dark background)'),
  slateSeconds: setting('slate-seconds', z.coerce.number().min(1).max(86_400).optional(), 'how long the slate stands in before the stream ends (default: the reconnect grace)'),
  recordDir: setting('record-dir', z.string().min(1).optional(), 'record every stream under this directory (CMAF + VOD playlists/MPD); unset: no recording'),
  recordMaxAgeHours: setting('record-max-age-hours', z.coerce.number().positive().optional(), 'delete recordings last written longer ago than this'),
  recordMaxBytes: setting('record-max-bytes', z.coerce.number().int().min(1 << 20).optional(), 'delete the oldest recordings until all fit in this many bytes'),
  publishAuth: setting('publish-auth', z.enum(['open', 'keys', 'token', 'webhook']).default('open'), 'who may publish: open (warns at start), keys, token (?token= signed with publish-secret), webhook (on-publish-url)'),
  publishKeys: setting('publish-keys', z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(z.string().min(1)).default([])), 'publish-auth=keys: allowed keys, comma list (publish as NAME?key=KEY, or use KEY as the name)'),
  publishSecret: setting('publish-secret', z.string().min(16).optional(), 'publish-auth=token: HMAC secret of publish tokens (npm run token)'),
  onPublishUrl: setting('on-publish-url', z.url({ protocol: /^https?$/ }).optional(), 'publish-auth=webhook: POSTed like nginx-rtmp on_publish; a non-2xx answer refuses'),
  onPublishDoneUrl: setting('on-publish-done-url', z.url({ protocol: /^https?$/ }).optional(), 'POSTed (call=publish_done) when a publish ends'),
  onUpdateUrl: setting('on-update-url', z.url({ protocol: /^https?$/ }).optional(), 'POSTed (call=update_publish, time=seconds) every on-update-interval while a publish runs, like nginx-rtmp on_update; a non-2xx answer ends the publish'),
  onUpdateInterval: setting('on-update-interval', positive.max(3600).default(30), 'seconds between on_update calls'),
  webhookTimeout: setting('webhook-timeout', positive.max(60).default(3), 'seconds to wait for a webhook answer (no answer: refused)'),
  playbackSecret: setting('playback-secret', z.string().min(16).optional(), 'enables playback tokens: playlists, segments, FLV and RTMP play need ?token= signed with it'),
  apiToken: setting('api-token', z.string().min(16).optional(), 'closes GET /api/... (but /api/time), /metrics and the page\'s stream list to requests without Authorization: Bearer TOKEN, and is needed for every non-GET /api/... call (unset: those only from loopback)'),
  playbackTokenTtl: setting('playback-token-ttl', z.coerce.number().int().min(1).default(3600), 'seconds a playback token minted by npm run token -- --play lives'),
  logLevel: setting('log-level', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), 'log level'),
  logPretty: setting('log-pretty', bool.optional(), 'pretty logs (default: when stdout is a terminal)'),
} as const;

type Specs = typeof SETTINGS;
export type Config = { [K in keyof Specs]: z.output<Specs[K]['schema']> };
export type SettingKey = keyof Specs;

export function envName(flag: string): string {
  return flag.toUpperCase().replace(/-/g, '_');
}

/** Reads a JSON config file whose keys are the camelCase setting names. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GatewayError('config', `cannot read config file: ${(err as Error).message}`, { path });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GatewayError('config', `config file is not valid JSON: ${(err as Error).message}`, { path });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new GatewayError('config', 'config file must hold a JSON object', { path });
  }
  const known = new Set(Object.keys(SETTINGS));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new GatewayError('config', `unknown setting "${key}" in config file`, { path });
  }
  return parsed as Record<string, unknown>;
}

/**
 * Resolves the configuration from its three sources. `flags` holds values given on the command
 * line keyed by camelCase name; `env` is usually process.env.
 */
export function resolveConfig(
  flags: Partial<Record<SettingKey, unknown>> = {},
  env: NodeJS.ProcessEnv = {},
  file: Record<string, unknown> = {},
): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(SETTINGS) as [SettingKey, SettingSpec<z.ZodType>][]) {
    const fromEnv = env[envName(spec.flag)];
    const raw = flags[key] ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ?? file[key];
    const result = spec.schema.safeParse(raw);
    if (result.success) out[key] = result.data;
    else {
      const source = flags[key] !== undefined ? `--${spec.flag}` : fromEnv ? envName(spec.flag) : `config key ${key}`;
      problems.push(`${source}=${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length) throw new GatewayError('config', `invalid settings: ${problems.join(', ')}`);
  return out as Config;
}

export function defaultConfig(overrides: Partial<Config> = {}): Config {
  return { ...resolveConfig(), ...overrides };
}
