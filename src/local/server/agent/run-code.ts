/**
 * Running one piece of code in a sandbox, shared by POST /execute and the /execute/stream socket:
 * python goes to the sandbox's stateful kernel, javascript/bash to one process each, go through
 * the build cache.
 */
import type { KernelResult, MimeBundle, RuntimeLanguage } from '../../runtime/types.js';
import { newExecutionId } from '../ids.js';
import { collect, exitCodeOf, keptOutputFile, killOnAbort, MAX_CAPTURED_CHARS, OutputBuffer, type KeptWhole } from './output.js';
import { type AgentContext } from './context.js';

export interface CodeCall {
  language: RuntimeLanguage;
  code: string;
  cwd: string;
  env: Record<string, string>;
  timeoutSeconds: number;
}

export interface CodeOutcome {
  stdout: string;
  stderr: string;
  exitCode: number;
  timedOut: boolean;
  durationMs: number;
  /** Python only. */
  kernel: KernelResult | null;
  /** Whole streams kept in the sandbox because the answer had to cut them. */
  kept: { stdout: KeptWhole | null; stderr: KeptWhole | null };
  notes: string[];
}

export type OutputSink = (stream: 'stdout' | 'stderr', chunk: string) => void;

/**
 * `signal` cancels the run (the caller went away): a process's group is killed; a python cell is
 * interrupted, and its kernel restarted if it does not stop (docs/long-calls.md).
 */
export async function runCode(ctx: AgentContext, call: CodeCall, onOutput?: OutputSink, signal?: AbortSignal): Promise<CodeOutcome> {
  return ctx.stats.execution(() =>
    call.language === 'python' ? runPython(ctx, call, onOutput, signal) : runProcess(ctx, call, onOutput, signal),
  );
}

async function runPython(ctx: AgentContext, call: CodeCall, onOutput?: OutputSink, signal?: AbortSignal): Promise<CodeOutcome> {
  ctx.kernel.started = true;
  ctx.kernel.cells++;
  // The agent's own capture (with the kept-output file) sees every chunk; the kernel's bounded
  // copy in the result is not used.
  const id = newExecutionId();
  const kernelOutput = { holdOutput: () => ctx.sandbox.runtime.holdPythonOutput() };
  const out = new OutputBuffer('stdout', MAX_CAPTURED_CHARS, keptOutputFile(ctx, id, 'stdout'), kernelOutput);
  const err = new OutputBuffer('stderr', MAX_CAPTURED_CHARS, keptOutputFile(ctx, id, 'stderr'), kernelOutput);
  try {
    const result = await ctx.sandbox.runtime.runPython(
      { code: call.code, cwd: call.cwd, env: call.env, timeoutMs: call.timeoutSeconds * 1000, maxOutputChars: MAX_CAPTURED_CHARS },
      (stream, chunk) => {
        (stream === 'stdout' ? out : err).append(chunk);
        onOutput?.(stream, chunk);
      },
      signal,
    );
    const [stdoutKept, stderrKept] = await Promise.all([out.close(), err.close()]);
    const notes: string[] = [];
    let stderr = stderrKept.text;
    if (result.error) {
      const text = result.error.traceback || `${result.error.name}: ${result.error.value}`;
      stderr += (stderr && !stderr.endsWith('\n') ? '\n' : '') + text;
    }
    // A dead kernel (OOM, exit, kill after a timeout) comes back as result.error, whose text
    // already says why and that earlier variables are lost: no extra note.
    return {
      stdout: stdoutKept.text,
      stderr,
      exitCode: result.error || result.timedOut || result.oomKilled ? 1 : 0,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      kernel: result,
      kept: { stdout: stdoutKept.kept, stderr: stderrKept.kept },
      notes,
    };
  } finally {
    // A kernel that failed to start: close any kept file (a second close does nothing).
    void Promise.all([out.close(), err.close()]);
    ctx.kernel.cells--;
    ctx.kernel.lastActivity = new Date();
  }
}

async function runProcess(ctx: AgentContext, call: CodeCall, onOutput?: OutputSink, signal?: AbortSignal): Promise<CodeOutcome> {
  const started = Date.now();
  const timeoutMs = call.timeoutSeconds * 1000;
  const notes: string[] = [];
  let handle;
  if (call.language === 'go') {
    const go = await ctx.goCache.run(call.code, { cwd: call.cwd, env: call.env, timeoutMs });
    if (go.kind === 'build-failed') {
      if (onOutput) {
        if (go.stdout) onOutput('stdout', go.stdout);
        if (go.stderr) onOutput('stderr', go.stderr);
      }
      return { stdout: go.stdout, stderr: go.stderr, exitCode: go.exitCode, timedOut: go.timedOut, durationMs: Date.now() - started, kernel: null, kept: { stdout: null, stderr: null }, notes };
    }
    handle = go.handle;
  } else {
    handle = ctx.sandbox.runtime.execCode({ language: call.language, code: call.code, cwd: call.cwd, env: call.env, timeoutMs });
  }
  if (onOutput) {
    handle.onStdout((c) => onOutput('stdout', c));
    handle.onStderr((c) => onOutput('stderr', c));
  }
  killOnAbort(handle, signal);
  const { stdout, stderr, kept, outcome } = await collect(handle, { ctx, keepId: newExecutionId() });
  if (outcome.oomKilled) notes.push('The process was killed for running out of memory (sandbox memory limit).');
  return {
    stdout,
    stderr,
    exitCode: exitCodeOf(outcome),
    timedOut: outcome.timedOut,
    durationMs: Date.now() - started,
    kernel: null,
    kept,
    notes,
  };
}

/**
 * The kernel's MIME bundles in the /execute response: as they are, in `mime_bundles` (an
 * extension this project's client reads, so they reach the tool unsplit), and flattened into the
 * HopX fields (`png/svg/html/markdown/json`, `result`, `rich_outputs[]`) for any other HopX client.
 */
export function richFields(kernel: KernelResult | null): Record<string, unknown> {
  if (!kernel) return { rich_outputs: [] };
  const mimeBundles = [
    ...kernel.displays.map((data) => ({ kind: 'display', data })),
    ...(kernel.result ? [{ kind: 'result', data: kernel.result }] : []),
  ];
  return { ...flatFields(kernel), mime_bundles: mimeBundles };
}

/** The HopX wire's flattened form (docs/hopx-wire.md §5.4). */
function flatFields(kernel: KernelResult): Record<string, unknown> {
  const bundles: MimeBundle[] = [...kernel.displays, ...(kernel.result ? [kernel.result] : [])];
  const first = (mime: string) => bundles.find((b) => typeof b[mime] === 'string')?.[mime];
  const out: Record<string, unknown> = {};
  const png = first('image/png');
  if (png) out.png = png;
  const svg = first('image/svg+xml');
  if (svg) out.svg = svg;
  const html = first('text/html');
  if (html) out.html = html;
  const markdown = first('text/markdown');
  if (markdown) out.markdown = markdown;
  const json = first('application/json');
  if (json !== undefined) out.json = parseJsonOrText(json);
  const resultText = kernel.result?.['text/plain'];
  if (resultText !== undefined) out.result = resultText;
  out.rich_outputs = bundles.flatMap((bundle) =>
    Object.entries(bundle)
      .filter(([mime]) => mime !== 'text/plain' || bundle === kernel.result)
      .map(([mime, data]) => ({
        type: mime,
        format: mime.startsWith('image/') && mime !== 'image/svg+xml' ? 'base64' : mime === 'application/json' ? 'json' : 'text',
        data: mime === 'application/json' ? parseJsonOrText(data) : data,
      })),
  );
  return out;
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

