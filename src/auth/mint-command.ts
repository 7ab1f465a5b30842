/**
 * The pure half of `npm run token`: arguments in, text out (cli.ts does the I/O).
 *
 *   npm run token -- --stream live/KEY [--secret S] [--ttl 3600] [--play] [--host HOST]
 *
 * The secret may come from the environment instead of the command line, so it stays out of
 * shell history: PUBLISH_SECRET for publish tokens, PLAYBACK_SECRET for --play (the same
 * variables the gateway reads for publishSecret / playbackSecret).
 */
import { parseArgs } from 'node:util';
import { GatewayError } from '../core/errors.js';
import { mintToken, subjectOf } from './token.js';

export const TOKEN_USAGE = 'usage: npm run token -- --stream APP/KEY [--secret S | env PUBLISH_SECRET / PLAYBACK_SECRET] [--ttl SECONDS] [--play] [--host HOST[:PORT]] [--http-host HOST:PORT]';

const STREAM = /^([A-Za-z0-9_-][A-Za-z0-9_.-]{0,127})\/([A-Za-z0-9_-][A-Za-z0-9_.-]{0,127})$/;
const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;

export interface MintCommandResult {
  readonly token: string;
  readonly expiresAt: number;
  /** Human text: the token, then the URLs to use it in. */
  readonly text: string;
}

export function runMintCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, now: number): MintCommandResult {
  let values: { secret?: string; stream?: string; ttl?: string; play?: boolean; host?: string; 'http-host'?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        secret: { type: 'string' },
        stream: { type: 'string' },
        ttl: { type: 'string' },
        play: { type: 'boolean' },
        host: { type: 'string' },
        'http-host': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new GatewayError('config', `${(err as Error).message}\n${TOKEN_USAGE}`);
  }
  const play = values.play === true;
  const secret = values.secret ?? (play ? env['PLAYBACK_SECRET'] : env['PUBLISH_SECRET']);
  if (!secret) throw new GatewayError('config', `a secret is needed (--secret or ${play ? 'PLAYBACK_SECRET' : 'PUBLISH_SECRET'})\n${TOKEN_USAGE}`);
  const stream = STREAM.exec(values.stream ?? '');
  if (!stream) throw new GatewayError('config', `--stream must be APP/KEY\n${TOKEN_USAGE}`);
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TTL_SECONDS) throw new GatewayError('config', `--ttl must be a whole number of seconds, 1..${MAX_TTL_SECONDS}`);
  const app = stream[1]!;
  const key = stream[2]!;
  const expiresAt = Math.floor(now) + ttl;
  const token = mintToken({ secret, subject: subjectOf(play ? 'play' : 'publish', app, key), expiresAt });
  const host = values.host ?? 'HOST';
  const httpHost = values['http-host'] ?? `${host.replace(/:\d+$/, '')}:8000`;
  const lines = [token, '', `expires: ${new Date(expiresAt * 1000).toISOString()} (${ttl} s)`];
  if (play) {
    lines.push(
      `HLS:      http://${httpHost}/${app}/${key}/index.m3u8?token=${token}`,
      `DASH:     http://${httpHost}/${app}/${key}/index.mpd?token=${token}`,
      `TS HLS:   http://${httpHost}/${app}/${key}/ts.m3u8?token=${token}`,
      `HTTP-FLV: http://${httpHost}/${app}/${key}.flv?token=${token}`,
      `RTMP:     rtmp://${host}/${app}/${key}?token=${token}`,
    );
  } else {
    lines.push(
      `publish:  rtmp://${host}/${app}/${key}?token=${token}`,
      `OBS:      Server rtmp://${host}/${app}   Stream Key ${key}?token=${token}`,
    );
  }
  return { token, expiresAt, text: `${lines.join('\n')}\n` };
}
