/**
 * Building errors: parse either HopX error envelope, then pick the class from ONE ordered table
 * of HTTP status + HopX code (`ERROR_RULES`). The classes themselves are in errors.ts.
 */
import {
  HopxError,
  ValidationError,
  AuthenticationError,
  TokenExpiredError,
  PaymentRequiredError,
  PermissionDeniedError,
  NotFoundError,
  SandboxNotFoundError,
  TemplateNotFoundError,
  FileNotFoundError,
  PathNotAllowedError,
  ProcessNotFoundError,
  ConflictError,
  SandboxExpiredError,
  SandboxNotRunningError,
  ExecutionTimeoutError,
  DesktopNotAvailableError,
  ResourceLimitError,
  RateLimitError,
  ServerError,
  NetworkError,
  RequestTimeoutError,
  AbortedError,
  type HopxErrorInit,
} from './errors.js';
import { redactSecrets } from '../text/secrets.js';

/** What the client was doing when the error happened; shapes the message and the class. */
export interface ErrorContext {
  /** Human phrase: "create sandbox", "read file", "kill process". */
  operation: string;
  plane: 'control' | 'agent';
  /** What the request was about; decides which NotFound subclass a bare 404 becomes. */
  resource?: 'sandbox' | 'template' | 'file' | 'process' | 'env' | 'desktop' | 'other';
  sandboxId?: string;
  path?: string;
  processId?: string;
  template?: string;
}

/** The fields of an error body, whichever of the two envelopes HopX used. */
export interface ParsedErrorBody {
  message: string | undefined;
  code: string | undefined;
  requestId: string | undefined;
  details: Record<string, unknown> | undefined;
  path: string | undefined;
  retryAfterSeconds: number | undefined;
  /** Fields some bodies carry at the top level (sandbox expiry, quota). */
  extra: Record<string, unknown>;
}

type HeaderBag = Record<string, string | string[] | undefined> | Headers | undefined;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return Array.isArray(value) ? value[0] : value;
  }
  return undefined;
}

/** `Retry-After` is either delta-seconds or an HTTP date. */
export function parseRetryAfterHeader(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const seconds = num(value);
  if (seconds !== undefined) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now) / 1000);
}

/**
 * Parse either envelope: flat `{error: "msg", message?, code, request_id, details, path,
 * retry_after}` (docs, agent) or nested `{error: {message, code, request_id, details}}` (Python
 * SDK's control-plane reading). A non-JSON body becomes the message as-is.
 */
export function parseErrorBody(body: unknown): ParsedErrorBody {
  const parsed: ParsedErrorBody = {
    message: undefined,
    code: undefined,
    requestId: undefined,
    details: undefined,
    path: undefined,
    retryAfterSeconds: undefined,
    extra: {},
  };
  if (typeof body === 'string') {
    const text = body.trim();
    if (text.startsWith('{')) {
      try {
        return parseErrorBody(JSON.parse(text));
      } catch {
        // not JSON after all: fall through to plain text
      }
    }
    parsed.message = text.length > 0 ? text.slice(0, 500) : undefined;
    return parsed;
  }
  if (!isRecord(body)) return parsed;
  const nested = isRecord(body.error) ? body.error : undefined;
  parsed.message = str(body.message) ?? str(nested?.message) ?? str(body.error) ?? str(body.detail);
  parsed.code = str(body.code) ?? str(nested?.code);
  parsed.requestId = str(body.request_id) ?? str(nested?.request_id);
  const details = isRecord(body.details) ? body.details : isRecord(nested?.details) ? nested.details : undefined;
  parsed.details = details;
  parsed.path = str(body.path) ?? str(details?.path);
  parsed.retryAfterSeconds =
    num(body.retry_after) ?? num(details?.retry_after_seconds) ?? num(details?.retry_after) ?? num(nested?.retry_after);
  for (const key of ['sandbox_id', 'expires_at', 'created_at', 'status', 'limit', 'current', 'available', 'upgrade_url']) {
    if (body[key] !== undefined) parsed.extra[key] = body[key];
  }
  return parsed;
}

interface RuleInput {
  status: number;
  body: ParsedErrorBody;
  context: ErrorContext;
  /**
   * Lower-cased server message, for the few message rules both official SDKs apply ("limit" on a
   * 403, "not found" on a file 403, "expired" on a 401; docs/hopx-wire.md). Plain substring tests.
   */
  text: string;
}

interface ErrorRule {
  /** Statuses this rule applies to; absent = any status. */
  status?: number[];
  /** Codes this rule applies to; absent = any code. When both are given, either matching is enough. */
  codes?: string[];
  /** Extra condition on top of status/code. */
  when?: (input: RuleInput) => boolean;
  build: (input: RuleInput, init: HopxErrorInit) => HopxError;
}

const FILE_OPERATION = (i: RuleInput) => i.context.resource === 'file';

function where(i: RuleInput): string {
  return sandboxPhrase(i.context);
}

/**
 * Where an operation happened: " in sandbox X" for work inside it, but "start sandbox X" and
 * "refresh the agent token of sandbox X" for control-plane operations on the sandbox itself.
 */
function sandboxPhrase(context: ErrorContext): string {
  const id = context.sandboxId;
  if (!id) return '';
  if (context.plane !== 'control' || context.resource !== 'sandbox') return ` in sandbox ${id}`;
  return context.operation.endsWith(' sandbox') ? ` ${id}` : ` of sandbox ${id}`;
}

/** HopX's own words, quoted: first line only, secrets removed, bounded. */
function serverWords(body: ParsedErrorBody): string | undefined {
  if (!body.message) return undefined;
  const line = redactSecrets(body.message).split('\n')[0].trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function serverSaid(i: RuleInput): string {
  const words = serverWords(i.body);
  return words ? ` HopX said: "${words}".` : '';
}

/** What timed out, as the subject of a sentence: "The code", "The command", else the operation. */
const TIMED_OUT_SUBJECT: Record<string, string> = {
  'run code': 'The code',
  'run code with rich output': 'The code',
  'run code in IPython': 'The code',
  'run a command': 'The command',
};

function subject(operation: string): string {
  return TIMED_OUT_SUBJECT[operation] ?? `The operation "${operation}"`;
}

/** The sandbox states HopX names in error codes (SANDBOX_PAUSED, ...). */
const STATE_CODES: Record<string, string> = { SANDBOX_PAUSED: 'paused', SANDBOX_STOPPED: 'stopped', SANDBOX_CREATING: 'creating' };

/**
 * THE table: status and HopX code → error class, with a message that states the fact. Ordered;
 * the first matching rule wins. A rule matches when its status list or its code list matches (and
 * its `when`, if any, holds).
 */
const ERROR_RULES: readonly ErrorRule[] = [
  {
    // The code wherever it appears; on a desktop call also a bare 501 (JS SDK) or a 503 that says
    // "desktop" (spec). A 503 that does not is a gateway fault (paused sandbox) and stays one.
    codes: ['DESKTOP_NOT_AVAILABLE'],
    status: [501, 503],
    when: (i) =>
      i.body.code === 'DESKTOP_NOT_AVAILABLE' ||
      (i.context.resource === 'desktop' && (i.status === 501 || i.text.includes('desktop'))),
    build: (i, init) => {
      const listed = i.body.details?.missing_dependencies;
      const missingDependencies = Array.isArray(listed) ? listed.filter((d): d is string => typeof d === 'string') : [];
      const template = str(i.body.details?.template);
      // Our own words only: the server's message says the same thing in terms of its API.
      return new DesktopNotAvailableError(
        `Sandbox ${i.context.sandboxId ?? ''} has no desktop${template ? ` (it was made from the "${template}" template)` : ''}, so it cannot ${i.context.operation}` +
          `${missingDependencies.length ? `; its template lacks ${missingDependencies.join(', ')}` : ''}.`,
        { ...init, missingDependencies, ...(template ? { template } : {}) },
      );
    },
  },
  {
    status: [408],
    codes: ['EXECUTION_TIMEOUT'],
    build: (i, init) => {
      const timeoutSeconds = num(i.body.details?.timeout_seconds);
      return new ExecutionTimeoutError(
        `${subject(i.context.operation)} timed out inside the sandbox${timeoutSeconds === undefined ? '' : ` after ${timeoutSeconds} s`}.`,
        { ...init, ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }) },
      );
    },
  },
  {
    // Before the 409 rule: the agent answers 409 with one of these codes, and the code names the state.
    codes: Object.keys(STATE_CODES),
    build: (i, init) => {
      const state = STATE_CODES[i.body.code ?? ''];
      return new SandboxNotRunningError(`Could not ${i.context.operation}${where(i)}: the sandbox is ${state}.`, { ...init, state });
    },
  },
  {
    status: [410],
    codes: ['SANDBOX_EXPIRED'],
    build: (i, init) => {
      const sandboxId = init.sandboxId ?? str(i.body.extra.sandbox_id);
      const expiresAt = str(i.body.extra.expires_at);
      return new SandboxExpiredError(`Sandbox ${sandboxId ?? ''} has expired${expiresAt ? ` (at ${expiresAt})` : ''} and its files are gone.`, {
        ...init,
        state: 'expired',
        ...(sandboxId ? { sandboxId } : {}),
        ...(expiresAt ? { expiresAt } : {}),
      });
    },
  },
  {
    status: [401],
    codes: ['TOKEN_EXPIRED', 'TOKEN_INVALID', 'INVALID_TOKEN'],
    when: (i) => i.context.plane === 'agent' || i.text.includes('expired'),
    build: (i, init) => new TokenExpiredError(`The sandbox agent rejected its access token${where(i)} even after a refresh.`, init),
  },
  {
    status: [401],
    codes: ['AUTHENTICATION_REQUIRED', 'AUTHENTICATION_ERROR'],
    build: (i, init) => new AuthenticationError(`HopX rejected the API key while trying to ${i.context.operation}.`, init),
  },
  {
    status: [402],
    codes: ['PAYMENT_REQUIRED'],
    build: (i, init) => new PaymentRequiredError(`HopX refused to ${i.context.operation}: payment required.${serverSaid(i)}`, init),
  },
  {
    status: [429, 403],
    codes: ['RESOURCE_LIMIT_ERROR', 'QUOTA_EXCEEDED'],
    // A 429 is a quota only when its code says so (rate-limit bodies may carry a `limit` too);
    // a 403 is one when it talks about a limit (Python SDK rule).
    when: (i) =>
      i.body.code === 'RESOURCE_LIMIT_ERROR' ||
      i.body.code === 'QUOTA_EXCEEDED' ||
      (i.status === 403 && (i.text.includes('limit') || i.body.details?.limit !== undefined)),
    build: (i, init) => {
      const d = { ...i.body.extra, ...(i.body.details ?? {}) };
      const upgradeUrl = str(d.upgrade_url);
      const extra = {
        ...(num(d.limit) === undefined ? {} : { limit: num(d.limit) }),
        ...(num(d.current) === undefined ? {} : { current: num(d.current) }),
        ...(num(d.available) === undefined ? {} : { available: num(d.available) }),
        ...(upgradeUrl ? { upgradeUrl } : {}),
      };
      return new ResourceLimitError(`HopX quota reached while trying to ${i.context.operation}.${serverSaid(i)}`, { ...init, ...extra });
    },
  },
  {
    status: [429],
    codes: ['RATE_LIMIT_EXCEEDED'],
    build: (i, init) =>
      new RateLimitError(`HopX rate limit hit while trying to ${i.context.operation}.`, {
        ...init,
        ...(i.body.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: i.body.retryAfterSeconds }),
      }),
  },
  {
    codes: ['PATH_NOT_ALLOWED'],
    status: [403],
    when: (i) =>
      i.body.code === 'PATH_NOT_ALLOWED' ||
      (FILE_OPERATION(i) && i.body.code !== 'FILE_NOT_FOUND' && !i.text.includes('not found')),
    build: (i, init) => new PathNotAllowedError(`The sandbox does not allow access to ${init.path ?? 'that path'}.`, init),
  },
  {
    codes: ['FILE_NOT_FOUND', 'DIRECTORY_NOT_FOUND'],
    status: [404, 403],
    // 403/404 on a file operation count as "file not found" (both SDKs); 403 only if it says so.
    when: (i) =>
      i.body.code === 'FILE_NOT_FOUND' ||
      i.body.code === 'DIRECTORY_NOT_FOUND' ||
      (FILE_OPERATION(i) && (i.status === 404 || i.text.includes('not found'))),
    build: (i, init) => new FileNotFoundError(`${init.path ?? 'The file'} does not exist${where(i)}.`, init),
  },
  {
    codes: ['PROCESS_NOT_FOUND'],
    status: [404],
    when: (i) => i.body.code === 'PROCESS_NOT_FOUND' || i.context.resource === 'process',
    build: (i, init) => {
      const processId = i.context.processId ?? str(i.body.details?.process_id);
      return new ProcessNotFoundError(`No background process ${processId ?? ''} exists${where(i)} (it may have finished or been killed).`, {
        ...init,
        ...(processId ? { processId } : {}),
      });
    },
  },
  {
    codes: ['SANDBOX_NOT_FOUND'],
    status: [404],
    when: (i) => i.body.code === 'SANDBOX_NOT_FOUND' || i.context.resource === 'sandbox',
    build: (i, init) => {
      const sandboxId = init.sandboxId ?? str(i.body.extra.sandbox_id);
      return new SandboxNotFoundError(`Sandbox ${sandboxId ?? ''} was not found (it may have been killed or never existed).`, {
        ...init,
        ...(sandboxId ? { sandboxId } : {}),
      });
    },
  },
  {
    codes: ['TEMPLATE_NOT_FOUND'],
    status: [404],
    when: (i) => i.body.code === 'TEMPLATE_NOT_FOUND' || i.context.resource === 'template',
    build: (i, init) => {
      const template = i.context.template;
      return new TemplateNotFoundError(`Template ${template ?? ''} was not found.`, { ...init, ...(template ? { template } : {}) });
    },
  },
  {
    status: [403],
    codes: ['FORBIDDEN', 'PERMISSION_DENIED'],
    build: (i, init) => new PermissionDeniedError(`HopX denied permission to ${i.context.operation}${where(i)}.${serverSaid(i)}`, init),
  },
  {
    status: [404],
    codes: ['RESOURCE_NOT_FOUND', 'NOT_FOUND'],
    build: (i, init) => new NotFoundError(`Not found while trying to ${i.context.operation}${where(i)}.${serverSaid(i)}`, init),
  },
  {
    status: [409],
    codes: ['CONFLICT', 'FILE_ALREADY_EXISTS'],
    build: (i, init) => {
      // Some bodies name the sandbox's state; then that is the whole story.
      const state = str(i.body.extra.status);
      return new ConflictError(
        state
          ? `Could not ${i.context.operation}${where(i)}: the sandbox is ${state}.`
          : `Could not ${i.context.operation}${where(i)}: it conflicts with the current state.${serverSaid(i)}`,
        { ...init, ...(state ? { state } : {}) },
      );
    },
  },
  {
    status: [400, 422],
    codes: ['INVALID_REQUEST', 'INVALID_JSON', 'MISSING_PARAMETER', 'INVALID_PATH'],
    build: (i, init) => {
      const field = str(i.body.details?.missing_field) ?? str(i.body.details?.field);
      return new ValidationError(`HopX rejected the request to ${i.context.operation}${field ? ` (field "${field}")` : ''}.${serverSaid(i)}`, {
        ...init,
        ...(field ? { field } : {}),
      });
    },
  },
  {
    when: (i) => i.status >= 500,
    build: (i, init) => new ServerError(`HopX failed (HTTP ${i.status}) while trying to ${i.context.operation}${where(i)}.${serverSaid(i)}`, init),
  },
];

function ruleMatches(rule: ErrorRule, input: RuleInput): boolean {
  const byStatus = rule.status?.includes(input.status) ?? false;
  const byCode = input.body.code !== undefined && (rule.codes?.includes(input.body.code) ?? false);
  const unconstrained = rule.status === undefined && rule.codes === undefined;
  if (!byStatus && !byCode && !unconstrained) return false;
  return rule.when ? rule.when(input) : true;
}

/**
 * Build the right error for an HTTP error response.
 *
 * @param status  HTTP status code.
 * @param body    Parsed JSON body, raw text, or undefined — either HopX error envelope.
 * @param headers Response headers (for `X-Request-ID` and `Retry-After`).
 * @param context What the client was doing.
 */
export function errorFromResponse(status: number, body: unknown, headers: HeaderBag, context: ErrorContext): HopxError {
  const parsed = parseErrorBody(body);
  const headerRetry = parseRetryAfterHeader(header(headers, 'retry-after'));
  if (headerRetry !== undefined) parsed.retryAfterSeconds = headerRetry;
  const requestId = parsed.requestId ?? header(headers, 'x-request-id');
  const words = serverWords(parsed);
  const path = parsed.path ?? context.path;
  const init: HopxErrorInit = {
    operation: context.operation,
    status,
    ...(context.sandboxId ? { sandboxId: context.sandboxId } : {}),
    ...(path ? { path } : {}),
    ...(parsed.code ? { code: parsed.code } : {}),
    ...(requestId ? { requestId } : {}),
    ...(words ? { serverMessage: words } : {}),
    ...(parsed.details ? { details: parsed.details } : {}),
  };
  const input: RuleInput = { status, body: parsed, context, text: (parsed.message ?? '').toLowerCase() };
  for (const rule of ERROR_RULES) {
    if (ruleMatches(rule, input)) return rule.build(input, init);
  }
  return new HopxError(`HopX returned HTTP ${status} while trying to ${context.operation}${where(input)}.${serverSaid(input)}`, init);
}

/** Errors raised before any response: map a low-level failure (undici/ws/Node) to our classes. */
export function errorFromTransport(
  cause: unknown,
  context: ErrorContext,
  info: { timedOut?: boolean; aborted?: boolean; timeoutMs?: number } = {},
): HopxError {
  if (cause instanceof HopxError) return cause;
  const init: HopxErrorInit = {
    operation: context.operation,
    ...(context.sandboxId ? { sandboxId: context.sandboxId } : {}),
    ...(context.path ? { path: context.path } : {}),
    cause,
  };
  if (info.aborted) return new AbortedError(`Cancelled: ${context.operation} was aborted by the caller.`, init);
  if (info.timedOut) {
    return new RequestTimeoutError(`No answer from HopX within ${info.timeoutMs ?? '?'} ms while trying to ${context.operation}${sandboxPhrase(context)}.`, {
      ...init,
      ...(info.timeoutMs === undefined ? {} : { timeoutMs: info.timeoutMs }),
    });
  }
  const code = networkCode(cause);
  return new NetworkError(
    `Could not reach ${context.plane === 'agent' ? 'the sandbox agent' : 'the HopX API'} to ${context.operation}${code ? ` (${code})` : ''}.`,
    { ...init, ...(code ? { code } : {}) },
  );
}

/** The errno-style code (`ECONNREFUSED`, `ECONNRESET`, `UND_ERR_SOCKET`...) of a transport error. */
function networkCode(cause: unknown): string | undefined {
  let current: unknown = cause;
  for (let depth = 0; depth < 5 && isRecord(current); depth++) {
    const code = str((current as { code?: unknown }).code);
    if (code && code !== 'UND_ERR_SOCKET') return code;
    if (code === 'UND_ERR_SOCKET' && !isRecord((current as { cause?: unknown }).cause)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
