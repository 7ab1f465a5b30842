/**
 * A small Dockerfile lint with our own rules for the images in deploy/ (no docker engine or
 * hadolint needed). Pure: text in, findings out.
 *
 * Parsing follows the Dockerfile reference closely enough for our files: parser directives
 * (`# escape=`), comment lines (also inside a continued instruction), line continuations with
 * the escape character, keywords case-insensitive. Heredocs (`RUN <<EOF`) are not supported.
 */

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, USER, ... */
  readonly keyword: string;
  /** Everything after the keyword, continuation lines joined with a space, trimmed. */
  readonly args: string;
  /** 1-based line where the instruction starts. */
  readonly line: number;
}

export interface Stage {
  /** The FROM instruction opening the stage. */
  readonly from: Instruction;
  /** The image (or earlier stage) it starts from, global ARGs substituted. */
  readonly image: string;
  /** `AS name`, lower-cased, if any. */
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface LintOptions {
  /** More than one FROM (a build stage and a lean runtime stage). */
  readonly requireMultiStage?: boolean;
  /** Some stage installs production dependencies only: `npm ci --omit=dev`. */
  readonly requireNpmCiOmitDev?: boolean;
}

export type Rule = 'pinned-from' | 'non-root-user' | 'healthcheck' | 'multi-stage' | 'npm-ci-omit-dev' | 'no-add-url' | 'syntax';

export interface Finding {
  readonly rule: Rule;
  readonly line: number;
  readonly message: string;
}

const DIRECTIVE = /^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$/;

/** Splits a Dockerfile into instructions. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let i = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i]);
    if (!m) break;
    if (m[1].toLowerCase() === 'escape' && (m[2] === '`' || m[2] === '\\')) escape = m[2];
  }
  const out: Instruction[] = [];
  let parts: string[] = [];
  let start = 0;
  const flush = (): void => {
    const joined = parts.join(' ').trim();
    parts = [];
    if (!joined) return;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(joined);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: start });
  };
  for (; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    // A comment line is dropped, also in the middle of a continued instruction.
    if (trimmed.startsWith('#')) continue;
    // Blank lines between instructions, and inside a continued one (Docker skips those too).
    if (trimmed === '') continue;
    if (parts.length === 0) start = i + 1;
    const body = raw.replace(/\s+$/, '');
    if (body.endsWith(escape)) {
      parts.push(body.slice(0, -1).trim());
      continue;
    }
    parts.push(body.trim());
    flush();
  }
  flush();
  return out;
}

/** `${NAME}` / `$NAME` from the ARGs declared before the first FROM (their defaults). */
function substitute(value: string, args: ReadonlyMap<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a: string | undefined, b: string | undefined) => {
    const v = args.get((a ?? b) as string);
    return v === undefined ? all : v;
  });
}

/** Groups the instructions into stages (the global ARGs before the first FROM are applied). */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: { from: Instruction; image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = substitute(words[0] ?? '', globalArgs);
      const name = words.length >= 3 && words[1].toUpperCase() === 'AS' ? words[2].toLowerCase() : undefined;
      stages.push({ from: ins, image, name, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword === 'ARG') {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args);
        if (m && m[2] !== undefined) globalArgs.set(m[1], m[2].replace(/^(["'])(.*)\1$/, '$2'));
      }
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

/**
 * Why an image reference is not pinned, or undefined when it is: an `@sha256:` digest, or a tag
 * starting with a full version (`20.20.2-bookworm-slim`, `12.11-slim`, `v1.2`). A missing tag,
 * `latest`, a bare major (`20-slim`) or a codename (`bookworm-slim`) move under you.
 */
export function unpinnedReason(image: string): string | undefined {
  if (image === '') return 'FROM without an image';
  if (image.includes('$')) return `${image}: uses a variable without a default (global ARG)`;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  if (image.includes('@')) return `${image}: malformed digest (expected @sha256: and 64 hex digits)`;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return `${image}: no tag (means latest)`;
  const tag = image.slice(colon + 1);
  if (tag === 'latest') return `${image}: the latest tag moves`;
  if (!/^v?\d+\.\d+/.test(tag)) return `${image}: tag "${tag}" is not a full version (x.y or x.y.z)`;
  return undefined;
}

/** The user of a USER instruction is root. */
function isRootUser(args: string): boolean {
  const user = args.split(':')[0].trim();
  return user === '' || user === 'root' || user === '0';
}

/** Checks a Dockerfile against our rules; an empty list means it passes. */
export function lintDockerfile(text: string, options: LintOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const instructions = parseDockerfile(text);
  const stages = stagesOf(instructions);
  if (stages.length === 0) return [{ rule: 'syntax', line: 1, message: 'no FROM instruction' }];

  const stageNames = new Set<string>();
  for (const stage of stages) {
    const ref = stage.image.toLowerCase();
    // FROM an earlier stage, or the empty image, pins nothing new.
    if (!stageNames.has(ref) && ref !== 'scratch') {
      const reason = unpinnedReason(stage.image);
      if (reason) findings.push({ rule: 'pinned-from', line: stage.from.line, message: `FROM ${reason}` });
    }
    if (stage.name) stageNames.add(stage.name);
  }

  for (const ins of instructions) {
    if (ins.keyword !== 'ADD') continue;
    const sources = ins.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
    for (const s of sources) {
      if (/^(https?|ftp):\/\//i.test(s) || /^git@/.test(s) || /\.git(#.*)?$/.test(s)) {
        findings.push({ rule: 'no-add-url', line: ins.line, message: `ADD of a URL (${s}): download in a RUN with a checksum, or COPY a local file` });
      }
    }
  }

  const final = stages[stages.length - 1];
  const users = final.instructions.filter((i) => i.keyword === 'USER');
  const lastUser = users[users.length - 1];
  if (!lastUser) findings.push({ rule: 'non-root-user', line: final.from.line, message: 'the final stage sets no USER: the container runs as root' });
  else if (isRootUser(lastUser.args)) findings.push({ rule: 'non-root-user', line: lastUser.line, message: `the final stage runs as root (USER ${lastUser.args})` });

  const healthchecks = final.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
  const lastHealthcheck = healthchecks[healthchecks.length - 1];
  if (!lastHealthcheck) findings.push({ rule: 'healthcheck', line: final.from.line, message: 'the final stage has no HEALTHCHECK' });
  else if (/^NONE$/i.test(lastHealthcheck.args)) findings.push({ rule: 'healthcheck', line: lastHealthcheck.line, message: 'HEALTHCHECK NONE turns the health check off' });
  else if (!/(^|\s)CMD(\s|$)/i.test(lastHealthcheck.args)) findings.push({ rule: 'healthcheck', line: lastHealthcheck.line, message: 'HEALTHCHECK without CMD' });

  if (options.requireMultiStage && stages.length < 2) {
    findings.push({ rule: 'multi-stage', line: final.from.line, message: 'single stage: build in one stage, copy the output into a lean runtime stage' });
  }

  if (options.requireNpmCiOmitDev) {
    const runs = instructions.filter((i) => i.keyword === 'RUN');
    if (!runs.some((r) => /\bnpm\s+ci\b[^;&|]*--omit(=|\s+)dev\b/.test(r.args))) {
      findings.push({ rule: 'npm-ci-omit-dev', line: final.from.line, message: 'no `npm ci --omit=dev`: the runtime would carry the dev dependencies, or unlocked ones' });
    }
  }
  return findings;
}
