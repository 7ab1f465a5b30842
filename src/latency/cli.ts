/**
 * `npm run latency -- [--url rtmp://HOST:PORT/APP/KEY] [--http http://HOST:PORT] [--seconds 30]
 *  [--json] [--svg out.svg] [--flv file.flv]`: prints the latency table (or the JSON report with --json) and
 * writes the SVG chart (default latency.svg unless --json alone).
 */
import { writeFileSync } from 'node:fs';
import { parseCliArgs } from './args.js';
import { measureLatency } from './measure.js';
import { renderSvg, renderTable } from './render.js';

async function main(): Promise<void> {
  const opts = parseCliArgs(process.argv.slice(2));
  if (!opts.json) process.stderr.write(`measuring for ${opts.seconds} s...\n`);
  const report = await measureLatency({ url: opts.url, http: opts.http, seconds: opts.seconds, sourceFlv: opts.flv });
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
