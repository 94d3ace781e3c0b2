/**
 * The on-disk layout: `<stateDir>/sandboxes/<id>/{workspace,home,scratch,run}` + meta.json, and the
 * start-up sweep of sandboxes left by a crashed backend (their anchors died with it, §8.2).
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pidAlive } from './proc.js';
import type { SandboxDirs, SandboxSpec } from './types.js';

export function sandboxDirs(stateDir: string, id: string): SandboxDirs {
  const root = join(resolve(stateDir), 'sandboxes', id);
  return {
    root,
    workspace: join(root, 'workspace'),
    home: join(root, 'home'),
    scratch: join(root, 'scratch'),
    run: join(root, 'run'),
  };
}

/** Sandbox ids become directory and cgroup names, so keep them to a safe alphabet. */
export function assertSafeId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id) || id.includes('..')) {
    throw new Error(`invalid sandbox id ${JSON.stringify(id)}: use 1-64 letters, digits, '-', '_' or '.'`);
  }
}

/**
 * Make the state dir reachable by the sandbox uid: bwrap runs as that uid and must traverse to
 * the bind sources. Fails with a clear message when an ancestor we do not own blocks it.
 */
export async function prepareStateDir(stateDir: string, sandboxUid: number | null): Promise<void> {
  const base = resolve(stateDir);
  await mkdir(join(base, 'sandboxes'), { recursive: true, mode: 0o711 });
  await mkdir(join(base, 'assets'), { recursive: true, mode: 0o755 });
  if (sandboxUid === null) return;
  await chmod(base, 0o711);
  await chmod(join(base, 'sandboxes'), 0o711);
  await chmod(join(base, 'assets'), 0o755);
  for (let dir = dirname(base); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `state dir ${base} is inside ${dir} (mode ${(mode & 0o777).toString(8)}), which the sandbox uid ${sandboxUid} cannot enter; ` +
          'choose a stateDir under /tmp or /var/tmp, or chmod o+x that directory',
      );
    }
    if (dir === '/') break;
  }
}

export async function createSandboxDirs(dirs: SandboxDirs, sandboxUid: number | null): Promise<void> {
  await mkdir(dirs.root, { recursive: true, mode: 0o711 });
  for (const dir of [dirs.workspace, dirs.home, dirs.scratch]) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (sandboxUid !== null) await chown(dir, sandboxUid, sandboxUid);
  }
  // run/ is host-only; run/ports holds the forwarders' sockets, created as the sandbox uid.
  await mkdir(join(dirs.run, 'ports'), { recursive: true, mode: 0o711 });
  await chmod(dirs.run, 0o711);
  if (sandboxUid !== null) await chown(join(dirs.run, 'ports'), sandboxUid, sandboxUid);
}

export interface SandboxMeta {
  id: string;
  ownerPid: number;
  createdAt: string;
  spec: SandboxSpec;
  tiers: { isolation: string; limits: string; pause: string };
}

export async function writeMeta(dirs: SandboxDirs, meta: SandboxMeta): Promise<void> {
  await writeFile(join(dirs.root, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
}

/** Remove sandbox dirs whose owning backend process is gone. Returns the removed ids. */
export async function sweepStaleSandboxes(stateDir: string): Promise<string[]> {
  const root = join(resolve(stateDir), 'sandboxes');
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(root, entry.name);
    let ownerPid: number | null = null;
    try {
      ownerPid = (JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as SandboxMeta).ownerPid;
    } catch {
      // No readable meta: half-created. Leave young ones alone (another runtime may be creating it).
      if (Date.now() - (await stat(dir)).mtimeMs < 60_000) continue;
    }
    if (ownerPid !== null && ownerPid !== process.pid && pidAlive(ownerPid)) continue;
    if (ownerPid === process.pid) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
