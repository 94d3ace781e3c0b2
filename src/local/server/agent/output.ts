/** Collecting a process's output with a cap, so a runaway print cannot exhaust the backend. */
import { HeadTailBuffer } from '../../../text/cut.js';
import type { ExecHandle, ExecOutcome } from '../../runtime/types.js';

/** Per stream, per call. Beyond it the middle is dropped and one marker says how much. */
const MAX_CAPTURED_CHARS = 8 * 1024 * 1024;

/** One stream of a process's output, kept head + tail within a limit (src/text/cut.ts). */
export class OutputBuffer {
  private readonly buffer: HeadTailBuffer;

  constructor(
    private readonly label: 'stdout' | 'stderr',
    private readonly limit = MAX_CAPTURED_CHARS,
  ) {
    this.buffer = new HeadTailBuffer({ maxChars: limit });
  }

  append(chunk: string): void {
    this.buffer.append(chunk);
  }

  /** Characters held (at most about the limit). */
  get length(): number {
    return Math.min(this.buffer.size.chars, this.limit);
  }

  toString(): string {
    return this.buffer.finish({ label: this.label, where: null }).text;
  }
}

export interface Collected {
  stdout: string;
  stderr: string;
  outcome: ExecOutcome;
}

export async function collect(handle: ExecHandle, limit = MAX_CAPTURED_CHARS): Promise<Collected> {
  const stdout = new OutputBuffer('stdout', limit);
  const stderr = new OutputBuffer('stderr', limit);
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
