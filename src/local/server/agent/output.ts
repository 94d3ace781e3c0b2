/** Collecting a process's output with a cap, so a runaway print cannot exhaust the backend. */
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { HeadTailBuffer } from '../../../text/cut.js';
import type { ExecHandle, ExecOutcome } from '../../runtime/types.js';
import { CANCEL_GRACE_MS } from '../../runtime/exec-handle.js';
import { ConfinedFs } from '../../runtime/confined-fs.js';
import type { AgentContext } from './context.js';
import { resolveSandboxPath } from './files.js';
import { sandboxOwner } from '../../runtime/ownership.js';

/**
 * Per stream, per call, what the agent keeps in memory and answers with. Beyond it the middle is
 * cut (src/text/cut.ts) and, when the call allows, the whole stream goes to a file in the
 * sandbox's own filesystem (KEPT_OUTPUT_DIR), named in the response as `kept_outputs`.
 */
export const MAX_CAPTURED_CHARS = 1024 * 1024;

/** Where whole outputs that a response had to cut are kept, inside the sandbox. */
const KEPT_OUTPUT_DIR = '/tmp/hopx-outputs';

/**
 * Output held in memory while the kept-output file opens; past it the whole is given up (cut as
 * usual). The writer (a process, the Python kernel) is held back at its pipes meanwhile
 * (`producer`), so only what was already in flight arrives: this is a last guard.
 */
const MAX_PENDING_CHARS = 16 * 1024 * 1024;

/** Whoever writes into the buffer, if it can be made to wait (a process: ExecHandle.holdOutput). */
export interface OutputProducer {
  holdOutput(): () => void;
}

/**
 * A stream the answer cut: where it is kept whole in the sandbox, and its whole size. `path` is
 * null when it could not be kept (disk full, ...): then nobody may offer the cut text as the whole.
 */
export interface KeptWhole {
  path: string | null;
  bytes: number;
  lines: number;
}

/** Opens (creating) the file a whole stream goes to; resolves to a writable handle. */
export type KeptFileOpener = () => Promise<FileHandle>;

/**
 * One stream of a process's output: head + tail within a limit, and, once it passes the limit,
 * every byte written in order to a kept-output file (opened then, so short outputs cost no file).
 * Writes are synchronous per chunk: memory stays bounded however fast the process prints.
 */
export class OutputBuffer {
  private readonly buffer: HeadTailBuffer;
  private state: 'idle' | 'opening' | 'open' | 'failed' = 'idle';
  private pending: string[] = [];
  private pendingChars = 0;
  private largestPending = 0;
  private fd = -1;
  private opening: Promise<void> | null = null;
  private handle: FileHandle | null = null;

  constructor(
    private readonly label: 'stdout' | 'stderr',
    private readonly limit = MAX_CAPTURED_CHARS,
    private readonly kept: { path: string; open: KeptFileOpener } | null = null,
    private readonly producer: OutputProducer | null = null,
  ) {
    this.buffer = new HeadTailBuffer({ maxChars: limit });
  }

  append(chunk: string): void {
    if (!chunk) return;
    if (this.state === 'idle' && this.kept && this.buffer.size.chars + chunk.length > this.limit) this.startKeeping();
    this.buffer.append(chunk);
    if (this.state === 'opening') {
      this.pending.push(chunk);
      this.pendingChars += chunk.length;
      this.largestPending = Math.max(this.largestPending, chunk.length);
      // One chunk, however large, was in memory anyway (a Python print of 20 MB arrives whole):
      // only what piles up beside it counts.
      if (this.pendingChars - this.largestPending > MAX_PENDING_CHARS) this.giveUp();
    } else if (this.state === 'open') {
      this.write(chunk);
    }
  }

  private startKeeping(): void {
    // Nothing was dropped yet: what the buffer holds is the whole stream so far.
    const sofar = this.buffer.whole() ?? '';
    this.pending = sofar ? [sofar] : [];
    this.pendingChars = sofar.length;
    this.largestPending = sofar.length;
    this.state = 'opening';
    // A fast writer (100 MB in a fraction of a second) would pass MAX_PENDING_CHARS before the
    // file is open: hold it at its pipe until then.
    const release = this.producer?.holdOutput();
    this.opening = this.kept!.open()
      .then(
        (handle) => {
          this.handle = handle;
          if (this.state !== 'opening') return;
          this.fd = handle.fd;
          this.state = 'open';
          for (const piece of this.pending) this.write(piece);
          this.pending = [];
          this.pendingChars = 0;
          this.largestPending = 0;
        },
        () => this.giveUp(),
      )
      .finally(() => release?.());
  }

  private write(text: string): void {
    try {
      const data = Buffer.from(text, 'utf8');
      for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off);
    } catch {
      this.giveUp(); // disk full, quota: the cut copy is still answered
    }
  }

  private giveUp(): void {
    this.state = 'failed';
    this.pending = [];
    this.pendingChars = 0;
    this.largestPending = 0;
  }

  /** Where the whole stream is being kept (null: it was cut and could not be), and its size so far; null while it fits. */
  keptSoFar(): KeptWhole | null {
    return this.keptWhole(this.state === 'open');
  }

  private keptWhole(open: boolean): KeptWhole | null {
    // While the file opens nothing is said yet: it will hold the whole, or the open fails.
    if (!open && (this.state === 'opening' || !this.buffer.overLimit)) return null;
    return { path: open ? this.kept!.path : null, bytes: this.buffer.size.bytes, lines: this.buffer.size.lines };
  }

  /** Characters held (at most about the limit). */
  get length(): number {
    return Math.min(this.buffer.size.chars, this.limit);
  }

  toString(): string {
    return this.buffer.finish({ label: this.label, where: this.state === 'open' ? this.kept!.path : null }).text;
  }

  /** Waits for the kept file (if any) and closes it; the text and where the whole is. */
  async close(): Promise<{ text: string; kept: KeptWhole | null }> {
    await this.opening;
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
    const keptWhole = this.keptWhole(this.state === 'open');
    if (this.state === 'open') this.state = 'failed'; // closed: later appends (none expected) are not written
    return { text: this.buffer.finish({ label: this.label, where: keptWhole?.path ?? null }).text, kept: keptWhole };
  }
}

/** A stream's kept-output file in the sandbox, for OutputBuffer: `/tmp/hopx-outputs/<id>.<stream>.txt`. */
export function keptOutputFile(ctx: AgentContext, id: string, stream: 'stdout' | 'stderr'): { path: string; open: KeptFileOpener } {
  const path = `${KEPT_OUTPUT_DIR}/${id}.${stream}.txt`;
  return {
    path,
    open: async () => {
      const target = await resolveSandboxPath(ctx, path);
      const files = new ConfinedFs(ctx.sandbox.runtime.dirs, () => sandboxOwner(ctx.sandbox.runtime.dirs.workspace));
      return files.openWrite(target.hostPath, { mode: 0o644, overwrite: true });
    },
  };
}

/**
 * The `kept_outputs` response field (an extension of the HopX wire): only streams that were cut;
 * `path: null` for one that could not be kept whole.
 */
export function keptOutputsWire(kept: { stdout?: KeptWhole | null; stderr?: KeptWhole | null }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const stream of ['stdout', 'stderr'] as const) {
    const k = kept[stream];
    if (k) out[stream] = { path: k.path, bytes: k.bytes, lines: k.lines };
  }
  return Object.keys(out).length > 0 ? { kept_outputs: out } : {};
}

export interface Collected {
  stdout: string;
  stderr: string;
  kept: { stdout: KeptWhole | null; stderr: KeptWhole | null };
  outcome: ExecOutcome;
}

/** `keep`: an id under which whole streams over the limit are kept in the sandbox (null: never). */
export async function collect(handle: ExecHandle, options: { ctx?: AgentContext; keepId?: string; limit?: number } = {}): Promise<Collected> {
  const limit = options.limit ?? MAX_CAPTURED_CHARS;
  const file = (stream: 'stdout' | 'stderr') => (options.ctx && options.keepId ? keptOutputFile(options.ctx, options.keepId, stream) : null);
  const stdout = new OutputBuffer('stdout', limit, file('stdout'), handle);
  const stderr = new OutputBuffer('stderr', limit, file('stderr'), handle);
  handle.onStdout((c) => stdout.append(c));
  handle.onStderr((c) => stderr.append(c));
  const outcome = await handle.done;
  const [out, err] = await Promise.all([stdout.close(), stderr.close()]);
  return { stdout: out.text, stderr: err.text, kept: { stdout: out.kept, stderr: err.kept }, outcome };
}

/** Shell-style exit code: the process's own, or 128 + signal number when killed. */
export function exitCodeOf(outcome: ExecOutcome): number {
  if (outcome.exitCode !== null) return outcome.exitCode;
  const signals: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGSEGV: 11, SIGABRT: 6 };
  return 128 + (outcome.signal ? (signals[outcome.signal] ?? 1) : 1);
}

/** Kill the process group if the caller goes away before it ends (SIGTERM, SIGKILL 0.5 s later). */
export function killOnAbort(handle: ExecHandle, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const kill = () => void handle.kill({ graceMs: CANCEL_GRACE_MS }).catch(() => undefined);
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
