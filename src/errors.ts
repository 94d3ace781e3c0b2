/**
 * The one translation from "anything thrown" to an MCP tool result (docs/conventions.md convention 9), and
 * the one table of advice: error class (and its fields) → the next step, naming the tools.
 *
 * Domain failures are `isError: true` results whose text says what happened (the error's own
 * message, worded by whoever raised it from the same fields) and what to do next (from the table);
 * never a stack trace, never a protocol error. Nothing here reads an error's message to decide
 * anything: the class and the fields decide. Unknown errors get a generic message; the caller logs
 * the full error to stderr.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import {
  AbortedError,
  AuthenticationError,
  ConflictError,
  DesktopNotAvailableError,
  ExecutionTimeoutError,
  FileNotFoundError,
  HopxError,
  IsADirectoryError,
  KillNotSupportedError,
  NetworkError,
  NotFoundError,
  PathNotAllowedError,
  PaymentRequiredError,
  PermissionDeniedError,
  ProcessNotFoundError,
  RateLimitError,
  RequestTimeoutError,
  ResourceLimitError,
  SandboxExpiredError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  ServerError,
  StreamInterruptedError,
  TemplateNotFoundError,
  TokenExpiredError,
  ValidationError,
} from './client/errors.js';
import { StateUnavailableError } from './state/types.js';
import { redactSecrets } from './text/secrets.js';

// ---------------------------------------------------------------- errors raised by the MCP layer

/** Bad tool input that the schema could not catch (or that we rephrase). Names the field and the fix. */
export class ToolInputError extends Error {
  override name = 'ToolInputError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A sandbox-scoped tool was called without `sandbox_id` and the conversation has no current sandbox. */
export class NoCurrentSandboxError extends Error {
  override name = 'NoCurrentSandboxError';
  constructor() {
    super(
      'No sandbox selected: this conversation has no current sandbox. Create one with sandbox_create ' +
        '(or attach an existing one with sandbox_connect), or pass "sandbox_id".',
    );
  }
}

/**
 * The conversation neither created nor connected this sandbox, or killed it already (then
 * sandbox_connect would be the wrong advice: it is gone).
 */
export class SandboxNotInConversationError extends Error {
  override name = 'SandboxNotInConversationError';
  constructor(
    readonly sandboxId: string,
    readonly killedHere = false,
  ) {
    super(
      killedHere
        ? `Sandbox "${sandboxId}" was killed earlier in this conversation. Create a new one with sandbox_create.`
        : `Sandbox "${sandboxId}" is not attached to this conversation. If it is yours, attach it first with ` +
            `sandbox_connect {"sandbox_id": "${sandboxId}"}; sandbox_list shows this conversation's sandboxes.`,
    );
  }
}

/** The conversation has ended (its transport closed); nothing more can be done through it. */
export class ConversationEndedError extends Error {
  override name = 'ConversationEndedError';
  constructor(readonly conversationId: string) {
    super('This conversation has ended; reconnect to start a new one.');
  }
}

/**
 * The server has no backend to serve sandboxes (no HOPX_API_KEY, and the local backend cannot run
 * here). The message says why and what to configure; every tool that needs a backend answers it.
 */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** A resource URI that names something this conversation does not have. */
export class ResourceUnavailableError extends Error {
  override name = 'ResourceUnavailableError';
}

/** A resource that does not exist (an output dropped from the store, ...): "not found" on the wire. */
export class ResourceMissingError extends ResourceUnavailableError {
  override name = 'ResourceMissingError';
}

const NOT_FOUND = [FileNotFoundError, SandboxNotFoundError, TemplateNotFoundError, SandboxNotInConversationError, NoCurrentSandboxError, ResourceMissingError];

/** Whether the error means "the thing named does not exist (for this conversation)". */
export function isNotFoundError(err: unknown): boolean {
  return NOT_FOUND.some((cls) => err instanceof cls);
}

// ---------------------------------------------------------------- the advice table

/** The step that gets a sandbox out of `state`, when the failure was that state. */
function stateAdvice(state: string | undefined): string | null {
  switch (state) {
    case undefined:
      return null;
    case 'paused':
      return 'Resume it with sandbox_resume, then retry.';
    case 'stopped':
      return 'Start it with sandbox_start, then retry.';
    case 'creating':
      return 'Wait a few seconds for it to finish starting, then retry.';
    default:
      return 'Create a new sandbox with sandbox_create.';
  }
}

/** Folders the sandbox itself keeps: "use a path under /workspace" is no advice when one was refused. */
const SANDBOX_ROOTS = new Set(['/', '/workspace', '/workspace/', '/tmp', '/tmp/']);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each row's class fixes its own error type
type ErrorClass<E> = abstract new (...args: any[]) => E;

interface Row<E extends Error = Error> {
  cls: ErrorClass<E>;
  /** What to do next, naming the tools that do it; null when the message says it all. */
  advice: (err: E) => string | null;
  /** Replaces the error's own message (e.g. a cancellation, which is not the client's to word). */
  text?: (err: E) => string;
}

function row<E extends Error>(cls: ErrorClass<E>, advice: (err: E) => string | null, text?: (err: E) => string): Row {
  return { cls, advice, text } as unknown as Row;
}

/**
 * THE table: error class (and its fields) → the next step, in tool names. The first row whose
 * class the error is an instance of wins, so subclasses come before their parents. The message
 * says what happened (the client words it from the same fields); this says what to do.
 */
const ADVICE: readonly Row[] = [
  // Raised by the MCP layer: the message already names the fix.
  row(ToolInputError, () => null),
  row(NoCurrentSandboxError, () => null),
  row(SandboxNotInConversationError, () => null),
  row(ConversationEndedError, () => null),
  row(ResourceUnavailableError, () => null),
  row(BackendUnavailableError, () => null),
  row(StateUnavailableError, () => null),
  // From the HopX client.
  row(AbortedError, () => null, () => 'The call was cancelled before it finished.'),
  row(SandboxExpiredError, () => 'Create a new sandbox with sandbox_create (and set a longer timeout if needed).'),
  row(SandboxNotFoundError, () => 'List sandboxes with sandbox_list, or create a new sandbox with sandbox_create.'),
  row(SandboxNotRunningError, (e) => stateAdvice(e.state) ?? 'Check its status with sandbox_get_info.'),
  row(TokenExpiredError, () => 'Reconnect to the sandbox (sandbox_connect) or create a new one; if it persists, check HOPX_API_KEY.'),
  // Without a status the client refused before asking (no key configured): its message says what to set.
  row(AuthenticationError, (e) => (e.status === undefined ? null : 'Check that HOPX_API_KEY is set to a valid key (hopx_live_...) from https://console.hopx.dev.')),
  row(PaymentRequiredError, () => 'Add credit or upgrade the plan at https://console.hopx.dev.'),
  row(ResourceLimitError, (e) => `Kill sandboxes you no longer need (sandbox_list, sandbox_kill)${e.upgradeUrl ? ` or upgrade at ${e.upgradeUrl}` : ''}.`),
  row(RateLimitError, (e) => (e.retryAfterSeconds === undefined ? 'Wait a little and retry.' : `Retry after ${Math.ceil(e.retryAfterSeconds)} s.`)),
  row(PermissionDeniedError, () => 'Check that the API key belongs to the organization that owns this sandbox.'),
  row(PathNotAllowedError, (e) =>
    e.path !== undefined && SANDBOX_ROOTS.has(e.path) ? 'That is a sandbox root folder: act on paths inside it instead.' : 'Use a path under /workspace or /tmp.',
  ),
  row(IsADirectoryError, () => 'List it with sandbox_list_files, or use a file path inside it.'),
  row(FileNotFoundError, () => 'List the parent directory with sandbox_list_files to check the path.'),
  row(ProcessNotFoundError, () => 'List processes with sandbox_list_processes.'),
  row(KillNotSupportedError, () => 'Kill it from a command instead (sandbox_run_command with "kill <pid>").'),
  row(TemplateNotFoundError, () => 'List available templates with sandbox_list_templates (e.g. "code-interpreter").'),
  row(
    DesktopNotAvailableError,
    () => 'Create a sandbox from a desktop template (sandbox_create with template "desktop") and use that one.',
  ),
  row(NotFoundError, () => null),
  row(ConflictError, (e) => stateAdvice(e.state) ?? 'Check the sandbox status with sandbox_get_info, then retry.'),
  row(
    ExecutionTimeoutError,
    () => 'Raise timeout_seconds, or run it in the background (sandbox_run_code_background, or sandbox_run_command with background: true) and poll sandbox_list_processes.',
  ),
  // Without a status the client refused an argument before sending it: its message names the fix.
  row(ValidationError, (e) =>
    e.status === undefined
      ? null
      : e.field
        ? 'Fix that field and retry.'
        : e.path
          ? `Check the path ${e.path} (is it a file where a directory is needed, or the reverse?) and retry.`
          : 'Fix the request as HopX says and retry.',
  ),
  row(StreamInterruptedError, () => 'Check sandbox_list_processes, or rerun with sandbox_run_code.'),
  row(RequestTimeoutError, () => 'Retry; for long work use a background run and poll sandbox_list_processes.'),
  row(NetworkError, () => 'Check the network and HOPX_BASE_URL, then retry.'),
  row(ServerError, () => 'This is usually temporary; retry in a few seconds.'),
  row(HopxError, () => null),
];

function rowFor(err: unknown): Row | undefined {
  return ADVICE.find((r) => err instanceof r.cls);
}

/** True when the error is one we explain to the model (no need to log a stack). */
export function isKnownError(err: unknown): boolean {
  return rowFor(err) !== undefined;
}

/** A sentence: capital first letter, final stop. */
function sentence(text: string): string {
  const t = text.trim();
  const stopped = t.endsWith('.') || t.endsWith('?') || t.endsWith('!') ? t : `${t}.`;
  return stopped.charAt(0).toUpperCase() + stopped.slice(1);
}

/** What happened and what to do next, for any error (a generic line for unrecognised ones). */
export function errorText(err: unknown): string {
  const r = rowFor(err);
  if (!r || !(err instanceof Error)) return 'Internal error in hopx-mcp; the details are in the server log.';
  const advice = r.advice(err);
  const text = sentence(r.text ? r.text(err) : err.message) + (advice ? ` ${advice}` : '');
  const requestId = err instanceof HopxError ? err.requestId : undefined;
  return redactSecrets(requestId && !text.includes(requestId) ? `${text} (request id ${requestId})` : text);
}

/** Turns any error into an `isError` tool result that says what happened and what to do next. */
export function toToolError(err: unknown): CallToolResult {
  return { content: [{ type: 'text', text: errorText(err) }], isError: true };
}
