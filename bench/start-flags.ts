/**
 * The node flags `npm start` runs the gateway with (package.json `scripts.start`, e.g.
 * `node --max-semi-space-size=4 dist/cli.js`): the benches start the gateway exactly so.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function startNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/).filter((w) => w.length > 0);
  const node = words.indexOf('node');
  const entry = words.indexOf('dist/cli.js');
  if (node < 0 || entry < node) throw new Error(`package.json scripts.start is not "node [flags] dist/cli.js": ${pkg.scripts?.start}`);
  return words.slice(node + 1, entry);
}
