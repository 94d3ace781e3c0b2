/**
 * Files the backend creates on the host side must belong to the sandbox's uid, or code in the
 * sandbox (unprivileged on the host when the backend is root) cannot change them. The owner is
 * read from the sandbox's own workspace directory (the sandbox cannot replace that directory: its
 * parent is not mounted inside). Ownership is only ever changed through an opened, verified fd
 * (see confined-fs.ts): chown(2) on a path would follow a symlink planted by the sandbox.
 */
import { stat } from 'node:fs/promises';

export interface Owner {
  uid: number;
  gid: number;
}

export async function sandboxOwner(workspaceHostDir: string): Promise<Owner | null> {
  if (process.getuid?.() !== 0) return null;
  const st = await stat(workspaceHostDir);
  return st.uid === 0 ? null : { uid: st.uid, gid: st.gid };
}
