/** The gateway as users start it: flags, the `listening` line, health, SIGTERM exit 0. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exited, run } from './helpers/process.js';

const CLI = ['--import', 'tsx', 'src/cli.ts'];

describe('cli', () => {
  it('starts with flags, logs listening with both ports, serves /healthz, exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [...CLI, '--rtmp-port', '0', '--http-port', '0', '--host', '127.0.0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_PRETTY: 'false' },
    });
    let out = '';
    const ready = new Promise<{ rtmpPort: number; httpPort: number; msg: string }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        for (const line of out.split('\n')) {
          if (!line.includes('listening')) continue;
          const rec = JSON.parse(line) as { rtmpPort: number; httpPort: number; msg: string };
          resolve(rec);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const rec = await ready;
    expect(rec.msg).toContain(String(rec.rtmpPort));
    expect(rec.msg).toContain(String(rec.httpPort));
    const health = await fetch(`http://127.0.0.1:${rec.httpPort}/healthz`);
    expect(health.status).toBe(200);
    const time = await (await fetch(`http://127.0.0.1:${rec.httpPort}/api/time`)).text();
    expect(Number.isNaN(Date.parse(time))).toBe(false);
    expect(out).toMatch(/publishing is open/);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('reads settings from the environment', async () => {
    const child = spawn(process.execPath, CLI, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RTMP_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', LOG_PRETTY: 'false' },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('listening')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
  });

  it('refuses invalid settings with a clear message and lists settings in --help', async () => {
    const bad = await run(process.execPath, [...CLI, '--http-port', 'eighty']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--http-port="eighty"/);
    const help = await run(process.execPath, [...CLI, '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--rtmp-port', '--http-port', '--segment-duration', '--playlist-window', '--cache-max-bytes', '--config']) {
      expect(help.stdout).toContain(flag);
    }
  });
});
