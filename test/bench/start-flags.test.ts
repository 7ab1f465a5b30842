/**
 * The node flags the gateway runs with are the same everywhere a user starts it: `npm start`
 * (package.json), the `streamgate` bin (src/cli.ts's shebang) and the container image
 * (deploy/Dockerfile), and the benches start it with them (bench/start-flags.ts). Each flag is
 * one this node accepts: a misspelt V8 flag makes node refuse to start.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { startNodeFlags } from '../../bench/start-flags.js';

describe('the node flags the gateway is started with', () => {
  const flags = startNodeFlags();

  it('npm start runs node with the young-generation and heap-growing settings', () => {
    expect(flags).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=100']);
  });

  it('the streamgate bin and the container image use the same flags', () => {
    const shebang = readFileSync('src/cli.ts', 'utf8').split('\n')[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${flags.join(' ')}`);
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync('deploy/Dockerfile', 'utf8'))?.[1];
    expect(JSON.parse(cmd ?? '[]')).toEqual(['node', ...flags, 'dist/cli.js']);
  });

  it('this node accepts every flag', () => {
    const r = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
