/**
 * Renders the edge's nginx configuration (deploy/nginx/nginx.conf and edge.conf) for a set of
 * origins: the templates' `${EDGE_*}` placeholders are the same ones the edge container fills
 * with envsubst, so both run the same files. Pure: text in, text out.
 */
import { GatewayError } from '../core/errors.js';

export interface EdgeSettings {
  /** Gateway base URLs, e.g. `http://127.0.0.1:8000` (http only, no path). */
  readonly origins: readonly string[];
  /** Address the edge listens on: a port, or HOST:PORT. */
  readonly listen: string;
  /** Directory for the pid file, temp files and the rendered edge.conf. */
  readonly prefix: string;
  /** Directory of the proxy cache. */
  readonly cacheDir: string;
  /** nginx started as root: workers run as this user and group (Debian: nobody nogroup). */
  readonly workerUser?: string;
}

const PLACEHOLDER = /\$\{([A-Z0-9_]+)\}/g;

/** Replaces every `${NAME}` with its value; a placeholder without a value is an error. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_all, name: string) => {
    const value = values[name];
    if (value === undefined) throw new GatewayError('config', `edge template placeholder \${${name}} has no value`, { placeholder: name });
    return value;
  });
}

/** `http://HOST:PORT` -> `HOST:PORT`, checked (nginx takes the address as written). */
export function originAddress(origin: string): string {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new GatewayError('config', `--origin ${origin}: not a URL (expected http://HOST:PORT)`, { origin });
  }
  if (url.protocol !== 'http:') throw new GatewayError('config', `--origin ${origin}: only http:// origins are supported`, { origin });
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new GatewayError('config', `--origin ${origin}: give the gateway's base URL only (http://HOST:PORT)`, { origin });
  }
  // URL keeps the brackets of an IPv6 literal in hostname, as nginx wants them.
  return `${url.hostname}:${url.port || '80'}`;
}

/**
 * The upstream's server lines. A failed connection takes an origin out of rotation for 2 s only
 * (a restarted gateway is back at once); a 404 never does (it means "not here, try the next").
 */
export function originServerLines(origins: readonly string[]): string {
  if (origins.length === 0) throw new GatewayError('config', 'at least one --origin is needed', {});
  const addresses = origins.map(originAddress);
  const seen = new Set<string>();
  for (const a of addresses) {
    if (seen.has(a)) throw new GatewayError('config', `--origin ${a} is given twice`, { origin: a });
    seen.add(a);
  }
  return addresses.map((a) => `server ${a} max_fails=1 fail_timeout=2s;`).join('\n    ');
}

export function listenAddress(host: string | undefined, port: number): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new GatewayError('config', `--port ${port}: not a TCP port`, { port });
  if (!host || host === '0.0.0.0') return String(port);
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export interface RenderedEdge {
  readonly nginxConf: string;
  readonly edgeConf: string;
}

export function renderEdge(templates: { nginxConf: string; edgeConf: string }, settings: EdgeSettings): RenderedEdge {
  const values = {
    EDGE_PREFIX: settings.prefix,
    EDGE_LISTEN: settings.listen,
    EDGE_CACHE_DIR: settings.cacheDir,
    EDGE_ORIGIN_SERVERS: originServerLines(settings.origins),
  };
  const main = fillTemplate(templates.nginxConf, values);
  return {
    nginxConf: settings.workerUser ? `user ${settings.workerUser};\n${main}` : main,
    edgeConf: fillTemplate(templates.edgeConf, values),
  };
}
