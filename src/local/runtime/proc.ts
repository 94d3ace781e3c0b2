/**
 * Reading /proc on the host: which processes belong to a sandbox, and what they look like.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';

export interface ProcEntry {
  hostPid: number;
  /** pid in the innermost pid namespace (what the sandbox sees). */
  nsPid: number;
  ppidHost: number;
  name: string;
  command: string;
  uidInNs: number;
  state: string;
  /** utime + stime in clock ticks. */
  cpuTicks: number;
  /** Start time in clock ticks after boot. */
  startTicks: number;
  rssBytes: number;
}

/** True while a host pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signal one host pid; a process that is already gone is not an error. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

const CLOCK_TICKS = 100;
const PAGE_SIZE = 4096;

export async function pidNamespaceOf(pid: number): Promise<string | null> {
  try {
    return await readlink(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

async function allPids(): Promise<number[]> {
  return (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
}

/** Host pids of every process in the given pid namespace (e.g. the anchor's). */
export async function pidsInNamespace(ns: string): Promise<number[]> {
  const result: number[] = [];
  await Promise.all(
    (await allPids()).map(async (pid) => {
      if ((await pidNamespaceOf(pid)) === ns) result.push(pid);
    }),
  );
  return result.sort((a, b) => a - b);
}

/** Host pids of pid and all its descendants (walks /proc/<pid>/task/<tid>/children). */
export async function descendantsOf(pid: number): Promise<number[]> {
  const seen = new Set<number>();
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    let tasks: string[];
    try {
      tasks = await readdir(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const children = await readFile(`/proc/${current}/task/${tid}/children`, 'utf8').catch(() => '');
      for (const child of children.split(' ')) if (child.trim()) queue.push(Number(child));
    }
  }
  return [...seen];
}

export async function readProc(pid: number): Promise<ProcEntry | null> {
  try {
    const [status, stat, cmdline] = await Promise.all([
      readFile(`/proc/${pid}/status`, 'utf8'),
      readFile(`/proc/${pid}/stat`, 'utf8'),
      readFile(`/proc/${pid}/cmdline`, 'utf8'),
    ]);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
    const nsPids = field('NSpid').split(/\s+/).filter(Boolean).map(Number);
    // stat: "pid (comm) state ppid ..." — comm may contain spaces and parens, so split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      hostPid: pid,
      nsPid: nsPids[nsPids.length - 1] ?? pid,
      ppidHost: Number(rest[1]),
      name: field('Name'),
      command: cmdline.split('\0').filter(Boolean).join(' ') || `[${field('Name')}]`,
      uidInNs: Number(field('Uid').split(/\s+/)[0]),
      state: rest[0],
      cpuTicks: Number(rest[11]) + Number(rest[12]),
      startTicks: Number(rest[19]),
      rssBytes: Number(rest[21]) * PAGE_SIZE,
    };
  } catch {
    return null;
  }
}

export async function systemUptimeTicks(): Promise<number> {
  const uptime = Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
  return uptime * CLOCK_TICKS;
}

export const STATE_NAMES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'disk-sleep',
  T: 'stopped',
  t: 'tracing-stop',
  Z: 'zombie',
  X: 'dead',
  I: 'idle',
};

export { CLOCK_TICKS };
