/**
 * The HopX client's error hierarchy. The ONE function that turns an HTTP error response into one
 * of these classes (`errorFromResponse`, driven by ONE ordered table, `ERROR_RULES`) lives in
 * error-table.ts.
 *
 * Messages are written for whoever acts next (a model or a person): what happened, then what to do
 * ("create a new sandbox with sandbox_create", "retry after 20 s", "check HOPX_API_KEY").
 * Messages never contain API keys or agent tokens: server-supplied text is scrubbed first.
 */

export interface HopxErrorInit {
  status?: number;
  code?: string;
  requestId?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Base class of every error the client throws. */
export class HopxError extends Error {
  /** HTTP status, when the error came from a response. */
  readonly status?: number;
  /** HopX machine code (`FILE_NOT_FOUND`, `RATE_LIMIT_EXCEEDED`, ...), when known. */
  readonly code?: string;
  /** Request id from the body (`request_id`) or the `X-Request-ID` header. */
  readonly requestId?: string;
  /** Extra fields from the error body's `details`. */
  readonly details?: Record<string, unknown>;

  constructor(message: string, init: HopxErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.details !== undefined) this.details = init.details;
  }
}

/** 400: the request was malformed or a parameter is invalid. */
export class ValidationError extends HopxError {}

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

export class SandboxNotFoundError extends NotFoundError {
  readonly sandboxId: string | undefined;
  constructor(message: string, init: HopxErrorInit & { sandboxId?: string } = {}) {
    super(message, init);
    this.sandboxId = init.sandboxId;
  }
}

export class TemplateNotFoundError extends NotFoundError {
  readonly template: string | undefined;
  constructor(message: string, init: HopxErrorInit & { template?: string } = {}) {
    super(message, init);
    this.template = init.template;
  }
}

export class FileNotFoundError extends NotFoundError {
  readonly path: string | undefined;
  constructor(message: string, init: HopxErrorInit & { path?: string } = {}) {
    super(message, init);
    this.path = init.path;
  }
}

/** 403 `PATH_NOT_ALLOWED` / `FORBIDDEN` on a file operation. */
export class PathNotAllowedError extends HopxError {
  readonly path: string | undefined;
  constructor(message: string, init: HopxErrorInit & { path?: string } = {}) {
    super(message, init);
    this.path = init.path;
  }
}

export class ProcessNotFoundError extends NotFoundError {
  readonly processId: string | undefined;
  constructor(message: string, init: HopxErrorInit & { processId?: string } = {}) {
    super(message, init);
    this.processId = init.processId;
  }
}

/** 409: conflicting state (already exists, wrong state for this transition). */
export class ConflictError extends HopxError {}

/** 410: the sandbox reached its timeout and is gone. */
export class SandboxExpiredError extends HopxError {
  readonly sandboxId: string | undefined;
  readonly expiresAt: string | undefined;
  constructor(message: string, init: HopxErrorInit & { sandboxId?: string; expiresAt?: string } = {}) {
    super(message, init);
    this.sandboxId = init.sandboxId;
    this.expiresAt = init.expiresAt;
  }
}

/** The agent cannot be reached because the sandbox is paused, stopped or still creating. */
export class SandboxNotRunningError extends HopxError {
  readonly sandboxId: string | undefined;
  readonly sandboxStatus: string | undefined;
  constructor(message: string, init: HopxErrorInit & { sandboxId?: string; sandboxStatus?: string } = {}) {
    super(message, init);
    this.sandboxId = init.sandboxId;
    this.sandboxStatus = init.sandboxStatus;
  }
}

/**
 * The sandbox has no desktop (503 / 501 / `DESKTOP_NOT_AVAILABLE`): it was not created from a
 * desktop template, or the template lacks the X tools listed in `missingDependencies`.
 */
export class DesktopNotAvailableError extends HopxError {
  readonly missingDependencies: string[];
  constructor(message: string, init: HopxErrorInit & { missingDependencies?: string[] } = {}) {
    super(message, init);
    this.missingDependencies = init.missingDependencies ?? [];
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
