/**
 * Background jobs of one sandbox (POST /execute/background, /commands/background): real processes
 * kept in a table with their output, listed by /execute/processes and killed by the kill forms.
 */
import type { ExecHandle } from '../../runtime/types.js';
import { newExecutionId, newProcessId } from '../ids.js';
import { OutputBuffer, exitCodeOf } from './output.js';

/** Output kept per finished or running job, per stream. */
const JOB_OUTPUT_CHARS = 1024 * 1024;
/** Finished jobs kept for listing; the oldest are forgotten first. */
const MAX_FINISHED_JOBS = 200;

export type JobStatus = 'running' | 'completed' | 'failed' | 'killed';

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
      stdout: new OutputBuffer(JOB_OUTPUT_CHARS),
      stderr: new OutputBuffer(JOB_OUTPUT_CHARS),
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

  private forgetOldFinished(): void {
    const finished = this.list().filter((j) => j.status !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED_JOBS))) {
      this.jobs.delete(job.processId);
    }
  }
}

/** Both field spellings the SDKs and docs use (hopx-api.md §5.5). */
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
