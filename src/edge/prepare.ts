/**
 * Everything `npm run edge` does before it starts nginx: find nginx and its Lua module (with a
 * clear error saying how to install them) and write the rendered configuration into a prefix.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayError } from '../core/errors.js';
import { listenAddress, renderEdge } from './render.js';

const TEMPLATE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/nginx');
/** The modules deploy/nginx/nginx.conf loads (Debian's paths). */
export const REQUIRED_MODULES = ['/usr/lib/nginx/modules/ndk_http_module.so', '/usr/lib/nginx/modules/ngx_http_lua_module.so'];
const INSTALL_HINT = 'install it with: sudo apt-get install -y nginx libnginx-mod-http-lua';
/** Debian's unprivileged account, for nginx's workers when the edge is started as root. */
const NOBODY = { user: 'nobody nogroup', uid: 65534, gid: 65534 };

export function findNginx(pathVariable = process.env['PATH'] ?? '', systemDirs: readonly string[] = ['/usr/sbin', '/usr/local/sbin']): string {
  for (const dir of [...pathVariable.split(delimiter).filter(Boolean), ...systemDirs]) {
    const candidate = join(dir, 'nginx');
    if (existsSync(candidate)) return candidate;
  }
  throw new GatewayError('config', `nginx is not installed; ${INSTALL_HINT}`);
}

export function checkModules(modules: readonly string[] = REQUIRED_MODULES): void {
  const missing = modules.filter((m) => !existsSync(m));
  if (missing.length > 0) throw new GatewayError('config', `nginx's Lua module is missing (${missing.join(', ')}); ${INSTALL_HINT}`);
}

/** What nginx writes under the prefix (nginx.conf's temp paths, edge.conf's cache). */
const WRITABLE_DIRS = ['tmp', 'tmp/client_body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi', 'cache'];

/** Writes the rendered configuration into a fresh prefix; returns the prefix. */
export function prepareEdge(options: { origins: readonly string[]; host: string; port: number }): string {
  const prefix = mkdtempSync(join(tmpdir(), 'streamgate-edge-'));
  const asRoot = process.getuid?.() === 0;
  const rendered = renderEdge(
    { nginxConf: readFileSync(join(TEMPLATE_DIR, 'nginx.conf'), 'utf8'), edgeConf: readFileSync(join(TEMPLATE_DIR, 'edge.conf'), 'utf8') },
    { origins: options.origins, listen: listenAddress(options.host, options.port), prefix, cacheDir: join(prefix, 'cache'), workerUser: asRoot ? NOBODY.user : undefined },
  );
  for (const dir of WRITABLE_DIRS) mkdirSync(join(prefix, dir), { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), rendered.nginxConf);
  writeFileSync(join(prefix, 'edge.conf'), rendered.edgeConf);
  if (asRoot) {
    // Workers run as nobody: they write temp and cache files under the prefix.
    chmodSync(prefix, 0o755);
    for (const dir of WRITABLE_DIRS) chownSync(join(prefix, dir), NOBODY.uid, NOBODY.gid);
  }
  return prefix;
}

