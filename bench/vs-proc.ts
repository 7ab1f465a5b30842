/**
 * A server's whole process tree read from /proc (Linux): CPU ticks and resident memory of a
 * server and every process it started (nginx's master, workers and cache manager; N ffmpegs),
 * and stopping that tree by PID.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux this runs on). */
export const CLK_TCK = 100;
const PAGE_SIZE = 4096;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, ticks: a process's own time and that of its reaped children. */
  ticks: number;
  rssBytes: number;
  /** Start time (ticks after boot): with pid, identifies one process even if its pid is reused. */
  startTime: number;
}

/** Parses /proc/PID/stat; the command name (field 2) may contain spaces and ')' so split after the last ')'. */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone between readdir and read
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid = field 4, utime..cstime = fields 14..17, starttime = 22, rss = 24.
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { pid, ppid: Number(f[1]), ticks, rssBytes: Number(f[21]) * PAGE_SIZE, startTime: Number(f[19]) };
}

function allProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/**
 * Every process below the given wrapper pids (the `timeout` processes that bound each server
 * process), the wrappers themselves excluded: they are ours, not the server's.
 */
export function descendants(wrappers: readonly number[]): ProcStat[] {
  const procs = allProcesses();
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const queue = [...wrappers];
  while (queue.length > 0) {
    for (const c of children.get(queue.pop()!) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** CPU seconds used so far by the tree below the wrappers. */
export function treeCpuSeconds(wrappers: readonly number[]): number {
  return descendants(wrappers).reduce((sum, p) => sum + p.ticks, 0) / CLK_TCK;
}

export function treeRssBytes(wrappers: readonly number[]): number {
  return descendants(wrappers).reduce((sum, p) => sum + p.rssBytes, 0);
}

/**
 * Samples the tree's RSS every `everyMs`; stop() (idempotent) returns the peak, and samples()
 * every (ms since start, bytes) pair, for a slope.
 */
export function startRssSampler(wrappers: readonly number[], everyMs = 250): { stop(): number; samples(): readonly RssSample[] } {
  const started = performance.now();
  const samples: RssSample[] = [];
  const sample = (): number => {
    const bytes = treeRssBytes(wrappers);
    samples.push({ atMs: performance.now() - started, bytes });
    return bytes;
  };
  let peak = sample();
  let timer: NodeJS.Timeout | undefined = setInterval(() => (peak = Math.max(peak, sample())), everyMs);
  return {
    stop: () => {
      if (timer) peak = Math.max(peak, sample());
      clearInterval(timer);
      timer = undefined;
      return peak;
    },
    samples: () => samples,
  };
}

export interface RssSample {
  readonly atMs: number;
  readonly bytes: number;
}

/** Least-squares slope of RSS over the last half of the samples, MB per minute (flat is ~0). */
export function rssSlopeMbPerMin(samples: readonly RssSample[]): number {
  const half = samples.slice(Math.floor(samples.length / 2));
  if (half.length < 2) return 0;
  const xs = half.map((s) => s.atMs / 60_000);
  const ys = half.map((s) => s.bytes / 1e6);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function exitedPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to a `timeout` wrapper (it forwards the signal to the command it runs), then after
 * `graceMs` SIGKILL to the wrapper and to every process that was below it when we began: a
 * SIGKILLed `timeout` cannot forward anything, and orphans are reparented away from it, so they
 * are found again by pid + start time (never a reused pid).
 */
export async function stopWrapped(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const tree = descendants([pid]);
  const exited = exitedPromise(child);
  killQuietly(pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
  clearTimeout(timer);
  if (late) killQuietly(pid, 'SIGKILL');
  for (const p of tree) {
    const now = readStat(p.pid);
    if (now && now.startTime === p.startTime) killQuietly(p.pid, 'SIGKILL');
  }
  await exited;
}

/** For a bench helper process: resolves on a "stop" line on stdin, or when stdin ends (the orchestrator went away). */
export function stopRequested(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.on('data', (d: Buffer) => {
      if (d.toString().includes('stop')) resolve();
    });
    process.stdin.on('end', () => resolve());
  });
}
