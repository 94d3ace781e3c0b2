import { z } from 'zod';
import { defineSandboxTool, type ToolDefinition } from './tool.js';
import { runTracked } from './tracked.js';
import { fitStreams, keptLink } from './kept.js';
import { seconds, streamSection } from './result.js';
import { inTheSandbox, RUN_ENV, WORKING_DIR } from './params.js';

const FOREGROUND_TIMEOUT_S = 60;

const sandboxRunCommand = defineSandboxTool({
  name: 'sandbox_run_command',
  title: 'Run shell command',
  description: (backend) =>
    `Run a bash command line ${inTheSandbox(backend)} and wait for it; with background: true, return a process_id at once (servers, long jobs). ` +
    'Stateless like bash in sandbox_run_code, but up to 3600 s.',
  toolset: 'commands',
  kind: 'write',
  input: z.strictObject({
    command: z.string().min(1).max(100_000).describe('e.g. "ls -la"'),
    timeout_seconds: z.number().int().min(1).max(3600).optional().describe('Default 60; background: none. Your client may give up sooner: use background for long work.'),
    working_dir: WORKING_DIR,
    env: RUN_ENV,
    background: z.boolean().default(false).describe('Return a process_id without waiting.'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    background: z.boolean(),
    process_id: z.string().nullable(),
    success: z.boolean().nullable(),
    exit_code: z.number().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    execution_time_seconds: z.number().nullable(),
    truncated: z.boolean(),
    stdout_full_path: z.string().nullable().describe('Sandbox file with the whole stdout when cut; page it with sandbox_read_file start_line'),
    stderr_full_path: z.string().nullable().describe('Sandbox file with the whole stderr when cut'),
  }),
  async handle(ctx, args) {
    const options = { command: args.command, timeoutSeconds: args.timeout_seconds ?? FOREGROUND_TIMEOUT_S, workingDir: args.working_dir, env: args.env };
    if (args.background) {
      // A background command lives until it ends or is killed, unless given a timeout.
      const h = await ctx.agent.commands.runBackground({ ...options, timeoutSeconds: args.timeout_seconds }, ctx.call);
      return {
        text: `Started command as process ${h.processId} (${h.status}) in sandbox ${ctx.sandboxId}. It runs until it ends or is killed; follow it with sandbox_wait_process {"process_id": "${h.processId}"} or sandbox_list_processes.`,
        structured: {
          sandbox_id: ctx.sandboxId,
          background: true,
          process_id: h.processId,
          success: null,
          exit_code: null,
          stdout: '',
          stderr: '',
          execution_time_seconds: null,
          truncated: false,
          stdout_full_path: null,
          stderr_full_path: null,
        },
      };
    }
    // Local backend: streamed when the caller asked for progress, else one POST; a cancel stops it
    // either way. HopX cloud: a tracked background process, the only kind HopX documents a kill
    // for (docs/long-calls.md).
    const r =
      ctx.conversation.backend === 'cloud'
        ? await runTracked(ctx, 'run a command', options.timeoutSeconds, (call) => ctx.agent.commands.runBackground({ ...options, name: 'sandbox_run_command' }, call))
        : ctx.progress.live
          ? await ctx.agent.commands.runStreaming(options, (stream, chunk) => ctx.progress.lines(stream, chunk), ctx.call)
          : await ctx.agent.commands.run(options, ctx.call);
    const [stdout, stderr] = await fitStreams(
      ctx,
      [
        { name: 'stdout', text: r.stdout, kept: r.keptOutputs.stdout },
        { name: 'stderr', text: r.stderr, kept: r.keptOutputs.stderr },
      ],
      ctx.budget.textChars,
    );
    const lines = [`Exit ${r.exitCode}${seconds(r.executionTimeSeconds)}, sandbox ${ctx.sandboxId}.`];
    if (stdout.text) lines.push(streamSection('stdout', stdout.text));
    if (stderr.text) lines.push(streamSection('stderr', stderr.text));
    return {
      text: lines.join('\n'),
      content: [stdout, stderr].flatMap((s) => (s.fullPath ? [keptLink(ctx, { path: s.fullPath }, s.name)] : [])),
      structured: {
        sandbox_id: ctx.sandboxId,
        background: false,
        process_id: null,
        success: r.success,
        exit_code: r.exitCode,
        stdout: stdout.text,
        stderr: stderr.text,
        execution_time_seconds: r.executionTimeSeconds,
        truncated: stdout.truncated || stderr.truncated,
        stdout_full_path: stdout.fullPath,
        stderr_full_path: stderr.fullPath,
      },
    };
  },
});

const tools: ToolDefinition[] = [sandboxRunCommand];
export default tools;
