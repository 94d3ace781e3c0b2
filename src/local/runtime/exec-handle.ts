/**
 * ExecHandle over one host child process that leads its own process group (spawned detached), so
 * a timeout or kill reaches everything it started: SIGTERM to the group, 2 s grace, SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { ExecHandle, ExecOutcome } from './types.js';

const KILL_GRACE_MS = 2000;
/**
 * Grace after a cancel (the caller went away): SIGTERM, then SIGKILL of the group after this; and
 * for a Python cell, the interrupt, then a kernel restart. Short, so a cancelled run is gone
 * within a second and the next call starts at once.
 */
export const CANCEL_GRACE_MS = 500;
/** After the main process exits, how long to wait for pipes held open by background children. */
const DRAIN_MS = 200;
/** Input queued for a process that is not reading (a paused sandbox's terminal) before more is dropped. */
const MAX_PENDING_STDIN_BYTES = 8 * 1024 * 1024;
/** Output kept for a stream nobody has subscribed to yet. */
const MAX_EARLY_BYTES = 16 * 1024 * 1024;

/** Node fires a longer setTimeout at once (it takes a signed 32-bit delay): longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A one-shot timeout that can be held while its sandbox is paused: a frozen process makes no
 * progress, so paused time must not count against it (as in a paused VM, whose clock stops too).
 * Any length works (background jobs may run for months): past MAX_TIMER_MS it re-arms.
 */
export class PausableTimer {
  private timer: NodeJS.Timeout | null = null;
  private remainingMs: number;
  private armedAt = 0;
  private finished = false;

  constructor(
    ms: number,
    private readonly fire: () => void,
  ) {
    this.remainingMs = ms;
    this.resume();
  }

  pause(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.remainingMs -= Date.now() - this.armedAt;
  }

  resume(): void {
    if (this.timer || this.finished) return;
    this.armedAt = Date.now();
    const step = Math.max(0, Math.min(this.remainingMs, MAX_TIMER_MS));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.remainingMs -= Date.now() - this.armedAt;
      if (this.remainingMs > 0) return this.resume();
      this.finished = true;
      this.fire();
    }, step);
  }

  clear(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* group already gone */
  }
}

export interface SpawnOptions {
  argv: string[];
  env: Record<string, string>;
  /** Host cwd of the spawned (host-side) process. */
  hostCwd?: string;
  timeoutMs: number;
  stdin?: string;
  /** Extra pipe on fd 3 (pty control channel). */
  controlPipe?: boolean;
  /** OOM-kill counter of the sandbox, read at start and end to fill ExecOutcome.oomKilled. */
  oomKills?: () => Promise<number>;
  /** Called once the process has fully finished (to untrack it). */
  onFinished?: () => void | Promise<void>;
}

export class SpawnedExec implements ExecHandle {
  readonly pid: number;
  readonly done: Promise<ExecOutcome>;
  private readonly child: ChildProcess;
  private readonly stdoutListeners: Array<(chunk: string) => void> = [];
  private readonly stderrListeners: Array<(chunk: string) => void> = [];
  /** Output that arrived before anyone subscribed, replayed to the first listener. */
  private readonly early = { stdout: [] as string[], stderr: [] as string[] };
  private readonly earlyBytes = { stdout: 0, stderr: 0 };
  private timedOut = false;
  private exited = false;
  private killing: Promise<void> | null = null;
  private killGraceMs: number | undefined;
  private readonly control: Writable | null;
  private readonly timer: PausableTimer | null;
  /** Holders that asked the output to wait (holdOutput), and who waits for them all to let go. */
  private holds = 0;
  private unheld: Array<() => void> = [];

  constructor(o: SpawnOptions) {
    const started = Date.now();
    const oomBefore = o.oomKills ? o.oomKills() : Promise.resolve(0);
    this.child = spawn(o.argv[0], o.argv.slice(1), {
      env: o.env,
      cwd: o.hostCwd ?? '/',
      detached: true,
      stdio: o.controlPipe ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (ENOENT etc.); 'error' follows.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
    }
    this.control = o.controlPipe ? (this.child.stdio[3] as Writable) : null;
    this.control?.on('error', () => {});
    this.child.stdin!.on('error', () => {});
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.emit('stdout', chunk));
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => this.emit('stderr', chunk));
    if (o.stdin !== undefined) this.child.stdin!.end(o.stdin);

    const timer = (this.timer =
      o.timeoutMs > 0
        ? new PausableTimer(o.timeoutMs, () => {
            this.timedOut = true;
            void this.kill();
          })
        : null);

    this.done = new Promise<ExecOutcome>((resolve) => {
      let spawnError: Error | null = null;
      this.child.on('error', (err) => {
        spawnError = err;
      });
      this.child.on('exit', (code, signal) => {
        this.exited = true;
        timer?.clear();
        // Wait for pipes to drain, but not forever: `server &` keeps them open. Held output
        // (holdOutput) is still in the pipes: the wait starts once every holder let go.
        const closed = new Promise<void>((r) => this.child.once('close', () => r()));
        const drained = this.whenUnheld().then(() => Promise.race([closed, new Promise<void>((r) => setTimeout(r, DRAIN_MS))]));
        void drained.then(async () => {
          this.child.stdout!.destroy();
          this.child.stderr!.destroy();
          this.control?.destroy();
          const [before, after] = await Promise.all([oomBefore, o.oomKills ? o.oomKills() : Promise.resolve(0)]);
          await Promise.resolve(o.onFinished?.()).catch(() => {});
          resolve({
            exitCode: code,
            signal,
            timedOut: this.timedOut,
            oomKilled: after > before,
            durationMs: Date.now() - started,
          });
        });
      });
      this.child.on('close', () => {
        if (spawnError && !this.exited) {
          this.exited = true;
          timer?.clear();
          this.emit('stderr', `failed to start: ${spawnError.message}\n`);
          void Promise.resolve(o.onFinished?.()).catch(() => {});
          resolve({ exitCode: 127, signal: null, timedOut: false, oomKilled: false, durationMs: Date.now() - started });
        }
      });
    });
  }

  private emit(stream: 'stdout' | 'stderr', chunk: string): void {
    const listeners = stream === 'stdout' ? this.stdoutListeners : this.stderrListeners;
    if (listeners.length === 0) {
      // Nobody listening (yet): keep a bounded backlog so an unread stream cannot eat the heap.
      if (this.earlyBytes[stream] < MAX_EARLY_BYTES) this.early[stream].push(chunk);
      else if (this.earlyBytes[stream] !== Infinity) this.early[stream].push(`\n[output dropped: more than ${MAX_EARLY_BYTES} bytes arrived before a listener]\n`);
      this.earlyBytes[stream] = this.earlyBytes[stream] >= MAX_EARLY_BYTES ? Infinity : this.earlyBytes[stream] + chunk.length;
    }
    for (const cb of listeners) cb(chunk);
  }

  private subscribe(stream: 'stdout' | 'stderr', cb: (chunk: string) => void): void {
    const listeners = stream === 'stdout' ? this.stdoutListeners : this.stderrListeners;
    listeners.push(cb);
    if (listeners.length === 1) {
      for (const chunk of this.early[stream].splice(0)) cb(chunk);
    }
  }

  /**
   * Stops reading the process's output until the returned function is called (by every holder):
   * the pipes fill and a fast writer blocks, rather than its output piling up in memory while a
   * listener gets ready for it (an output file opening).
   */
  holdOutput(): () => void {
    if (this.holds++ === 0) {
      this.child.stdout!.pause();
      this.child.stderr!.pause();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0) return;
      this.child.stdout!.resume();
      this.child.stderr!.resume();
      for (const wake of this.unheld.splice(0)) wake();
    };
  }

  private whenUnheld(): Promise<void> {
    return this.holds === 0 ? Promise.resolve() : new Promise((resolve) => this.unheld.push(resolve));
  }

  onStdout(cb: (chunk: string) => void): void {
    this.subscribe('stdout', cb);
  }

  onStderr(cb: (chunk: string) => void): void {
    this.subscribe('stderr', cb);
  }

  /** Queue input; beyond MAX_PENDING_STDIN_BYTES unread, more is dropped rather than buffered without bound. */
  writeStdin(data: string): void {
    const stdin = this.child.stdin!;
    if (this.exited || !stdin.writable || stdin.writableLength > MAX_PENDING_STDIN_BYTES) return;
    stdin.write(data);
  }

  /** Close stdin (EOF) so programs that read until end of input can finish. */
  closeStdin(): void {
    if (this.child.stdin!.writable) this.child.stdin!.end();
  }

  resize(cols: number, rows: number): void {
    if (this.control && !this.control.destroyed && !this.exited) {
      this.control.write(`${JSON.stringify({ cols, rows })}\n`);
    }
  }

  /** Hold the timeout while the sandbox is paused (see PausableTimer). */
  pauseTimeout(): void {
    this.timer?.pause();
  }

  resumeTimeout(): void {
    this.timer?.resume();
  }

  kill(options: { graceMs?: number } = {}): Promise<void> {
    if (this.exited || this.pid < 0) return Promise.resolve();
    const graceMs = options.graceMs ?? KILL_GRACE_MS;
    // A second, more urgent kill (a cancel during a timeout's grace) shortens the wait.
    if (this.killing && graceMs < (this.killGraceMs ?? Infinity)) {
      this.killGraceMs = graceMs;
      setTimeout(() => !this.exited && signalGroup(this.pid, 'SIGKILL'), graceMs).unref();
      return this.killing;
    }
    this.killGraceMs ??= graceMs;
    this.killing ??= (async () => {
      signalGroup(this.pid, 'SIGTERM');
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'grace'>((r) => (timer = setTimeout(() => r('grace'), graceMs)));
      await Promise.race([exited, grace]);
      clearTimeout(timer);
      // Always: the group may outlive its leader (a child that traps SIGTERM).
      signalGroup(this.pid, 'SIGKILL');
      await this.done;
    })();
    return this.killing;
  }
}
