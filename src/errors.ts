/**
 * The one translation from "anything thrown" to an MCP tool result (style.md §8 convention 9).
 *
 * Domain failures are `isError: true` results whose text says what happened and what to do next;
 * never a stack trace, never a protocol error. Unknown errors get a generic message plus the
 * request id (when the client attached one); the caller logs the full error to stderr.
 *
 * Client errors are recognised by class name along the prototype chain rather than `instanceof`,
 * so this module does not depend on the client's module graph (and keeps working when a test
 * builds errors from a second copy of the client).
 */
import type { CallToolResult } from '@modelcontextprotocol/server';

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

const NOT_FOUND = ['FileNotFoundError', 'SandboxNotFoundError', 'TemplateNotFoundError', 'SandboxNotInConversationError', 'NoCurrentSandboxError', 'ResourceMissingError'];

/** Whether the error means "the thing named does not exist (for this conversation)". */
export function isNotFoundError(err: unknown): boolean {
  return classNames(err).some((n) => NOT_FOUND.includes(n));
}

// ---------------------------------------------------------------- translation

/** What the translation reads from an error (client errors carry these; anything else may). */
interface ErrorFields {
  message: string;
  requestId?: string;
  retryAfterSeconds?: number;
  sandboxStatus?: string;
}

/** The class names along `err`'s prototype chain, most specific first. */
function classNames(err: unknown): string[] {
  const names: string[] = [];
  let proto = err !== null && typeof err === 'object' ? (Object.getPrototypeOf(err) as object | null) : null;
  while (proto && proto !== Object.prototype) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name) names.push(name);
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  const own = (err as { name?: unknown } | null)?.name;
  if (typeof own === 'string' && !names.includes(own)) names.unshift(own);
  return names;
}

function fieldsOf(err: unknown): ErrorFields {
  const e = (err ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const retry = num(e.retryAfterSeconds) ?? num(e.retryAfter) ?? (num(e.retryAfterMs) !== undefined ? Number(e.retryAfterMs) / 1000 : undefined);
  return {
    message: err instanceof Error ? err.message : String(err),
    requestId: str(e.requestId),
    retryAfterSeconds: retry,
    sandboxStatus: str(e.sandboxStatus),
  };
}

/** Agent JWTs look like three base64url segments; never let one reach a result. */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g;
const BEARER_PATTERN = /(bearer\s+)[^\s"']+/gi;

/** Removes anything token-shaped and trims a message to one readable paragraph. */
export function sanitizeMessage(message: string): string {
  const clean = message
    .replace(/[.\s]+$/, '')
    // The tool is sandbox_get_info; a model told to call "sandbox_get" would fail.
    .replace(/\bsandbox_get\b(?!_)/g, 'sandbox_get_info')
    // HTTP routes in a server's message ("resume it (POST /v1/sandboxes/x/resume) first") are not for the model.
    .replace(/\s*\((?:GET|POST|PUT|PATCH|DELETE) \/[^)]*\)/g, '').replace(JWT_PATTERN, '[redacted]').replace(BEARER_PATTERN, '$1[redacted]');
  // A few lines at most, and never stack frames: a stack or server dump is not for the model.
  const firstLines = clean
    .split('\n')
    .filter((line) => !/^\s*at\s/.test(line))
    .slice(0, 3)
    .join(' ')
    .trim();
  return firstLines.length > 500 ? `${firstLines.slice(0, 500)}…` : firstLines;
}

/** The client writes remedies into its messages ("... create a new one with sandbox_create"). */
const HAS_ADVICE = /\bretry\b|HOPX_|\bcheck\b|\bcreate\b|\buse\b|\bpass\b|\braise\b|\bpoll\b|\bwait\b/i;
const TOOL_NAME = /\bsandbox_[a-z_]+/;

/** The next step for each kind of failure, used when the message does not already carry one. */
function remedyFor(names: string[], f: ErrorFields): string | null {
  const has = (n: string) => names.includes(n);
  if (has('SandboxExpiredError')) return 'Create a new sandbox with sandbox_create.';
  if (has('SandboxNotFoundError')) return 'It may have expired or been killed; sandbox_list shows what exists, sandbox_create makes a new one.';
  if (has('SandboxNotRunningError')) return `${f.sandboxStatus ? `Its status is ${f.sandboxStatus}. ` : ''}Start it with sandbox_start (if stopped) or sandbox_resume (if paused), then retry.`;
  if (has('FileNotFoundError')) return 'Check the path with sandbox_list_files.';
  if (has('PathNotAllowedError')) return 'Use a path under /workspace or /tmp.';
  if (has('ProcessNotFoundError')) return 'sandbox_list_processes shows the current ones.';
  if (has('ExecutionTimeoutError')) return 'Raise timeout_seconds, or run it in the background (sandbox_run_code_background, or sandbox_run_command with background: true) and poll sandbox_list_processes.';
  if (has('RequestTimeoutError')) return 'Retry; for long work use a background run and poll sandbox_list_processes.';
  if (has('AuthenticationError')) return 'Check HOPX_API_KEY (or the key sent for this session).';
  if (has('RateLimitError')) return f.retryAfterSeconds !== undefined ? `Retry after ${Math.ceil(f.retryAfterSeconds)} s.` : 'Wait a little and retry.';
  if (has('ResourceLimitError')) return 'Kill sandboxes you no longer need (sandbox_list, sandbox_kill), then retry.';
  if (has('TemplateNotFoundError')) return 'sandbox_list_templates shows the available templates.';
  if (has('PaymentRequiredError')) return 'Add credits to the HopX account, then retry.';
  if (has('PermissionDeniedError')) return 'The API key or the sandbox does not allow this operation.';
  if (has('ConflictError')) return 'Check the sandbox status with sandbox_get_info.';
  if (has('ValidationError')) return 'Fix the argument it names and retry.';
  if (has('NetworkError')) return 'Check the network or HOPX_BASE_URL, then retry.';
  if (has('ServerError')) return 'Retry in a moment.';
  return null;
}

const OWN_ERRORS = ['ToolInputError', 'NoCurrentSandboxError', 'SandboxNotInConversationError', 'ConversationEndedError', 'ResourceUnavailableError', 'StateUnavailableError', 'BackendUnavailableError'];

/** What happened and what to do next, for one error; `null` when the error is not recognised. */
function describe(names: string[], f: ErrorFields): string | null {
  const msg = sanitizeMessage(f.message);
  // sanitizeMessage trims the final period; our own messages are whole sentences.
  if (names.some((n) => OWN_ERRORS.includes(n))) return `${msg}.`;
  if (names.includes('AbortedError')) return 'The call was cancelled before it finished.';
  if (!names.includes('HopxError')) return null;
  // A state conflict that names the state gets the tool that fixes it, whatever the message says.
  if (names.includes('ConflictError') || names.includes('SandboxNotRunningError')) {
    // The precise step replaces the client's generic one ("Check the sandbox status ...").
    const what = msg.replace(/\s*Check the sandbox status with sandbox_get_info, then retry$/, '').replace(/[.\s]+$/, '');
    // "Could not X in sandbox Y: it conflicts with the current state. HopX said: ..." says the
    // state twice in wire terms; the action plus the state is all the model needs.
    const action = /^(.*?):\s*it conflicts with the current state\b/i.exec(what)?.[1];
    const state = (s: string) => (action ? `${action}: the sandbox is ${s}` : what);
    if (/\bpaused\b/i.test(msg)) return `${state('paused')}. Resume it with sandbox_resume, then retry.`;
    if (/\bstopped\b/i.test(msg)) return `${state('stopped')}. Start it with sandbox_start, then retry.`;
  }
  // "Use a path under /workspace" is no advice when /workspace itself was refused (e.g. removing it).
  const root = /^(.*? access to \/(?:workspace|tmp)\/?)(?:\.|$)/.exec(msg);
  if (root && names.includes('PathNotAllowedError')) return `${root[1]}. That is a sandbox root folder: act on paths inside it instead.`;
  // A file tool aimed at a directory: say that plainly (the client's message is generic).
  const dir = /"Is a directory: ([^"]+)"/.exec(msg);
  if (dir && names.includes('ValidationError')) return `${dir[1]} is a directory, not a file. List it with sandbox_list_files, or use a file path inside it.`;
  const remedy = remedyFor(names, f);
  if (remedy === null || TOOL_NAME.test(msg)) return `${msg}.`;
  if (HAS_ADVICE.test(msg)) {
    // The client's own advice names no tool; ours does. Keep what happened, swap the advice.
    if (!TOOL_NAME.test(remedy)) return `${msg}.`;
    const firstSentence = msg.split(/(?<=[a-z0-9)])\.\s+(?=[A-Z])/)[0];
    return `${firstSentence}. ${remedy}`;
  }
  return `${msg}. ${remedy}`;
}

/** True when the error is one we explain to the model (no need to log a stack). */
export function isKnownError(err: unknown): boolean {
  return describe(classNames(err), fieldsOf(err)) !== null;
}

/** What happened and what to do next, for any error (a generic line for unrecognised ones). */
export function errorText(err: unknown): string {
  const fields = fieldsOf(err);
  const text = sentence(describe(classNames(err), fields) ?? 'Internal error in hopx-mcp; the details are in the server log.');
  return fields.requestId && !text.includes(fields.requestId) ? `${text} (request id ${fields.requestId})` : text;
}

/**
 * The client names operations in lower case ("run code timed out ..."); a result starts a
 * sentence, and says what timed out rather than the operation's name.
 */
function sentence(text: string): string {
  const named = text.replace(/^run code\b/, 'The code').replace(/^run a command\b/, 'The command');
  return named.charAt(0).toUpperCase() + named.slice(1);
}

/** Turns any error into an `isError` tool result that says what happened and what to do next. */
export function toToolError(err: unknown): CallToolResult {
  return { content: [{ type: 'text', text: errorText(err) }], isError: true };
}
