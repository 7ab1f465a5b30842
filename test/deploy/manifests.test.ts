/**
 * Lints the deployment files in deploy/ without a docker engine or a cluster: the Dockerfiles
 * against our rules (./dockerfile-lint.ts), the compose file and the Kubernetes manifests
 * against each other and against the gateway's own settings table, the Grafana dashboard against
 * the metrics the gateway registers, and the edge entrypoint against the nginx templates and
 * src/edge/render.ts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SETTINGS, envName, readConfigFile, resolveConfig, type Config } from '../../src/config.js';
import { renderEdge } from '../../src/edge/render.js';
import { GatewayMetrics } from '../../src/observe/metrics.js';
import { lintDockerfile, parseDockerfile, stagesOf, unpinnedReason, type LintOptions, type Rule } from './dockerfile-lint.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEPLOY = join(ROOT, 'deploy');
const read = (...path: string[]): string => readFileSync(join(ROOT, ...path), 'utf8');
const PACKAGE_VERSION = (JSON.parse(read('package.json')) as { version: string }).version;
/** The gateway forcibly exits this long after SIGTERM, plus the drain (src/cli.ts). */
const FORCED_EXIT_AFTER_DRAIN_S = 4.5;

// ---- YAML ---------------------------------------------------------------------------------------

function loadYaml(path: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(path, 'utf8'));
  if (!Array.isArray(docs)) return [];
  return docs.map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${path} document ${i + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

// ---- Kubernetes shapes (only what the checks read) ------------------------------------------------

type Labels = Record<string, string>;
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
}
interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string }[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  lifecycle?: { preStop?: { exec?: { command?: string[] } } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  emptyDir?: { medium?: string; sizeLimit?: string };
}
interface PodSpec {
  containers: Container[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  volumes?: Volume[];
}
interface Workload {
  replicas?: number;
  serviceName?: string;
  selector: { matchLabels: Labels };
  template: { metadata: { labels: Labels }; spec: PodSpec };
}
interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  selector?: Labels;
  ports: { name?: string; port: number; targetPort?: string | number; protocol?: string }[];
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels };
  spec?: unknown;
  data?: Record<string, string>;
}

function loadManifests(): { file: string; resource: Resource }[] {
  const dir = join(DEPLOY, 'k8s');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'));
  return files.flatMap((file) => loadYaml(join(dir, file)).filter((d) => d !== null).map((d) => ({ file, resource: d as Resource })));
}

const manifests = loadManifests();
const resources = manifests.map((m) => m.resource);
const ofKind = (kind: string): Resource[] => resources.filter((r) => r.kind === kind);
const named = (kind: string, name: string): Resource => {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found;
};
const workloads = (): { resource: Resource; spec: Workload }[] =>
  resources.filter((r) => ['StatefulSet', 'Deployment', 'DaemonSet'].includes(r.kind)).map((r) => ({ resource: r, spec: r.spec as Workload }));
const selects = (selector: Labels, labels: Labels): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);
const envOf = (c: Container, name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;

const gatewaySet = named('StatefulSet', 'streamgate');
const gateway = gatewaySet.spec as Workload;
const gatewayPod = gateway.template.spec;
const gatewayContainer = gatewayPod.containers[0];
const configMap = named('ConfigMap', 'streamgate-config');
const configJson = JSON.parse(configMap.data?.['config.json'] ?? 'null') as Record<string, unknown>;

/** seconds of `sleep N` in a preStop exec hook, 0 without one. */
function preStopSleep(c: Container): number {
  const cmd = c.lifecycle?.preStop?.exec?.command ?? [];
  const joined = cmd.join(' ');
  const m = /(?:^|\s)sleep\s+(\d+(?:\.\d+)?)\b/.exec(joined);
  return m ? Number(m[1]) : 0;
}

function expectNonRoot(pod: PodSpec, c: Container): void {
  const runAsNonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
  const runAsUser = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  expect(runAsNonRoot, `${c.name}: runAsNonRoot`).toBe(true);
  // Numeric, not root: the images' USER is a name, which the kubelet cannot check.
  expect(runAsUser, `${c.name}: runAsUser`).toBeGreaterThan(0);
  expect(c.securityContext?.allowPrivilegeEscalation, `${c.name}: allowPrivilegeEscalation`).toBe(false);
}

function expectResources(c: Container): void {
  for (const kind of ['requests', 'limits'] as const) {
    expect(c.resources?.[kind]?.['cpu'], `${c.name}: resources.${kind}.cpu`).toBeTruthy();
    expect(c.resources?.[kind]?.['memory'], `${c.name}: resources.${kind}.memory`).toBeTruthy();
  }
}

// ---- Dockerfile lint ------------------------------------------------------------------------------

const GOOD = `# syntax=docker/dockerfile:1
FROM node:20.20.2-bookworm-slim AS build
RUN npm ci
FROM node:20.20.2-bookworm-slim
RUN npm ci --omit=dev
USER node
HEALTHCHECK CMD ["node", "-e", "0"]
CMD ["node", "dist/cli.js"]
`;
const STRICT: LintOptions = { requireMultiStage: true, requireNpmCiOmitDev: true };
const rulesOf = (text: string, options: LintOptions = STRICT): Rule[] => lintDockerfile(text, options).map((f) => f.rule);

describe('Dockerfile lint', () => {
  it('parses instructions across continuations, comments and blank continuation lines', () => {
    const ins = parseDockerfile(`# a comment
from debian:12.11-slim as base

RUN apt-get update \\
  # a comment inside the instruction
  && apt-get install -y nginx \\

  && true
user www-data
`);
    expect(ins.map((i) => [i.keyword, i.line])).toEqual([
      ['FROM', 2],
      ['RUN', 4],
      ['USER', 9],
    ]);
    expect(ins[1].args).toBe('apt-get update && apt-get install -y nginx && true');
    expect(stagesOf(ins)[0]).toMatchObject({ image: 'debian:12.11-slim', name: 'base' });
  });

  it('honours the escape directive', () => {
    const ins = parseDockerfile('# escape=`\nFROM debian:12.11-slim\nRUN echo a `\n  b\n');
    expect(ins.map((i) => i.args)).toEqual(['debian:12.11-slim', 'echo a b']);
  });

  it('passes a good Dockerfile', () => {
    expect(lintDockerfile(GOOD, STRICT)).toEqual([]);
  });

  it('accepts full versions and digests, rejects floating references', () => {
    for (const ok of ['node:20.20.2-bookworm-slim', 'debian:12.11-slim', 'registry.example:5000/team/img:1.2', 'golang:v1.22.3', `node@sha256:${'a'.repeat(64)}`]) {
      expect(unpinnedReason(ok), ok).toBeUndefined();
    }
    for (const bad of ['node', 'node:latest', 'node:20', 'node:20-bookworm-slim', 'debian:bookworm-slim', 'registry.example:5000/img', 'node@sha256:abc', '${BASE}']) {
      expect(unpinnedReason(bad), bad).toBeDefined();
    }
  });

  it('fails each rule on a Dockerfile that breaks it', () => {
    expect(rulesOf(GOOD.replace('FROM node:20.20.2-bookworm-slim AS build', 'FROM node AS build'))).toEqual(['pinned-from']);
    expect(rulesOf(GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node:latest\n'))).toEqual(['pinned-from']);
    expect(rulesOf(GOOD.replace('FROM node:20.20.2-bookworm-slim\n', 'FROM node:20-bookworm-slim\n'))).toEqual(['pinned-from']);
    expect(rulesOf(GOOD.replace('USER node\n', ''))).toEqual(['non-root-user']);
    expect(rulesOf(GOOD.replace('USER node\n', 'USER node\nUSER root\n'))).toEqual(['non-root-user']);
    expect(rulesOf(GOOD.replace('USER node\n', 'USER 0:0\n'))).toEqual(['non-root-user']);
    expect(rulesOf(GOOD.replace('HEALTHCHECK CMD ["node", "-e", "0"]\n', ''))).toEqual(['healthcheck']);
    expect(rulesOf(GOOD.replace('HEALTHCHECK CMD ["node", "-e", "0"]\n', 'HEALTHCHECK NONE\n'))).toEqual(['healthcheck']);
    expect(rulesOf(GOOD.replace('RUN npm ci --omit=dev', 'RUN npm ci'))).toEqual(['npm-ci-omit-dev']);
    expect(rulesOf(GOOD.replace('RUN npm ci --omit=dev', 'RUN npm install --omit=dev'))).toEqual(['npm-ci-omit-dev']);
    expect(rulesOf(GOOD.replace('RUN npm ci\n', 'RUN npm ci\nADD https://example.com/x.tar.gz /x\n'))).toEqual(['no-add-url']);
    expect(rulesOf(GOOD.replace('RUN npm ci\n', 'RUN npm ci\nADD --chmod=644 http://example.com/a /a\n'))).toEqual(['no-add-url']);
    expect(rulesOf(GOOD.replace('RUN npm ci\n', 'RUN npm ci\nADD local.tar.gz /x\n'))).toEqual([]);
    const single = 'FROM node:20.20.2-bookworm-slim\nRUN npm ci --omit=dev\nUSER node\nHEALTHCHECK CMD true\n';
    expect(rulesOf(single)).toEqual(['multi-stage']);
    expect(rulesOf(single, {})).toEqual([]);
    expect(rulesOf('RUN true\n')).toEqual(['syntax']);
  });

  it('only counts the final stage for USER and HEALTHCHECK', () => {
    const buildStageOnly = `FROM node:20.20.2-bookworm-slim AS build
USER node
HEALTHCHECK CMD true
FROM node:20.20.2-bookworm-slim
RUN npm ci --omit=dev
`;
    expect(rulesOf(buildStageOnly).sort()).toEqual(['healthcheck', 'non-root-user']);
  });

  it('resolves FROM variables from global ARG defaults, and knows earlier stages', () => {
    const withArg = `ARG NODE=node:20.20.2-bookworm-slim
FROM \${NODE} AS deps
RUN npm ci --omit=dev
FROM deps
USER node
HEALTHCHECK CMD true
`;
    expect(rulesOf(withArg)).toEqual([]);
    expect(rulesOf(withArg.replace('ARG NODE=node:20.20.2-bookworm-slim', 'ARG NODE'))).toEqual(['pinned-from']);
    expect(rulesOf(withArg.replace('ARG NODE=node:20.20.2-bookworm-slim', 'ARG NODE=node:20'))).toEqual(['pinned-from']);
  });

  it('passes deploy/Dockerfile (the gateway)', () => {
    const text = read('deploy', 'Dockerfile');
    expect(lintDockerfile(text, STRICT)).toEqual([]);
    const ins = parseDockerfile(text);
    const stages = stagesOf(ins);
    // Same base for building and running: native modules and node itself match.
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
    const final = stages[stages.length - 1].instructions;
    const args = (kw: string): string[] => final.filter((i) => i.keyword === kw).map((i) => i.args);
    expect(args('EXPOSE').join(' ').split(/\s+/).sort()).toEqual(['1935', '8000']);
    // The image runs the gateway as `npm start` does: the same node flags.
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts.start.split(/\s+/);
    expect(args('CMD')).toEqual([JSON.stringify(start).replace(/","/g, '", "')]);
    expect(args('USER')).toEqual(['node']);
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(args('HEALTHCHECK').join(' ')).toContain('/healthz');
    expect(args('RUN').join(' ')).toMatch(/apt-get install -y --no-install-recommends ffmpeg/);
    expect(args('RUN').join(' ')).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
    // What the gateway reads at run time besides node_modules (src/http/web-routes.ts).
    expect(args('COPY')).toEqual(expect.arrayContaining(['--from=build /app/dist ./dist', '--from=build /app/src/web ./src/web']));
    expect(args('ENV').join(' ')).toMatch(/NODE_ENV=production/);
    expect(args('ENV').join(' ')).toMatch(/HOST=0\.0\.0\.0/);
  });

  it('passes deploy/nginx/Dockerfile (the edge)', () => {
    const text = read('deploy', 'nginx', 'Dockerfile');
    expect(lintDockerfile(text)).toEqual([]);
    const ins = parseDockerfile(text);
    const args = (kw: string): string[] => ins.filter((i) => i.keyword === kw).map((i) => i.args);
    expect(args('USER')).toEqual(['www-data']);
    expect(args('EXPOSE')).toEqual(['8080']);
    expect(args('HEALTHCHECK').join(' ')).toContain('/edge-healthz');
    expect(args('RUN').join(' ')).toMatch(/apt-get install -y --no-install-recommends nginx libnginx-mod-http-lua gettext-base/);
    expect(args('RUN').join(' ')).toMatch(/chown -R www-data:www-data \/var\/lib\/streamgate-edge/);
    expect(args('COPY').join(' ')).toContain('deploy/nginx/nginx.conf deploy/nginx/edge.conf deploy/nginx/entrypoint.sh');
    expect(args('ENTRYPOINT')).toEqual(['["/opt/streamgate-edge/entrypoint.sh"]']);
  });

  it('sends the Dockerfiles what they COPY from the context, and nothing bulky', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'test-artifacts', '.scratch', '.bench', '.git', '*.log']));
    for (const file of [join('deploy', 'Dockerfile'), join('deploy', 'nginx', 'Dockerfile')]) {
      for (const copy of parseDockerfile(read(file)).filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
        const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        for (const source of words.slice(0, -1)) {
          expect(ignored, `${file}: COPY ${source} is excluded by .dockerignore`).not.toContain(source.split('/')[0]);
          expect(existsSync(join(ROOT, source)), `${file}: COPY ${source} does not exist`).toBe(true);
        }
      }
    }
  });
});

// ---- Kubernetes ---------------------------------------------------------------------------------

describe('Kubernetes manifests', () => {
  it('parse, one resource per document, names unique', () => {
    expect(manifests.length).toBeGreaterThan(0);
    const keys = new Set<string>();
    for (const { file, resource } of manifests) {
      expect(resource.apiVersion, file).toBeTruthy();
      expect(resource.kind, file).toBeTruthy();
      expect(resource.metadata?.name, file).toBeTruthy();
      const key = `${resource.kind}/${resource.metadata.name}`;
      expect(keys.has(key), `${key} defined twice`).toBe(false);
      keys.add(key);
    }
    expect([...keys]).toEqual(
      expect.arrayContaining([
        'ConfigMap/streamgate-config',
        'StatefulSet/streamgate',
        'Service/streamgate-origins',
        'Service/streamgate-rtmp',
        'Service/streamgate-http',
        'Deployment/streamgate-edge',
        'Service/streamgate-edge',
      ]),
    );
  });

  it('holds a config.json of known settings that the gateway accepts', () => {
    expect(typeof configJson).toBe('object');
    expect(configJson).not.toBeNull();
    const known = Object.keys(SETTINGS);
    for (const key of Object.keys(configJson)) expect(known, `unknown setting ${key}`).toContain(key);
    // What the gateway does with CONFIG=FILE: read it, then resolve it (both throw on a problem).
    const dir = mkdtempSync(join(tmpdir(), 'streamgate-deploy-'));
    try {
      writeFileSync(join(dir, 'config.json'), configMap.data?.['config.json'] ?? '');
      const config: Config = resolveConfig({}, {}, readConfigFile(join(dir, 'config.json')));
      // Behind the edge: the edge limits viewers (every request comes from an edge address).
      expect(config.playlistRateLimit).toBe(0);
      expect(config.shutdownDrain).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the gateway StatefulSet with probes, resources, a non-root user and the config', () => {
    expect(gatewayPod.containers).toHaveLength(1);
    const c = gatewayContainer;
    expect(c.image).toBe(`streamgate:${PACKAGE_VERSION}`);
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expectResources(c);
    expectNonRoot(gatewayPod, c);
    const ports = Object.fromEntries((c.ports ?? []).map((p) => [p.name, p]));
    expect(ports['rtmp']).toMatchObject({ containerPort: 1935 });
    expect(ports['http']).toMatchObject({ containerPort: 8000 });
    expect(c.readinessProbe?.httpGet?.port).toBe('http');
    // CONFIG names a file the ConfigMap volume puts there.
    const configPath = envOf(c, 'CONFIG') ?? '';
    const mount = c.volumeMounts?.find((m) => configPath.startsWith(`${m.mountPath}/`));
    expect(mount, `no volume mounted at ${configPath}`).toBeDefined();
    const volume = gatewayPod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBe('streamgate-config');
    const file = configPath.slice((mount?.mountPath.length ?? 0) + 1);
    const key = volume?.configMap?.items?.find((i) => i.path === file)?.key ?? file;
    expect(Object.keys(configMap.data ?? {})).toContain(key);
  });

  it('gives the gateway time to drain: grace period > preStop sleep + shutdownDrain + forced-exit margin', () => {
    const drain = resolveConfig({}, {}, configJson).shutdownDrain;
    const sleep = preStopSleep(gatewayContainer);
    expect(sleep).toBeGreaterThan(0);
    expect(gatewayPod.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(sleep + drain + FORCED_EXIT_AFTER_DRAIN_S);
  });

  it('selects pods with every Service and PodDisruptionBudget: each matches exactly one workload', () => {
    const all = workloads();
    for (const w of all) {
      expect(selects(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${w.resource.metadata.name}: selector vs template labels`).toBe(true);
    }
    for (const svc of ofKind('Service')) {
      const spec = svc.spec as ServiceSpec;
      const matching = all.filter((w) => selects(spec.selector ?? {}, w.spec.template.metadata.labels));
      expect(
        matching.map((w) => w.resource.metadata.name),
        `Service ${svc.metadata.name}`,
      ).toHaveLength(1);
      // Named target ports exist on the selected pods.
      const portNames = matching[0].spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name));
      for (const p of spec.ports) if (typeof p.targetPort === 'string') expect(portNames, `Service ${svc.metadata.name} targetPort`).toContain(p.targetPort);
    }
    const pdbs = ofKind('PodDisruptionBudget');
    const gatewayPdb = pdbs.find((p) => selects((p.spec as { selector: { matchLabels: Labels } }).selector.matchLabels, gateway.template.metadata.labels));
    expect(gatewayPdb, 'a PodDisruptionBudget selecting the gateway pods').toBeDefined();
    expect(gatewayPdb?.apiVersion).toBe('policy/v1');
    expect((gatewayPdb?.spec as { minAvailable?: number }).minAvailable).toBeGreaterThanOrEqual(1);
    for (const pdb of pdbs) {
      const selector = (pdb.spec as { selector: { matchLabels: Labels } }).selector.matchLabels;
      expect(all.filter((w) => selects(selector, w.spec.template.metadata.labels)), `PDB ${pdb.metadata.name}`).toHaveLength(1);
    }
  });

  it('exposes RTMP 1935 and HTTP 8000 of the gateways', () => {
    const ports = ofKind('Service')
      .filter((s) => selects((s.spec as ServiceSpec).selector ?? {}, gateway.template.metadata.labels))
      .flatMap((s) => (s.spec as ServiceSpec).ports.map((p) => ({ service: s.metadata.name, type: (s.spec as ServiceSpec).type, ...p })));
    expect(ports).toEqual(expect.arrayContaining([expect.objectContaining({ port: 1935, protocol: 'TCP', type: 'LoadBalancer' })]));
    expect(ports).toEqual(expect.arrayContaining([expect.objectContaining({ port: 8000 })]));
  });

  it('has the edge list every gateway pod by its stable name under the headless Service', () => {
    const headless = named('Service', gateway.serviceName ?? '');
    const headlessSpec = headless.spec as ServiceSpec;
    expect(headlessSpec.clusterIP).toBe('None');
    expect(selects(headlessSpec.selector ?? {}, gateway.template.metadata.labels)).toBe(true);
    const httpPort = headlessSpec.ports.find((p) => p.port === 8000);
    expect(httpPort).toBeDefined();

    const edge = named('Deployment', 'streamgate-edge').spec as Workload;
    const c = edge.template.spec.containers[0];
    const origins = (envOf(c, 'EDGE_ORIGINS') ?? '').split(/\s+/).filter(Boolean);
    const expected = Array.from({ length: gateway.replicas ?? 1 }, (_, i) => `${gatewaySet.metadata.name}-${i}.${headless.metadata.name}:8000`);
    expect(origins).toEqual(expected);
  });

  it('runs the edge with health probes, resources, a non-root user and a memory cache', () => {
    const edge = named('Deployment', 'streamgate-edge').spec as Workload;
    const pod = edge.template.spec;
    const c = pod.containers[0];
    expect(c.image).toBe(`streamgate-edge:${PACKAGE_VERSION}`);
    expect(c.readinessProbe?.httpGet?.path).toBe('/edge-healthz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/edge-healthz');
    expectResources(c);
    expectNonRoot(pod, c);
    expect(c.ports?.find((p) => p.name === 'http')?.containerPort).toBe(Number(envOf(c, 'EDGE_LISTEN') ?? 8080));
    const cacheMount = c.volumeMounts?.find((m) => m.mountPath === '/var/lib/streamgate-edge/cache');
    expect(pod.volumes?.find((v) => v.name === cacheMount?.name)?.emptyDir?.medium).toBe('Memory');
    const svc = named('Service', 'streamgate-edge').spec as ServiceSpec;
    expect(svc.type).toBe('LoadBalancer');
    expect(svc.ports).toEqual([expect.objectContaining({ port: 80, targetPort: 'http' })]);
  });
});

// ---- compose ------------------------------------------------------------------------------------

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  ports?: string[];
  environment?: Record<string, string | number | boolean> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  stop_grace_period?: string;
  tmpfs?: string[] | string;
}

function envMap(env: ComposeService['environment']): Record<string, string> {
  if (!env) return {};
  if (Array.isArray(env)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** `20s`, `1m30s` -> seconds. */
function durationSeconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)) total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6 }[m[2] as 'h' | 'm' | 's' | 'ms' | 'us'];
  return total;
}

describe('compose.yaml', () => {
  const docs = loadYaml(join(DEPLOY, 'compose.yaml'));
  const compose = docs[0] as { services: Record<string, ComposeService> };
  const gw = compose.services['gateway'];
  const edge = compose.services['edge'];

  it('has the gateway and the edge, built from the repository root', () => {
    expect(docs).toHaveLength(1);
    expect(Object.keys(compose.services).sort()).toEqual(['edge', 'gateway']);
    for (const [name, svc] of [['gateway', gw], ['edge', edge]] as const) {
      expect(svc.build?.context, name).toBe('..');
      const contextDir = resolve(DEPLOY, svc.build?.context ?? '.');
      expect(contextDir).toBe(ROOT);
      expect(existsSync(join(contextDir, svc.build?.dockerfile ?? '')), name).toBe(true);
    }
    expect(gw.build?.dockerfile).toBe('deploy/Dockerfile');
    expect(edge.build?.dockerfile).toBe('deploy/nginx/Dockerfile');
  });

  it('publishes RTMP on the gateway and HTTP on the edge', () => {
    expect(gw.ports).toContain('1935:1935');
    expect(edge.ports).toContain('8080:8080');
  });

  it('configures the gateway for an edge in front, with time to drain', () => {
    const env = envMap(gw.environment);
    const known = new Set(Object.values(SETTINGS).map((s) => envName(s.flag)));
    for (const key of Object.keys(env)) expect(known, `unknown setting ${key}`).toContain(key);
    const config = resolveConfig({}, env);
    expect(config.playlistRateLimit).toBe(0);
    expect(config.shutdownDrain).toBeGreaterThan(0);
    expect(durationSeconds(gw.stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdownDrain + FORCED_EXIT_AFTER_DRAIN_S);
    expect(JSON.stringify(gw.healthcheck?.test)).toContain('/healthz');
  });

  it('starts the edge once the gateway is healthy, pointed at it', () => {
    const depends = edge.depends_on as Record<string, { condition?: string }>;
    expect(depends['gateway']?.condition).toBe('service_healthy');
    expect(envMap(edge.environment)['EDGE_ORIGINS']).toBe('gateway:8000');
    const tmpfs = ([] as string[]).concat(edge.tmpfs ?? []);
    expect(tmpfs.some((t) => t.split(':')[0] === '/var/lib/streamgate-edge/cache')).toBe(true);
  });
});

// ---- Grafana ------------------------------------------------------------------------------------

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr: string; datasource?: { uid?: string } }[];
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(read('deploy', 'grafana', 'streamgate-dashboard.json')) as {
    schemaVersion: number;
    panels: Panel[];
    templating: { list: { name: string; type: string; query?: unknown }[] };
    __inputs?: { name: string; type: string; pluginId: string }[];
  };
  const metrics = new GatewayMetrics();
  const registered = new Map(
    metrics.registry.getMetricsAsArray().map((m) => [m.name, { type: String(m.type), labels: (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [] }]),
  );
  const targets = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  /** A series name in an expression -> the metric registered under it (histogram series suffixes stripped). */
  const metricOf = (series: string): string => {
    if (registered.has(series)) return series;
    const base = series.replace(/_(bucket|sum|count)$/, '');
    return registered.get(base)?.type === 'histogram' ? base : series;
  };

  it('is a schema 39 dashboard on a Prometheus data source chosen at import', () => {
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.templating.list).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', query: 'prometheus' })]));
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
      expect(p.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it('uses only metrics the gateway registers', () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const { panel, expr } of targets) {
      const names = expr.match(/streamgate_[a-z_]+/g) ?? [];
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(registered.has(metricOf(name)), `${panel}: ${name} is not registered by GatewayMetrics`).toBe(true);
    }
  });

  it('groups and filters only by labels the metrics have', () => {
    const scrapeLabels = new Set(['instance', 'job', 'le']);
    for (const { panel, expr } of targets) {
      const metricNames = [...new Set((expr.match(/streamgate_[a-z_]+/g) ?? []).map(metricOf))];
      const used = new Set<string>();
      for (const m of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) for (const l of m[1].split(',')) used.add(l.trim());
      for (const m of expr.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([a-zA-Z_]+)\s*(?:=~|!~|!=|=)/g)) used.add(l[1]);
      for (const label of [...used].filter((l) => l && !scrapeLabels.has(l))) {
        for (const name of metricNames) expect(registered.get(name)?.labels, `${panel}: ${name} has no label ${label}`).toContain(label);
      }
    }
  });

  it('shows what the brief asks for', () => {
    const all = targets.map((t) => t.expr).join('\n');
    for (const needed of [
      'streamgate_streams_live',
      'streamgate_ingest_bitrate_bits_per_second',
      'streamgate_viewers',
      'streamgate_cache_hit_ratio',
      'streamgate_http_requests_total',
      'streamgate_transcoder_restarts_total',
    ]) {
      expect(all).toContain(needed);
    }
    // Availability delays are histograms: quantiles over the rate of their buckets.
    for (const h of ['streamgate_segment_availability_delay_seconds', 'streamgate_part_availability_delay_seconds']) {
      expect(registered.get(h)?.type).toBe('histogram');
      for (const q of ['0.5', '0.9']) expect(all).toMatch(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, sum by \\(le[^)]*\\) \\(rate\\(${h}_bucket`));
    }
  });
});

// ---- edge entrypoint ----------------------------------------------------------------------------

const ENTRYPOINT = join(DEPLOY, 'nginx', 'entrypoint.sh');
const hasTool = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function runEntrypoint(env: Record<string, string>, prefix: string): { status: number | null; stdout: string; stderr: string } {
  // A stand-in nginx that prints how it was started.
  const bin = join(prefix, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'nginx'), '#!/bin/sh\necho "nginx $*"\n');
  chmodSync(join(bin, 'nginx'), 0o755);
  const r = spawnSync('sh', [ENTRYPOINT], {
    env: { PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, EDGE_PREFIX: join(prefix, 'edge'), ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('edge entrypoint', () => {
  const script = readFileSync(ENTRYPOINT, 'utf8');
  const templates = { nginxConf: read('deploy', 'nginx', 'nginx.conf'), edgeConf: read('deploy', 'nginx', 'edge.conf') };

  it('substitutes exactly the placeholders of the nginx templates', () => {
    const placeholders = new Set<string>();
    for (const t of [templates.nginxConf, templates.edgeConf]) for (const m of t.matchAll(/\$\{(EDGE_[A-Z_]+)\}/g)) placeholders.add(m[1]);
    expect(placeholders.size).toBeGreaterThan(0);
    const calls = [...script.matchAll(/envsubst\s+'([^']*)'/g)].map((m) => [...m[1].matchAll(/\$\{([A-Z_]+)\}/g)].map((x) => x[1]).sort());
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const vars of calls) expect(vars).toEqual([...placeholders].sort());
    // envsubst only sees exported variables.
    const exported = [...script.matchAll(/^\s*export\s+(.+)$/gm)].flatMap((m) => m[1].trim().split(/\s+/));
    for (const p of placeholders) expect(exported, `${p} is not exported`).toContain(p);
  });

  it.skipIf(!hasTool('envsubst'))('renders what src/edge/render.ts renders, then execs nginx on it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamgate-edge-entry-'));
    try {
      const r = runEntrypoint({ EDGE_ORIGINS: ' gw-a:8000   10.0.0.2:8001 ', EDGE_LISTEN: '18080' }, dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const prefix = join(dir, 'edge');
      expect(r.stdout.trim()).toBe(`nginx -p ${prefix} -e stderr -c ${prefix}/nginx.conf`);
      const expected = renderEdge(templates, { origins: ['http://gw-a:8000', 'http://10.0.0.2:8001'], listen: '18080', prefix, cacheDir: join(prefix, 'cache') });
      expect(readFileSync(join(prefix, 'nginx.conf'), 'utf8')).toBe(expected.nginxConf);
      expect(readFileSync(join(prefix, 'edge.conf'), 'utf8')).toBe(expected.edgeConf);
      for (const d of ['tmp/client_body', 'tmp/proxy', 'tmp/fastcgi', 'tmp/uwsgi', 'tmp/scgi', 'cache']) {
        expect(existsSync(join(prefix, d)), d).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing, malformed or repeated EDGE_ORIGINS with a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'streamgate-edge-entry-'));
    try {
      for (const [origins, message] of [
        ['', /EDGE_ORIGINS is empty/],
        ['   ', /EDGE_ORIGINS is empty/],
        ['http://gw:8000', /not HOST:PORT/],
        ['gw', /has no port/],
        ['gw:80x', /has no port/],
        ['gw:8000 gw:8000', /given twice/],
      ] as const) {
        const r = runEntrypoint({ EDGE_ORIGINS: origins }, dir);
        expect(r.status, origins).not.toBe(0);
        expect(r.stderr, origins).toMatch(message);
        expect(r.stdout, origins).not.toContain('nginx -p');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
