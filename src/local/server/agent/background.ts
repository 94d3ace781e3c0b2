/**
 * Background jobs of one sandbox (POST /execute/background, /commands/background): real processes
 * kept in a table with their output, listed by /execute/processes and killed by the kill forms.
 *
 * A job lives until it exits, is killed, or its sandbox stops: there is no default timeout (one
 * given in the request is honoured). How it ended is said in `end_reason`, an extension of the
 * HopX wire (docs/hopx-wire.md §5.5). Its output is kept head + tail in memory, and once a stream
 * passes that, whole in the sandbox's own filesystem (`kept_outputs`, as /execute does).
 */
import type { ExecHandle, ExecOutcome } from '../../runtime/types.js';
import { ApiError } from '../errors.js';
import { nowIso } from '../http.js';
import { newExecutionId, newProcessId } from '../ids.js';
import { timeoutSeconds } from './fields.js';
import { OutputBuffer, exitCodeOf, keptOutputsWire, type KeptFileOpener, type KeptWhole } from './output.js';

/**
 * The largest timeout a background request may ask for (400 days). Absent or 0 = none. The HopX
 * client sends 365 days when its caller gave none, since HopX cloud agents apply a short default.
 */
const BACKGROUND_MAX_TIMEOUT_S = 400 * 86_400;
/** Output kept in memory per finished or running job, per stream (the rest is in the kept file). */
const JOB_OUTPUT_CHARS = 1024 * 1024;
/** Finished jobs kept for listing; the oldest are forgotten first. */
const MAX_FINISHED_JOBS = 200;
/** Output kept across all finished jobs: 200 chatty jobs would otherwise hold 400M characters. */
const FINISHED_OUTPUT_BUDGET_CHARS = 32 * 1024 * 1024;
/** Running jobs per sandbox: each may hold 2 MiB characters of output until it ends. */
const MAX_RUNNING_JOBS = 64;

type JobStatus = 'running' | 'completed' | 'failed' | 'killed';

/**
 * How a job ended (wire field `end_reason`): it exited by itself (`exited`), died of a signal
 * nobody here sent (`signal`), or was killed: at its timeout, by a kill request, by the sandbox's
 * memory limit, or because its sandbox stopped.
 */
type EndReason = 'exited' | 'signal' | 'timeout' | 'killed' | 'oom' | 'sandbox_stopped';

/** Where a stream's whole output goes once it passes JOB_OUTPUT_CHARS. */
export type KeptFileFor = (processId: string, stream: 'stdout' | 'stderr') => { path: string; open: KeptFileOpener } | null;

interface JobMeta {
  kind: 'code' | 'command';
  name: string | null;
  language: string;
  command: string | null;
  /** The timeout the job runs with; null = none. */
  timeoutSeconds: number | null;
}

interface ClosedStream {
  text: string;
  kept: KeptWhole | null;
}

export interface BackgroundJob extends JobMeta {
  processId: string;
  executionId: string;
  pid: number;
  status: JobStatus;
  startedAt: Date;
  endedAt: Date | null;
  exitCode: number | null;
  signal: string | null;
  endReason: EndReason | null;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
  /** The streams as they were at the end (text and kept file), once the job has ended. */
  final: { stdout: ClosedStream; stderr: ClosedStream } | null;
  handle: ExecHandle;
  /** Why a kill was asked for (a kill request, or the sandbox stopping); null when none was. */
  killReason: 'killed' | 'sandbox_stopped' | null;
  /** Resolves once the job has ended and its state above is final. */
  ended: Promise<void>;
}

/** `timeout` (or `timeout_seconds`) of a background request: absent or 0 = none. */
export function backgroundTimeout(body: Record<string, unknown>): number | null {
  const value = body.timeout ?? body.timeout_seconds;
  if (value === undefined || value === null || value === 0) return null;
  return timeoutSeconds(body, 0, BACKGROUND_MAX_TIMEOUT_S);
}

function endReasonOf(job: BackgroundJob, outcome: ExecOutcome): EndReason {
  if (outcome.timedOut) return 'timeout';
  if (job.killReason) return job.killReason;
  // The OOM counter is the sandbox's: count it only when this process died the way an OOM kill ends one.
  if (outcome.oomKilled && (outcome.signal === 'SIGKILL' || outcome.exitCode === 137)) return 'oom';
  return outcome.signal ? 'signal' : 'exited';
}

export class BackgroundJobs {
  private readonly jobs = new Map<string, BackgroundJob>();

  constructor(private readonly keptFile: KeptFileFor = () => null) {}

  /** Spawn a job unless MAX_RUNNING_JOBS already run (429, checked before anything starts). */
  launch(spawn: () => ExecHandle, meta: JobMeta): BackgroundJob {
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

  private start(handle: ExecHandle, meta: JobMeta): BackgroundJob {
    const processId = newProcessId(meta.kind === 'code' ? 'proc' : 'cmd');
    const job: BackgroundJob = {
      processId,
      executionId: newExecutionId(),
      ...meta,
      pid: handle.pid,
      status: 'running',
      startedAt: new Date(),
      endedAt: null,
      exitCode: null,
      signal: null,
      endReason: null,
      stdout: new OutputBuffer('stdout', JOB_OUTPUT_CHARS, this.keptFile(processId, 'stdout'), handle),
      stderr: new OutputBuffer('stderr', JOB_OUTPUT_CHARS, this.keptFile(processId, 'stderr'), handle),
      final: null,
      handle,
      killReason: null,
      ended: Promise.resolve(),
    };
    handle.onStdout((c) => job.stdout.append(c));
    handle.onStderr((c) => job.stderr.append(c));
    const finish = async (outcome: ExecOutcome | null) => {
      const endedAt = new Date();
      // The output is complete (done resolves after the pipes drain); close the kept files first,
      // so that whoever sees the job ended also sees its whole output.
      const [stdout, stderr] = await Promise.all([job.stdout.close(), job.stderr.close()]);
      job.final = { stdout, stderr };
      job.endedAt = endedAt;
      if (outcome) {
        job.exitCode = exitCodeOf(outcome);
        job.signal = outcome.signal;
        job.endReason = endReasonOf(job, outcome);
      } else {
        job.endReason = job.killReason ?? 'exited';
      }
      job.status =
        job.endReason === 'exited' ? (job.exitCode === 0 ? 'completed' : 'failed') : job.endReason === 'signal' || !outcome ? 'failed' : 'killed';
      this.forgetOldFinished();
    };
    job.ended = handle.done.then(finish, () => finish(null));
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
  async kill(processId: string, reason: 'killed' | 'sandbox_stopped' = 'killed'): Promise<{ job: BackgroundJob; wasRunning: boolean } | undefined> {
    const job = this.jobs.get(processId);
    if (!job) return undefined;
    if (job.status !== 'running') return { job, wasRunning: false };
    job.killReason ??= reason;
    await job.handle.kill();
    await job.ended;
    return { job, wasRunning: true };
  }

  /** Kill every running job (sandbox stop/kill): each then says its sandbox stopped. */
  async killAll(): Promise<void> {
    await Promise.all(this.list().filter((j) => j.status === 'running').map((j) => this.kill(j.processId, 'sandbox_stopped')));
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
    timeout_seconds: job.timeoutSeconds,
    message,
    timestamp: nowIso(),
  };
}

/**
 * Both field spellings the SDKs and docs use (docs/hopx-wire.md §5.5), plus this backend's
 * extensions: `end_reason`, `signal`, `timeout_seconds` and `kept_outputs`.
 */
export function jobToWire(job: BackgroundJob): Record<string, unknown> {
  const end = job.endedAt ?? new Date();
  const duration = (end.getTime() - job.startedAt.getTime()) / 1000;
  const stdout = job.final?.stdout ?? { text: job.stdout.toString(), kept: job.stdout.keptSoFar() };
  const stderr = job.final?.stderr ?? { text: job.stderr.toString(), kept: job.stderr.keptSoFar() };
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
    timeout_seconds: job.timeoutSeconds,
    timed_out: job.endReason === 'timeout',
    end_reason: job.endReason,
    signal: job.signal,
    stdout: stdout.text,
    stderr: stderr.text,
    ...keptOutputsWire({ stdout: stdout.kept, stderr: stderr.kept }),
  };
}
