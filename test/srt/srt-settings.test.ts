/**
 * The SRT key length setting: `--srt-pbkeylen` / `SRT_PBKEYLEN` / config key `srtPbkeylen`
 * (named like `--srt-passphrase` in ../shared/CONTRACT.md's SRT row), SRTO_PBKEYLEN's values
 * only (16, 24, 32 bytes: AES-128/192/256), and listed in the README's settings table. That the
 * relay gets it is test/e2e/srt.test.ts ("SRT key length").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveConfig, SETTINGS } from '../../src/config.js';

describe('--srt-pbkeylen', () => {
  it('is unset by default and takes 16, 24 or 32 from a flag, the environment or the config file', () => {
    expect(resolveConfig().srtPbkeylen).toBeUndefined();
    expect(resolveConfig({ srtPbkeylen: '24' }).srtPbkeylen).toBe(24);
    expect(resolveConfig({}, { SRT_PBKEYLEN: '32' }).srtPbkeylen).toBe(32);
    expect(resolveConfig({}, {}, { srtPbkeylen: 16 }).srtPbkeylen).toBe(16);
  });

  it('refuses other key lengths, naming the setting', () => {
    expect(() => resolveConfig({ srtPbkeylen: '20' })).toThrow(/--srt-pbkeylen="20": must be 16, 24 or 32/);
    expect(() => resolveConfig({}, { SRT_PBKEYLEN: '0' })).toThrow(/SRT_PBKEYLEN="0"/);
  });

  it('the README settings table lists it with its environment variable', () => {
    expect(SETTINGS.srtPbkeylen.flag).toBe('srt-pbkeylen');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toMatch(/^\| `--srt-pbkeylen` \| `SRT_PBKEYLEN` \| 16 \| .*16, 24 or 32.* \|$/m);
  });
});
