import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigFile, resolveConfig } from '../src/config.js';
import { GatewayError } from '../src/core/errors.js';

describe('config', () => {
  it('has the contract defaults', () => {
    const c = resolveConfig();
    expect(c.rtmpPort).toBe(1935);
    expect(c.httpPort).toBe(8000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.segmentDuration).toBe(2);
    expect(c.playlistWindow).toBe(6);
    expect(c.cacheMaxBytes).toBe(128 * 1024 * 1024);
    expect(c.relayBatchMs).toBe(0);
  });

  it('takes flag over environment over file', () => {
    const c = resolveConfig({ rtmpPort: '19350' }, { RTMP_PORT: '1', HTTP_PORT: '18000' }, { httpPort: 2, segmentDuration: 4 });
    expect(c.rtmpPort).toBe(19350);
    expect(c.httpPort).toBe(18000);
    expect(c.segmentDuration).toBe(4);
  });

  it('rejects invalid values with the source named', () => {
    expect(() => resolveConfig({}, { HTTP_PORT: 'eighty' })).toThrow(/HTTP_PORT="eighty"/);
    expect(() => resolveConfig({ segmentDuration: -1 })).toThrow(GatewayError);
  });

  it('reads a JSON config file and refuses unknown keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ httpPort: 18080, logLevel: 'warn' }));
    expect(resolveConfig({}, {}, readConfigFile(good)).httpPort).toBe(18080);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ htpPort: 1 }));
    expect(() => readConfigFile(bad)).toThrow(/unknown setting "htpPort"/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{');
    expect(() => readConfigFile(broken)).toThrow(/not valid JSON/);
  });
});

describe('--encrypt', () => {
  it('takes aes-128 and cbcs rules; a DRM licence URL needs its key server', () => {
    expect(resolveConfig({ encrypt: '{"live":{"method":"aes-128","rotate":2}}' }).encrypt).toEqual({ live: { method: 'aes-128', rotate: 2 } });
    expect(resolveConfig({ encrypt: '{"live/vip":{"method":"cbcs"}}' }).encrypt).toEqual({ 'live/vip': { method: 'cbcs' } });
    expect(resolveConfig({ encrypt: '{"live":{"method":"cbcs","keyServer":"http://127.0.0.1:9/k","licenseUrl":"https://drm.example/l"}}' }).encrypt?.['live']).toMatchObject({ keyServer: 'http://127.0.0.1:9/k' });
    expect(() => resolveConfig({ encrypt: '{"live":{"method":"cbcs","licenseUrl":"https://drm.example/l"}}' })).toThrow(/licenseUrl needs keyServer/);
    expect(() => resolveConfig({ encrypt: '{"live":{"method":"sample-aes"}}' })).toThrow(/--encrypt/);
  });
});
