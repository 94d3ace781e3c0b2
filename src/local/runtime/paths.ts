/**
 * Sandbox path → host path, confined to the sandbox's writable roots.
 *
 * Symlinks are followed the way the sandbox would see them: an absolute link target is a
 * *sandbox* path (`/workspace/x` means the sandbox's workspace, not the host's), so resolution
 * walks the path one component at a time, reading links on the host and re-rooting absolute
 * targets in sandbox space. Anything that ends outside /workspace, /root or /tmp is refused.
 * A final host realpath check guards against anything the walk missed (the small check-then-use
 * race is accepted for a local backend; docs/isolation.md §8.4).
 */
import { lstat, readlink, realpath } from 'node:fs/promises';
import { posix, sep } from 'node:path';
import { SandboxPathError } from './errors.js';
import type { ResolvedPath, SandboxDirs } from './types.js';

const SANDBOX_ROOTS = ['/workspace', '/root', '/tmp'] as const;
const MAX_SYMLINKS = 40;

function rootMap(dirs: SandboxDirs): Array<[string, string]> {
  return [
    ['/workspace', dirs.workspace],
    ['/root', dirs.home],
    ['/tmp', dirs.scratch],
  ];
}

/** Host path of a normalised sandbox path, or null when it is outside the allowed roots. */
export function mapToHost(dirs: SandboxDirs, sandboxPath: string): string | null {
  for (const [root, host] of rootMap(dirs)) {
    if (sandboxPath === root) return host;
    if (sandboxPath.startsWith(`${root}/`)) return host + sandboxPath.slice(root.length);
  }
  return null;
}

/** Sandbox path of a host path inside the sandbox dirs (process tier links use host paths). */
function mapFromHost(dirs: SandboxDirs, hostPath: string): string | null {
  for (const [root, host] of rootMap(dirs)) {
    if (hostPath === host) return root;
    if (hostPath.startsWith(host + sep)) return root + hostPath.slice(host.length);
  }
  return null;
}

function notAllowed(path: string, shown: string): SandboxPathError {
  return new SandboxPathError(
    'PATH_NOT_ALLOWED',
    `path ${JSON.stringify(shown)} is outside the sandbox's files; use a path under /workspace, /root or /tmp`,
    path,
  );
}

/** Validate and normalise without touching the disk. Relative paths are relative to /workspace. */
export function normaliseSandboxPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new SandboxPathError('INVALID_PATH', 'path is empty; give an absolute path such as /workspace/file.txt', String(path));
  }
  if (path.includes('\0')) {
    throw new SandboxPathError('INVALID_PATH', 'path contains a NUL byte; remove it', path);
  }
  const absolute = path.startsWith('/') ? path : `/workspace/${path}`;
  const normalised = posix.normalize(absolute).replace(/\/+$/, '') || '/';
  if (!SANDBOX_ROOTS.some((root) => normalised === root || normalised.startsWith(`${root}/`))) {
    throw notAllowed(path, normalised);
  }
  return normalised;
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

function insideHostDirs(dirs: SandboxDirs, hostPath: string): boolean {
  return [dirs.workspace, dirs.home, dirs.scratch].some((d) => hostPath === d || hostPath.startsWith(d + sep));
}

export async function resolveSandboxPath(dirs: SandboxDirs, path: string): Promise<ResolvedPath> {
  const sandboxPath = normaliseSandboxPath(path);
  // Walk components, following links in sandbox space.
  let pending = sandboxPath.split('/').filter(Boolean);
  let current = '';
  let hops = 0;
  while (pending.length > 0) {
    const next = `${current}/${pending.shift()}`;
    const host = mapToHost(dirs, next);
    if (host === null) {
      // Only reachable via a link (normalised input is always under a root).
      throw notAllowed(path, next);
    }
    const info = await lstatOrNull(host);
    if (info === null) {
      // Does not exist yet: the rest is appended literally (creating a new file is allowed).
      current = posix.normalize([next, ...pending].join('/'));
      break;
    }
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++hops > MAX_SYMLINKS) {
      throw new SandboxPathError('INVALID_PATH', `too many levels of symbolic links in ${JSON.stringify(path)}`, path);
    }
    const target = await readlink(host);
    const fromHost = target.startsWith('/') ? mapFromHost(dirs, target) : null;
    const resolved = fromHost ?? (target.startsWith('/') ? posix.normalize(target) : posix.normalize(posix.join(current || '/', target)));
    if (!SANDBOX_ROOTS.some((root) => resolved === root || resolved.startsWith(`${root}/`))) {
      throw notAllowed(path, resolved);
    }
    pending = [...resolved.split('/').filter(Boolean), ...pending];
    current = '';
  }
  const finalPath = current || '/';
  if (!SANDBOX_ROOTS.some((root) => finalPath === root || finalPath.startsWith(`${root}/`))) throw notAllowed(path, finalPath);
  const hostPath = mapToHost(dirs, finalPath)!;

  // Belt and braces: the nearest existing ancestor must really be inside the sandbox's host dirs.
  let probe = hostPath;
  for (;;) {
    try {
      const real = await realpath(probe);
      const realRoots = await Promise.all([dirs.workspace, dirs.home, dirs.scratch].map((d) => realpath(d).catch(() => d)));
      if (!insideHostDirs({ ...dirs, workspace: realRoots[0], home: realRoots[1], scratch: realRoots[2] }, real)) {
        throw notAllowed(path, sandboxPath);
      }
      break;
    } catch (err) {
      if (err instanceof SandboxPathError) throw err;
      const parent = posix.dirname(probe);
      if (parent === probe) throw notAllowed(path, sandboxPath);
      probe = parent;
    }
  }
  return { sandboxPath, hostPath };
}
