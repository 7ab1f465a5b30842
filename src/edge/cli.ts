/**
 * `npm run edge -- --origin http://127.0.0.1:8000 [--origin URL...] --port 8080 [--host 0.0.0.0]`:
 * renders deploy/nginx/nginx.conf and edge.conf for those gateways into a temporary prefix and
 * runs Debian's nginx in the foreground. Ctrl-C (or SIGTERM) stops nginx gracefully and removes
 * the prefix. Viewers use the gateway's URL paths on the edge port.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { checkModules, findNginx, prepareEdge } from './prepare.js';

interface EdgeOptions {
  origin: string[];
  port: string;
  host: string;
}

function parseArgs(argv: readonly string[]): EdgeOptions {
  const program = new Command('edge')
    .description('run an nginx edge cache in front of streamgate gateways')
    .requiredOption('--origin <url>', 'a gateway base URL (repeat for several)', (v: string, all: string[] = []) => [...all, v])
    .option('--port <port>', 'port viewers connect to', '8080')
    .option('--host <host>', 'interface to listen on', '0.0.0.0')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  return program.opts<EdgeOptions>();
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const port = Number(opts.port);
  const nginx = findNginx();
  checkModules();
  const prefix = prepareEdge({ origins: opts.origin, host: opts.host, port });
  const child = spawn(nginx, ['-p', prefix, '-e', 'stderr', '-c', join(prefix, 'nginx.conf')], { stdio: 'inherit' });
  process.stderr.write(`edge: nginx (pid ${child.pid}) on port ${port} in front of ${opts.origin.join(', ')}\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // QUIT: finish the requests in flight, then exit; TERM if that takes too long.
    child.kill('SIGQUIT');
    setTimeout(() => child.kill('SIGTERM'), 3000).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise<number>((done) => {
    child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0)));
    child.on('error', (err) => {
      process.stderr.write(`edge: cannot run ${nginx}: ${err.message}\n`);
      done(1);
    });
  });
  rmSync(prefix, { recursive: true, force: true });
  process.exit(stopping ? 0 : code);
}

main().catch((err: unknown) => {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('commander.')) process.exit(err.code === 'commander.helpDisplayed' ? 0 : 2);
  process.stderr.write(`edge: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
