/**
 * Files the backend creates on the host side must belong to the sandbox's uid, or code in the
 * sandbox (unprivileged on the host when the backend is root) cannot change them. The owner is
 * read from the sandbox's own workspace directory.
 */
import { chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface Owner {
  uid: number;
  gid: number;
}

export async function sandboxOwner(workspaceHostDir: string): Promise<Owner | null> {
  if (process.getuid?.() !== 0) return null;
  const st = await stat(workspaceHostDir);
  return st.uid === 0 ? null : { uid: st.uid, gid: st.gid };
}

export async function giveTo(owner: Owner | null, hostPath: string): Promise<void> {
  if (owner) await chown(hostPath, owner.uid, owner.gid);
}

/** mkdir -p that hands every directory it creates to the sandbox owner. */
export async function mkdirOwned(owner: Owner | null, hostPath: string): Promise<void> {
  const missing: string[] = [];
  let current = hostPath;
  for (;;) {
    const exists = await stat(current).then(
      (s) => s,
      () => null,
    );
    if (exists) {
      if (!exists.isDirectory()) {
        throw Object.assign(new Error(`not a directory: ${current}`), { code: 'ENOTDIR' });
      }
      break;
    }
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const dir of missing) {
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await giveTo(owner, dir);
  }
}
