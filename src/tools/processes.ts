import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { BackgroundProcess } from '../client/types.js';
import { defineSandboxTool, type SandboxToolContext, type ToolDefinition } from './tool.js';
import { fitStreams } from './kept.js';
import { allocate, fitList, streamSection } from './result.js';
import { PROCESS_ID } from './params.js';
import type { OutputStream } from './progress.js';

const BackgroundProcessOut = z.object({
  process_id: z.string(),
  name: z.string().nullable(),
  status: z.string().describe('running | completed | failed | killed | queued'),
  language: z.string().nullable(),
  pid: z.number().nullable(),
  exit_code: z.number().nullable(),
  started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
  end_reason: z.string().nullable(),
  stdout: z.string().nullable(),
  stderr: z.string().nullable(),
  stdout_full_path: z.string().nullable(),
  stderr_full_path: z.string().nullable(),
});

const SystemProcessOut = z.object({
  pid: z.number(),
  name: z.string().nullable(),
  command: z.string().nullable(),
  user: z.string().nullable(),
  status: z.string().nullable(),
  cpu_percent: z.number().nullable(),
  memory_mb: z.number().nullable(),
});

const MAX_SYSTEM_PROCESSES = 200;

type ProcessOut = z.output<typeof BackgroundProcessOut>;

function notFound(ctx: SandboxToolContext, processId: string): string {
  return `No background process "${processId}" in sandbox ${ctx.sandboxId}. Call sandbox_list_processes without process_id to see them all.`;
}

/**
 * How a process ended, in words: the agent's `end_reason` where it gives one (the local backend),
 * else what its status says. Null while it runs.
 */
function endReasonText(p: BackgroundProcess): string | null {
  if (p.status === 'running' || p.status === 'queued') return null;
  switch (p.endReason) {
    case 'timeout':
      return p.timeoutSeconds !== null ? `killed after its ${p.timeoutSeconds} s timeout` : 'killed at its timeout';
    case 'killed':
      return 'killed by sandbox_kill_process';
    case 'oom':
      return 'killed: out of memory (the sandbox memory limit)';
    case 'sandbox_stopped':
      return 'killed: its sandbox stopped';
    case 'signal':
      return `ended by ${p.signal ?? 'a signal'}`;
    case 'exited':
      return `exited with code ${p.exitCode ?? '?'}`;
    default:
      if (p.status === 'killed') return 'killed';
      return p.exitCode !== null ? `exited with code ${p.exitCode}` : null;
  }
}

/** Processes as results show them, their output fitted into `budgetChars` together. */
async function describeProcesses(ctx: SandboxToolContext, list: BackgroundProcess[], budgetChars: number): Promise<ProcessOut[]> {
  const shares = allocate(
    list.map((p) => (p.stdout?.length ?? 0) + (p.stderr?.length ?? 0)),
    budgetChars,
  );
  return Promise.all(
    list.map(async (p, i) => {
      const [out, err] = await fitStreams(
        ctx,
        [
          { name: `stdout of ${p.processId}`, text: p.stdout ?? '', kept: p.keptOutputs.stdout },
          { name: `stderr of ${p.processId}`, text: p.stderr ?? '', kept: p.keptOutputs.stderr },
        ],
        shares[i],
      );
      return {
        process_id: p.processId,
        name: p.name,
        status: p.status,
        language: p.language,
        pid: p.pid,
        exit_code: p.exitCode,
        started_at: p.startedAt,
        ended_at: p.endedAt,
        end_reason: endReasonText(p),
        stdout: p.stdout === null ? null : out.text,
        stderr: p.stderr === null ? null : err.text,
        stdout_full_path: out.fullPath,
        stderr_full_path: err.fullPath,
      };
    }),
  );
}

/** "proc_1 (web): killed, exit 143 (killed after its 60 s timeout)" and its output sections. */
function processBlock(p: ProcessOut): string {
  const reason = p.end_reason && !p.end_reason.startsWith('exited with') ? ` (${p.end_reason})` : '';
  const head = `${p.process_id}${p.name ? ` (${p.name})` : ''}: ${p.status}${p.exit_code !== null ? `, exit ${p.exit_code}` : ''}${reason}`;
  // The same stream markers as sandbox_run_code.
  const stream = (name: string, text: string | null) => (text ? streamSection(name, text) : '');
  return [head, stream('stdout', p.stdout), stream('stderr', p.stderr)].filter(Boolean).join('\n');
}

const sandboxListProcesses = defineSandboxTool({
  name: 'sandbox_list_processes',
  title: 'List processes',
  description: 'Background runs and commands in the sandbox, with status and latest output; with kind "system", every OS process in it.',
  toolset: 'code',
  kind: 'read',
  input: z.strictObject({
    kind: z.enum(['background', 'system']).default('background').describe('"system": OS processes.'),
    process_id: PROCESS_ID.optional().describe('Only this background process.'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    kind: z.enum(['background', 'system']),
    processes: z.array(BackgroundProcessOut),
    system_processes: z.array(SystemProcessOut),
  }),
  async handle(ctx, args) {
    if (args.kind === 'system') {
      const all = await ctx.agent.processes.listSystem(ctx.call);
      const described = all.map((p) => ({
        pid: p.pid,
        name: p.name,
        command: p.command && p.command.length > 300 ? `${p.command.slice(0, 300)}…` : p.command,
        user: p.user,
        status: p.status,
        cpu_percent: p.cpuPercent,
        memory_mb: p.memoryMb,
      }));
      const shown = fitList(described, ctx.budget.textChars, MAX_SYSTEM_PROCESSES);
      const lines = shown.map((p) => `${p.pid}\t${p.status ?? ''}\t${p.command ?? p.name ?? ''}`);
      const more = all.length > shown.length ? `\n(${all.length - shown.length} more not shown)` : '';
      return {
        text:
          all.length === 0
            ? `The sandbox ${ctx.sandboxId} reported no OS processes.`
            : `${all.length} OS process${all.length === 1 ? '' : 'es'} in sandbox ${ctx.sandboxId}:\n${lines.join('\n')}${more}`,
        structured: { sandbox_id: ctx.sandboxId, kind: 'system' as const, processes: [], system_processes: shown },
      };
    }
    let list: BackgroundProcess[];
    if (args.process_id) {
      const one = await ctx.agent.processes.get(args.process_id, ctx.call);
      if (!one) return { text: notFound(ctx, args.process_id), isError: true };
      list = [one];
    } else {
      list = await ctx.agent.processes.list(ctx.call);
    }
    // Running processes first: they are what the caller is usually waiting on. All share the budget.
    list = [...list].sort((a, b) => Number(b.status === 'running') - Number(a.status === 'running'));
    const processes = await describeProcesses(ctx, list, ctx.budget.textChars);
    const text =
      processes.length === 0
        ? `No background processes in sandbox ${ctx.sandboxId}.`
        : `Background processes in sandbox ${ctx.sandboxId}:\n${processes.map(processBlock).join('\n\n')}`;
    return { text, structured: { sandbox_id: ctx.sandboxId, kind: 'background' as const, processes, system_processes: [] } };
  },
});

const sandboxKillProcess = defineSandboxTool({
  name: 'sandbox_kill_process',
  title: 'Kill process',
  description: 'Stop a background run or command in the sandbox.',
  toolset: 'code',
  kind: 'destructive',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({
    process_id: PROCESS_ID,
  }),
  output: z.object({ sandbox_id: z.string(), process_id: z.string(), status: z.string() }),
  async handle(ctx, args) {
    const r = await ctx.agent.processes.kill(args.process_id, ctx.call);
    return { text: `Process ${r.processId} in sandbox ${ctx.sandboxId}: ${r.status}.`, structured: { sandbox_id: ctx.sandboxId, process_id: r.processId, status: r.status } };
  },
});

/**
 * How often sandbox_wait_process looks at the process: HopX has no stream of a background
 * process's output (docs/hopx-wire.md §5.5), so it polls the process list, every 250 ms while
 * output flows and backing off to 1 s while it does not.
 */
const WAIT_POLL_MS = { fast: 250, slow: 1000 };
/** What a changed stream is re-read from when the new part cannot be told (the agent cut the middle). */
const REFEED_CHARS = 2000;

const running = (p: BackgroundProcess) => p.status === 'running' || p.status === 'queued';

/** A stream as last seen: its text (perhaps head + tail) and, where the agent keeps it whole, its size. */
interface Seen {
  text: string;
  bytes: number | null;
}

function seen(p: BackgroundProcess, stream: OutputStream): Seen {
  return { text: p[stream] ?? '', bytes: p.keptOutputs[stream]?.bytes ?? null };
}

/**
 * The output that arrived between two looks, for progress: the new end when the text only grew;
 * when the agent cut the middle, its newest part from a line start (progress shows only the newest
 * lines, so lines seen before and shown again change nothing).
 */
function freshOutput(before: Seen, now: Seen): string {
  if (now.text === before.text && now.bytes === before.bytes) return '';
  if (now.text.startsWith(before.text)) return now.text.slice(before.text.length);
  return newestLines(now.text);
}

/** The last REFEED_CHARS of a text, from a line start where one is in them. */
function newestLines(text: string): string {
  if (text.length <= REFEED_CHARS) return text;
  const window = text.slice(-REFEED_CHARS);
  const lineStart = window.indexOf('\n');
  return lineStart >= 0 && lineStart < window.length - 1 ? window.slice(lineStart + 1) : window;
}

const sandboxWaitProcess = defineSandboxTool({
  name: 'sandbox_wait_process',
  title: 'Wait for process',
  description:
    'Wait until a background process in the sandbox ends or timeout_seconds pass, streaming its new output as progress; returns its status, exit code, how it ended and output.',
  toolset: 'code',
  kind: 'read',
  input: z.strictObject({
    process_id: PROCESS_ID,
    timeout_seconds: z.number().int().min(1).max(3600).default(30).describe('Then it returns with the process still running.'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    ended: z.boolean(),
    waited_seconds: z.number(),
    process: BackgroundProcessOut,
  }),
  async handle(ctx, args) {
    const started = Date.now();
    const deadline = started + args.timeout_seconds * 1000;
    let p = await ctx.agent.processes.get(args.process_id, ctx.call);
    if (!p) {
      return {
        text: `${notFound(ctx, args.process_id)} A process of another sandbox is waited on with that sandbox's sandbox_id.`,
        isError: true,
      };
    }
    if (running(p)) {
      ctx.progress.status(`waiting for ${p.processId}`);
      // Where it is now: its latest lines.
      for (const stream of ['stdout', 'stderr'] as const) {
        const text = newestLines(p[stream] ?? '');
        if (text) ctx.progress.lines(stream, text);
      }
    }
    let interval = WAIT_POLL_MS.fast;
    while (running(p) && Date.now() < deadline) {
      await sleep(Math.min(interval, deadline - Date.now()), undefined, ctx.call.signal ? { signal: ctx.call.signal } : undefined);
      const next = await ctx.agent.processes.get(p.processId, ctx.call);
      if (!next) {
        return {
          text: `Background process "${p.processId}" is no longer listed by sandbox ${ctx.sandboxId} (the sandbox restarted, or it ended long ago and was forgotten).`,
          isError: true,
        };
      }
      let changed = false;
      for (const stream of ['stdout', 'stderr'] as const) {
        const fresh = freshOutput(seen(p, stream), seen(next, stream));
        if (fresh) {
          ctx.progress.lines(stream, fresh);
          changed = true;
        }
      }
      interval = changed ? WAIT_POLL_MS.fast : Math.min(interval * 2, WAIT_POLL_MS.slow);
      p = next;
    }
    const waited = (Date.now() - started) / 1000;
    const [process] = await describeProcesses(ctx, [p], ctx.budget.textChars);
    const ended = !running(p);
    const head = ended
      ? `Process ${p.processId} in sandbox ${ctx.sandboxId} has ended (${process.end_reason ?? p.status})${waited >= 0.05 ? `; waited ${waited.toFixed(1)} s` : ''}.`
      : `Process ${p.processId} in sandbox ${ctx.sandboxId} is still running after ${args.timeout_seconds} s of waiting: call sandbox_wait_process again to keep waiting, or sandbox_kill_process to stop it.`;
    return {
      text: `${head}\n${processBlock(process)}`,
      structured: { sandbox_id: ctx.sandboxId, ended, waited_seconds: Math.round(waited * 100) / 100, process },
    };
  },
});

const tools: ToolDefinition[] = [sandboxListProcesses, sandboxWaitProcess, sandboxKillProcess];
export default tools;
