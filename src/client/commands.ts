/** Agent: shell commands (docs/hopx-wire.md §5.6). Sent as `bash -c <command>` like both SDKs. */
import type { AgentConnection } from './agent.js';
import { BACKGROUND_UNCAPPED_TIMEOUT_S, DEFAULT_WORKDIR, postExecution, streamExecution } from './code.js';
import type { ClientContext } from './context.js';
import { ValidationError } from './errors.js';
import * as check from './validate.js';
import { toBackgroundHandle, toCommandResult, type Json } from './wire.js';
import type { BackgroundProcessHandle, CallOptions, CommandResult, CommandsApi, OutputCallback, RunCommandOptions } from './types.js';

const RUN_TIMEOUT_S = 30;

function commandBody(options: RunCommandOptions, defaultTimeoutS: number): Json {
  if (typeof options !== 'object' || options === null) throw new ValidationError('run needs options, e.g. { command: "ls -la" }.');
  const body: Json = {
    // A bare command string without args made the agent return exit 1 with no output (field
    // tests), which is why both SDKs wrap it in bash -c.
    command: 'bash',
    args: ['-c', check.nonEmptyString(options.command, 'command', '"ls -la /workspace"')],
    timeout: options.timeoutSeconds === undefined ? defaultTimeoutS : check.positiveInteger(options.timeoutSeconds, 'timeoutSeconds'),
    workdir: options.workingDir === undefined ? DEFAULT_WORKDIR : check.sandboxPath(options.workingDir, 'workingDir'),
  };
  if (options.env !== undefined) body.env = check.envVars(options.env);
  return body;
}

export class Commands implements CommandsApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly conn: AgentConnection,
  ) {}

  async run(options: RunCommandOptions, call: CallOptions = {}): Promise<CommandResult> {
    const body = commandBody(options, RUN_TIMEOUT_S);
    return toCommandResult(await postExecution(this.conn, '/commands/run', body, { waits: true, operation: 'run a command' }, call));
  }

  /**
   * The command line as `bash` code through /execute/stream (the stream documented for live
   * output; `/commands/stream` has no documented protocol): same body fields, same result.
   */
  async runStreaming(options: RunCommandOptions, onOutput: OutputCallback, call: CallOptions = {}): Promise<CommandResult> {
    const { args, command: _bash, ...body } = commandBody(options, RUN_TIMEOUT_S);
    const streamed = await streamExecution(this.ctx, this.conn, { ...body, code: (args as string[])[1], language: 'bash' }, 'run a command', onOutput, call);
    return toCommandResult(streamed);
  }

  async runBackground(options: RunCommandOptions & { name?: string }, call: CallOptions = {}): Promise<BackgroundProcessHandle> {
    const body = commandBody(options, BACKGROUND_UNCAPPED_TIMEOUT_S);
    const started = await postExecution(this.conn, '/commands/background', body, { name: options.name, waits: false, operation: 'start a background command' }, call);
    return toBackgroundHandle(started);
  }
}
