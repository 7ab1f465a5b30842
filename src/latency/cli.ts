/**
 * `npm run latency -- [--url rtmp://HOST:PORT/APP/KEY] [--http http://HOST:PORT] [--seconds 30]
 *  [--json] [--svg out.svg]`: prints the latency table (or the JSON report with --json) and
 * writes the SVG chart (default latency.svg unless --json alone).
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { measureLatency } from './measure.js';
import { renderSvg, renderTable } from './render.js';

export interface CliOptions {
  url?: string;
  http?: string;
  seconds: number;
  json: boolean;
  svg?: string;
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
    },
    strict: true,
  });
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
  const json = values.json ?? false;
  const svg = values.svg ?? (json ? undefined : 'latency.svg');
  return { url: values.url, http: values.http, seconds, json, svg };
}

async function main(): Promise<void> {
  const opts = parseCliArgs(process.argv.slice(2));
  if (!opts.json) process.stderr.write(`measuring for ${opts.seconds} s...\n`);
  const report = await measureLatency({ url: opts.url, http: opts.http, seconds: opts.seconds });
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${renderTable(report)}\n`);
  if (opts.svg) {
    writeFileSync(opts.svg, renderSvg(report));
    if (!opts.json) process.stdout.write(`chart: ${opts.svg}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`latency: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
