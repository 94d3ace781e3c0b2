/**
 * Small helpers for running host tools during the probe and for locating binaries.
 * Everything here runs on the host, outside any sandbox.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

export interface ToolRun {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a host command with a minimal environment and a timeout; never throws. */
export function runTool(file: string, args: string[], timeoutMs = 10_000): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' }, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ ok: !error, code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Find an executable: the fixed candidates first (Debian's /usr/bin), then the host PATH.
 * Returns the real path (symlinks resolved) or null.
 */
export function findExecutable(name: string, candidates: string[] = []): string | null {
  const pathDirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const candidate of [...candidates, ...pathDirs.map((dir) => join(dir, name))]) {
    if (isExecutable(candidate)) {
      try {
        return realpathSync(candidate);
      } catch {
        continue;
      }
    }
  }
  return null;
}

/** True when a host path is visible inside a sandbox as-is (/usr is bound read-only, /usr/local is masked). */
export function visibleInSandbox(hostPath: string): boolean {
  return hostPath.startsWith('/usr/') && !hostPath.startsWith('/usr/local/');
}

/**
 * Can a user who is neither owner nor group member (the sandbox uid) reach and read this path?
 * bwrap runs as that uid when the backend is root, so bind sources must pass this check.
 */
export function reachableByOthers(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o005) !== 0o005) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if ((statSync(dir).mode & 0o001) === 0) return false;
      if (dir === '/') return true;
    }
  } catch {
    return false;
  }
}
