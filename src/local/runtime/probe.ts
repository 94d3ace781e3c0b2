/**
 * The start-up probe: what isolation, limits and runtimes this machine really offers.
 * Runs once per runtime; every check is a real command (docs/isolation.md §8.1).
 */
import { dirname } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { detectCgroupLayout, type CgroupLayout } from './cgroups.js';
import { findExecutable, reachableByOthers, runTool, visibleInSandbox } from './host-tools.js';
import type { LimitsTier, PauseTier, RuntimeProbe } from './types.js';

/** Host uid sandboxes run as when the backend is root; no passwd entry is needed. */
const SANDBOX_UID = 64123;

/** Probe result plus host details the runtime needs but the API does not report. */
export interface HostProfile {
  probe: RuntimeProbe;
  cgroups: CgroupLayout;
  bwrap: string | null;
  nsenter: string | null;
  setpriv: string | null;
  socat: string | null;
  /** Host dirs bound read-only at the same path because a runtime binary lives outside /usr. */
  extraReadOnlyDirs: string[];
  /** Why bwrap failed, for the IsolationUnavailableError message. */
  bwrapFailure: string | null;
}

async function probeBwrap(bwrap: string | null, setpriv: string | null, root: boolean): Promise<{ version: string | null; failure: string | null }> {
  if (!bwrap) return { version: null, failure: 'bwrap is not installed' };
  const said = (await runTool(bwrap, ['--version'])).stdout.trim();
  const version = /^bubblewrap\s+(\S+)/.exec(said)?.[1] ?? null;
  const sandboxArgs = ['--unshare-user', '--uid', '0', '--gid', '0', '--unshare-pid', '--unshare-net', '--ro-bind', '/', '/', '/bin/true'];
  // As root, test the way sandboxes really start: dropped to the sandbox uid first.
  const [file, args] =
    root && setpriv
      ? [setpriv, ['--reuid', String(SANDBOX_UID), '--regid', String(SANDBOX_UID), '--clear-groups', '--', bwrap, ...sandboxArgs]]
      : [bwrap, sandboxArgs];
  // Retried once: a timeout on a loaded machine must not turn into "no isolation".
  let run = await runTool(file, args, 30_000);
  if (!run.ok) run = await runTool(file, args, 30_000);
  if (run.ok) return { version, failure: null };
  const output = (run.stderr.trim() || run.stdout.trim()).slice(0, 300);
  const how = run.code === null ? 'did not finish in 30 s (twice)' : `failed (exit ${run.code})`;
  return { version, failure: `bwrap test run ${how}: ${output || silentFailureReason(bwrap, said)}` };
}

/**
 * Why a bwrap run can fail without a word: not bubblewrap at all, or user namespaces switched off
 * by a kernel setting (bwrap usually says so itself, but not every build does).
 */
function silentFailureReason(bwrap: string, versionOutput: string): string {
  if (!/^bubblewrap\s/.test(versionOutput)) {
    const first = versionOutput.split('\n')[0]!.slice(0, 80);
    return `${bwrap} is not bubblewrap (its --version ${first ? `says "${first}"` : 'printed nothing'})`;
  }
  const setting = (path: string): string | null => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return null;
    }
  };
  if (setting('/proc/sys/user/max_user_namespaces') === '0') return 'user namespaces are disabled (sysctl user.max_user_namespaces=0)';
  if (setting('/proc/sys/kernel/unprivileged_userns_clone') === '0') return 'unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)';
  if (setting('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces (sysctl kernel.apparmor_restrict_unprivileged_userns=1; allow bwrap with an AppArmor profile)';
  }
  return 'it printed no error; check that unprivileged user namespaces are enabled';
}

/** Probe python's packages; a loaded machine can take seconds to start it, so allow 30 s and retry once. */
async function probePython(warnings: string[]): Promise<RuntimeProbe['python']> {
  // Debian's python: the pyenv one first on PATH has none of the apt packages (§2).
  const path = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : null;
  if (!path) return null;
  // find_spec does not import, so this costs ~35 ms instead of ~1 s.
  const args = ['-c', "import importlib.util as u; print(u.find_spec('matplotlib') is not None, u.find_spec('pandas') is not None)"];
  let run = await runTool(path, args, 30_000);
  if (!run.ok) run = await runTool(path, args, 30_000);
  if (!run.ok) {
    // Loud, not silent: a missing python degrades every python test to a skip.
    warnings.push(`/usr/bin/python3 exists but its check failed twice (exit ${run.code}): ${run.stderr.trim().slice(0, 200) || 'timed out after 30 s'}`);
    return null;
  }
  const [matplotlib, pandas] = run.stdout.trim().split(' ');
  return { path, matplotlib: matplotlib === 'True', pandas: pandas === 'True' };
}

/** Desktop tools, looked up under /usr only: sandboxes see the host's /usr and nothing else. */
function probeDesktop(namespaces: boolean, python: boolean): RuntimeProbe['desktop'] {
  const has = (name: string) => {
    const path = findExecutable(name, [`/usr/bin/${name}`]);
    return !!path && visibleInSandbox(path);
  };
  const missing = ['Xvfb', 'openbox', 'xdotool', 'wmctrl'].filter((tool) => !has(tool));
  if (!python) missing.push('/usr/bin/python3');
  if (!namespaces) missing.push('namespace isolation (bubblewrap)');
  return { available: missing.length === 0, missing, vnc: has('x11vnc'), clipboard: has('xclip') };
}

export async function probeHost(): Promise<HostProfile> {
  const root = process.geteuid?.() === 0;
  const warnings: string[] = [];
  const extraReadOnlyDirs: string[] = [];
  const bwrap = findExecutable('bwrap', ['/usr/bin/bwrap']);
  const nsenter = findExecutable('nsenter', ['/usr/bin/nsenter']);
  const setpriv = findExecutable('setpriv', ['/usr/bin/setpriv']);
  const socat = findExecutable('socat', ['/usr/bin/socat']);

  const [bwrapResult, python, cgroups] = await Promise.all([
    probeBwrap(bwrap, setpriv, root),
    probePython(warnings),
    root ? detectCgroupLayout() : Promise.resolve<CgroupLayout>({ kind: 'none', v1: {}, unified: null, unifiedFreeze: false, unifiedKill: false, notes: ['not root'] }),
  ]);

  const isolation = bwrapResult.failure === null && nsenter ? 'namespaces' : 'process';
  if (isolation === 'process') warnings.push(`no namespace isolation: ${bwrapResult.failure ?? 'nsenter missing'}`);

  const limits: LimitsTier = cgroups.kind === 'v2' ? 'cgroup-v2' : cgroups.kind === 'hybrid' ? 'cgroup-v1' : 'prlimit';
  if (limits === 'prlimit') warnings.push(`no cgroup limits (${cgroups.notes.join('; ')}): memory is capped with RLIMIT_AS for python only, no process or CPU caps`);

  const pause: PauseTier = cgroups.unifiedFreeze ? 'cgroup-v2-freeze' : cgroups.v1.freezer ? 'cgroup-v1-freezer' : 'sigstop';
  if (pause === 'sigstop') warnings.push('no cgroup freezer: pause uses SIGSTOP on every sandbox process');

  let nodePath = findExecutable('node', [process.execPath, '/usr/bin/node']);
  if (nodePath && !visibleInSandbox(nodePath)) {
    // Bound read-only at the same path; as root, bwrap (running as the sandbox uid) must reach it.
    if (root && !reachableByOthers(dirname(nodePath))) {
      warnings.push(`node at ${nodePath} is not readable by the sandbox uid (a private home directory?); javascript is unavailable. Install node under /usr (apt-get install nodejs)`);
      nodePath = null;
    } else {
      extraReadOnlyDirs.push(dirname(nodePath));
    }
  }
  const goPath = findExecutable('go', ['/usr/bin/go']);
  const go = goPath && visibleInSandbox(goPath) ? { path: goPath } : null;
  if (goPath && !go) warnings.push(`go at ${goPath} is outside /usr and is not offered in sandboxes`);
  if (!python) warnings.push('no usable /usr/bin/python3: python code and the terminal are unavailable');
  else if (!python.matplotlib || !python.pandas) warnings.push('python lacks matplotlib or pandas (apt-get install python3-matplotlib python3-pandas)');
  if (!socat) warnings.push('socat missing: port forwards use a slower node forwarder');
  if (!root && isolation === 'namespaces') warnings.push('not root: sandboxes run as the backend user and without cgroup limits');

  const desktop = probeDesktop(isolation === 'namespaces', !!python);
  if (!desktop.available) warnings.push(`no desktop template: ${desktop.missing.join(', ')} missing (apt-get install xvfb openbox xdotool wmctrl x11vnc xclip)`);

  const probe: RuntimeProbe = {
    isolation,
    limits,
    pause,
    root,
    sandboxUid: root ? SANDBOX_UID : null,
    bwrapVersion: bwrapResult.version,
    python,
    node: nodePath ? { path: nodePath } : null,
    go,
    desktop,
    warnings,
  };
  return { probe, cgroups, bwrap, nsenter, setpriv, socat, extraReadOnlyDirs, bwrapFailure: bwrapResult.failure };
}
