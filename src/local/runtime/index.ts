/**
 * createRuntime(): probe the machine once, sweep leftovers of crashed runs, and hand out
 * isolated local sandboxes. See docs/local-runtime.md and docs/isolation.md §8.
 */
import { randomBytes } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOwnerDirs, sweepStaleCgroups } from './cgroups.js';
import { IsolationUnavailableError } from './errors.js';
import { probeHost, type HostProfile } from './probe.js';
import { BwrapSandbox } from './sandbox.js';
import { assertSafeId, createSandboxDirs, prepareStateDir, sandboxDirs, sweepStaleSandboxes, writeMeta } from './state-dir.js';
import type { LocalSandbox, RuntimeOptions, RuntimeProbe, SandboxRuntime, SandboxSpec } from './types.js';

export * from './types.js';

/** kernel.py sits next to this module in src/ (vitest) and in dist/ (copied by scripts/copy-assets.mjs). */
const KERNEL_SOURCE = fileURLToPath(new URL('./kernel.py', import.meta.url));
/** desktop.py (the in-sandbox X display helper) travels the same way. */
const DESKTOP_SOURCE = fileURLToPath(new URL('./desktop.py', import.meta.url));

function isolationError(host: HostProfile): IsolationUnavailableError {
  const reason = host.bwrapFailure ?? 'nsenter missing';
  return new IsolationUnavailableError(
    `Local sandboxes need bubblewrap for isolation, and it is not usable here (${reason}). ` +
      'Fix: install it with `apt-get install bubblewrap` (and make sure unprivileged user namespaces are enabled). ' +
      'To run sandboxes as plain, unisolated host processes instead, use --allow-unisolated ' +
      '(HOPX_MCP_ALLOW_UNISOLATED=1; allowUnisolated: true from code) — code then runs with access to your files and network.',
    reason,
    true,
  );
}

function validateSpec(spec: SandboxSpec): void {
  assertSafeId(spec.id);
  const { memoryMb, vcpu, maxProcesses } = spec.limits;
  if (!Number.isFinite(memoryMb) || memoryMb < 32) throw new Error(`limits.memoryMb must be at least 32, got ${memoryMb}`);
  if (!Number.isFinite(vcpu) || vcpu <= 0) throw new Error(`limits.vcpu must be a positive number, got ${vcpu}`);
  if (!Number.isInteger(maxProcesses) || maxProcesses < 8) throw new Error(`limits.maxProcesses must be an integer of at least 8, got ${maxProcesses}`);
}

class Runtime implements SandboxRuntime {
  private readonly sandboxes = new Map<string, BwrapSandbox>();

  constructor(
    private readonly host: HostProfile,
    private readonly options: RuntimeOptions,
    private readonly owner: string,
    private readonly kernelPath: string,
    private readonly desktopPath: string,
  ) {}

  get probe(): RuntimeProbe {
    return this.host.probe;
  }

  async create(spec: SandboxSpec): Promise<LocalSandbox> {
    validateSpec(spec);
    if (this.sandboxes.has(spec.id)) throw new Error(`sandbox ${spec.id} already exists`);
    const dirs = sandboxDirs(this.options.stateDir, spec.id);
    const sandbox = new BwrapSandbox(spec, dirs, {
      host: this.host,
      owner: this.owner,
      kernelPath: this.kernelPath,
      desktopPath: this.desktopPath,
      logger: this.options.logger,
      // Forget destroyed sandboxes so get() stops returning them and the id can be reused.
      onDestroyed: () => {
        if (this.sandboxes.get(spec.id) === sandbox) this.sandboxes.delete(spec.id);
      },
    });
    this.sandboxes.set(spec.id, sandbox);
    try {
      await createSandboxDirs(dirs, this.host.probe.sandboxUid);
      await writeMeta(dirs, {
        id: spec.id,
        ownerPid: process.pid,
        createdAt: new Date().toISOString(),
        spec,
        tiers: { isolation: this.probe.isolation, limits: this.probe.limits, pause: this.probe.pause },
      });
      await sandbox.start();
    } catch (err) {
      this.sandboxes.delete(spec.id);
      await sandbox.destroy().catch(() => {});
      throw err;
    }
    return sandbox;
  }

  get(id: string): LocalSandbox | undefined {
    return this.sandboxes.get(id);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.sandboxes.values()].map((s) => s.destroy().catch(() => {})));
    this.sandboxes.clear();
    await removeOwnerDirs(this.host.cgroups, this.owner);
  }
}

function applyForcedTiers(host: HostProfile, force: RuntimeOptions['forceTiers']): void {
  const probe = host.probe;
  if (force?.isolation === 'process' && probe.isolation !== 'process') {
    probe.isolation = 'process';
    probe.warnings.push('the unisolated process tier was chosen explicitly (forceTiers.isolation)');
  }
  if (force?.limits === 'prlimit' && probe.limits !== 'prlimit') {
    probe.limits = 'prlimit';
    probe.pause = 'sigstop'; // freezing needs the cgroups we are not creating
    probe.warnings.push('cgroup limits were switched off explicitly (forceTiers.limits)');
  }
  if (force?.pause === 'sigstop' && probe.pause !== 'sigstop') {
    probe.pause = 'sigstop';
    probe.warnings.push('the cgroup freezer was switched off explicitly (forceTiers.pause)');
  }
  if (force?.pause === 'cgroup-v1-freezer' && probe.pause === 'cgroup-v2-freeze') {
    if (!host.cgroups.v1.freezer) throw new Error('forceTiers.pause: this machine has no v1 freezer hierarchy');
    probe.pause = 'cgroup-v1-freezer';
    probe.warnings.push('the v1 freezer was chosen explicitly over cgroup.freeze (forceTiers.pause)');
  }
}

export async function createRuntime(options: RuntimeOptions): Promise<SandboxRuntime> {
  const host = await probeHost();
  applyForcedTiers(host, options.forceTiers);
  const allowUnisolated = options.forceTiers?.isolation === 'process' || options.allowUnisolated === true;
  if (host.probe.root && !host.setpriv) {
    const reason = 'running as root needs setpriv (util-linux) to drop sandboxes to an unprivileged uid';
    throw new IsolationUnavailableError(`${reason}; install util-linux`, reason, false);
  }
  if (host.probe.isolation !== 'namespaces') {
    if (!allowUnisolated) throw isolationError(host);
    options.logger?.warn(
      { warnings: host.probe.warnings },
      'UNISOLATED local sandboxes: bubblewrap is unavailable, code runs as plain host processes with access to this machine',
    );
  }
  for (const warning of host.probe.warnings) options.logger?.warn({ warning }, 'local runtime degraded');

  const stateDir = resolve(options.stateDir);
  await prepareStateDir(stateDir, host.probe.sandboxUid);
  // A copy inside the state dir: the installed package may sit where the sandbox uid cannot read.
  const kernelPath = join(stateDir, 'assets', 'kernel.py');
  await copyFile(KERNEL_SOURCE, kernelPath);
  const desktopPath = join(stateDir, 'assets', 'desktop.py');
  await copyFile(DESKTOP_SOURCE, desktopPath);

  const swept = await sweepStaleSandboxes(stateDir);
  const sweptCgroups = await sweepStaleCgroups(host.cgroups);
  if (swept.length || sweptCgroups.length) {
    options.logger?.info({ sandboxes: swept, cgroups: sweptCgroups.length }, 'removed leftovers of a previous run');
  }
  // Unique per runtime (a process may run several); the pid lets a later run sweep it (cgroups.ts).
  const owner = `r${process.pid}-${randomBytes(4).toString('hex')}`;
  options.logger?.info(
    { isolation: host.probe.isolation, limits: host.probe.limits, pause: host.probe.pause, root: host.probe.root },
    'local runtime ready',
  );
  return new Runtime(host, { ...options, stateDir }, owner, kernelPath, desktopPath);
}
