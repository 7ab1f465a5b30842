/**
 * Retention of recordings under DIR/APP/KEY/SESSION: whole sessions are deleted, oldest first,
 * until the remaining ones are young enough and fit the byte budget. A live session (still being
 * written) is never deleted, whatever its age or size.
 */
import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';

export interface RetentionLimits {
  /** Sessions whose last write is older than this are deleted. */
  readonly maxAgeHours?: number;
  /** Sessions are deleted, oldest first, until all of them together hold at most this. */
  readonly maxBytes?: number;
}

export interface PruneOptions extends RetentionLimits {
  /** ms since epoch; defaults to Date.now(). */
  readonly now?: number;
  /** Session directories (absolute or relative to cwd) being recorded now: never deleted. */
  readonly live?: Iterable<string>;
  /** Bound on the sessions looked at in one pass, so a huge tree cannot stall retention. */
  readonly maxSessions?: number;
}

export interface RecordedSession {
  /** DIR/APP/KEY/SESSION, absolute. */
  readonly path: string;
  /** ms since epoch the publish started: the session id is its base-36 form (StreamOutput.session). */
  readonly startedAt: number;
  /** ms since epoch of the newest file in it. */
  readonly lastWriteAt: number;
  readonly bytes: number;
}

export interface PruneResult {
  readonly removed: readonly string[];
  readonly keptBytes: number;
}

const DEFAULT_MAX_SESSIONS = 100_000;

async function entries(dir: string): Promise<import('node:fs').Dirent[]> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Bytes and newest mtime of the files under `dir` (two levels: SESSION and SESSION/REND). */
async function measure(dir: string, depth: number): Promise<{ bytes: number; lastWriteAt: number }> {
  let bytes = 0;
  let lastWriteAt = 0;
  for (const e of await entries(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory() && depth > 0) {
      const inner = await measure(path, depth - 1);
      bytes += inner.bytes;
      lastWriteAt = Math.max(lastWriteAt, inner.lastWriteAt);
    } else if (e.isFile()) {
      try {
        const st = await fsp.stat(path);
        bytes += st.size;
        lastWriteAt = Math.max(lastWriteAt, st.mtimeMs);
      } catch {
        // Gone meanwhile (a .tmp renamed): not counted.
      }
    }
  }
  return { bytes, lastWriteAt };
}

/** The session id as a publish time, when the directory name is one (StreamOutput.session). */
function sessionStart(name: string): number | undefined {
  if (!/^[0-9a-z]{1,12}$/.test(name)) return undefined;
  const ms = Number.parseInt(name, 36);
  return Number.isSafeInteger(ms) && ms.toString(36) === name ? ms : undefined;
}

/** Every DIR/APP/KEY/SESSION directory with its size and age, oldest publish first. */
export async function listRecordedSessions(dir: string, maxSessions = DEFAULT_MAX_SESSIONS): Promise<RecordedSession[]> {
  const root = resolve(dir);
  const out: RecordedSession[] = [];
  for (const app of await entries(root)) {
    if (!app.isDirectory()) continue;
    for (const key of await entries(join(root, app.name))) {
      if (!key.isDirectory()) continue;
      for (const session of await entries(join(root, app.name, key.name))) {
        if (!session.isDirectory()) continue;
        if (out.length >= maxSessions) break;
        const path = join(root, app.name, key.name, session.name);
        const { bytes, lastWriteAt } = await measure(path, 1);
        const startedAt = sessionStart(session.name) ?? lastWriteAt;
        out.push({ path, startedAt, lastWriteAt: Math.max(lastWriteAt, startedAt), bytes });
      }
    }
  }
  return out.sort((a, b) => a.startedAt - b.startedAt || a.lastWriteAt - b.lastWriteAt || (a.path < b.path ? -1 : 1));
}

/** Removes `path` and then its KEY and APP directories when they became empty. */
async function removeSession(root: string, path: string): Promise<void> {
  await fsp.rm(path, { recursive: true, force: true });
  let parent = join(path, '..');
  for (let i = 0; i < 2 && parent.startsWith(root) && parent !== root; i++) {
    try {
      // Only succeeds when empty: a key another publish records into keeps its directory.
      await fsp.rmdir(parent);
    } catch {
      break;
    }
    parent = join(parent, '..');
  }
}

/**
 * Applies the retention limits to the recordings under `dir`: first every non-live session older
 * than maxAgeHours (by its last write), then the oldest non-live sessions until the total is
 * within maxBytes (live sessions count toward the total but are kept, so the budget may stay
 * exceeded while they grow). No limits: nothing is removed.
 */
export async function pruneRecordings(dir: string, options: PruneOptions = {}): Promise<PruneResult> {
  const root = resolve(dir);
  const now = options.now ?? Date.now();
  const live = new Set([...(options.live ?? [])].map((p) => resolve(p)));
  const sessions = await listRecordedSessions(root, options.maxSessions);
  const removed: string[] = [];
  let total = sessions.reduce((n, s) => n + s.bytes, 0);
  const maxAgeMs = options.maxAgeHours !== undefined ? options.maxAgeHours * 3_600_000 : undefined;
  const remaining: RecordedSession[] = [];
  for (const s of sessions) {
    if (!live.has(s.path) && maxAgeMs !== undefined && now - s.lastWriteAt > maxAgeMs) {
      await removeSession(root, s.path);
      removed.push(s.path);
      total -= s.bytes;
    } else remaining.push(s);
  }
  if (options.maxBytes !== undefined) {
    for (const s of remaining) {
      if (total <= options.maxBytes) break;
      if (live.has(s.path)) continue;
      await removeSession(root, s.path);
      removed.push(s.path);
      total -= s.bytes;
    }
  }
  return { removed, keptBytes: total };
}
