/**
 * Host-side file operations that cannot leave the sandbox's host directories, even while code in
 * the sandbox swaps path components for symlinks.
 *
 * Why: the backend may run as root, and `resolvePath` checks a path at one moment; by the time the
 * backend opens it, a component may have become a symlink to /etc. So nothing here opens a
 * multi-component host path. Every operation starts from an opened root directory and steps one
 * component at a time through `/proc/self/fd/<dirfd>/<name>` with O_NOFOLLOW (the kernel resolves
 * the magic link to exactly the directory already opened, like openat(2), which Node lacks). A
 * symlink met on the way is refused, never followed. Every opened object is also checked with
 * readlink(/proc/self/fd/<fd>), which names the object really opened, before a byte is read or
 * written. Ownership changes use fchown on such fds only.
 *
 * Callers pass host paths as `resolvePath` returns them (symlinks already resolved in sandbox
 * space, so a legitimate path has none left).
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, readlink, realpath, rename, rmdir, unlink } from 'node:fs/promises';
import type { SandboxDirs } from './types.js';
import type { Owner } from './ownership.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK, O_NOCTTY } = constants;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/** O_NONBLOCK: a FIFO planted by the sandbox must not hang the backend's thread pool. */
const READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
const WRITE_FLAGS = O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;

/** The path (or the object opened for it) is outside the sandbox's files: answer 403. */
export class ConfinementError extends Error {
  readonly code = 'PATH_NOT_ALLOWED';
}

/** errno-style error, so callers map every failure the same way. `final`: the last component. */
function fsErr(code: string, message: string, final = true): NodeJS.ErrnoException & { final: boolean } {
  return Object.assign(new Error(`${code}: ${message}`), { code, final });
}

const fdPath = (handle: FileHandle) => `/proc/self/fd/${handle.fd}`;
const childOf = (dir: FileHandle, name: string) => `${fdPath(dir)}/${name}`;

async function closeQuietly(handle: FileHandle | null | undefined): Promise<void> {
  await handle?.close().catch(() => undefined);
}

export class ConfinedFs {
  private realRoots: Promise<string[]> | null = null;

  /** `owner`: who new files and directories are given to (null: leave them to the backend's uid). */
  constructor(
    private readonly dirs: Pick<SandboxDirs, 'workspace' | 'home' | 'scratch'>,
    private readonly owner: () => Promise<Owner | null>,
  ) {}

  /** Throws ConfinementError unless the opened object lives under one of the sandbox's host dirs. */
  async assertInside(handle: FileHandle): Promise<void> {
    const actual = await readlink(fdPath(handle)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new Error('/proc/self/fd is missing: the file API needs /proc mounted to confine host paths');
      throw err;
    });
    const roots = await this.roots();
    if (!roots.some((root) => actual === root || actual.startsWith(`${root}/`))) {
      throw new ConfinementError(`opened object is outside the sandbox's files (${actual})`);
    }
  }

  /** Open a file for reading: { handle, stats } (a directory is opened too; check stats). */
  async openRead(hostPath: string): Promise<{ handle: FileHandle; stats: Stats }> {
    const { root, parts } = this.split(hostPath);
    if (parts.length === 0) {
      const handle = await this.openRoot(root);
      return { handle, stats: await handle.stat() };
    }
    const dir = await this.walk(root, parts.slice(0, -1), false);
    const handle = await this.openChild(dir, parts[parts.length - 1], READ_FLAGS).finally(() => closeQuietly(dir));
    try {
      await this.assertInside(handle);
      return { handle, stats: await handle.stat() };
    } catch (err) {
      await closeQuietly(handle);
      throw err;
    }
  }

  /**
   * Open a regular file for writing, creating missing parent directories: truncated, `mode` set,
   * given to the sandbox owner if this call created it. EEXIST when it exists and !overwrite.
   */
  async openWrite(hostPath: string, options: { mode: number; overwrite: boolean }): Promise<FileHandle> {
    const { root, parts } = this.split(hostPath);
    if (parts.length === 0) throw fsErr('EISDIR', hostPath);
    const name = parts[parts.length - 1];
    const dir = await this.walk(root, parts.slice(0, -1), true);
    try {
      let handle: FileHandle;
      let created = false;
      try {
        handle = await open(childOf(dir, name), WRITE_FLAGS | O_CREAT | O_EXCL, options.mode);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw await this.explain(err, dir, name, true);
        const existing = await lstat(childOf(dir, name)).catch(() => null);
        if (existing?.isDirectory()) throw fsErr('EISDIR', hostPath);
        if (!options.overwrite) throw err;
        handle = await this.openChild(dir, name, WRITE_FLAGS);
      }
      try {
        await this.assertInside(handle);
        const st = await handle.stat();
        if (!st.isFile()) throw fsErr('ENOTREG', hostPath);
        if (!created) await this.assertNotForeignHardLink(st);
        // Only now, with the object known to be the sandbox's own, may a byte change.
        if (!created) await handle.truncate(0);
        await handle.chmod(options.mode);
        if (created) await this.giveAway(handle);
        return handle;
      } catch (err) {
        await closeQuietly(handle);
        if (created) await unlink(childOf(dir, name)).catch(() => undefined);
        throw err;
      }
    } finally {
      await closeQuietly(dir);
    }
  }

  /**
   * Move a host-only temp file (already chmod'ed and chowned through its fd) to `hostPath`,
   * creating parents. rename(2) replaces a symlink at the destination rather than following it.
   */
  async moveIn(tempPath: string, hostPath: string): Promise<'renamed' | 'cross-device'> {
    const { root, parts } = this.split(hostPath);
    if (parts.length === 0) throw fsErr('EISDIR', hostPath);
    const name = parts[parts.length - 1];
    const dir = await this.walk(root, parts.slice(0, -1), true);
    try {
      const existing = await lstat(childOf(dir, name)).catch(() => null);
      if (existing?.isDirectory()) throw fsErr('EISDIR', hostPath);
      await rename(tempPath, childOf(dir, name));
      return 'renamed';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EXDEV') return 'cross-device';
      throw err;
    } finally {
      await closeQuietly(dir);
    }
  }

  /** mkdir -p; every directory it creates goes to the sandbox owner. */
  async mkdirp(hostPath: string): Promise<void> {
    const { root, parts } = this.split(hostPath);
    await closeQuietly(await this.walk(root, parts, true, true));
  }

  /** Entries of a directory with lstat info; ENOENT / ENOTDIR (final) when it is not one. */
  async list(hostPath: string): Promise<Array<{ name: string; stats: Stats }>> {
    const { root, parts } = this.split(hostPath);
    const dir = await this.walk(root, parts, false, true);
    try {
      const out: Array<{ name: string; stats: Stats }> = [];
      for (const name of (await readdir(fdPath(dir))).sort()) {
        const stats = await lstat(childOf(dir, name)).catch(() => null);
        if (stats) out.push({ name, stats });
      }
      return out;
    } finally {
      await closeQuietly(dir);
    }
  }

  /** lstat of the object, or null when it (or a parent) does not exist. */
  async lstat(hostPath: string): Promise<Stats | null> {
    const { root, parts } = this.split(hostPath);
    if (parts.length === 0) return lstat(root);
    let dir: FileHandle;
    try {
      dir = await this.walk(root, parts.slice(0, -1), false);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw err;
    }
    try {
      return await lstat(childOf(dir, parts[parts.length - 1])).catch(() => null);
    } finally {
      await closeQuietly(dir);
    }
  }

  /**
   * rm -rf that only ever unlinks names inside directories it has opened and verified: a symlink
   * anywhere in the tree is removed itself, never followed. Refuses a sandbox root.
   */
  async remove(hostPath: string): Promise<void> {
    const { root, parts } = this.split(hostPath);
    if (parts.length === 0) throw new ConfinementError(`refusing to remove a sandbox root (${root})`);
    const name = parts[parts.length - 1];
    const dir = await this.walk(root, parts.slice(0, -1), false);
    try {
      const st = await lstat(childOf(dir, name));
      await this.removeEntry(dir, name, st);
    } finally {
      await closeQuietly(dir);
    }
  }

  private async removeEntry(dir: FileHandle, name: string, st: Stats): Promise<void> {
    const path = childOf(dir, name);
    if (!st.isDirectory()) {
      await unlink(path).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return;
        // Swapped for a directory since the lstat: remove that instead.
        if (err.code === 'EISDIR' || err.code === 'EPERM') return this.removeEntry(dir, name, await lstat(path));
        throw err;
      });
      return;
    }
    for (let attempt = 0; ; attempt++) {
      let sub: FileHandle;
      try {
        sub = await open(path, DIR_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        if (code === 'ENOTDIR' || code === 'ELOOP') return this.removeEntry(dir, name, await lstat(path)); // swapped: a link or a file now
        throw err;
      }
      try {
        await this.assertInside(sub);
        await this.emptyDir(sub);
      } finally {
        await closeQuietly(sub);
      }
      try {
        await rmdir(path);
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return;
        // The sandbox added entries meanwhile (or swapped the directory): go again, a few times.
        if ((code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') && attempt < 3) continue;
        throw err;
      }
    }
  }

  private async emptyDir(dir: FileHandle): Promise<void> {
    const names = await readdir(fdPath(dir));
    const subdirs: Array<[string, Stats]> = [];
    const BATCH = 16; // non-directories in parallel; directories one at a time (bounded open fds)
    for (let i = 0; i < names.length; i += BATCH) {
      await Promise.all(
        names.slice(i, i + BATCH).map(async (name) => {
          const st = await lstat(childOf(dir, name)).catch(() => null);
          if (!st) return;
          if (st.isDirectory()) subdirs.push([name, st]);
          else await this.removeEntry(dir, name, st);
        }),
      );
    }
    for (const [name, st] of subdirs) await this.removeEntry(dir, name, st);
  }

  /**
   * Open root/parts[0]/.../parts[n-1] as a verified directory, each step O_NOFOLLOW.
   * `lastIsTarget`: the last part is the object asked for (errors on it say `final: true`), not a parent.
   */
  private async walk(root: string, parts: string[], create: boolean, lastIsTarget = false): Promise<FileHandle> {
    let dir = await this.openRoot(root);
    try {
      for (let i = 0; i < parts.length; i++) {
        const final = lastIsTarget && i === parts.length - 1;
        const next = await this.openChildDir(dir, parts[i], create, final);
        await closeQuietly(dir);
        dir = next;
      }
      await this.assertInside(dir);
      return dir;
    } catch (err) {
      await closeQuietly(dir);
      throw err;
    }
  }

  private async openChildDir(dir: FileHandle, name: string, create: boolean, final: boolean): Promise<FileHandle> {
    const path = childOf(dir, name);
    try {
      return await open(path, DIR_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw await this.explain(err, dir, name, final);
    }
    let made = true;
    await mkdir(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      made = false; // someone else (the sandbox) made it: not ours to chown
    });
    const handle = await open(path, DIR_FLAGS).catch(async (err) => {
      throw await this.explain(err, dir, name, final);
    });
    if (made) {
      try {
        await this.giveAway(handle);
      } catch (err) {
        await closeQuietly(handle);
        throw err;
      }
    }
    return handle;
  }

  private async openChild(dir: FileHandle, name: string, flags: number): Promise<FileHandle> {
    try {
      return await open(childOf(dir, name), flags);
    } catch (err) {
      throw await this.explain(err, dir, name, true);
    }
  }

  /** A symlink where none was expected means the path changed under us: refuse it. */
  private async explain(err: unknown, dir: FileHandle, name: string, final: boolean): Promise<unknown> {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') {
      const st = await lstat(childOf(dir, name)).catch(() => null);
      if (st?.isSymbolicLink()) return new ConfinementError(`"${name}" became a symbolic link; refusing to follow it`);
      return fsErr('ENOTDIR', name, final);
    }
    if (code === 'ENXIO') return fsErr('ENOTREG', name, final); // a FIFO or socket without a peer
    if (code === 'ENOENT') return Object.assign(err as object, { final });
    return err;
  }

  private async openRoot(root: string): Promise<FileHandle> {
    const handle = await open(root, DIR_FLAGS);
    try {
      await this.assertInside(handle);
      return handle;
    } catch (err) {
      await closeQuietly(handle);
      throw err;
    }
  }

  /** Which sandbox host dir `hostPath` is under, and the components below it. */
  private split(hostPath: string): { root: string; parts: string[] } {
    for (const root of [this.dirs.workspace, this.dirs.home, this.dirs.scratch]) {
      if (hostPath !== root && !hostPath.startsWith(`${root}/`)) continue;
      const parts = hostPath.slice(root.length).split('/').filter(Boolean);
      if (parts.some((p) => p === '.' || p === '..')) break;
      return { root, parts };
    }
    throw new ConfinementError(`host path ${hostPath} is not under the sandbox's directories`);
  }

  private roots(): Promise<string[]> {
    this.realRoots ??= Promise.all([this.dirs.workspace, this.dirs.home, this.dirs.scratch].map((d) => realpath(d)));
    this.realRoots.catch(() => (this.realRoots = null));
    return this.realRoots;
  }

  private async giveAway(handle: FileHandle): Promise<void> {
    const owner = await this.owner();
    if (owner) await handle.chown(owner.uid, owner.gid);
  }

  /**
   * Defence in depth: writing through a hard link to a file the sandbox does not own would change
   * that file wherever else it is linked. (The kernel already stops the sandbox from making such
   * links: link(2) across mounts is EXDEV, and protected_hardlinks.)
   */
  private async assertNotForeignHardLink(st: Stats): Promise<void> {
    const owner = await this.owner();
    if (owner && st.nlink > 1 && st.uid !== owner.uid) {
      throw new ConfinementError('file is a hard link to a file the sandbox does not own');
    }
  }
}
