/**
 * The gateway as its own process (src/cli.ts under tsx, as `npm start` runs it built), for what an
 * in-process gateway cannot show: NODE_EXTRA_CA_CERTS, which Node reads once when a process
 * starts, making our RTMP client trust a self-signed rtmps:// server (push targets and pull
 * sources). Bounded by `timeout -k`, so a hung child never outlives the test run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { exited } from '../helpers/process.js';

/** A self-signed certificate for 127.0.0.1 (openssl, as a user would make one): `{cert, key}` paths in `dir`. */
export function makeSelfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    { stdio: 'ignore', timeout: 30_000 },
  );
  return { cert, key };
}

export interface GatewayProcess {
  readonly rtmpPort: number;
  readonly httpPort: number;
  readonly child: ChildProcess;
  /** Everything it logged (JSON lines), for failure messages. */
  readonly log: () => string;
  /** Resolves with the first log line (from now or before) that matches `pattern`. */
  logLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `src/cli.ts` with `args` (free ports on 127.0.0.1 unless `args` say otherwise) and `env` added. */
export function startGatewayProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutSeconds = 180): Promise<GatewayProcess> {
  const child = spawn(
    'timeout',
    ['-k', '5', String(timeoutSeconds), process.execPath, '--import', 'tsx', 'src/cli.ts', '--rtmp-port', '0', '--http-port', '0', '--host', '127.0.0.1', '--srt', 'false', '--transcode', 'false', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_PRETTY: 'false', LOG_LEVEL: 'info', ...env } },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      const line = out.split('\n').find((l) => l.includes('"listening'));
      if (!line) return;
      child.stdout!.off('data', onData);
      const rec = JSON.parse(line) as { rtmpPort: number; httpPort: number };
      resolve({
        rtmpPort: rec.rtmpPort,
        httpPort: rec.httpPort,
        child,
        log: () => out,
        logLine: (pattern, timeoutMs = 30_000) =>
          new Promise<string>((found, fail) => {
            const check = (): boolean => {
              const hit = out.split('\n').find((l) => pattern.test(l));
              if (hit === undefined) return false;
              clearTimeout(timer);
              child.stdout!.off('data', check);
              found(hit);
              return true;
            };
            const timer = setTimeout(() => {
              child.stdout!.off('data', check);
              fail(new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${out}`));
            }, timeoutMs);
            if (!check()) child.stdout!.on('data', check);
          }),
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          await exited(child);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the gateway process exited (${code}) before listening:\n${out}`)));
  });
}
