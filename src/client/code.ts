/** Agent: code execution (docs/hopx-wire.md §5.4, §5.5, §5.12). Never retried: code has side effects. */
import { HeadTailBuffer } from '../text/cut.js';
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import { errorFromResponse, errorFromTransport, type ErrorContext } from './error-table.js';
import { StreamInterruptedError, ValidationError } from './errors.js';
import * as check from './validate.js';
import { openAgentSocket } from './ws.js';
import {
  toAsyncExecutionHandle,
  toBackgroundHandle,
  toExecutionResult,
  toRichExecutionResult,
  toStreamEvent,
  asRecord,
  type Json,
} from './wire.js';
import type {
  AsyncExecutionHandle,
  BackgroundProcessHandle,
  CallOptions,
  CodeApi,
  ExecutionResult,
  OutputCallback,
  RichExecutionResult,
  RunAsyncOptions,
  RunBackgroundOptions,
  RunCodeOptions,
  RunIpythonOptions,
  RunRichOptions,
  StreamEvent,
} from './types.js';

export const DEFAULT_WORKDIR = '/workspace';
const RUN_TIMEOUT_S = 120;
/**
 * Background runs live until they end, are killed, or their sandbox ends. HopX agents apply a
 * default timeout (300 s) to a background request without one, so a run given no timeout is sent
 * this one instead: a year, longer than any sandbox lives (docs/hopx-wire.md §5.5).
 */
export const BACKGROUND_UNCAPPED_TIMEOUT_S = 365 * 86_400;
const STREAM_TIMEOUT_S = 60;
const IPYTHON_TIMEOUT_S = 60;
/** The SDKs' default for webhook runs (the docs say 3600). */
const ASYNC_TIMEOUT_S = 1800;
/** The HTTP wait = the execution timeout + this slack (both SDKs). */
const EXECUTION_SLACK_MS = 30_000;

/** The JSON body shared by /execute, /execute/background and the stream's first message. */
function executeBody(options: RunCodeOptions, defaultTimeoutS: number): Json {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('run needs options, e.g. { code: "print(1)", language: "python" }.');
  }
  const body: Json = {
    code: check.nonEmptyString(options.code, 'code', '"print(1 + 1)"'),
    language: check.language(options.language),
    timeout: options.timeoutSeconds === undefined ? defaultTimeoutS : check.positiveInteger(options.timeoutSeconds, 'timeoutSeconds'),
    // `workdir`, not `working_dir`: the agent silently ignores the latter (SDK 0.3.3 changelog).
    workdir: options.workingDir === undefined ? DEFAULT_WORKDIR : check.sandboxPath(options.workingDir, 'workingDir'),
  };
  if (options.env !== undefined) body.env = check.envVars(options.env);
  return body;
}

/**
 * POSTs an execution (code or command). A run that waits for the result gets the execution
 * timeout + slack as its HTTP timeout; a background start answers at once. Never retried.
 */
export async function postExecution(
  conn: AgentConnection,
  path: string,
  body: Json,
  options: { name?: string; waits: boolean; operation: string },
  call: CallOptions,
): Promise<unknown> {
  if (options.name !== undefined) body.name = check.nonEmptyString(options.name, 'name', '"web-server"');
  const res = await conn.request<Json>(
    {
      method: 'POST',
      path,
      json: body,
      response: 'json',
      ...(options.waits ? { defaultTimeoutMs: (body.timeout as number) * 1000 + EXECUTION_SLACK_MS } : {}),
      context: { operation: options.operation },
    },
    call,
  );
  return res.data;
}

/** Per stream, the output a streamed run keeps in memory (head and tail; the middle is counted). */
const STREAMED_OUTPUT_CHARS = 1024 * 1024;

/** An error frame's code as the HTTP status the same error would have on POST /execute. */
function frameStatus(code: string | undefined): number {
  if (code === 'EXECUTION_TIMEOUT') return 408;
  if (code && /^(INVALID|MISSING|UNSUPPORTED)_/.test(code)) return 400;
  return 500;
}

/**
 * Runs one execution through the /execute/stream socket (docs/hopx-wire.md §5.12): `body` goes in
 * the `execute` frame, output frames reach `onOutput` as they arrive, and the answer is the body
 * POST /execute would have given (output kept within STREAMED_OUTPUT_CHARS per stream, plus the
 * `result` frame's fields). An `error` frame becomes the error POST /execute would have raised.
 *
 * Stopping: aborting `call.signal` closes the socket. The run is also bounded here, at its own
 * timeout + slack, in case the agent never ends the stream. Never retried.
 */
export async function streamExecution(
  ctx: ClientContext,
  conn: AgentConnection,
  body: Json,
  operation: string,
  onOutput: OutputCallback,
  call: CallOptions,
): Promise<Json> {
  const context: ErrorContext = { operation, plane: 'agent', sandboxId: conn.sandboxId };
  const deadlineMs = (body.timeout as number) * 1000 + EXECUTION_SLACK_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), deadlineMs);
  const signal = call.signal ? AbortSignal.any([call.signal, deadline.signal]) : deadline.signal;
  const out = { stdout: new HeadTailBuffer({ maxChars: STREAMED_OUTPUT_CHARS }), stderr: new HeadTailBuffer({ maxChars: STREAMED_OUTPUT_CHARS }) };
  let result: Json | null = null;
  let error: Json | null = null;
  let complete: Json | null = null;
  let socket;
  try {
    socket = await openAgentSocket(ctx, conn, '/execute/stream', operation, { ...call, signal });
    socket.send({ type: 'execute', ...body });
    for await (const frame of socket.messages) {
      if (frame.type === 'stdout' || frame.type === 'stderr') {
        const data = typeof frame.data === 'string' ? frame.data : '';
        out[frame.type].append(data);
        if (data) onOutput(frame.type, data);
      } else if (frame.type === 'result') {
        result = frame;
      } else if (frame.type === 'error') {
        error ??= frame;
      } else if (frame.type === 'complete') {
        complete = frame;
        break;
      }
    }
  } catch (err) {
    if (deadline.signal.aborted && !call.signal?.aborted) throw errorFromTransport(err, context, { timedOut: true, timeoutMs: deadlineMs });
    throw err;
  } finally {
    clearTimeout(timer);
    socket?.close();
  }
  if (error) throw errorFromResponse(frameStatus(typeof error.code === 'string' ? error.code : undefined), error, {}, context);
  if (!complete) {
    throw new StreamInterruptedError(
      `The execution stream in sandbox ${conn.sandboxId} closed before the run completed; the run may have been stopped or may still be going.`,
      { operation, sandboxId: conn.sandboxId },
    );
  }
  const fields = asRecord(result ?? {});
  const exitCode = typeof fields.exit_code === 'number' ? fields.exit_code : complete.success === true ? 0 : 1;
  return {
    ...fields,
    success: typeof complete.success === 'boolean' ? complete.success : exitCode === 0,
    exit_code: exitCode,
    // The agent resends a stream it had to cut (with the marker naming where it is kept whole).
    stdout: typeof fields.stdout === 'string' ? fields.stdout : out.stdout.finish({ label: 'stdout', where: null }).text,
    stderr: typeof fields.stderr === 'string' ? fields.stderr : out.stderr.finish({ label: 'stderr', where: null }).text,
  };
}

export class Code implements CodeApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly conn: AgentConnection,
  ) {}

  async run(options: RunCodeOptions, call: CallOptions = {}): Promise<ExecutionResult> {
    const body = executeBody(options, RUN_TIMEOUT_S);
    return toExecutionResult(await postExecution(this.conn, '/execute', body, { waits: true, operation: 'run code' }, call));
  }

  async runStreaming(options: RunCodeOptions, onOutput: OutputCallback, call: CallOptions = {}): Promise<ExecutionResult> {
    const body = executeBody(options, RUN_TIMEOUT_S);
    return toExecutionResult(await streamExecution(this.ctx, this.conn, body, 'run code', onOutput, call));
  }

  async runBackground(options: RunBackgroundOptions, call: CallOptions = {}): Promise<BackgroundProcessHandle> {
    const body = executeBody(options, BACKGROUND_UNCAPPED_TIMEOUT_S);
    const started = await postExecution(this.conn, '/execute/background', body, { name: options.name, waits: false, operation: 'start background code' }, call);
    return toBackgroundHandle(started);
  }

  /**
   * POST /execute/rich (agent 3.1.1). Its spec names the directory `working_dir` while later agents
   * read `workdir`, so both are sent with the same value.
   */
  async runRich(options: RunRichOptions, call: CallOptions = {}): Promise<RichExecutionResult> {
    const body = executeBody(options, RUN_TIMEOUT_S);
    body.working_dir = body.workdir;
    if (options.captureRich !== undefined && typeof options.captureRich !== 'boolean') {
      throw new ValidationError('captureRich must be true or false.');
    }
    body.capture_rich = options.captureRich ?? true;
    return toRichExecutionResult(await postExecution(this.conn, '/execute/rich', body, { waits: true, operation: 'run code with rich output' }, call));
  }

  /** POST /execute/ipython (agent 3.1.1): `{code, timeout, env}` only, as the JS SDK sends it. */
  async runIpython(options: RunIpythonOptions, call: CallOptions = {}): Promise<ExecutionResult> {
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError('runIpython needs options, e.g. { code: "x = 1; x + 1" }.');
    }
    const body: Json = {
      code: check.nonEmptyString(options.code, 'code', '"x = 1; x + 1"'),
      timeout: options.timeoutSeconds === undefined ? IPYTHON_TIMEOUT_S : check.positiveInteger(options.timeoutSeconds, 'timeoutSeconds'),
    };
    if (options.env !== undefined) body.env = check.envVars(options.env);
    return toExecutionResult(await postExecution(this.conn, '/execute/ipython', body, { waits: true, operation: 'run code in IPython' }, call));
  }

  /**
   * POST /execute/async: the agent queues the run (200 or 202) and POSTs the result to
   * callbackUrl. Never retried: a resend would run the code twice.
   */
  async runAsync(options: RunAsyncOptions, call: CallOptions = {}): Promise<AsyncExecutionHandle> {
    const body = executeBody(options, ASYNC_TIMEOUT_S);
    body.callback_url = callbackUrl(options.callbackUrl);
    if (options.callbackHeaders !== undefined) body.callback_headers = stringMap(options.callbackHeaders, 'callbackHeaders');
    if (options.callbackSignatureSecret !== undefined) {
      body.callback_signature_secret = check.nonEmptyString(options.callbackSignatureSecret, 'callbackSignatureSecret', '"a long random string"');
    }
    return toAsyncExecutionHandle(await postExecution(this.conn, '/execute/async', body, { waits: false, operation: 'start an async run' }, call));
  }

  async *stream(options: RunCodeOptions, call: CallOptions = {}): AsyncIterable<StreamEvent> {
    const body = executeBody(options, STREAM_TIMEOUT_S);
    // The call's timeout bounds the handshake; the run itself is bounded by the agent's timeout.
    const socket = await openAgentSocket(this.ctx, this.conn, '/execute/stream', 'stream code execution', call);
    try {
      socket.send({ type: 'execute', ...body });
      for await (const frame of socket.messages) {
        const event = toStreamEvent(frame);
        if (!event) continue;
        yield event;
        if (event.type === 'complete') return;
      }
      throw new StreamInterruptedError(
        `The execution stream in sandbox ${this.conn.sandboxId} closed before the run completed; the code may still be running.`,
        { operation: 'stream code execution', sandboxId: this.conn.sandboxId },
      );
    } finally {
      socket.close();
    }
  }
}

function callbackUrl(value: unknown): string {
  const url = check.nonEmptyString(value, 'callbackUrl', '"https://example.com/hopx-webhook"');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`callbackUrl must be an absolute http(s) URL, e.g. https://example.com/hopx-webhook; got ${JSON.stringify(url)}.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(`callbackUrl must use http or https; got ${parsed.protocol.replace(/:$/, '')}.`);
  }
  return url;
}

/** Header names and string values; the values (often secrets) are never echoed. */
function stringMap(value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object of "Header-Name": "value" strings.`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ValidationError(`${field}.${key} must be a string.`);
  }
  return value as Record<string, string>;
}
