/** POST /commands/run and /commands/background (docs/hopx-wire.md §5.6). */
import { ApiError } from '../errors.js';
import { type Router, nowIso, readJsonBody, sendJson } from '../http.js';
import { backgroundStarted, backgroundTimeout } from './background.js';
import { type AgentContext, processEnv } from './context.js';
import { optionalString, requireString, stringArray, stringMap, timeoutSeconds, workdir } from './fields.js';
import { newExecutionId } from '../ids.js';
import { abortOnDisconnect, collect, exitCodeOf, keptOutputsWire, killOnAbort } from './output.js';

const COMMAND_DEFAULT_TIMEOUT_S = 30;
const COMMAND_MAX_TIMEOUT_S = 300;

/** `args` present → exec `command` with them (what the SDKs send); else a shell string. */
function commandArgv(body: Record<string, unknown>): { argv: string[]; display: string } {
  const command = requireString(body, 'command', 'e.g. {"command": "ls -la"} or {"command": "bash", "args": ["-c", "ls"]}');
  if (!command.trim()) throw new ApiError(400, 'INVALID_REQUEST', 'Invalid field "command": must not be empty');
  const args = stringArray(body, 'args');
  if (args) return { argv: [command, ...args], display: [command, ...args].join(' ') };
  return { argv: ['/bin/bash', '-c', command], display: command };
}

export function registerCommandRoutes(router: Router, ctx: AgentContext): void {
  router.add('POST', '/commands/run', async ({ req, res }) => {
    const body = await readJsonBody(req);
    const { argv, display } = commandArgv(body);
    const timeout = timeoutSeconds(body, COMMAND_DEFAULT_TIMEOUT_S, COMMAND_MAX_TIMEOUT_S);
    const env = processEnv(ctx, stringMap(body, 'env'));
    const cwd = workdir(body);
    const result = await ctx.stats.execution(async () => {
      const handle = ctx.sandbox.runtime.exec({ argv, cwd, env, timeoutMs: timeout * 1000 });
      killOnAbort(handle, abortOnDisconnect(res));
      return { pid: handle.pid, ...(await collect(handle, { ctx, keepId: newExecutionId() })) };
    });
    const exitCode = exitCodeOf(result.outcome);
    const response = {
      success: exitCode === 0 && !result.outcome.timedOut,
      stdout: result.stdout,
      stderr: result.outcome.oomKilled
        ? `${result.stderr}\nThe process was killed for running out of memory (sandbox memory limit).`
        : result.stderr,
      exit_code: exitCode,
      execution_time: result.outcome.durationMs / 1000,
      command: display,
      pid: result.pid,
      timestamp: nowIso(),
      ...keptOutputsWire(result.kept),
    };
    if (result.outcome.timedOut) {
      throw new ApiError(408, 'EXECUTION_TIMEOUT', `Command timed out after ${timeout} s`, {
        details: { timeout_seconds: timeout },
        body: { ...response, success: false, timed_out: true },
      });
    }
    sendJson(res, 200, response);
  });

  router.add('POST', '/commands/background', async ({ req, res }) => {
    const body = await readJsonBody(req);
    const { argv, display } = commandArgv(body);
    const timeout = backgroundTimeout(body);
    const cwd = workdir(body);
    const env = processEnv(ctx, stringMap(body, 'env'));
    const job = ctx.jobs.launch(() => ctx.sandbox.runtime.exec({ argv, cwd, env, timeoutMs: (timeout ?? 0) * 1000 }), {
      kind: 'command',
      name: optionalString(body, 'name') ?? null,
      language: 'bash',
      command: display,
      timeoutSeconds: timeout,
    });
    ctx.stats.totalExecutions++;
    sendJson(res, 200, backgroundStarted(job, `Background process started: ${job.processId}`));
  });
}
