/**
 * Background jobs of one sandbox (POST /execute/background, /commands/background): real processes
 * kept in a table with their output, listed by /execute/processes and killed by the kill forms.
 */
import type { ExecHandle } from '../../runtime/types.js';
import { ApiError } from '../errors.js';
import { nowIso } from '../http.js';
import { newExecutionId, newProcessId } from '../ids.js';
import { OutputBuffer, exitCodeOf } from './output.js';

/** Background runs (code and commands): SDK default 300 s; allow up to a day. */
export const BACKGROUND_DEFAULT_TIMEOUT_S = 300;
export const BACKGROUND_MAX_TIMEOUT_S = 86_400;
/** Output kept per finished or running job, per stream. */
const JOB_OUTPUT_CHARS = 1024 * 1024;
/** Finished jobs kept for listing; the oldest are forgotten first. */
const MAX_FINISHED_JOBS = 200;
/** Output kept across all finished jobs: 200 chatty jobs would otherwise hold 400M characters. */
const FINISHED_OUTPUT_BUDGET_CHARS = 32 * 1024 * 1024;
/** Running jobs per sandbox: each may hold 2 MiB characters of output until it ends. */
const MAX_RUNNING_JOBS = 64;

type JobStatus = 'running' | 'completed' | 'failed' | 'killed';

export interface BackgroundJob {
  processId: string;
  executionId: string;
  name: string | null;
  kind: 'code' | 'command';
  language: string;
  command: string | null;
  pid: number;
  status: JobStatus;
  startedAt: Date;
  endedAt: Date | null;
  exitCode: number | null;
  timedOut: boolean;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
  handle: ExecHandle;
  killRequested: boolean;
}

export class BackgroundJobs {
  private readonly jobs = new Map<string, BackgroundJob>();

  /** Spawn a job unless MAX_RUNNING_JOBS already run (429, checked before anything starts). */
  launch(
    spawn: () => ExecHandle,
    meta: { kind: 'code' | 'command'; name: string | null; language: string; command: string | null },
  ): BackgroundJob {
    const running = this.list().filter((j) => j.status === 'running').length;
    if (running >= MAX_RUNNING_JOBS) {
      throw new ApiError(
        429,
        'RESOURCE_LIMIT_ERROR',
        `At most ${MAX_RUNNING_JOBS} background processes may run at once in a sandbox; kill some first (DELETE /execute/kill?process_id=...)`,
        { details: { limit: MAX_RUNNING_JOBS, current: running } },
      );
    }
    return this.start(spawn(), meta);
  }

  start(
    handle: ExecHandle,
    meta: { kind: 'code' | 'command'; name: string | null; language: string; command: string | null },
  ): BackgroundJob {
    const job: BackgroundJob = {
      processId: newProcessId(meta.kind === 'code' ? 'proc' : 'cmd'),
      executionId: newExecutionId(),
      ...meta,
      pid: handle.pid,
      status: 'running',
      startedAt: new Date(),
      endedAt: null,
      exitCode: null,
      timedOut: false,
      stdout: new OutputBuffer('stdout', JOB_OUTPUT_CHARS),
      stderr: new OutputBuffer('stderr', JOB_OUTPUT_CHARS),
      handle,
      killRequested: false,
    };
    handle.onStdout((c) => job.stdout.append(c));
    handle.onStderr((c) => job.stderr.append(c));
    handle.done.then(
      (outcome) => {
        job.endedAt = new Date();
        job.exitCode = exitCodeOf(outcome);
        job.timedOut = outcome.timedOut;
        job.status = job.killRequested ? 'killed' : outcome.exitCode === 0 ? 'completed' : 'failed';
        this.forgetOldFinished();
      },
      () => {
        job.endedAt = new Date();
        job.status = 'failed';
        this.forgetOldFinished();
      },
    );
    this.jobs.set(job.processId, job);
    return job;
  }

  get(processId: string): BackgroundJob | undefined {
    return this.jobs.get(processId);
  }

  list(): BackgroundJob[] {
    return [...this.jobs.values()];
  }

  /** Kill a running job; a finished one is left as it is. Returns the job, or undefined if unknown. */
  async kill(processId: string): Promise<{ job: BackgroundJob; wasRunning: boolean } | undefined> {
    const job = this.jobs.get(processId);
    if (!job) return undefined;
    if (job.status !== 'running') return { job, wasRunning: false };
    job.killRequested = true;
    await job.handle.kill();
    await job.handle.done.catch(() => undefined);
    // done's own callback may not have run yet in this tick
    job.status = 'killed';
    job.endedAt ??= new Date();
    return { job, wasRunning: true };
  }

  /** Kill every running job (sandbox stop/kill). */
  async killAll(): Promise<void> {
    await Promise.all(this.list().filter((j) => j.status === 'running').map((j) => this.kill(j.processId)));
  }

  /** Forget the oldest finished jobs beyond MAX_FINISHED_JOBS or the output budget. */
  private forgetOldFinished(): void {
    const finished = this.list().filter((j) => j.status !== 'running');
    let kept = finished.length;
    let chars = finished.reduce((sum, j) => sum + j.stdout.length + j.stderr.length, 0);
    for (const job of finished) {
      if (kept <= MAX_FINISHED_JOBS && chars <= FINISHED_OUTPUT_BUDGET_CHARS) break;
      this.jobs.delete(job.processId);
      kept--;
      chars -= job.stdout.length + job.stderr.length;
    }
  }
}

/** The answer of both background routes (docs/hopx-wire.md §5.5, §5.6). */
export function backgroundStarted(job: BackgroundJob, message: string): Record<string, unknown> {
  return {
    process_id: job.processId,
    execution_id: job.executionId,
    status: job.status,
    start_time: job.startedAt.toISOString(),
    name: job.name,
    ...(job.command !== null ? { command: job.command } : {}),
    pid: job.pid,
    message,
    timestamp: nowIso(),
  };
}

/** Both field spellings the SDKs and docs use (docs/hopx-wire.md §5.5). */
export function jobToWire(job: BackgroundJob): Record<string, unknown> {
  const end = job.endedAt ?? new Date();
  const duration = (end.getTime() - job.startedAt.getTime()) / 1000;
  return {
    process_id: job.processId,
    execution_id: job.executionId,
    name: job.name,
    status: job.status,
    language: job.language,
    command: job.command,
    pid: job.pid,
    start_time: job.startedAt.toISOString(),
    started_at: job.startedAt.toISOString(),
    end_time: job.endedAt?.toISOString() ?? null,
    completed_at: job.endedAt?.toISOString() ?? null,
    exit_code: job.exitCode,
    duration,
    execution_time: duration,
    timed_out: job.timedOut,
    stdout: job.stdout.toString(),
    stderr: job.stderr.toString(),
  };
}
