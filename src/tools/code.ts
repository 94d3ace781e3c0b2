import { z } from 'zod';
import type { ExecutionResult, RunCodeOptions } from '../client/types.js';
import { defineSandboxTool, type SandboxToolContext, type ToolDefinition } from './tool.js';
import { runTracked } from './tracked.js';
import { fitStreams, keptLink } from './kept.js';
import { seconds, streamSection } from './result.js';
import { renderRichOutputs, RichOutputSummary } from './rich.js';
import { inTheSandbox, LANGUAGES, RUN_ENV, WORKING_DIR } from './params.js';

const CODE = z.string().min(1).max(1_000_000).describe('e.g. print(sum(range(10)))');
const LANGUAGE = z.enum(LANGUAGES).default('python').describe('python keeps variables between runs; the others start fresh.');

const RunCodeOutput = z.object({
  sandbox_id: z.string(),
  success: z.boolean(),
  exit_code: z.number(),
  stdout: z.string(),
  stderr: z.string(),
  result: z.string().nullable().describe("python: the last expression's value"),
  execution_time_seconds: z.number().nullable(),
  rich_outputs: z.array(RichOutputSummary),
  truncated: z.boolean(),
  stdout_full_path: z.string().nullable().describe('The whole stdout when cut: page it with sandbox_read_file'),
  stderr_full_path: z.string().nullable(),
});

/**
 * How the run goes (docs/long-calls.md): on HopX cloud, code without kernel state runs as a tracked
 * background process (the only kind HopX documents a kill for); python, whose variables live in
 * the kernel, and everything on the local backend run in the foreground, streamed when the caller
 * asked for progress.
 */
async function runCode(ctx: SandboxToolContext, options: RunCodeOptions & { language: string; timeoutSeconds: number }): Promise<ExecutionResult> {
  if (ctx.conversation.backend === 'cloud' && options.language !== 'python') {
    const r = await runTracked(ctx, 'run code', options.timeoutSeconds, (call) => ctx.agent.code.runBackground({ ...options, name: 'sandbox_run_code' }, call));
    return { ...r, language: options.language, result: null, outputs: [] };
  }
  return ctx.progress.live
    ? ctx.agent.code.runStreaming(options, (stream, chunk) => ctx.progress.lines(stream, chunk), ctx.call)
    : ctx.agent.code.run(options, ctx.call);
}

const sandboxRunCode = defineSandboxTool({
  name: 'sandbox_run_code',
  title: 'Run code',
  description: (backend) =>
    `Run code ${inTheSandbox(backend)} and wait for it. Python plots come back as images, DataFrames as tables.`,
  toolset: 'code',
  kind: 'write',
  input: z.strictObject({
    code: CODE,
    language: LANGUAGE,
    timeout_seconds: z.number().int().min(1).max(300).default(60).describe('Longer: sandbox_run_code_background.'),
    env: RUN_ENV,
    working_dir: WORKING_DIR,
  }),
  output: RunCodeOutput,
  async handle(ctx, args) {
    // With a progress token the run is streamed and its printed lines reach the caller as progress;
    // without, one POST (no socket to set up). Either way a cancel closes the connection, which
    // stops the run (docs/long-calls.md).
    const options = { code: args.code, language: args.language, timeoutSeconds: args.timeout_seconds, env: args.env, workingDir: args.working_dir };
    const r = await runCode(ctx, options);
    // Rich outputs arrive as MIME bundles; the result bundle's text is `result`, shown once below.
    // Rich summaries may take up to half the text budget; the streams share what they leave.
    const rich = await renderRichOutputs(ctx, r.outputs, ctx.budget.imageChars, Math.floor(ctx.budget.textChars / 2));
    const richChars = rich.summaries.reduce((n, s) => n + s.summary.length, 0);
    const [stdout, stderr, result] = await fitStreams(
      ctx,
      [
        { name: 'stdout', text: r.stdout, kept: r.keptOutputs.stdout },
        { name: 'stderr', text: r.stderr, kept: r.keptOutputs.stderr },
        { name: 'result', text: r.result ?? '' },
      ],
      Math.max(0, ctx.budget.textChars - richChars),
    );
    const lines = [`${r.success ? 'Succeeded' : 'Failed'} (exit ${r.exitCode})${seconds(r.executionTimeSeconds)}, ${args.language}, sandbox ${ctx.sandboxId}.`];
    if (stdout.text) lines.push(streamSection('stdout', stdout.text));
    if (stderr.text) lines.push(streamSection('stderr', stderr.text));
    if (result.text) lines.push(streamSection('result', result.text));
    for (const s of rich.summaries) lines.push(`--- ${s.mime_type} ---\n${s.summary}${s.full_path ? `\n(whole: ${s.full_path})` : ''}`);
    return {
      text: lines.join('\n'),
      content: [...rich.content, ...[stdout, stderr, result].flatMap((s) => (s.fullPath ? [keptLink(ctx, { path: s.fullPath }, s.name)] : []))],
      structured: {
        sandbox_id: ctx.sandboxId,
        success: r.success,
        exit_code: r.exitCode,
        stdout: stdout.text,
        stderr: stderr.text,
        result: r.result === null ? null : result.text,
        execution_time_seconds: r.executionTimeSeconds,
        rich_outputs: rich.summaries,
        truncated: stdout.truncated || stderr.truncated || result.truncated,
        stdout_full_path: stdout.fullPath,
        stderr_full_path: stderr.fullPath,
      },
    };
  },
});

const sandboxRunCodeBackground = defineSandboxTool({
  name: 'sandbox_run_code_background',
  title: 'Run code in background',
  description:
    'Start code in the sandbox without waiting (servers, long jobs); it runs until it ends or is killed. Returns a process_id for sandbox_wait_process, sandbox_list_processes and sandbox_kill_process.',
  toolset: 'code',
  kind: 'write',
  input: z.strictObject({
    code: CODE,
    language: z.enum(LANGUAGES).default('python').describe('A new process, without sandbox_run_code variables.'),
    timeout_seconds: z.number().int().min(1).max(86_400).optional().describe('Kill it after this long; default never.'),
    env: RUN_ENV,
    working_dir: WORKING_DIR,
    name: z.string().min(1).max(128).optional().describe('Label, e.g. "web-server".'),
  }),
  output: z.object({ sandbox_id: z.string(), process_id: z.string(), status: z.string(), name: z.string().nullable() }),
  async handle(ctx, args) {
    const h = await ctx.agent.code.runBackground(
      { code: args.code, language: args.language, timeoutSeconds: args.timeout_seconds, env: args.env, workingDir: args.working_dir, name: args.name },
      ctx.call,
    );
    return {
      text: `Started process ${h.processId} (${h.status}) in sandbox ${ctx.sandboxId}. Follow it with sandbox_wait_process {"process_id": "${h.processId}"} or sandbox_list_processes.`,
      structured: { sandbox_id: ctx.sandboxId, process_id: h.processId, status: h.status, name: h.name },
    };
  },
});

const tools: ToolDefinition[] = [sandboxRunCode, sandboxRunCodeBackground];
export default tools;
