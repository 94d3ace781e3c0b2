/**
 * Host side of the sandbox's stateful Python kernel (kernel.py, "kernel" mode).
 *
 * One kernel process per sandbox, started on first use; one cell in flight, the rest queued.
 * Timeout or cancel: interrupt (SIGINT inside the kernel via its reader thread: KeyboardInterrupt,
 * variables kept), 0.5 s grace, then SIGKILL of the kernel's process group — the next cell starts a
 * fresh kernel and its result says the state was lost. A cancelled cell still queued never runs.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { HeadTailBuffer } from '../../text/cut.js';
import { SandboxStateError } from './errors.js';
import { CANCEL_GRACE_MS, PausableTimer, signalGroup } from './exec-handle.js';
import type { KernelResult, MimeBundle } from './types.js';

export interface KernelCellRequest {
  code: string;
  cwd?: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Per stream, how much of the cell's output the result keeps (head + tail). Default 16 Mi characters. */
  maxOutputChars?: number;
}

type OutputCallback = (stream: 'stdout' | 'stderr', chunk: string) => void;

export interface KernelHooks {
  /**
   * Spawn kernel.py in kernel mode with stdio [pipe, pipe, pipe, pipe] (fd 3 = replies) and
   * HOPX_KERNEL_MARKER=<marker> in its environment.
   */
  spawn(marker: string): ChildProcess;
  /** Cumulative OOM kills of the sandbox (to explain a dead kernel). */
  oomKills(): Promise<number>;
  memoryLimitMb: number | null;
}

interface KernelMessage {
  type: 'ready' | 'stream' | 'display' | 'done';
  id?: number;
  name?: 'stdout' | 'stderr';
  text?: string;
  data?: MimeBundle;
  result?: MimeBundle | null;
  error?: KernelResult['error'];
}

interface Cell {
  id: number;
  /** Bounded copies for the result; every chunk is also streamed to onOutput whole. */
  stdout: HeadTailBuffer;
  stderr: HeadTailBuffer;
  displays: MimeBundle[];
  onOutput?: OutputCallback;
  finish: (m: KernelMessage | { died: string; oom: boolean }) => void;
}

const READY_TIMEOUT_MS = 30_000;
/**
 * Longest reply line accepted from the kernel (a display bundle with a big image is a few MB).
 * Cell code can write to fd 3 itself; a line that never ends must not grow the backend forever.
 */
const MAX_REPLY_CHARS = 64 * 1024 * 1024;
/** stderr kept to explain a kernel that failed to start. */
const DIAGNOSTIC_CHARS = 4096;
/** How long to wait for the end-of-cell markers after "done" (user code may have closed fd 1). */
const MARKER_WAIT_MS = 500;
/** Per stream, how much of a cell's output the KernelResult keeps by default. */
const MAX_KEPT_OUTPUT = 16 * 1024 * 1024;

/**
 * Raw fd 1 / fd 2 output of the kernel. Pipes do not order against fd 3, so at the end of each
 * cell the kernel writes a per-kernel random marker on both: everything before the marker belongs
 * to the cell. A chunk tail that could be the start of a marker is held back until it resolves.
 */
export class RawStream {
  private pending = '';

  constructor(
    private readonly marker: string,
    private readonly onText: (text: string) => void,
    private readonly onMarker: () => void,
  ) {}

  push(chunk: string): void {
    this.pending += chunk;
    for (;;) {
      const at = this.pending.indexOf(this.marker);
      if (at < 0) break;
      if (at > 0) this.onText(this.pending.slice(0, at));
      this.pending = this.pending.slice(at + this.marker.length);
      this.onMarker();
    }
    let keep = 0;
    for (let n = Math.min(this.marker.length - 1, this.pending.length); n > 0; n--) {
      if (this.marker.startsWith(this.pending.slice(-n))) {
        keep = n;
        break;
      }
    }
    const text = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    if (text) this.onText(text);
  }
}

class KernelProcess {
  readonly exited: Promise<void>;
  private readonly ready: Promise<void>;
  private current: Cell | null = null;
  private alive = true;
  /** The cell's "done" message, held until both end markers arrived. */
  private doneMessage: KernelMessage | null = null;
  private markersSeen = { stdout: false, stderr: false };
  private markerTimer: NodeJS.Timeout | undefined;
  /** Holders of the output (holdOutput); reading resumes when the last lets go. */
  private holds = 0;

  constructor(
    readonly child: ChildProcess,
    marker: string,
    private readonly onDeath: (process: KernelProcess) => void,
  ) {
    let markReady!: () => void;
    let failReady!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => {});
    let startupStderr = '';
    this.exited = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        startupStderr += err.message;
      });
      child.on('close', () => {
        this.alive = false;
        failReady(new Error(`python kernel failed to start: ${startupStderr.trim().slice(0, 500) || 'exited'}`));
        this.onDeath(this);
        resolve();
      });
    });
    const replies = child.stdio[3] as Readable;
    replies.setEncoding('utf8');
    // Pieces of the unfinished line; each chunk is searched once, so a long line costs linear time.
    let partial: string[] = [];
    let partialChars = 0;
    replies.on('data', (chunk: string) => {
      let from = 0;
      for (let newline = chunk.indexOf('\n'); newline >= 0; newline = chunk.indexOf('\n', from)) {
        partial.push(chunk.slice(from, newline));
        const line = partial.join('');
        partial = [];
        partialChars = 0;
        from = newline + 1;
        this.reply(line, markReady);
      }
      if (from < chunk.length) {
        partial.push(chunk.slice(from));
        partialChars += chunk.length - from;
      }
      if (partialChars > MAX_REPLY_CHARS) {
        partial = [];
        partialChars = 0;
        this.killGroup(); // the running cell fails with "the Python kernel exited"
      }
    });
    // Raw fd 1/2 output (subprocesses, C code) belongs to whichever cell is running.
    const stdout = new RawStream(marker, (t) => this.raw('stdout', t), () => this.markerArrived('stdout'));
    const stderr = new RawStream(marker, (t) => this.raw('stderr', t), () => this.markerArrived('stderr'));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      // Only for the start-up failure message: output between cells (a thread or a child the
      // user left running) must not pile up here for the kernel's whole life.
      if (!this.current && startupStderr.length < DIAGNOSTIC_CHARS) startupStderr += chunk;
      stderr.push(chunk);
    });
    (child.stdin as Writable).on('error', () => {});
  }

  private reply(line: string, markReady: () => void): void {
    let message: KernelMessage;
    try {
      message = JSON.parse(line) as KernelMessage;
    } catch {
      return;
    }
    if (message.type === 'ready') markReady();
    else this.dispatch(message);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** The running cell said "done" (it is only waiting for its end markers). */
  get cellDone(): boolean {
    return this.doneMessage !== null;
  }

  waitReady(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('python kernel did not become ready within 30 s')), READY_TIMEOUT_MS);
    });
    return Promise.race([this.ready, timeout]).finally(() => clearTimeout(timer));
  }

  private raw(stream: 'stdout' | 'stderr', chunk: string): void {
    const cell = this.current;
    if (!cell) return;
    // Everything is streamed; only the returned copy is bounded, so a runaway print loop cannot
    // exhaust the backend's memory.
    cell[stream].append(chunk);
    cell.onOutput?.(stream, chunk);
  }

  private dispatch(message: KernelMessage): void {
    const cell = this.current;
    if (!cell || message.id !== cell.id) return;
    if (message.type === 'stream' && message.name && message.text) {
      this.raw(message.name, message.text);
    } else if (message.type === 'display' && message.data) {
      cell.displays.push(message.data);
    } else if (message.type === 'done') {
      this.doneMessage = message;
      this.markerTimer = setTimeout(() => this.completeCell(), MARKER_WAIT_MS);
      this.completeCell(false);
    }
  }

  private markerArrived(stream: 'stdout' | 'stderr'): void {
    if (!this.current) return;
    this.markersSeen[stream] = true;
    this.completeCell(false);
  }

  /** Finish the cell once "done" and both markers are in (or, forced, when the wait ran out). */
  private completeCell(force = true): void {
    const cell = this.current;
    const message = this.doneMessage;
    if (!cell || !message) return;
    if (!force && !(this.markersSeen.stdout && this.markersSeen.stderr)) return;
    clearTimeout(this.markerTimer);
    this.current = null;
    this.doneMessage = null;
    cell.finish(message);
  }

  send(message: object): void {
    const stdin = this.child.stdin as Writable;
    if (this.alive && stdin.writable) stdin.write(`${JSON.stringify(message)}\n`);
  }

  begin(cell: Cell): void {
    this.current = cell;
    this.doneMessage = null;
    this.markersSeen = { stdout: false, stderr: false };
  }

  /** The kernel died: fail the running cell. */
  abandon(reason: { died: string; oom: boolean }): void {
    const cell = this.current;
    clearTimeout(this.markerTimer);
    this.current = null;
    this.doneMessage = null;
    cell?.finish(reason);
  }

  /** Pauses the kernel's replies and raw output (its writes block on full pipes) until released. */
  holdOutput(): () => void {
    const streams = [this.child.stdio[3], this.child.stdout, this.child.stderr] as Array<Readable | null>;
    if (this.holds++ === 0) for (const s of streams) s?.pause();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) for (const s of streams) s?.resume();
    };
  }

  killGroup(): void {
    if (this.child.pid !== undefined) signalGroup(this.child.pid, 'SIGKILL');
  }
}

export class PythonKernel {
  private process: KernelProcess | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private closed = false;
  /** The running cell's timeout and kill-grace timers, held while the sandbox is paused. */
  private readonly cellTimers = new Set<PausableTimer>();
  /**
   * Why the kernel was restarted since the last result was given (a cancelled cell that would not
   * stop): the next cell's result says so, since nobody saw the cancelled one's.
   */
  private restartNote: string | null = null;

  constructor(private readonly hooks: KernelHooks) {}

  /**
   * Run one cell after the ones already queued. `signal` cancels it: a queued cell is dropped, a
   * running one interrupted (and the kernel restarted if it does not stop within the grace).
   */
  run(request: KernelCellRequest, onOutput?: OutputCallback, signal?: AbortSignal): Promise<KernelResult> {
    const result = this.tail.then(() => (signal?.aborted ? cancelledBeforeStart() : this.runNow(request, onOutput, signal)));
    this.tail = result.catch(() => {});
    return result;
  }

  get running(): boolean {
    return this.process?.isAlive ?? false;
  }

  private async ensureProcess(): Promise<KernelProcess> {
    if (this.closed) throw new SandboxStateError('stopped', 'the sandbox is not running; start it first');
    if (this.process?.isAlive) return this.process;
    const oomBefore = await this.hooks.oomKills();
    // Record separators around a random token: cannot collide with output by accident.
    const marker = `\x1e${randomBytes(12).toString('hex')}\x1e`;
    const kernel = new KernelProcess(this.hooks.spawn(marker), marker, (dead) => {
      if (this.process === dead) this.process = null;
      void this.hooks.oomKills().then((after) => {
        const oom = after > oomBefore;
        const limit = this.hooks.memoryLimitMb ? ` (limit ${this.hooks.memoryLimitMb} MB)` : '';
        dead.abandon({ died: oom ? `the Python kernel was killed: out of memory${limit}` : 'the Python kernel exited', oom });
      });
    });
    this.process = kernel;
    try {
      await kernel.waitReady();
    } catch (err) {
      kernel.killGroup();
      throw err;
    }
    return kernel;
  }

  private async runNow(request: KernelCellRequest, onOutput?: OutputCallback, signal?: AbortSignal): Promise<KernelResult> {
    const started = Date.now();
    const kernel = await this.ensureProcess();
    const id = this.nextId++;
    let timedOut = false;
    let cancelled = false;
    let timer: PausableTimer | undefined;
    let hardKill: PausableTimer | undefined;
    const limits = { maxChars: request.maxOutputChars ?? MAX_KEPT_OUTPUT };
    const cell: Cell = { id, stdout: new HeadTailBuffer(limits), stderr: new HeadTailBuffer(limits), displays: [], onOutput, finish: () => {} };
    const outcome = new Promise<KernelMessage | { died: string; oom: boolean }>((resolve) => {
      cell.finish = resolve;
    });
    const restarted = this.restartNote;
    this.restartNote = null;
    if (restarted) {
      // First in the cell's output, so both the streamed and the returned copies carry it.
      const note = `[${restarted}; variables from earlier runs are gone]\n`;
      cell.stderr.append(note);
      onOutput?.('stderr', note);
    }
    kernel.begin(cell);
    if (!kernel.isAlive) kernel.abandon({ died: 'the Python kernel exited', oom: false });
    kernel.send({ type: 'execute', id, code: request.code, env: request.env, cwd: request.cwd ?? null });
    // Interrupt (KeyboardInterrupt in the cell; variables kept), then, if the cell does not stop
    // (a C loop, SIGINT ignored), kill the kernel: its state is gone.
    const interrupt = () => {
      if (hardKill) return;
      kernel.send({ type: 'interrupt', id });
      hardKill = new PausableTimer(CANCEL_GRACE_MS, () => {
        if (kernel.cellDone) return; // it stopped; only its end markers are late
        if (cancelled) this.restartNote = `The Python kernel was restarted: a cancelled run did not stop within ${CANCEL_GRACE_MS / 1000} s of its interrupt`;
        kernel.killGroup();
      });
      this.cellTimers.add(hardKill);
    };
    if (request.timeoutMs > 0) {
      timer = new PausableTimer(request.timeoutMs, () => {
        timedOut = true;
        interrupt();
      });
      this.cellTimers.add(timer);
    }
    const onAbort = () => {
      cancelled = true;
      interrupt();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    const message = await outcome;
    signal?.removeEventListener('abort', onAbort);
    for (const t of [timer, hardKill]) {
      t?.clear();
      if (t) this.cellTimers.delete(t);
    }
    const kept = (stream: 'stdout' | 'stderr') => cell[stream].finish({ label: stream, where: null }).text;
    const base = { stdout: kept('stdout'), stderr: kept('stderr'), displays: cell.displays, timedOut, durationMs: Date.now() - started };
    if ('died' in message) {
      const why = timedOut
        ? `the cell did not stop within ${CANCEL_GRACE_MS / 1000} s of the interrupt after the ${request.timeoutMs} ms timeout, so the Python kernel was restarted`
        : cancelled
          ? `the cancelled cell did not stop within ${CANCEL_GRACE_MS / 1000} s of the interrupt, so the Python kernel was restarted`
          : message.died;
      const text = `${why}; variables from earlier cells are lost`;
      return {
        ...base,
        error: { name: timedOut ? 'TimeoutError' : cancelled ? 'KeyboardInterrupt' : message.oom ? 'MemoryError' : 'KernelDied', value: text, traceback: text },
        result: null,
        stateLost: true,
        oomKilled: message.oom,
      };
    }
    return { ...base, error: message.error ?? null, result: message.result ?? null, stateLost: restarted !== null, oomKilled: false };
  }

  /** Stops reading the running kernel's output until the returned function is called (no kernel: nothing to hold). */
  holdOutput(): () => void {
    return this.process?.holdOutput() ?? (() => undefined);
  }

  /** Hold (pause) or re-arm (resume) the running cell's timers. */
  holdTimers(hold: boolean): void {
    for (const t of this.cellTimers) {
      if (hold) t.pause();
      else t.resume();
    }
  }

  /** Kill the kernel (sandbox stop/destroy). Queued cells fail with "not running". */
  async close(): Promise<void> {
    this.closed = true;
    const kernel = this.process;
    if (!kernel) return;
    kernel.killGroup();
    await kernel.exited;
  }

  /** Allow a restart after stop()/start(). */
  reopen(): void {
    this.closed = false;
  }
}

/** The result of a cell cancelled while it waited for the kernel: it never ran. */
function cancelledBeforeStart(): KernelResult {
  const text = 'cancelled before it started';
  return { stdout: '', stderr: '', displays: [], timedOut: false, durationMs: 0, error: { name: 'KeyboardInterrupt', value: text, traceback: text }, result: null, stateLost: false, oomKilled: false };
}
