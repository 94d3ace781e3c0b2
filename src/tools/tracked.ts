/**
 * Foreground runs on HopX cloud that a cancel must be able to stop (docs/long-calls.md, "HopX
 * cloud"). HopX documents no way to stop a synchronous run (`/execute`, `/commands/run`, the
 * `/execute/stream` socket); it documents a kill for background processes. So on cloud a command,
 * and code in a language without kernel state, runs as a background process that this call
 * follows until it ends — its new output fed to progress as it appears in the process list — and
 * kills when the call is cancelled or its timeout passes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, ExecutionTimeoutError } from '../client/errors.js';
import type { BackgroundProcess, BackgroundProcessHandle, CallOptions, KeptOutputs } from '../client/types.js';
import type { SandboxToolContext } from './tool.js';

/** The process list is polled every 250 ms while output flows, backing off to 1 s while quiet. */
const POLL_MS = { fast: 250, slow: 1000 };
/** Past its own timeout (which the agent enforces) the run is killed from here after this slack. */
const TIMEOUT_SLACK_MS = 5_000;
/** The kill after a cancel gets its own short deadline: the call's signal has already fired. */
const KILL_TIMEOUT_MS = 10_000;
/** What a changed stream is re-read from when the new part cannot be told (the agent cut the middle). */
const REFEED_CHARS = 2000;

export interface TrackedResult {
  success: boolean;
  exitCode: number;
  stdout: string;
  stderr: string;
  executionTimeSeconds: number | null;
  keptOutputs: KeptOutputs;
}

const running = (p: BackgroundProcess) => p.status === 'running' || p.status === 'queued';

/** The output added between two looks: the new end when the text only grew, else its newest lines. */
function fresh(before: string, now: string): string {
  if (now === before) return '';
  if (now.startsWith(before)) return now.slice(before.length);
  const window = now.slice(-REFEED_CHARS);
  const lineStart = window.indexOf('\n');
  return now.length > REFEED_CHARS && lineStart >= 0 && lineStart < window.length - 1 ? window.slice(lineStart + 1) : window;
}

/**
 * Starts the run with `start` (a background start) and follows it to its end. `operation` names it
 * in errors ("run a command"). A cancel (the call's signal) or the timeout kills the process.
 */
export async function runTracked(
  ctx: SandboxToolContext,
  operation: string,
  timeoutSeconds: number,
  start: (call: CallOptions) => Promise<BackgroundProcessHandle>,
): Promise<TrackedResult> {
  const started = Date.now();
  const handle = await start(ctx.call);
  const deadline = started + timeoutSeconds * 1000 + TIMEOUT_SLACK_MS;
  const kill = () => ctx.agent.processes.kill(handle.processId, { timeoutMs: KILL_TIMEOUT_MS }).catch(() => undefined);
  let last: BackgroundProcess | null = null;
  let interval = POLL_MS.fast;
  try {
    for (;;) {
      const p = await ctx.agent.processes.get(handle.processId, ctx.call);
      if (!p) throw new Error(`process ${handle.processId}, started for ${operation}, is no longer listed by sandbox ${ctx.sandboxId}`);
      {
        let changed = false;
        for (const stream of ['stdout', 'stderr'] as const) {
          const added = fresh(last?.[stream] ?? '', p[stream] ?? '');
          if (added) {
            ctx.progress.lines(stream, added);
            changed = true;
          }
        }
        interval = changed ? POLL_MS.fast : Math.min(interval * 2, POLL_MS.slow);
        last = p;
        if (!running(p)) break;
      }
      if (Date.now() >= deadline) {
        await kill();
        throw new ExecutionTimeoutError(`The ${operation === 'run a command' ? 'command' : 'code'} timed out inside the sandbox after ${timeoutSeconds} s.`, {
          operation,
          sandboxId: ctx.sandboxId,
          timeoutSeconds,
        });
      }
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, ctx.call.signal ? { signal: ctx.call.signal } : undefined);
    }
  } catch (error) {
    if (ctx.call.signal?.aborted) {
      await kill();
      throw new AbortedError(`Cancelled: ${operation} was aborted by the caller; its process ${handle.processId} was killed.`, { operation, sandboxId: ctx.sandboxId });
    }
    throw error;
  }
  const end = last!;
  if (end.endReason === 'timeout') {
    throw new ExecutionTimeoutError(`The ${operation === 'run a command' ? 'command' : 'code'} timed out inside the sandbox after ${timeoutSeconds} s.`, {
      operation,
      sandboxId: ctx.sandboxId,
      timeoutSeconds,
    });
  }
  const exitCode = end.exitCode ?? (end.status === 'completed' ? 0 : 1);
  return {
    success: exitCode === 0 && end.status !== 'failed' && end.status !== 'killed',
    exitCode,
    stdout: end.stdout ?? '',
    stderr: end.stderr ?? '',
    executionTimeSeconds: end.durationSeconds ?? (Date.now() - started) / 1000,
    keptOutputs: end.keptOutputs,
  };
}
