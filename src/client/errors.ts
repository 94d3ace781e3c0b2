/**
 * The HopX client's errors. Every failure is one of these classes and says what happened twice:
 * in structured fields (operation, sandbox, path, sandbox state, HTTP status, HopX code, request
 * id, HopX's own words) and in a neutral message that states the fact. Neither says what to do
 * next in any particular program: the client knows nothing of MCP tools, and its user picks the
 * advice from the class and the fields (hopx-mcp does so in one table, src/errors.ts).
 *
 * error-table.ts turns an HTTP error response into one of these classes. Messages never contain
 * API keys or agent tokens: server-supplied text is scrubbed first.
 */

export interface HopxErrorInit {
  /** What the client was doing, as a phrase: "read file", "create sandbox", "run code". */
  operation?: string;
  sandboxId?: string;
  /** The sandbox path the operation was about. */
  path?: string;
  /** The sandbox's state, when it explains the failure: "paused", "stopped", "creating", ... */
  state?: string;
  status?: number;
  code?: string;
  requestId?: string;
  /** HopX's own message, secrets removed. */
  serverMessage?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error the client throws. */
export class HopxError extends Error {
  /** What the client was doing: "read file", "create sandbox", "run code", ... */
  readonly operation?: string;
  readonly sandboxId?: string;
  /** The sandbox path the operation was about. */
  readonly path?: string;
  /** The sandbox's state, when it explains the failure ("paused", "stopped", "creating", ...). */
  readonly state?: string;
  /** HTTP status, when the error came from a response. */
  readonly status?: number;
  /** HopX machine code (`FILE_NOT_FOUND`, `RATE_LIMIT_EXCEEDED`, ...), when known. */
  readonly code?: string;
  /** Request id from the body (`request_id`) or the `X-Request-ID` header. */
  readonly requestId?: string;
  /** HopX's own message (secrets removed), when it sent one. */
  readonly serverMessage?: string;
  /** Extra fields from the error body's `details`. */
  readonly details?: Record<string, unknown>;

  constructor(message: string, init: HopxErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    if (init.operation !== undefined) this.operation = init.operation;
    if (init.sandboxId !== undefined) this.sandboxId = init.sandboxId;
    if (init.path !== undefined) this.path = init.path;
    if (init.state !== undefined) this.state = init.state;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.serverMessage !== undefined) this.serverMessage = init.serverMessage;
    if (init.details !== undefined) this.details = init.details;
  }
}

/** 400, or an argument the client refused before sending anything (then `status` is absent). */
export class ValidationError extends HopxError {
  /** The argument or body field at fault, when known. */
  readonly field: string | undefined;
  constructor(message: string, init: HopxErrorInit & { field?: string } = {}) {
    super(message, init);
    this.field = init.field;
  }
}

/** A file operation named a directory (the agent refused it as an invalid path; a listing confirmed). */
export class IsADirectoryError extends ValidationError {}

/** 401: the API key (control plane) or the agent token was rejected. */
export class AuthenticationError extends HopxError {}

/** 401 with an expired/invalid agent token (the client refreshes once before surfacing this). */
export class TokenExpiredError extends AuthenticationError {}

/** 402: the account needs credit or a plan. */
export class PaymentRequiredError extends HopxError {}

/** 403: the key is valid but not allowed to do this. */
export class PermissionDeniedError extends HopxError {}

/** 404: something was not found. Subclasses say what. */
export class NotFoundError extends HopxError {}

export class SandboxNotFoundError extends NotFoundError {}

export class TemplateNotFoundError extends NotFoundError {
  readonly template: string | undefined;
  constructor(message: string, init: HopxErrorInit & { template?: string } = {}) {
    super(message, init);
    this.template = init.template;
  }
}

export class FileNotFoundError extends NotFoundError {}

/** 403 `PATH_NOT_ALLOWED` / `FORBIDDEN` on a file operation. */
export class PathNotAllowedError extends HopxError {}

export class ProcessNotFoundError extends NotFoundError {
  readonly processId: string | undefined;
  constructor(message: string, init: HopxErrorInit & { processId?: string } = {}) {
    super(message, init);
    this.processId = init.processId;
  }
}

/** The agent answered none of the kill request forms HopX agents have used (the process may still run). */
export class KillNotSupportedError extends HopxError {
  readonly processId: string;
  constructor(message: string, init: HopxErrorInit & { processId: string }) {
    super(message, init);
    this.processId = init.processId;
  }
}

/** 409: conflicting state (already exists, wrong state for this transition). `state` when HopX said it. */
export class ConflictError extends HopxError {}

/** 410: the sandbox reached its timeout and is gone. */
export class SandboxExpiredError extends HopxError {
  readonly expiresAt: string | undefined;
  constructor(message: string, init: HopxErrorInit & { expiresAt?: string } = {}) {
    super(message, init);
    this.expiresAt = init.expiresAt;
  }
}

/** The agent cannot serve this because the sandbox is not running; `state` says what it is. */
export class SandboxNotRunningError extends HopxError {}

/**
 * The sandbox has no desktop (503 / 501 / `DESKTOP_NOT_AVAILABLE`): it was not created from a
 * desktop template, or the template lacks the X tools listed in `missingDependencies`.
 */
export class DesktopNotAvailableError extends HopxError {
  readonly missingDependencies: string[];
  /** The template the sandbox was made from, when HopX said. */
  readonly template: string | undefined;
  constructor(message: string, init: HopxErrorInit & { missingDependencies?: string[]; template?: string } = {}) {
    super(message, init);
    this.missingDependencies = init.missingDependencies ?? [];
    this.template = init.template;
  }
}

/** 408 `EXECUTION_TIMEOUT`: the code or command ran longer than its timeout inside the sandbox. */
export class ExecutionTimeoutError extends HopxError {
  readonly timeoutSeconds: number | undefined;
  constructor(message: string, init: HopxErrorInit & { timeoutSeconds?: number } = {}) {
    super(message, init);
    this.timeoutSeconds = init.timeoutSeconds;
  }
}

/** A quota was hit (sandboxes, vCPU, memory...). */
export class ResourceLimitError extends HopxError {
  readonly limit: number | undefined;
  readonly current: number | undefined;
  readonly available: number | undefined;
  readonly upgradeUrl: string | undefined;
  constructor(
    message: string,
    init: HopxErrorInit & { limit?: number; current?: number; available?: number; upgradeUrl?: string } = {},
  ) {
    super(message, init);
    this.limit = init.limit;
    this.current = init.current;
    this.available = init.available;
    this.upgradeUrl = init.upgradeUrl;
  }
}

/** 429: too many requests. */
export class RateLimitError extends HopxError {
  /** Seconds to wait, from `Retry-After`, `retry_after` or `details.retry_after_seconds`. */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, init: HopxErrorInit & { retryAfterSeconds?: number } = {}) {
    super(message, init);
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** 5xx: HopX failed; usually transient. */
export class ServerError extends HopxError {}

/** No HTTP response: connection refused or reset, DNS failure, TLS failure. */
export class NetworkError extends HopxError {}

/** A stream (WebSocket) ended before the work it reports on did; that work may still be running. */
export class StreamInterruptedError extends NetworkError {}

/** The client gave up waiting (`timeoutMs`). */
export class RequestTimeoutError extends HopxError {
  readonly timeoutMs: number | undefined;
  constructor(message: string, init: HopxErrorInit & { timeoutMs?: number } = {}) {
    super(message, init);
    this.timeoutMs = init.timeoutMs;
  }
}

/** The caller's AbortSignal fired. */
export class AbortedError extends HopxError {}
