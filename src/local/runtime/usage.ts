/**
 * Real resource numbers for a sandbox: cgroup memory and CPU counters (or /proc sums without
 * cgroups), a bounded disk walk of its directories, and its process list.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxCgroup } from './cgroups.js';
import { CLOCK_TICKS, STATE_NAMES, readProc, systemUptimeTicks } from './proc.js';
import type { SandboxDirs, SandboxLimits, SandboxProcessInfo, SandboxUsage } from './types.js';

const MIB = 1024 * 1024;
/** The disk walk stops after this many entries so usage() stays fast on huge trees. */
const MAX_DISK_ENTRIES = 50_000;
const CPU_WINDOW_MS = 100;

export interface CpuSample {
  usageUs: number;
  at: number;
}

async function cpuUsageUs(cgroup: SandboxCgroup | null, pids: number[]): Promise<number> {
  const fromCgroup = cgroup ? await cgroup.cpuUsageUs() : null;
  if (fromCgroup !== null) return fromCgroup;
  const procs = await Promise.all(pids.map(readProc));
  return procs.reduce((sum, p) => sum + (p ? (p.cpuTicks * 1_000_000) / CLOCK_TICKS : 0), 0);
}

/** Apparent bytes of a tree, not following links, stopping after MAX_DISK_ENTRIES entries. */
async function diskUsageBytes(roots: string[]): Promise<number> {
  let total = 0;
  let entries = 0;
  const stack = [...roots];
  while (stack.length > 0 && entries < MAX_DISK_ENTRIES) {
    const dir = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++entries > MAX_DISK_ENTRIES) break;
      const path = join(dir, name);
      try {
        const info = await lstat(path);
        total += info.blocks * 512;
        if (info.isDirectory()) stack.push(path);
      } catch {
        /* vanished */
      }
    }
  }
  return total;
}

export async function collectUsage(o: {
  cgroup: SandboxCgroup | null;
  pids: number[];
  limits: SandboxLimits;
  dirs: SandboxDirs;
  previousCpu: CpuSample | null;
  startedAt: number;
}): Promise<{ usage: SandboxUsage; cpuSample: CpuSample }> {
  let previous = o.previousCpu;
  if (!previous) {
    previous = { usageUs: await cpuUsageUs(o.cgroup, o.pids), at: Date.now() };
    await new Promise((r) => setTimeout(r, CPU_WINDOW_MS));
  }
  const current: CpuSample = { usageUs: await cpuUsageUs(o.cgroup, o.pids), at: Date.now() };
  const wallUs = Math.max(1, (current.at - previous.at) * 1000);
  const cores = o.limits.vcpu;
  const cpuPercent = Math.min(100, Math.max(0, ((current.usageUs - previous.usageUs) / (wallUs * cores)) * 100));

  const procs = (await Promise.all(o.pids.map(readProc))).filter((p) => p !== null);
  const memoryTotal = o.limits.memoryMb * MIB;
  const memoryUsed = (o.cgroup ? await o.cgroup.memoryUsedBytes() : null) ?? procs.reduce((s, p) => s + p.rssBytes, 0);

  // The sandbox's own files. There is no quota: they share this machine's filesystem, so the total
  // is what the sandbox could reach, its files plus the space still free there, not the size of
  // the whole disk (most of which holds this machine's own files).
  const diskUsed = await diskUsageBytes([o.dirs.workspace, o.dirs.home, o.dirs.scratch]);
  const fs = await statfs(o.dirs.root).catch(() => null);
  const diskTotal = fs ? diskUsed + fs.bavail * fs.bsize : diskUsed;

  return {
    cpuSample: current,
    usage: {
      cpu: { usagePercent: round(cpuPercent), cores },
      memory: { totalBytes: memoryTotal, usedBytes: memoryUsed, usagePercent: round((memoryUsed / memoryTotal) * 100) },
      disk: { totalBytes: diskTotal, usedBytes: diskUsed, usagePercent: round(diskTotal ? (diskUsed / diskTotal) * 100 : 0) },
      processes: { count: procs.length, running: procs.filter((p) => p.state === 'R').length },
      uptimeSeconds: Math.round((Date.now() - o.startedAt) / 1000),
    },
  };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

export async function collectProcesses(pids: number[], sandboxUid: number | null): Promise<SandboxProcessInfo[]> {
  const [procs, uptimeTicks] = await Promise.all([Promise.all(pids.map(readProc)), systemUptimeTicks()]);
  const ownUid = process.geteuid?.() ?? -1;
  return procs
    .filter((p) => p !== null)
    .map((p) => {
      const ageTicks = Math.max(1, uptimeTicks - p.startTicks);
      const asRoot = p.uidInNs === sandboxUid || (sandboxUid === null && p.uidInNs === ownUid);
      return {
        pid: p.nsPid,
        name: p.name,
        command: p.command,
        user: asRoot ? 'root' : String(p.uidInNs),
        status: STATE_NAMES[p.state] ?? p.state,
        cpuPercent: round((p.cpuTicks / ageTicks) * 100),
        memoryMb: round(p.rssBytes / MIB),
      };
    })
    .sort((a, b) => a.pid - b.pid);
}
