/** Command-line flags of the latency tool (node:util parseArgs, strict). */
import { parseArgs } from 'node:util';

export interface CliOptions {
  url?: string;
  http?: string;
  seconds: number;
  json: boolean;
  svg?: string;
  /** Replay this FLV file (looped, real time) instead of encoding with ffmpeg. */
  flv?: string;
}

export function parseCliArgs(argv: readonly string[]): CliOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      http: { type: 'string' },
      seconds: { type: 'string', default: '30' },
      json: { type: 'boolean', default: false },
      svg: { type: 'string' },
      flv: { type: 'string' },
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
  const json = values.json ?? false;
  const svg = values.svg ?? (json ? undefined : 'latency.svg');
  return { url: values.url, http: values.http, seconds, json, svg, flv: values.flv };
}
