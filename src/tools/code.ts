import { z } from 'zod';
import { defineSandboxTool, type ToolDefinition } from './tool.js';
import { fitStreams, keptLink } from './kept.js';
import { seconds, streamSection } from './result.js';
import { renderRichOutputs, RichOutputSummary } from './rich.js';

const LANGUAGES = ['python', 'javascript', 'bash', 'go'] as const;

/** An environment variable name. */
export const ENV_NAME = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _, not starting with a digit');

export const ENV_PARAM = z
  .record(ENV_NAME, z.string())
  .optional()
  .describe('Extra environment variables for this run only, e.g. {"DEBUG": "1"}.');

export const WORKING_DIR_PARAM = z
  .string()
  .regex(/^\//, 'must be an absolute path in the sandbox, e.g. /workspace')
  .max(4096)
  .optional()
  .describe('Working directory inside the sandbox. Default /workspace.');

const CODE_PARAM = z.string().min(1).max(1_000_000).describe('The code to run, e.g. print(sum(range(10))).');
const LANGUAGE_PARAM = z.enum(LANGUAGES).default('python').describe('Language of the code. Default python (stateful: variables persist between runs).');

const RunCodeOutput = z.object({
  sandbox_id: z.string(),
  success: z.boolean(),
  exit_code: z.number(),
  stdout: z.string(),
  stderr: z.string(),
  result: z.string().nullable().describe('Value of the last expression (python), if any'),
  execution_time_seconds: z.number().nullable(),
  rich_outputs: z.array(RichOutputSummary),
  truncated: z.boolean().describe('Whether stdout or stderr was cut to fit the output budget'),
  stdout_full_path: z.string().nullable().describe('Sandbox file with the whole stdout when cut; page it with sandbox_read_file start_line'),
  stderr_full_path: z.string().nullable().describe('Sandbox file with the whole stderr when cut'),
});

const sandboxRunCode = defineSandboxTool({
  name: 'sandbox_run_code',
  title: 'Run code',
  description:
    'Run Python, JavaScript, Bash or Go code inside the remote sandbox (not on the local machine) and wait for it. ' +
    'Python keeps variables between runs; matplotlib plots come back as images, DataFrames as text tables. Long output is cut (head and tail kept).',
  toolset: 'code',
  kind: 'write',
  input: z.strictObject({
    code: CODE_PARAM,
    language: LANGUAGE_PARAM,
    timeout_seconds: z.number().int().min(1).max(300).default(60).describe('Stop the run after this many seconds. Default 60, max 300; use sandbox_run_code_background for longer.'),
    env: ENV_PARAM,
    working_dir: WORKING_DIR_PARAM,
  }),
  output: RunCodeOutput,
  async handle(ctx, args) {
    const r = await ctx.agent.code.run(
      { code: args.code, language: args.language, timeoutSeconds: args.timeout_seconds, env: args.env, workingDir: args.working_dir },
      ctx.call,
    );
    // The client also lists `result` as a text/plain rich output (as the SDKs do); it is shown
    // once, as the result. Rich summaries may take up to half the text budget; the streams share
    // what they leave.
    const richOutputs = r.richOutputs.filter((o) => !(o.mimeType === 'text/plain' && o.data === r.result));
    const rich = await renderRichOutputs(ctx, richOutputs, ctx.budget.imageChars, Math.floor(ctx.budget.textChars / 2), r.result);
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
    'Start code inside the remote sandbox without waiting (servers, long jobs) and return its process_id. ' +
    'Read its output and status with sandbox_list_processes; stop it with sandbox_kill_process.',
  toolset: 'code',
  kind: 'write',
  input: z.strictObject({
    code: CODE_PARAM,
    language: z.enum(LANGUAGES).default('python').describe('Language of the code. Default python.'),
    timeout_seconds: z.number().int().min(1).max(86_400).default(3600).describe('Kill the process after this many seconds. Default 3600.'),
    env: ENV_PARAM,
    working_dir: WORKING_DIR_PARAM,
    name: z.string().min(1).max(128).optional().describe('A label shown in sandbox_list_processes, e.g. "web-server".'),
  }),
  output: z.object({ sandbox_id: z.string(), process_id: z.string(), status: z.string(), name: z.string().nullable() }),
  async handle(ctx, args) {
    const h = await ctx.agent.code.runBackground(
      { code: args.code, language: args.language, timeoutSeconds: args.timeout_seconds, env: args.env, workingDir: args.working_dir, name: args.name },
      ctx.call,
    );
    return {
      text: `Started process ${h.processId} (${h.status}) in sandbox ${ctx.sandboxId}. Check it with sandbox_list_processes {"process_id": "${h.processId}"}.`,
      structured: { sandbox_id: ctx.sandboxId, process_id: h.processId, status: h.status, name: h.name },
    };
  },
});

const tools: ToolDefinition[] = [sandboxRunCode, sandboxRunCodeBackground];
export default tools;
