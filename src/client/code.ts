/** Agent: code execution (hopx-api.md §5.4, §5.5, §5.12). Never retried: code has side effects. */
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import { NetworkError, ValidationError } from './errors.js';
import * as check from './validate.js';
import { openAgentSocket } from './ws.js';
import { toBackgroundHandle, toExecutionResult, toStreamEvent, type Json } from './wire.js';
import type {
  BackgroundProcessHandle,
  CallOptions,
  CodeApi,
  ExecutionResult,
  RunBackgroundOptions,
  RunCodeOptions,
  StreamEvent,
} from './types.js';

export const DEFAULT_WORKDIR = '/workspace';
const RUN_TIMEOUT_S = 120;
const BACKGROUND_TIMEOUT_S = 300;
const STREAM_TIMEOUT_S = 60;
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

export class Code implements CodeApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly conn: AgentConnection,
  ) {}

  async run(options: RunCodeOptions, call: CallOptions = {}): Promise<ExecutionResult> {
    const body = executeBody(options, RUN_TIMEOUT_S);
    return toExecutionResult(await postExecution(this.conn, '/execute', body, { waits: true, operation: 'run code' }, call));
  }

  async runBackground(options: RunBackgroundOptions, call: CallOptions = {}): Promise<BackgroundProcessHandle> {
    const body = executeBody(options, BACKGROUND_TIMEOUT_S);
    const started = await postExecution(this.conn, '/execute/background', body, { name: options.name, waits: false, operation: 'start background code' }, call);
    return toBackgroundHandle(started);
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
      throw new NetworkError(
        `The execution stream in sandbox ${this.conn.sandboxId} closed before the run completed; the code may still be running. ` +
          'Check sandbox_list_processes, or rerun with sandbox_run_code.',
      );
    } finally {
      socket.close();
    }
  }
}
