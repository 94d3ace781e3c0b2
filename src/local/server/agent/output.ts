/** Collecting a process's output with a cap, so a runaway print cannot exhaust the backend. */
import type { ExecHandle, ExecOutcome } from '../../runtime/types.js';

/** Per stream, per call. Beyond it the middle is dropped and a marker says how much. */
const MAX_CAPTURED_CHARS = 8 * 1024 * 1024;

export class OutputBuffer {
  private head = '';
  private tail = '';
  private dropped = 0;

  constructor(private readonly limit = MAX_CAPTURED_CHARS) {}

  append(chunk: string): void {
    if (this.head.length < this.limit / 2) {
      const room = this.limit / 2 - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (!chunk) return;
    this.tail += chunk;
    const excess = this.tail.length - this.limit / 2;
    if (excess > 0) {
      this.tail = this.tail.slice(excess);
      this.dropped += excess;
    }
  }

  /** Characters kept (not counting the drop marker). */
  get length(): number {
    return this.head.length + this.tail.length;
  }

  toString(): string {
    if (this.dropped === 0) return this.head + this.tail;
    return `${this.head}\n[local backend: ${this.dropped} characters of output dropped]\n${this.tail}`;
  }
}

export interface Collected {
  stdout: string;
  stderr: string;
  outcome: ExecOutcome;
}

export async function collect(handle: ExecHandle, limit = MAX_CAPTURED_CHARS): Promise<Collected> {
  const stdout = new OutputBuffer(limit);
  const stderr = new OutputBuffer(limit);
  handle.onStdout((c) => stdout.append(c));
  handle.onStderr((c) => stderr.append(c));
  const outcome = await handle.done;
  return { stdout: stdout.toString(), stderr: stderr.toString(), outcome };
}

/** Shell-style exit code: the process's own, or 128 + signal number when killed. */
export function exitCodeOf(outcome: ExecOutcome): number {
  if (outcome.exitCode !== null) return outcome.exitCode;
  const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 };
  return 128 + (outcome.signal ? (signals[outcome.signal] ?? 1) : 1);
}

/** Kill the process if the caller goes away before it ends. */
export function killOnAbort(handle: ExecHandle, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const kill = () => void handle.kill().catch(() => undefined);
  if (signal.aborted) return kill();
  signal.addEventListener('abort', kill, { once: true });
  void handle.done.finally(() => signal.removeEventListener('abort', kill)).catch(() => undefined);
}

/** An AbortSignal that fires when the HTTP client disconnects before the response is sent. */
export function abortOnDisconnect(res: import('node:http').ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
