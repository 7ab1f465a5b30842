/** The edge configuration: placeholders filled, origins checked, and Debian's nginx accepts the result (`nginx -t`). */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillTemplate, listenAddress, originAddress, originServerLines, renderEdge } from '../../src/edge/render.js';
import { checkModules, findNginx, prepareEdge } from '../../src/edge/prepare.js';
import { run } from '../helpers/process.js';

const templates = { nginxConf: readFileSync('deploy/nginx/nginx.conf', 'utf8'), edgeConf: readFileSync('deploy/nginx/edge.conf', 'utf8') };

function nginxInstalled(): string | undefined {
  try {
    const path = findNginx();
    checkModules();
    return path;
  } catch {
    return undefined;
  }
}
const nginx = nginxInstalled();
if (!nginx && process.env['REQUIRE_BROWSER'] === '1') throw new Error('REQUIRE_BROWSER=1 (CI): nginx with the Lua module is required (apt-get install -y nginx libnginx-mod-http-lua)');

describe('edge configuration', () => {
  it('fills every placeholder and refuses an unknown one', () => {
    expect(fillTemplate('a ${X} b ${X} $host ${Y}', { X: '1', Y: '2' })).toBe('a 1 b 1 $host 2');
    expect(() => fillTemplate('${NOPE}', {})).toThrow(/NOPE/);
  });

  it('turns origin URLs into upstream servers', () => {
    expect(originAddress('http://127.0.0.1:8000')).toBe('127.0.0.1:8000');
    expect(originAddress('http://gw.example/')).toBe('gw.example:80');
    expect(originAddress('http://[::1]:8000')).toBe('[::1]:8000');
    expect(originServerLines(['http://a:1', 'http://b:2'])).toBe('server a:1 max_fails=1 fail_timeout=2s;\n    server b:2 max_fails=1 fail_timeout=2s;');
    expect(() => originAddress('https://a:1')).toThrow(/only http/);
    expect(() => originAddress('http://a:1/live')).toThrow(/base URL/);
    expect(() => originAddress('nope')).toThrow(/not a URL/);
    expect(() => originServerLines([])).toThrow(/at least one/);
    expect(() => originServerLines(['http://a:1', 'http://a:1/'])).toThrow(/twice/);
  });

  it('listens on a port or HOST:PORT', () => {
    expect(listenAddress('0.0.0.0', 8080)).toBe('8080');
    expect(listenAddress('127.0.0.1', 8080)).toBe('127.0.0.1:8080');
    expect(() => listenAddress('127.0.0.1', 0)).toThrow(/port/);
  });

  it('renders both files with no placeholder left; as root, workers run as nobody', () => {
    const r = renderEdge(templates, { origins: ['http://127.0.0.1:8000', 'http://127.0.0.1:8001'], listen: '8080', prefix: '/p', cacheDir: '/p/cache', workerUser: 'nobody nogroup' });
    expect(r.nginxConf + r.edgeConf).not.toMatch(/\$\{/);
    expect(r.nginxConf.startsWith('user nobody nogroup;\n')).toBe(true);
    expect(r.nginxConf).toContain('include /p/edge.conf;');
    expect(r.edgeConf).toContain('server 127.0.0.1:8001 max_fails=1 fail_timeout=2s;');
    expect(r.edgeConf).toContain('listen 8080;');
    expect(r.edgeConf).toContain('proxy_cache_path /p/cache ');
    // What the issue asks of the edge, present in what nginx runs.
    for (const directive of ['proxy_cache_lock on', 'proxy_next_upstream error timeout http_404', 'proxy_cache_background_update on', 'proxy_ignore_headers Vary']) {
      expect(r.edgeConf).toContain(directive);
    }
  });

  it('says how to install nginx and its Lua module when they are missing', () => {
    expect(() => findNginx('/nonexistent', [])).toThrow(/apt-get install -y nginx libnginx-mod-http-lua/);
    expect(() => checkModules(['/nonexistent/ngx_http_lua_module.so'])).toThrow(/Lua module is missing.*apt-get install -y nginx libnginx-mod-http-lua/);
  });

  it.runIf(nginx !== undefined)("Debian's nginx accepts the rendered configuration (nginx -t)", async () => {
    const prefix = prepareEdge({ origins: ['http://127.0.0.1:8000', 'http://127.0.0.1:8001'], host: '127.0.0.1', port: 18089 });
    try {
      const result = await run(nginx!, ['-t', '-p', prefix, '-e', 'stderr', '-c', join(prefix, 'nginx.conf')], 30_000);
      expect(result.stderr).toContain('test is successful');
      expect(result.code).toBe(0);
    } finally {
      rmSync(prefix, { recursive: true, force: true });
    }
  });
});
