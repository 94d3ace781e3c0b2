/**
 * The sandbox runtime of the local backend: how one sandbox is isolated and how work runs in it.
 *
 * src/local/runtime implements it (bubblewrap anchor + nsenter, cgroups, the Python kernel,
 * path confinement, port forwards); src/local/server speaks the HopX HTTP/WebSocket API on top of
 * it. The server never touches processes, namespaces or host paths except through this interface.
 * See docs/isolation.md §8 for the measured design.
 */

type IsolationTier = 'namespaces' | 'process';
export type LimitsTier = 'cgroup-v2' | 'cgroup-v1' | 'prlimit';
export type PauseTier = 'cgroup-v2-freeze' | 'cgroup-v1-freezer' | 'sigstop';

/** What the machine offers, probed once at start-up and reported by /health and /info. */
export interface RuntimeProbe {
  isolation: IsolationTier;
  limits: LimitsTier;
  pause: PauseTier;
  /** euid 0: sandboxes then run as an unprivileged uid. */
  root: boolean;
  sandboxUid: number | null;
  bwrapVersion: string | null;
  /** Runtimes really present; the template list is built from this. */
  python: { path: string; matplotlib: boolean; pandas: boolean } | null;
  node: { path: string } | null;
  go: { path: string } | null;
  /**
   * The X tools a desktop sandbox runs inside itself (Debian: xvfb openbox xdotool wmctrl, and
   * x11vnc, xclip for VNC and the clipboard). Desktops need the namespaces tier: each display is
   * an abstract socket of its sandbox's own network namespace.
   */
  desktop: { available: boolean; missing: string[]; vnc: boolean; clipboard: boolean };
  /** Human-readable reasons for every tier that is not the strongest. */
  warnings: string[];
}

export interface RuntimeOptions {
  /** Everything lives under here: `<stateDir>/sandboxes/<id>/...`. */
  stateDir: string;
  /**
   * Allow the unisolated `process` tier when bubblewrap is unavailable. Off by default: without it
   * createRuntime() throws an error that names the fix (install bubblewrap) and this opt-out.
   */
  allowUnisolated?: boolean;
  /**
   * Use weaker tiers than the machine offers, so the fallbacks can be tested and debugged for real.
   * Forcing `isolation: 'process'` counts as the unisolated opt-out. Default: the strongest tiers.
   */
  forceTiers?: { isolation?: 'process'; limits?: 'prlimit'; pause?: 'cgroup-v1-freezer' | 'sigstop' };
  logger?: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

export interface SandboxLimits {
  memoryMb: number;
  vcpu: number;
  /** cgroup pids.max. */
  maxProcesses: number;
}

export interface SandboxSpec {
  id: string;
  internetAccess: boolean;
  limits: SandboxLimits;
  /** Hostname inside the sandbox. */
  hostname?: string;
}

export interface SandboxDirs {
  root: string;
  /** Host dir mounted at /workspace. */
  workspace: string;
  /** Host dir mounted at /root (HOME, MPLCONFIGDIR, GOCACHE). */
  home: string;
  /** Host dir mounted at /tmp. */
  scratch: string;
  /** Host-only: sockets, logs. Not mounted. */
  run: string;
}

export type RuntimeLanguage = 'python' | 'javascript' | 'bash' | 'go';

export interface ExecRequest {
  /** argv run inside the sandbox, e.g. ['bash', '-c', 'ls']. */
  argv: string[];
  /** Sandbox path; default /workspace. */
  cwd?: string;
  /** Full environment of the process (the server merges sandbox env + request env). */
  env: Record<string, string>;
  /** Kill the process group after this many ms (SIGTERM, 2 s grace, SIGKILL). 0 = none. */
  timeoutMs: number;
  /**
   * Written to stdin, which is then closed. Omitted: with `tty`, stdin stays open for
   * writeStdin(); without, it is closed at once (EOF), so a program that reads input cannot hang
   * until its timeout.
   */
  stdin?: string;
  /** Allocate a PTY (terminal). */
  tty?: { cols: number; rows: number };
}

export interface ExecOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The cgroup reported an OOM kill during this process's life. */
  oomKilled: boolean;
  durationMs: number;
}

/** A running process inside a sandbox. Output is delivered as it arrives. */
export interface ExecHandle {
  /** Host pid of the process (the nsenter'd child). */
  readonly pid: number;
  onStdout(cb: (chunk: string) => void): void;
  onStderr(cb: (chunk: string) => void): void;
  writeStdin(data: string): void;
  /** Close stdin (EOF), for programs that read until end of input. */
  closeStdin?(): void;
  resize(cols: number, rows: number): void;
  /** Kill the whole process group: SIGTERM, grace (default 2 s), SIGKILL. */
  kill(options?: { graceMs?: number }): Promise<void>;
  /** Stop reading output (the writer blocks on a full pipe) until the returned function is called. */
  holdOutput(): () => void;
  /** Resolves once the process has exited and its output is drained. */
  readonly done: Promise<ExecOutcome>;
}

export interface CodeRequest {
  language: RuntimeLanguage;
  code: string;
  cwd?: string;
  env: Record<string, string>;
  timeoutMs: number;
}

/** One Jupyter-style MIME bundle (execute_result or display_data). */
export type MimeBundle = Record<string, string>;

export interface KernelResult {
  stdout: string;
  stderr: string;
  /** Exception name + message + traceback text, if the cell raised. */
  error: { name: string; value: string; traceback: string } | null;
  /** display_data bundles in order (matplotlib figures as image/png base64, display() calls). */
  displays: MimeBundle[];
  /** The execute_result bundle of the last expression, if any. */
  result: MimeBundle | null;
  timedOut: boolean;
  /**
   * True when the kernel had to be killed and restarted: variables are gone. Also set on the first
   * cell after a cancelled cell that would not stop (the restart happened between the two).
   */
  stateLost: boolean;
  /** The kernel was OOM-killed by the sandbox's memory limit (then stateLost is true too). */
  oomKilled?: boolean;
  durationMs: number;
}

export interface ResolvedPath {
  /** The path as the sandbox sees it, normalised (e.g. /workspace/a.txt). */
  sandboxPath: string;
  /** The host path the backend reads or writes. */
  hostPath: string;
}

export interface SandboxUsage {
  cpu: { usagePercent: number; cores: number };
  memory: { totalBytes: number; usedBytes: number; usagePercent: number };
  disk: { totalBytes: number; usedBytes: number; usagePercent: number };
  processes: { count: number; running: number };
  uptimeSeconds: number;
}

export interface SandboxProcessInfo {
  /** pid as seen inside the sandbox. */
  pid: number;
  name: string;
  command: string;
  user: string;
  status: string;
  cpuPercent: number;
  memoryMb: number;
}

export type SandboxRuntimeState = 'running' | 'paused' | 'stopped' | 'destroyed';

export interface LocalSandbox {
  readonly id: string;
  readonly dirs: SandboxDirs;
  readonly state: SandboxRuntimeState;
  /** Start (or restart after stop) the anchor. Files are kept. */
  start(): Promise<void>;
  /** Kill every process, keep the files. */
  stop(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Kill everything, remove cgroups and the directory. Idempotent. */
  destroy(): Promise<void>;
  /** Called once if the anchor dies on its own (e.g. `kill -9 -1` inside). */
  onAnchorExit(cb: (reason: string) => void): void;

  exec(request: ExecRequest): ExecHandle;
  /** Stateless languages as one process; python as a plain process too (for background runs). */
  execCode(request: CodeRequest): ExecHandle;
  /** Stateful python in the sandbox's kernel; one cell at a time (queued). */
  runPython(
    request: { code: string; cwd?: string; env: Record<string, string>; timeoutMs: number; maxOutputChars?: number },
    onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void,
    /** Cancels the cell: dropped if still queued; else interrupted, and the kernel restarted if it does not stop. */
    signal?: AbortSignal,
  ): Promise<KernelResult>;
  /**
   * Stop reading the Python kernel's output until the returned function is called (its writes block
   * on full pipes meanwhile): how a listener that is not ready yet makes a fast printer wait.
   */
  holdPythonOutput(): () => void;

  /**
   * Map a sandbox path to a host path confined to the sandbox's writable roots (/workspace, /root,
   * /tmp). Rejects `..` escapes, other absolute paths and symlinks that resolve outside. Throws a
   * `SandboxPathError` (with `code`) when refused.
   */
  resolvePath(sandboxPath: string): Promise<ResolvedPath>;
  /** Open (lazily) a host loopback listener forwarding to `port` inside the sandbox. */
  forwardPort(port: number): Promise<{ hostPort: number }>;
  usage(): Promise<SandboxUsage>;
  processes(): Promise<SandboxProcessInfo[]>;
  /**
   * Start the sandbox's desktop helper (desktop.py: Xvfb, window manager, screenshots) inside the
   * sandbox, stdin kept open for its JSON-line requests. Throws when probe.desktop is unavailable.
   */
  startDesktop(size: { width: number; height: number }): ExecHandle;
}

export interface SandboxRuntime {
  readonly probe: RuntimeProbe;
  create(spec: SandboxSpec): Promise<LocalSandbox>;
  get(id: string): LocalSandbox | undefined;
  /** Destroy every sandbox this runtime started. */
  shutdown(): Promise<void>;
}
