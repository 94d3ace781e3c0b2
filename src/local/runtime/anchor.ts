/**
 * The anchor of an isolated sandbox: the bwrap process that owns its namespaces, whose pid 1 every
 * piece of work joins with nsenter (docs/isolation.md §8.3). Spawning it, knowing its processes
 * apart from the sandbox's work, hearing when it dies, and killing it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { ANCHOR_COMMAND, SANDBOX_PATH, anchorOptions, dropPrivileges, withCgroupPrelude } from './commands.js';
import { signalGroup } from './exec-handle.js';
import type { HostProfile } from './probe.js';
import { pidNamespaceOf, pidsInNamespace, signalPid } from './proc.js';
import type { SandboxDirs } from './types.js';

/** fd on which bwrap reports the sandbox's pid 1 (the anchor we nsenter into). */
const INFO_FD = 3;
/** fd from which bwrap reads its NUL-separated options. */
const ARGS_FD = 4;
const ANCHOR_START_TIMEOUT_MS = 15_000;
/** After pid 1 is killed, bwrap should exit at once; its whole group is killed after this. */
const KILL_GRACE_MS = 1000;

export interface AnchorOptions {
  host: HostProfile;
  dirs: SandboxDirs;
  /** For messages. */
  sandboxId: string;
  hostname: string;
  internetAccess: boolean;
  /** Host paths of the sandbox-side helpers, mounted read-only inside. */
  kernelPath: string;
  desktopPath: string;
  /** cgroup.procs files the anchor joins before bwrap starts (none without cgroups). */
  procsFiles: readonly string[];
}

export class SandboxAnchor {
  private constructor(
    private readonly child: ChildProcess,
    /** Host pid of the sandbox's pid 1. */
    readonly pid: number,
    /** Host pid of pid 1's `sleep infinity`. */
    private readonly sleepPid: number | null,
    private readonly pidNamespace: string | null,
  ) {}

  /** Starts bwrap and waits until it reports the sandbox's pid 1; throws (saying why) if it does not. */
  static async spawn(o: AnchorOptions): Promise<SandboxAnchor> {
    const { host } = o;
    const bwrapOptions = anchorOptions({
      dirs: o.dirs,
      hostname: o.hostname,
      internetAccess: o.internetAccess,
      root: host.probe.root,
      kernelPath: o.kernelPath,
      desktopPath: o.desktopPath,
      extraReadOnlyDirs: host.extraReadOnlyDirs,
      infoFd: INFO_FD,
    });
    // The options travel through a pipe (--args): on the command line they would show the host's
    // state-dir paths to `ps` inside the sandbox. bwrap reads only options there, not the command.
    const shortArgv = [host.bwrap!, '--args', String(ARGS_FD), ...ANCHOR_COMMAND];
    const dropped = host.probe.root ? dropPrivileges(host.setpriv!, host.probe.sandboxUid!, shortArgv) : shortArgv;
    const argv = withCgroupPrelude(o.procsFiles, dropped);
    const child = spawn(argv[0], argv.slice(1), {
      env: { PATH: SANDBOX_PATH },
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const argsPipe = child.stdio[ARGS_FD] as NodeJS.WritableStream & { on(e: 'error', cb: () => void): void };
    argsPipe.on('error', () => {});
    argsPipe.end(bwrapOptions.map((a) => `${a}\0`).join(''));
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // For start-up errors only. The anchor keeps this stream for the sandbox's life, and code
      // inside could reach it (ptrace or pidfd_getfd on its own `sleep`): keep it bounded.
      if (stderr.length < 4096) stderr += chunk;
    });
    let timer: NodeJS.Timeout | undefined;
    const pid = await new Promise<number>((resolve, reject) => {
      let info = '';
      const info$ = child.stdio[INFO_FD] as NodeJS.ReadableStream;
      info$.setEncoding('utf8');
      info$.on('data', (chunk: string) => {
        info += chunk;
        const match = /"child-pid":\s*(\d+)/.exec(info);
        if (match) resolve(Number(match[1]));
      });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`sandbox ${o.sandboxId} failed to start: bwrap exited (${signal ?? code}): ${stderr.trim().slice(0, 500)}`)),
      );
      timer = setTimeout(() => {
        signalGroup(child.pid!, 'SIGKILL');
        reject(new Error(`sandbox ${o.sandboxId} failed to start: bwrap reported no sandbox within ${ANCHOR_START_TIMEOUT_MS / 1000} s`));
      }, ANCHOR_START_TIMEOUT_MS);
    }).finally(() => clearTimeout(timer));
    const anchor = new SandboxAnchor(child, pid, await firstChild(pid), await pidNamespaceOf(pid));
    if (!anchor.alive) {
      throw new Error(`sandbox ${o.sandboxId} failed to start: its anchor exited right away: ${stderr.trim().slice(0, 500)}`);
    }
    return anchor;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Calls `cb` once the anchor has exited (at once if it has), with the reason. */
  onExit(cb: (reason: string) => void): void {
    const reason = () => `anchor exited (${this.child.signalCode ?? `code ${this.child.exitCode}`})`;
    if (!this.alive) queueMicrotask(() => cb(reason()));
    else this.child.once('exit', () => cb(reason()));
  }

  /** The anchor's own processes (pid 1 and its `sleep`), which are not the sandbox's work. */
  get ownPids(): number[] {
    return this.sleepPid === null ? [this.pid] : [this.pid, this.sleepPid];
  }

  /** Host pids of the sandbox's work: its pid namespace less the anchor's own; null when unknown. */
  async workPids(): Promise<number[] | null> {
    if (!this.pidNamespace) return null;
    const own = this.ownPids;
    return (await pidsInNamespace(this.pidNamespace)).filter((p) => !own.includes(p));
  }

  /**
   * Kills the sandbox's pid 1 and waits for bwrap to exit: the kernel then kills the whole pid
   * namespace, and the outer bwrap reaps it and exits, so no orphan is left for the host's init.
   */
  async kill(): Promise<void> {
    const exited = new Promise<void>((resolve) => {
      if (!this.alive) resolve();
      else this.child.once('exit', () => resolve());
    });
    signalPid(this.pid, 'SIGKILL');
    const late = setTimeout(() => signalGroup(this.child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    await exited;
    clearTimeout(late);
  }
}

/** pid 1's first child (its `sleep infinity`), once it shows. */
async function firstChild(pid: number): Promise<number | null> {
  for (let i = 0; i < 50; i++) {
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    const first = children.trim().split(' ')[0];
    if (first) return Number(first);
    await new Promise((r) => setTimeout(r, 5));
  }
  return null;
}
