/**
 * argv builders for the three kinds of host process a sandbox uses: the bwrap anchor, work joined
 * into it with nsenter, and the cgroup prelude wrapped around both. Pure functions, no spawning.
 * Measured design: docs/isolation.md §4, §8.3, §8.4.
 */
import type { SandboxDirs } from './types.js';

/** Where the runtime's own helper files (kernel.py) appear inside a sandbox. */
export const SANDBOX_ASSET_DIR = '/opt/hopx-local';
export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin';

/**
 * `sh -c` script that moves its own pid into every cgroup before exec'ing the real command, so
 * the command starts already limited (Node has no pre-exec hook). It also drops the PWD that dash
 * exports, so the sandbox env is exactly what the caller passed.
 * Usage: sh -c PRELUDE sh <n> <file1..fileN> <argv...>
 */
/** Exit status of a process that could not enter its cgroups (it never ran). */
const PRELUDE_FAILED_EXIT = 97;
const PRELUDE = `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit ${PRELUDE_FAILED_EXIT}; shift; n=$((n-1)); done; unset PWD; exec "$@"`;

export function withCgroupPrelude(procsFiles: readonly string[], argv: string[]): string[] {
  if (procsFiles.length === 0) return ['/bin/sh', '-c', 'unset PWD; exec "$@"', 'sh', ...argv];
  return ['/bin/sh', '-c', PRELUDE, 'sh', String(procsFiles.length), ...procsFiles, ...argv];
}

/**
 * Variables that the dynamic loader, libc or sh act on. The host-side helpers that start sandbox
 * work (the prelude's sh, nsenter, setpriv) run on the host, as root when the backend is root,
 * with the environment they are spawned with: a request's LD_PRELOAD would load a library the
 * sandbox wrote, as host root, and LD_DEBUG_OUTPUT would write host files. These variables are
 * kept out of the helpers' environment and set by `env` once inside (they show in host `ps`,
 * which is acceptable for loader settings; everything else stays in the environment).
 */
const HOST_UNSAFE_ENV =
  /^(LD_.*|MALLOC_.*|GCONV_PATH|GETCONF_DIR|GLIBC_TUNABLES|HOSTALIASES|LOCALDOMAIN|LOCPATH|NIS_PATH|NLSPATH|RESOLV_HOST_CONF|RES_OPTIONS|TMPDIR|TZDIR|IFS|ENV|BASH_ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|PS4)$/;

/**
 * bash step that closes every fd from $1 up, then execs the rest. Node hands the backend's
 * inherited fds (what its own parent left open without close-on-exec) to every child, and
 * setpriv, bwrap and nsenter pass them on: without this step sandbox code could use them. Runs
 * before `env` applies the request's shell variables (BASH_ENV, BASH_FUNC_*), so they cannot
 * change it. Usage: bash -c CLOSE bash <first fd to close> <argv...>
 */
const CLOSE_INHERITED_FDS =
  'keep=$1; shift; for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -ge "$keep" ] && eval "exec $fd>&-"; done; exec "$@"';

/** argv that runs `argv` with only fds 0..keep-1 open. */
export function closingInheritedFds(keep: number, argv: string[]): string[] {
  return ['/bin/bash', '-c', CLOSE_INHERITED_FDS, 'bash', String(keep), ...argv];
}

/** Split a sandbox process's env into what host helpers may carry and `NAME=value` operands for `env`. */
export function splitHostEnv(env: Record<string, string>): { host: Record<string, string>; inside: string[] } {
  const host: Record<string, string> = {};
  const inside: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (HOST_UNSAFE_ENV.test(name)) inside.push(`${name}=${value}`);
    else host[name] = value;
  }
  return { host, inside };
}

export function dropPrivileges(setpriv: string, uid: number, argv: string[]): string[] {
  return [setpriv, '--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--', ...argv];
}

/**
 * setpriv wrapper for host processes that are not inside the sandbox's pid namespace (port
 * forwarders, the unisolated tier): SIGKILL when the backend dies, and the sandbox uid when root.
 */
export function hostHelper(setpriv: string, uid: number | null, argv: string[]): string[] {
  const credentials = uid === null ? [] : ['--reuid', String(uid), '--regid', String(uid), '--clear-groups'];
  return [setpriv, '--pdeathsig', 'KILL', ...credentials, '--', ...argv];
}

export interface AnchorOptions {
  dirs: SandboxDirs;
  hostname: string;
  internetAccess: boolean;
  /** Backend is root: disable nested user namespaces (only root can still nsenter then; §3 pitfall 4). */
  root: boolean;
  /** Host file of kernel.py, bound read-only into SANDBOX_ASSET_DIR. */
  kernelPath: string;
  /** Host file of desktop.py, bound read-only next to it. */
  desktopPath: string;
  extraReadOnlyDirs: string[];
  /** fd on which bwrap writes its JSON info (child-pid). */
  infoFd: number;
}

/** What the anchor keeps running: it only holds the namespaces open (and no inherited fd). */
export const ANCHOR_COMMAND = closingInheritedFds(3, ['/bin/sleep', 'infinity']);

/**
 * bwrap options for the long-lived anchor that owns the sandbox's namespaces. They are passed
 * through `--args <fd>` by the caller, with ANCHOR_COMMAND on the command line.
 */
export function anchorOptions(o: AnchorOptions): string[] {
  return [
    '--unshare-user',
    '--uid', '0',
    '--gid', '0',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(o.internetAccess ? [] : ['--unshare-net']),
    ...(o.root ? ['--disable-userns'] : []),
    '--die-with-parent',
    '--new-session',
    '--ro-bind', '/usr', '/usr',
    // /usr/local holds host tools and a python .pth that runs at start-up (§2).
    '--tmpfs', '/usr/local',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/sbin', '/sbin',
    '--ro-bind', '/etc', '/etc',
    // The host's font cache (built by apt's fontconfig trigger): without it every GUI program in a
    // fresh sandbox rebuilds one first, which took openbox and Tk tens of seconds.
    '--ro-bind-try', '/var/cache/fontconfig', '/var/cache/fontconfig',
    '--proc', '/proc',
    '--dev', '/dev',
    '--bind', o.dirs.scratch, '/tmp',
    '--bind', o.dirs.workspace, '/workspace',
    '--bind', o.dirs.home, '/root',
    '--ro-bind', o.kernelPath, `${SANDBOX_ASSET_DIR}/kernel.py`,
    '--ro-bind', o.desktopPath, `${SANDBOX_ASSET_DIR}/desktop.py`,
    ...o.extraReadOnlyDirs.flatMap((dir) => ['--ro-bind', dir, dir]),
    '--hostname', o.hostname,
    '--chdir', '/workspace',
    '--clearenv',
    '--setenv', 'PATH', SANDBOX_PATH,
    '--setenv', 'HOME', '/root',
    '--setenv', 'LANG', 'C.UTF-8',
    '--info-fd', String(o.infoFd),
  ];
}

export interface JoinOptions {
  nsenter: string;
  /** Host pid of the sandbox's pid 1 (bwrap's child-pid). */
  anchorPid: number;
  root: boolean;
  /** Sandbox directory the command starts in. */
  cwd: string;
  /** `NAME=value` operands set by `env` inside (see splitHostEnv). */
  insideEnv?: string[];
  /** fds the command keeps (0..keepFds-1); every other one is closed inside. Default 3. */
  keepFds?: number;
  argv: string[];
}

/**
 * Run argv inside the anchor's namespaces. The environment is inherited from the spawning process
 * (not put on the command line, where it would show in ps); `--wd` without an argument plus
 * `env -C` because `--wd=<dir>` resolves on the host side (§3).
 */
export function joinArgv(o: JoinOptions): string[] {
  return [
    o.nsenter,
    '-t', String(o.anchorPid),
    '--user', '--mount', '--pid', '--net', '--ipc', '--uts', '--cgroup', '--root', '--wd',
    ...(o.root ? ['-S', '0', '-G', '0'] : ['--preserve-credentials']),
    '--',
    ...closingInheritedFds(o.keepFds ?? 3, ['/usr/bin/env', '-C', o.cwd, '--', ...(o.insideEnv ?? []), ...o.argv]),
  ];
}

/** Join only the network namespace (port forwarders listen on a host-side unix socket). */
export function joinNetArgv(o: { nsenter: string; anchorPid: number; root: boolean; argv: string[] }): string[] {
  return [o.nsenter, '-t', String(o.anchorPid), ...(o.root ? [] : ['--user', '--preserve-credentials']), '--net', '--', ...o.argv];
}
