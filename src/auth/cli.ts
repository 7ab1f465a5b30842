/**
 * `npm run token -- --stream live/KEY [--secret S] [--ttl 3600] [--play] [--host HOST]`:
 * mints a publish (or, with --play, playback) token and prints the URLs that carry it.
 */
import { runMintCommand } from './mint-command.js';
import { unixNow } from './token.js';

try {
  process.stdout.write(runMintCommand(process.argv.slice(2), process.env, unixNow()).text);
} catch (e: unknown) {
  process.stderr.write(`token: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
