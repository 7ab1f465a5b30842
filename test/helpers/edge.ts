/**
 * `npm run edge` as users run it (src/edge/cli.ts under tsx, Debian's nginx), bounded by
 * `timeout -k`, in its own process group so nginx goes with it whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { exited } from './process.js';
import { freePort } from '../../bench/fixtures.js';

export interface RunningEdge {
  readonly url: string;
  readonly process: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Resolves once the edge answers /edge-healthz; rejects when it exits first. */
export async function startEdge(origins: readonly string[], timeoutSeconds = 600): Promise<RunningEdge> {
  const port = await freePort();
  const args = ['-k', '5', String(timeoutSeconds), process.execPath, '--import', 'tsx', 'src/edge/cli.ts', '--host', '127.0.0.1', '--port', String(port)];
  for (const o of origins) args.push('--origin', o);
  const child = spawn('timeout', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const gone = exited(child);
  let exitedEarly = false;
  void gone.then(() => (exitedEarly = true));
  for (;;) {
    if (exitedEarly) throw new Error(`npm run edge exited before it answered:\n${log}`);
    const ok = await fetch(`${url}/edge-healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    // nginx is starting: nothing announces that it listens, so ask again shortly.
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    process: child,
    output: () => log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5000);
      await gone;
      clearTimeout(killer);
    },
  };
}

/** Sum of a counter's samples in a Prometheus text exposition whose labels include `labels`. */
export function counterSum(metricsText: string, name: string, labels: Readonly<Record<string, string>>): number {
  let sum = 0;
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
