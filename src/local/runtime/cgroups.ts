/**
 * cgroups for sandboxes: one dedicated subtree per runtime, `<mount>/hopx-local/<owner>/<sandbox id>`,
 * created at the root of each hierarchy so it is never nested under (and limited by) the backend's
 * own cgroup. Supports pure cgroup v2 and the hybrid layout of this machine kind (v1 memory, pids,
 * cpu, cpuacct, freezer + a controller-less cgroup2 tree whose cgroup.freeze / cgroup.kill work).
 * See docs/isolation.md §4.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, signalPid } from './proc.js';

type V1Controller = 'memory' | 'pids' | 'cpu' | 'cpuacct' | 'freezer';
const V1_CONTROLLERS: V1Controller[] = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'];

export interface CgroupLayout {
  kind: 'v2' | 'hybrid' | 'none';
  /** Mount points of the writable v1 controllers (hybrid only). */
  v1: Partial<Record<V1Controller, string>>;
  /** Mount point of the cgroup2 tree, if writable. */
  unified: string | null;
  /** cgroup2 features seen on a test cgroup. */
  unifiedFreeze: boolean;
  unifiedKill: boolean;
  /** Why the layout is weaker than it could be. */
  notes: string[];
}

const SUBTREE = 'hopx-local';
const PERIOD_US = 100_000;

interface Mount {
  type: string;
  point: string;
  options: string[];
}

function readMounts(): Mount[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, point, type, options] = line.split(' ');
      return { type, point: point.replace(/\\040/g, ' '), options: options.split(',') };
    });
}

async function canCreateChild(base: string): Promise<{ ok: boolean; files: string[] }> {
  const probe = join(base, SUBTREE, `probe-${process.pid}-${Date.now()}`);
  try {
    await mkdir(probe, { recursive: true });
    const files = await readdir(probe);
    await rmdir(probe);
    return { ok: true, files };
  } catch {
    return { ok: false, files: [] };
  }
}

/** Detect which cgroup hierarchies exist and which we can write. Needs root (or a delegated tree). */
export async function detectCgroupLayout(): Promise<CgroupLayout> {
  const layout: CgroupLayout = { kind: 'none', v1: {}, unified: null, unifiedFreeze: false, unifiedKill: false, notes: [] };
  const mounts = readMounts();
  const cgroup2 = mounts.find((m) => m.type === 'cgroup2');
  if (cgroup2) {
    const test = await canCreateChild(cgroup2.point);
    if (test.ok) {
      layout.unified = cgroup2.point;
      layout.unifiedFreeze = test.files.includes('cgroup.freeze');
      layout.unifiedKill = test.files.includes('cgroup.kill');
    } else {
      layout.notes.push(`cgroup2 tree at ${cgroup2.point} is not writable`);
    }
  }
  if (layout.unified) {
    const controllers = readFileSync(join(layout.unified, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
    if (controllers.includes('memory') && controllers.includes('pids')) {
      layout.kind = 'v2';
      return layout;
    }
  }
  for (const mount of mounts.filter((m) => m.type === 'cgroup')) {
    for (const controller of V1_CONTROLLERS) {
      if (mount.options.includes(controller) && !layout.v1[controller] && (await canCreateChild(mount.point)).ok) {
        layout.v1[controller] = mount.point;
      }
    }
  }
  if (layout.v1.memory && layout.v1.pids) layout.kind = 'hybrid';
  else if (mounts.some((m) => m.type === 'cgroup' || m.type === 'cgroup2')) {
    layout.notes.push('no writable memory+pids cgroup controllers (run the backend as root for resource limits)');
  } else {
    layout.notes.push('no cgroup filesystem mounted');
  }
  return layout;
}

async function writeFileIfExists(path: string, value: string): Promise<void> {
  if (existsSync(path)) await writeFile(path, value);
}

async function readNumber(path: string): Promise<number | null> {
  try {
    const n = Number((await readFile(path, 'utf8')).trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Read `key value` lines (memory.events, memory.oom_control, cpu.stat, cgroup.events). */
async function readKeyed(path: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    for (const line of (await readFile(path, 'utf8')).split('\n')) {
      const [key, value] = line.trim().split(/\s+/);
      if (key && value !== undefined) out[key] = Number(value);
    }
  } catch {
    /* missing file: no values */
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
}

export interface CgroupLimits {
  memoryBytes: number;
  vcpu: number;
  maxProcesses: number;
}

/** The cgroups of one sandbox across every hierarchy in use. */
export class SandboxCgroup {
  private constructor(
    private readonly layout: CgroupLayout,
    /** controller name (or 'unified') → directory */
    private readonly dirs: Map<string, string>,
  ) {}

  static async create(layout: CgroupLayout, owner: string, id: string, limits: CgroupLimits): Promise<SandboxCgroup> {
    const dirs = new Map<string, string>();
    if (layout.unified) dirs.set('unified', join(layout.unified, SUBTREE, owner, id));
    if (layout.kind === 'hybrid') {
      for (const [controller, mount] of Object.entries(layout.v1)) dirs.set(controller, join(mount, SUBTREE, owner, id));
    }
    const cg = new SandboxCgroup(layout, dirs);
    if (layout.kind === 'v2' && layout.unified) {
      // Controllers must be enabled on every ancestor's subtree_control.
      for (const dir of [layout.unified, join(layout.unified, SUBTREE), join(layout.unified, SUBTREE, owner)]) {
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'cgroup.subtree_control'), '+memory +pids +cpu').catch(() =>
          writeFile(join(dir, 'cgroup.subtree_control'), '+memory +pids'),
        );
      }
    }
    for (const dir of dirs.values()) await mkdir(dir, { recursive: true });
    await cg.applyLimits(limits);
    return cg;
  }

  private async applyLimits(limits: CgroupLimits): Promise<void> {
    const quota = String(Math.max(1000, Math.round(limits.vcpu * PERIOD_US)));
    if (this.layout.kind === 'v2') {
      const dir = this.dirs.get('unified')!;
      await writeFile(join(dir, 'memory.max'), String(limits.memoryBytes));
      await writeFileIfExists(join(dir, 'memory.swap.max'), '0');
      await writeFile(join(dir, 'pids.max'), String(limits.maxProcesses));
      await writeFileIfExists(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
      return;
    }
    const memory = this.dirs.get('memory');
    if (memory) {
      await writeFile(join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      // memsw must be >= the memory limit; equal means no swap at all.
      await writeFileIfExists(join(memory, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes)).catch(() => {});
      await writeFileIfExists(join(memory, 'memory.swappiness'), '0').catch(() => {});
    }
    const pids = this.dirs.get('pids');
    if (pids) await writeFile(join(pids, 'pids.max'), String(limits.maxProcesses));
    const cpu = this.dirs.get('cpu');
    if (cpu) {
      await writeFile(join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(cpu, 'cpu.cfs_quota_us'), quota);
    }
  }

  /** Every cgroup.procs file a process must join (the race-free prelude writes its own pid to each). */
  get procsFiles(): string[] {
    return [...this.dirs.values()].map((dir) => join(dir, 'cgroup.procs'));
  }

  private dir(name: string): string | undefined {
    return this.dirs.get(name);
  }

  /** Host pids of every process in the sandbox's cgroup. */
  async pids(): Promise<number[]> {
    const dir = this.dir('unified') ?? this.dir('pids') ?? this.dir('memory');
    if (!dir) return [];
    try {
      return (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  /** Cumulative OOM kills in this sandbox's memory cgroup. */
  async oomKills(): Promise<number> {
    if (this.layout.kind === 'v2') return (await readKeyed(join(this.dir('unified')!, 'memory.events'))).oom_kill ?? 0;
    const memory = this.dir('memory');
    return memory ? ((await readKeyed(join(memory, 'memory.oom_control'))).oom_kill ?? 0) : 0;
  }

  async memoryUsedBytes(): Promise<number | null> {
    if (this.layout.kind === 'v2') return readNumber(join(this.dir('unified')!, 'memory.current'));
    const memory = this.dir('memory');
    return memory ? readNumber(join(memory, 'memory.usage_in_bytes')) : null;
  }

  /** Total CPU time used by the sandbox, in microseconds. */
  async cpuUsageUs(): Promise<number | null> {
    const cpuacct = this.dir('cpuacct');
    if (cpuacct) {
      const ns = await readNumber(join(cpuacct, 'cpuacct.usage'));
      if (ns !== null) return ns / 1000;
    }
    const unified = this.dir('unified');
    if (unified) return (await readKeyed(join(unified, 'cpu.stat'))).usage_usec ?? null;
    return null;
  }

  /** Which freezer this cgroup can use: cgroup2's cgroup.freeze first, else the v1 freezer. */
  freezerKind(preferV1 = false): 'v2' | 'v1' | null {
    const v2 = this.layout.unifiedFreeze && this.dirs.has('unified');
    const v1 = this.dirs.has('freezer');
    if (preferV1 && v1) return 'v1';
    return v2 ? 'v2' : v1 ? 'v1' : null;
  }

  async freeze(kind: 'v2' | 'v1'): Promise<void> {
    await this.setFrozen(true, kind);
  }

  async thaw(kind: 'v2' | 'v1'): Promise<void> {
    await this.setFrozen(false, kind);
  }

  private async setFrozen(frozen: boolean, kind: 'v2' | 'v1'): Promise<void> {
    const unified = this.dir('unified');
    if (kind === 'v2' && unified) {
      await writeFile(join(unified, 'cgroup.freeze'), frozen ? '1' : '0');
      await waitFor(async () => (await readKeyed(join(unified, 'cgroup.events'))).frozen === (frozen ? 1 : 0), 2000);
      return;
    }
    const freezer = this.dir('freezer');
    if (!freezer) throw new Error('no freezer cgroup for this sandbox');
    const target = frozen ? 'FROZEN' : 'THAWED';
    await writeFile(join(freezer, 'freezer.state'), target);
    await waitFor(async () => (await readFile(join(freezer, 'freezer.state'), 'utf8')).trim() === target, 2000);
  }

  /** SIGKILL every process in the sandbox (cgroup.kill when the kernel has it) and wait until empty. */
  async killAll(): Promise<void> {
    const unified = this.dir('unified');
    if (this.layout.unifiedKill && unified && existsSync(unified)) {
      await writeFile(join(unified, 'cgroup.kill'), '1').catch(() => {});
    }
    // Frozen processes cannot die; thaw so the kill lands (v1 freezer has no kill bypass).
    const freezer = this.dir('freezer');
    if (freezer && existsSync(freezer)) await writeFile(join(freezer, 'freezer.state'), 'THAWED').catch(() => {});
    await waitFor(async () => {
      const pids = await this.allPids();
      for (const pid of pids) signalPid(pid, 'SIGKILL');
      return pids.length === 0;
    }, 3000);
  }

  private async allPids(): Promise<number[]> {
    const seen = new Set<number>();
    for (const dir of this.dirs.values()) {
      try {
        for (const p of (await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n')) if (p) seen.add(Number(p));
      } catch {
        /* removed */
      }
    }
    return [...seen];
  }

  /** Kill everything and remove the cgroup directories. */
  async remove(): Promise<void> {
    await this.killAll();
    for (const dir of this.dirs.values()) await removeCgroupDir(dir);
  }
}

async function removeCgroupDir(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  // rmdir fails with EBUSY while the last killed tasks are still exiting.
  await waitFor(async () => {
    try {
      await rmdir(dir);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT';
    }
  }, 3000);
}

/**
 * Remove cgroups left behind by runtimes whose process is gone (a crashed backend). Owner dirs are
 * named `r<pid>-<n>`, so live runtimes sharing the machine (parallel test workers) are left alone.
 */
export async function sweepStaleCgroups(layout: CgroupLayout): Promise<string[]> {
  const bases = [layout.unified, ...Object.values(layout.v1)].filter((b): b is string => !!b);
  const removed: string[] = [];
  for (const base of bases) {
    const subtree = join(base, SUBTREE);
    let owners: string[];
    try {
      owners = (await readdir(subtree, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const owner of owners) {
      const pid = /^r(\d+)-/.exec(owner)?.[1];
      if (!pid || pidAlive(Number(pid))) continue;
      const ownerDir = join(subtree, owner);
      for (const id of await readdir(ownerDir, { withFileTypes: true }).catch(() => [])) {
        if (!id.isDirectory()) continue;
        const dir = join(ownerDir, id.name);
        if (layout.unifiedKill && base === layout.unified) await writeFile(join(dir, 'cgroup.kill'), '1').catch(() => {});
        if (base === layout.v1.freezer) await writeFile(join(dir, 'freezer.state'), 'THAWED').catch(() => {});
        for (const p of (await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')).split('\n')) {
          if (p) signalPid(Number(p), 'SIGKILL');
        }
        await removeCgroupDir(dir);
        removed.push(dir);
      }
      await removeCgroupDir(ownerDir);
    }
  }
  return removed;
}

/** Remove this runtime's owner directories once its sandboxes are gone. */
export async function removeOwnerDirs(layout: CgroupLayout, owner: string): Promise<void> {
  const bases = [layout.unified, ...Object.values(layout.v1)].filter((b): b is string => !!b);
  for (const base of bases) {
    const dir = join(base, SUBTREE, owner);
    try {
      await rmdir(dir);
    } catch {
      /* not empty or never created */
    }
  }
}
