/** POST /execute, /execute/background, GET /execute/processes and the four kill forms. */
import { ApiError } from '../errors.js';
import { type Router, nowIso, readJsonBody, sendJson } from '../http.js';
import { backgroundStarted, backgroundTimeout, jobToWire } from './background.js';
import { type AgentContext, processEnv } from './context.js';
import { optionalString, requireString, stringMap, timeoutSeconds, workdir } from './fields.js';
import { GO_ENV } from './go-cache.js';
import { resolveLanguage } from './languages.js';
import { abortOnDisconnect, keptOutputsWire } from './output.js';
import { type CodeOutcome, richFields, runCode } from './run-code.js';

/** docs/hopx-wire.md §5.4: agent default 60 s (docs), max 300 s. */
const EXECUTE_DEFAULT_TIMEOUT_S = 60;
const EXECUTE_MAX_TIMEOUT_S = 300;

export function registerExecuteRoutes(router: Router, ctx: AgentContext): void {
  router.add('POST', '/execute', async ({ req, res }) => {
    const body = await readJsonBody(req);
    const code = requireString(body, 'code', 'the source code to run');
    const language = resolveLanguage(body.language, ctx.languages);
    const timeout = timeoutSeconds(body, EXECUTE_DEFAULT_TIMEOUT_S, EXECUTE_MAX_TIMEOUT_S);
    const outcome = await runCode(ctx, {
      language,
      code,
      cwd: workdir(body),
      env: processEnv(ctx, stringMap(body, 'env')),
      timeoutSeconds: timeout,
    }, undefined, abortOnDisconnect(res));
    if (outcome.timedOut) throw timeoutError(outcome, timeout, language);
    sendJson(res, 200, executeResponse(outcome, language));
  });

  router.add('POST', '/execute/background', async ({ req, res }) => {
    const body = await readJsonBody(req);
    const code = requireString(body, 'code', 'the source code to run');
    const language = resolveLanguage(body.language, ctx.languages);
    const timeout = backgroundTimeout(body);
    const name = optionalString(body, 'name') ?? null;
    const env = processEnv(ctx, stringMap(body, 'env'));
    const cwd = workdir(body);
    // Background code runs as its own process (python too: the kernel serves one cell at a time).
    const job = ctx.jobs.launch(
      () =>
        ctx.sandbox.runtime.execCode({
          language,
          code,
          cwd,
          env: language === 'go' ? { ...GO_ENV, ...env } : env,
          timeoutMs: (timeout ?? 0) * 1000,
        }),
      { kind: 'code', name, language, command: null, timeoutSeconds: timeout },
    );
    ctx.stats.totalExecutions++;
    sendJson(res, 200, backgroundStarted(job, 'Background execution started'));
  });

  // `?process_id=` (an extension: HopX documents none) answers with that process only.
  router.add('GET', '/execute/processes', ({ res, url }) => {
    const only = url.searchParams.get('process_id');
    const processes = ctx.jobs.list().filter((j) => !only || j.processId === only).map(jobToWire);
    sendJson(res, 200, { processes, count: processes.length, timestamp: nowIso() });
  });

  const kill = async (processId: string | null, res: import('node:http').ServerResponse) => {
    if (!processId) {
      throw new ApiError(400, 'MISSING_PARAMETER', 'Missing required field "process_id" (query, body or path)', {
        details: { missing_field: 'process_id' },
      });
    }
    const killed = await ctx.jobs.kill(processId);
    if (!killed) {
      throw new ApiError(404, 'PROCESS_NOT_FOUND', `Process ${processId} not found`, { details: { process_id: processId } });
    }
    sendJson(res, 200, {
      process_id: processId,
      status: killed.job.status,
      success: true,
      message: killed.wasRunning ? 'Process killed' : `Process had already finished (${killed.job.status})`,
      timestamp: nowIso(),
    });
  };
  router.add('DELETE', '/execute/kill', async ({ req, res, url }) => {
    let id = url.searchParams.get('process_id');
    if (!id) {
      const body = await readJsonBody(req);
      id = typeof body.process_id === 'string' ? body.process_id : null;
    }
    await kill(id, res);
  });
  router.add('POST', '/execute/kill/:process_id', ({ res, params }) => kill(params.process_id, res));
  router.add('POST', '/processes/:process_id/kill', ({ res, params }) => kill(params.process_id, res));
}

function executeResponse(outcome: CodeOutcome, language: string): Record<string, unknown> {
  const stderr = outcome.notes.length ? `${outcome.stderr}${outcome.stderr && !outcome.stderr.endsWith('\n') ? '\n' : ''}${outcome.notes.join('\n')}` : outcome.stderr;
  const body: Record<string, unknown> = {
    success: outcome.exitCode === 0 && !outcome.timedOut,
    stdout: outcome.stdout,
    stderr,
    exit_code: outcome.exitCode,
    execution_time: outcome.durationMs / 1000,
    timestamp: nowIso(),
    language,
    ...richFields(outcome.kernel),
    ...keptOutputsWire(outcome.kept),
  };
  if (outcome.kernel?.error) body.error = outcome.kernel.error;
  if (outcome.kernel?.stateLost) body.kernel_restarted = true;
  return body;
}

/**
 * Timeouts are answered with 408 EXECUTION_TIMEOUT (so clients can tell them from a failing
 * program), and the body still carries the output produced before the deadline.
 */
function timeoutError(outcome: CodeOutcome, timeout: number, language: string): ApiError {
  const stateNote = outcome.kernel?.stateLost ? ' The Python kernel was restarted: its variables are gone.' : '';
  return new ApiError(408, 'EXECUTION_TIMEOUT', `Execution timed out after ${timeout} s.${stateNote}`, {
    details: { timeout_seconds: timeout, state_lost: outcome.kernel?.stateLost ?? false },
    body: { ...executeResponse(outcome, language), success: false, timed_out: true },
  });
}
