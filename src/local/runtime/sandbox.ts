/**
 * One local sandbox (docs/isolation.md §8.3–§8.6): its lifecycle, and the work it runs. It
 * composes the pieces that each do one thing: the anchor owning the namespaces (anchor.ts),
 * cgroups holding every process (cgroups.ts), freezing for pause (freezer.ts), preview port
 * forwards (port-forward.ts), the Python kernel (kernel-client.ts), and host children joined into
 * the sandbox for each piece of work (commands.ts, exec-handle.ts).
 * In the `process` tier (no bubblewrap, explicit opt-out) the same API runs plain host processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { rm } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { SandboxAnchor } from './anchor.js';
import { SandboxCgroup } from './cgroups.js';
import { SANDBOX_ASSET_DIR, closingInheritedFds, SANDBOX_PATH, hostHelper, joinArgv, splitHostEnv, withCgroupPrelude } from './commands.js';
import { SpawnedExec, signalGroup } from './exec-handle.js';
import { setFrozen } from './freezer.js';
import { PythonKernel } from './kernel-client.js';
import { SandboxPathError, SandboxStateError } from './errors.js';
import { mapToHost, normaliseSandboxPath, resolveSandboxPath } from './paths.js';
import { addressSpaceCap } from './address-space.js';
import { planCode, type CodePlan } from './languages.js';
import { SandboxPorts } from './port-forward.js';
import type { HostProfile } from './probe.js';
import { descendantsOf } from './proc.js';
import { collectProcesses, collectUsage, type CpuSample } from './usage.js';
import type {
  CodeRequest,
  ExecRequest,
  KernelResult,
  LocalSandbox,
  ResolvedPath,
  RuntimeOptions,
  SandboxDirs,
  SandboxProcessInfo,
  SandboxRuntimeState,
  SandboxSpec,
  SandboxUsage,
} from './types.js';

const MIB = 1024 * 1024;

export interface SandboxContext {
  host: HostProfile;
  /** cgroup owner directory of this runtime (`r<pid>-<suffix>`). */
  owner: string;
  /** Host path of kernel.py, readable by the sandbox uid. */
  kernelPath: string;
  /** Host path of desktop.py, readable by the sandbox uid. */
  desktopPath: string;
  logger?: RuntimeOptions['logger'];
  onDestroyed?: () => void;
}

export class BwrapSandbox implements LocalSandbox {
  private currentState: SandboxRuntimeState = 'stopped';
  private anchor: SandboxAnchor | null = null;
  private cgroup: SandboxCgroup | null = null;
  private readonly running = new Set<SpawnedExec>();
  private readonly kernel: PythonKernel;
  private readonly ports: SandboxPorts;
  private readonly anchorExitCallbacks: Array<(reason: string) => void> = [];
  private anchorExitReported = false;
  private startedAt = Date.now();
  private lastCpu: CpuSample | null = null;
  private scriptCounter = 0;
  /** Serialises lifecycle transitions (start/stop/pause/resume/destroy). */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly spec: SandboxSpec,
    readonly dirs: SandboxDirs,
    private readonly ctx: SandboxContext,
  ) {
    this.kernel = new PythonKernel({
      spawn: (marker) => this.spawnKernel(marker),
      oomKills: () => this.oomKills(),
      memoryLimitMb: ctx.host.probe.limits !== 'prlimit' ? spec.limits.memoryMb : null,
    });
    this.ports = new SandboxPorts(ctx.host, dirs.run);
  }

  get id(): string {
    return this.spec.id;
  }

  get state(): SandboxRuntimeState {
    return this.currentState;
  }

  private get host(): HostProfile {
    return this.ctx.host;
  }

  private get isolated(): boolean {
    return this.host.probe.isolation === 'namespaces';
  }

  private get root(): boolean {
    return this.host.probe.root;
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.lifecycle.then(step);
    this.lifecycle = next.catch(() => {});
    return next;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  start(): Promise<void> {
    return this.serial(async () => {
      if (this.currentState === 'destroyed') throw new SandboxStateError('destroyed', `sandbox ${this.id} was destroyed`);
      if (this.currentState !== 'stopped') return;
      if (this.host.probe.limits !== 'prlimit') {
        this.cgroup = await SandboxCgroup.create(this.host.cgroups, this.ctx.owner, this.id, {
          memoryBytes: this.spec.limits.memoryMb * MIB,
          vcpu: this.spec.limits.vcpu,
          maxProcesses: this.spec.limits.maxProcesses,
        });
      }
      try {
        if (this.isolated) await this.startAnchor();
      } catch (err) {
        await this.cgroup?.remove();
        this.cgroup = null;
        throw err;
      }
      this.anchorExitReported = false;
      this.kernel.reopen();
      this.startedAt = Date.now();
      this.lastCpu = null;
      this.currentState = 'running';
    });
  }

  stop(): Promise<void> {
    return this.serial(() => this.stopNow());
  }

  private async stopNow(): Promise<void> {
    if (this.currentState === 'stopped' || this.currentState === 'destroyed') return;
    // Frozen processes cannot die (v1 freezer) and SIGSTOPped ones keep no promises: thaw first.
    if (this.currentState === 'paused') await this.setFrozen(false).catch(() => {});
    this.currentState = 'stopped';
    await this.teardownProcesses();
  }

  /** Kill every process of the sandbox and release its cgroups and forwards; files stay. */
  private async teardownProcesses(): Promise<void> {
    const anchor = this.anchor;
    this.anchor = null;
    await this.ports.closeAll();
    for (const exec of this.running) signalGroup(exec.pid, 'SIGKILL');
    const kernelClosed = this.kernel.close();
    // The anchor's pid 1 first: the whole pid namespace dies with it.
    await anchor?.kill();
    // Whatever joined the cgroups without being in the pid namespace (forwarders, nsenter parents).
    await this.cgroup?.killAll();
    await kernelClosed;
    await Promise.all([...this.running].map((exec) => exec.done));
    await this.cgroup?.remove();
    this.cgroup = null;
  }

  pause(): Promise<void> {
    return this.serial(async () => {
      if (this.currentState === 'paused') return;
      this.assertRunning();
      await this.setFrozen(true);
      this.holdTimeouts(true);
      this.currentState = 'paused';
    });
  }

  resume(): Promise<void> {
    return this.serial(async () => {
      if (this.currentState !== 'paused') {
        if (this.currentState === 'running') return;
        throw new SandboxStateError(this.currentState, `sandbox ${this.id} is ${this.currentState}; only a paused sandbox can be resumed`);
      }
      await this.setFrozen(false);
      this.holdTimeouts(false);
      this.currentState = 'running';
    });
  }

  /** Paused time does not count against running work's timeouts (its processes make no progress). */
  private holdTimeouts(hold: boolean): void {
    for (const exec of this.running) {
      if (hold) exec.pauseTimeout();
      else exec.resumeTimeout();
    }
    this.kernel.holdTimers(hold);
  }

  /** Freeze or thaw every sandbox process (freezer.ts). */
  private setFrozen(frozen: boolean): Promise<void> {
    return setFrozen(
      {
        tier: this.host.probe.pause,
        cgroup: this.cgroup,
        pids: async () => [...(await this.sandboxHostPids()), ...(this.anchor?.ownPids ?? [])],
      },
      frozen,
    );
  }

  destroy(): Promise<void> {
    return this.serial(async () => {
      if (this.currentState === 'destroyed') return;
      await this.stopNow();
      this.currentState = 'destroyed';
      await rm(this.dirs.root, { recursive: true, force: true });
      this.ctx.onDestroyed?.();
    });
  }

  onAnchorExit(cb: (reason: string) => void): void {
    this.anchorExitCallbacks.push(cb);
  }

  private assertRunning(): void {
    if (this.currentState === 'running') return;
    const hint =
      this.currentState === 'paused' ? 'resume it first' : this.currentState === 'stopped' ? 'start it first' : 'create a new sandbox';
    throw new SandboxStateError(this.currentState, `sandbox ${this.id} is ${this.currentState}; ${hint}`);
  }

  // ---------------------------------------------------------------------------------------------
  // The anchor

  private async startAnchor(): Promise<void> {
    const anchor = await SandboxAnchor.spawn({
      host: this.host,
      dirs: this.dirs,
      sandboxId: this.id,
      hostname: this.spec.hostname ?? this.id,
      internetAccess: this.spec.internetAccess,
      kernelPath: this.ctx.kernelPath,
      desktopPath: this.ctx.desktopPath,
      procsFiles: this.cgroup?.procsFiles ?? [],
    });
    this.anchor = anchor;
    anchor.onExit((reason) => this.onAnchorExited(anchor, reason));
  }

  private onAnchorExited(anchor: SandboxAnchor, reason: string): void {
    if (this.anchor !== anchor) return; // expected: stop/destroy cleared it first
    this.currentState = 'stopped';
    void this.serial(() => this.teardownProcesses()).catch((err: Error) =>
      this.ctx.logger?.warn({ sandbox_id: this.id, err: err.message }, 'sandbox cleanup after anchor exit failed'),
    );
    if (this.anchorExitReported) return;
    this.anchorExitReported = true;
    this.ctx.logger?.warn({ sandbox_id: this.id, reason }, 'sandbox anchor exited');
    for (const cb of this.anchorExitCallbacks) cb(reason);
  }

  // ---------------------------------------------------------------------------------------------
  // Running work

  /** Environment every sandbox process starts from; the request's env is laid over it. */
  private baseEnv(): Record<string, string> {
    if (this.isolated) return { PATH: SANDBOX_PATH, HOME: '/root', LANG: 'C.UTF-8', HOSTNAME: this.spec.hostname ?? this.id };
    return {
      PATH: '/usr/bin:/bin:/usr/sbin:/sbin',
      HOME: this.dirs.home,
      LANG: 'C.UTF-8',
      TMPDIR: this.dirs.scratch,
      HOPX_WORKSPACE: this.dirs.workspace,
    };
  }

  /** Path of the sandbox-side helper as the sandboxed process sees it. */
  private get kernelScript(): string {
    return this.isolated ? `${SANDBOX_ASSET_DIR}/kernel.py` : this.ctx.kernelPath;
  }

  /**
   * Host argv, cwd and environment that run `argv` in the sandbox with `env`, entering its cgroups
   * first. Loader variables reach the process only past the host helpers (splitHostEnv).
   */
  private hostCommand(
    argv: string[],
    cwd: string | undefined,
    requestEnv: Record<string, string>,
    options: { python?: boolean; keepFds?: number } = {},
  ): { argv: string[]; hostCwd: string; env: Record<string, string> } {
    let env = requestEnv;
    let inner = argv;
    if (options.python && !this.cgroup && this.host.probe.limits === 'prlimit') {
      // No memory cgroup: cap python's address space instead (node cannot start under a small
      // RLIMIT_AS, §4). See address-space.ts for why the cap comes with thread settings.
      const cap = addressSpaceCap(this.spec.limits, availableParallelism());
      env = { ...cap.env, ...env };
      inner = ['prlimit', `--as=${cap.bytes}`, '--', ...inner];
    }
    const { host: hostEnv, inside } = splitHostEnv(env);
    const sandboxCwd = this.workingDirectory(cwd);
    const procsFiles = this.cgroup?.procsFiles ?? [];
    if (this.isolated) {
      const anchor = this.anchor!;
      const joined = joinArgv({
        nsenter: this.host.nsenter!,
        anchorPid: anchor.pid,
        root: this.root,
        cwd: sandboxCwd,
        insideEnv: inside,
        keepFds: options.keepFds,
        argv: inner,
      });
      return { argv: withCgroupPrelude(procsFiles, joined), hostCwd: '/', env: hostEnv };
    }
    if (inside.length > 0) inner = ['/usr/bin/env', '--', ...inside, ...inner];
    inner = closingInheritedFds(options.keepFds ?? 3, inner);
    const wrapped = this.host.setpriv ? hostHelper(this.host.setpriv, this.host.probe.sandboxUid, inner) : inner;
    return { argv: withCgroupPrelude(procsFiles, wrapped), hostCwd: mapToHost(this.dirs, sandboxCwd)!, env: hostEnv };
  }

  /**
   * The sandbox directory a process starts in. Inside the namespaces any directory is fine (as in
   * a VM); the process tier can only start in the sandbox's own dirs. Relative means /workspace.
   */
  private workingDirectory(cwd: string | undefined): string {
    if (cwd === undefined || cwd === '') return '/workspace';
    if (!this.isolated) return normaliseSandboxPath(cwd);
    if (cwd.includes('\0')) throw new SandboxPathError('INVALID_PATH', 'cwd contains a NUL byte; remove it', cwd);
    return posix.normalize(cwd.startsWith('/') ? cwd : `/workspace/${cwd}`);
  }

  private track(o: ConstructorParameters<typeof SpawnedExec>[0]): SpawnedExec {
    let handle: SpawnedExec | null = null;
    handle = new SpawnedExec({
      ...o,
      oomKills: () => this.oomKills(),
      onFinished: () => {
        if (handle) this.running.delete(handle);
        return o.onFinished?.();
      },
    });
    this.running.add(handle);
    return handle;
  }

  exec(request: ExecRequest): SpawnedExec {
    this.assertRunning();
    let argv = request.argv;
    if (argv.length === 0) throw new Error('argv is empty; pass a command such as ["bash", "-c", "ls"]');
    if (request.tty) {
      if (!this.host.probe.python) throw new Error('a terminal needs /usr/bin/python3 on the host (apt-get install python3)');
      argv = ['/usr/bin/python3', this.kernelScript, 'pty', String(request.tty.cols), String(request.tty.rows), '--', ...argv];
    }
    const env = { ...this.baseEnv(), ...(request.tty ? { TERM: 'xterm-256color' } : {}), ...request.env };
    const command = this.hostCommand(argv, request.cwd, env, { keepFds: request.tty ? 4 : 3 });
    return this.track({
      argv: command.argv,
      hostCwd: command.hostCwd,
      env: command.env,
      timeoutMs: request.timeoutMs,
      stdin: request.stdin ?? (request.tty ? undefined : ''),
      controlPipe: !!request.tty,
    });
  }

  execCode(request: CodeRequest): SpawnedExec {
    this.assertRunning();
    const plan = planCode(request.language, {
      probe: this.host.probe,
      dirs: this.dirs,
      isolated: this.isolated,
      serial: ++this.scriptCounter,
    });
    if (!plan) {
      const command = this.hostCommand(['bash', '-c', request.code], request.cwd, { ...this.baseEnv(), ...request.env });
      return this.track({ argv: command.argv, hostCwd: command.hostCwd, env: command.env, timeoutMs: request.timeoutMs, stdin: '' });
    }
    return this.runWithFile(plan, request);
  }

  /**
   * Write the code to the sandbox's /tmp, then run it. The handle is returned synchronously, so
   * the write happens first through a small shell step inside the sandbox: the file is created
   * by the sandbox user and removed afterwards.
   */
  private runWithFile(plan: CodePlan, request: CodeRequest): SpawnedExec {
    // `cat > file` reads the code from stdin, then the real program runs with stdin at EOF.
    const script = 'mkdir -p "$1" && cat > "$2" && shift 2 && exec "$@" </dev/null';
    const wrapped = ['/bin/sh', '-c', script, 'sh', posix.dirname(plan.file.inside), plan.file.inside, ...plan.argv];
    const command = this.hostCommand(wrapped, request.cwd, { ...this.baseEnv(), ...plan.env, ...request.env }, { python: plan.python });
    return this.track({
      argv: command.argv,
      hostCwd: command.hostCwd,
      env: command.env,
      timeoutMs: request.timeoutMs,
      stdin: request.code,
      onFinished: () => rm(plan.cleanupHost, { recursive: true, force: true }),
    });
  }

  startDesktop(size: { width: number; height: number }): SpawnedExec {
    this.assertRunning();
    const desktop = this.host.probe.desktop;
    if (!desktop.available) throw new Error(`this machine cannot run a sandbox desktop: ${desktop.missing.join(', ')} missing`);
    const argv = ['/usr/bin/python3', '-u', `${SANDBOX_ASSET_DIR}/desktop.py`, String(size.width), String(size.height)];
    const command = this.hostCommand(argv, '/root', { ...this.baseEnv(), PYTHONDONTWRITEBYTECODE: '1' });
    // No timeout and stdin left open: the helper lives as long as the sandbox runs.
    return this.track({ argv: command.argv, hostCwd: command.hostCwd, env: command.env, timeoutMs: 0 });
  }

  private mplConfigDir(): string {
    return this.isolated ? '/root/.config/matplotlib' : join(this.dirs.home, '.config', 'matplotlib');
  }

  private spawnKernel(marker: string): ChildProcess {
    this.assertRunning();
    const env = {
      ...this.baseEnv(),
      HOPX_KERNEL_MARKER: marker,
      // kernel.py provides this backend: Agg rendering, plt.show() returns the figure.
      MPLBACKEND: 'module://hopx_inline',
      MPLCONFIGDIR: this.mplConfigDir(),
      PYTHONDONTWRITEBYTECODE: '1',
    };
    const command = this.hostCommand(['/usr/bin/python3', '-u', this.kernelScript, 'kernel'], '/workspace', env, { python: true, keepFds: 4 });
    return spawn(command.argv[0], command.argv.slice(1), {
      env: command.env,
      cwd: command.hostCwd,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
  }

  async runPython(
    request: { code: string; cwd?: string; env: Record<string, string>; timeoutMs: number; maxOutputChars?: number },
    onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void,
    signal?: AbortSignal,
  ): Promise<KernelResult> {
    this.assertRunning();
    if (!this.host.probe.python) throw new Error('python needs /usr/bin/python3 on the host');
    const cwd = request.cwd ? (this.isolated ? this.workingDirectory(request.cwd) : mapToHost(this.dirs, this.workingDirectory(request.cwd))!) : undefined;
    return this.kernel.run({ ...request, cwd }, onOutput, signal);
  }

  holdPythonOutput(): () => void {
    return this.kernel.holdOutput();
  }

  private async oomKills(): Promise<number> {
    return this.cgroup ? this.cgroup.oomKills() : 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Files, ports, metrics

  resolvePath(sandboxPath: string): Promise<ResolvedPath> {
    return resolveSandboxPath(this.dirs, sandboxPath);
  }

  forwardPort(port: number): Promise<{ hostPort: number }> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return Promise.reject(new Error(`port must be an integer from 1 to 65535, got ${port}`));
    }
    // Serialised with the lifecycle: two concurrent calls for one port would each open a forward
    // and lose one, and a forward finishing after stop's teardown would keep its listener open.
    return this.serial(() => this.openForward(port));
  }

  private async openForward(port: number): Promise<{ hostPort: number }> {
    this.assertRunning();
    // Sharing the host network: the sandbox's port already is a host loopback port.
    if (!this.isolated || this.spec.internetAccess) return { hostPort: port };
    return { hostPort: await this.ports.open(port, { anchorPid: this.anchor!.pid, procsFiles: this.cgroup?.procsFiles ?? [] }) };
  }

  /** Host pids of the sandbox's work (the anchor's own left out). */
  private async sandboxHostPids(): Promise<number[]> {
    const inNamespace = await this.anchor?.workPids();
    if (inNamespace) return inNamespace;
    if (this.cgroup) return this.cgroup.pids();
    const all = await Promise.all([...this.running].map((e) => descendantsOf(e.pid)));
    return [...new Set(all.flat())];
  }

  async usage(): Promise<SandboxUsage> {
    if (this.currentState === 'destroyed' || this.currentState === 'stopped') {
      throw new SandboxStateError(this.currentState, `sandbox ${this.id} is ${this.currentState}; no usage to report`);
    }
    const result = await collectUsage({
      cgroup: this.cgroup,
      pids: await this.sandboxHostPids(),
      limits: this.spec.limits,
      dirs: this.dirs,
      previousCpu: this.lastCpu,
      startedAt: this.startedAt,
    });
    this.lastCpu = result.cpuSample;
    return result.usage;
  }

  async processes(): Promise<SandboxProcessInfo[]> {
    if (this.currentState === 'destroyed' || this.currentState === 'stopped') return [];
    return collectProcesses(await this.sandboxHostPids(), this.host.probe.sandboxUid);
  }

  /** For tests and diagnostics: the host pid of the anchor's pid 1 and the cgroup dirs. */
  get diagnostics(): { anchorPid: number | null; cgroupProcsFiles: string[] } {
    return { anchorPid: this.anchor?.pid ?? null, cgroupProcsFiles: this.cgroup?.procsFiles ?? [] };
  }
}
