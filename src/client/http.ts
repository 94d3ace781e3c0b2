/**
 * The one HTTP layer: a single undici pool per process (IPv4 only, like both official SDKs, which
 * avoid a long IPv6 fallback delay), auth headers supplied by callers, per-call timeouts combined
 * with the caller's AbortSignal, request ids, retries, and error mapping through errors.ts.
 *
 * Retry policy (docs/hopx-wire.md §3.7, made safe):
 * - idempotent requests (GET/HEAD/PUT/DELETE, token refresh): retried on 5xx and network errors,
 *   with exponential backoff and jitter;
 * - any request: retried on 429/503 only when the server says when (Retry-After header,
 *   `retry_after`, `details.retry_after_seconds`) — the request was refused, not executed;
 * - everything else (create, execute, commands, file writes, background starts) is never retried.
 * `timeoutMs` is the budget for the whole call, retries and waits included.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import type { ClientConfig } from './config.js';
import { AbortedError, DesktopNotAvailableError, HopxError, NetworkError, ResourceLimitError, ValidationError } from './errors.js';
import { errorFromResponse, errorFromTransport, parseErrorBody, parseRetryAfterHeader, type ErrorContext } from './error-table.js';

type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type ResponseKind = 'json' | 'text' | 'buffer' | 'stream' | 'none';

export interface HttpRequest {
  method: HttpMethod;
  /** Scheme + host[:port] (+ optional base path), no trailing slash. */
  baseUrl: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** Extra headers (auth). Never logged. */
  headers?: Record<string, string>;
  /** The Accept header; default `application/json` (text for Prometheus, SSE for event streams). */
  accept?: string;
  json?: unknown;
  /** A streamed body (multipart upload). Such requests are never retried. */
  body?: { stream: Readable; contentType: string; contentLength?: number };
  /** Default: idempotent for GET/HEAD/PUT/DELETE, never for POST/PATCH. */
  idempotent?: boolean;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  context: ErrorContext;
  response: ResponseKind;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: T;
  requestId: string | undefined;
}

const IDEMPOTENT_METHODS = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const USER_AGENT = 'hopx-mcp-client/0.1';

/** Thrown into the timeout controller so we can tell our timeout from the caller's abort. */
class CallTimeout extends Error {}

/**
 * A connection pool that several clients can share (the server makes one client per
 * caller-supplied API key; they should still share sockets). Whoever makes it closes it.
 */
export function createConnectionPool(): Dispatcher {
  return new Agent({ connect: { family: 4, autoSelectFamily: false }, keepAliveTimeout: 10_000 });
}

export class HttpClient {
  readonly dispatcher: Dispatcher;
  /** The pool was made here (no shared one given), so close() closes it. */
  private readonly ownsPool: boolean;
  private released = false;

  constructor(
    private readonly config: ClientConfig,
    pool?: Dispatcher,
  ) {
    this.dispatcher = pool ?? createConnectionPool();
    this.ownsPool = pool === undefined;
  }

  /** Closes this client's own pool; a shared one stays open for its other users. */
  async close(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.ownsPool) await this.dispatcher.close();
  }

  async send<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    if (typeof req.timeoutMs !== 'number' || !(req.timeoutMs > 0) || !Number.isFinite(req.timeoutMs)) {
      throw new ValidationError(`timeoutMs must be a positive number of milliseconds, e.g. 30000; got ${String(req.timeoutMs)}.`);
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new CallTimeout()), req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout.signal]) : timeout.signal;
    const idempotent = req.body ? false : (req.idempotent ?? IDEMPOTENT_METHODS.has(req.method));
    const url = buildUrl(req.baseUrl, req.path, req.query);
    const clientRequestId = randomUUID();
    try {
      for (let attempt = 0; ; attempt++) {
        if (req.signal?.aborted) throw this.transportError(req.signal.reason, req, timeout.signal);
        const started = performance.now();
        let res: Dispatcher.ResponseData;
        try {
          res = await request(url, {
            dispatcher: this.dispatcher,
            method: req.method,
            headers: this.headers(req, clientRequestId),
            body: req.body ? req.body.stream : req.json === undefined ? null : JSON.stringify(req.json),
            signal,
          });
        } catch (cause) {
          const error = this.transportError(cause, req, timeout.signal);
          this.log(req, attempt, started, undefined, clientRequestId, error);
          if (error instanceof NetworkError && idempotent && attempt < this.config.maxRetries) {
            await this.sleep(this.backoffMs(attempt), req, signal, timeout.signal);
            continue;
          }
          throw error;
        }
        const requestId = headerValue(res.headers, 'x-request-id') ?? clientRequestId;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          const data = await this.readBody<T>(res, req, timeout.signal);
          this.log(req, attempt, started, res.statusCode, requestId);
          return { status: res.statusCode, headers: res.headers, data, requestId };
        }
        const text = await this.readErrorText(res, req, timeout.signal);
        const error = errorFromResponse(res.statusCode, text, res.headers, req.context);
        this.log(req, attempt, started, res.statusCode, requestId, error);
        const delay = this.retryDelayMs(error, res, text, idempotent, attempt);
        if (delay === undefined) throw error;
        await this.sleep(delay, req, signal, timeout.signal);
      }
    } finally {
      // For streamed responses the timeout covers the headers only; the body is bounded by the
      // caller's signal and undici's idle body timeout.
      clearTimeout(timer);
    }
  }

  private headers(req: HttpRequest, requestId: string): Record<string, string> {
    const headers: Record<string, string> = {
      accept: req.accept ?? 'application/json',
      'user-agent': USER_AGENT,
      'x-request-id': requestId,
      ...req.headers,
    };
    if (req.body) {
      headers['content-type'] = req.body.contentType;
      if (req.body.contentLength !== undefined) headers['content-length'] = String(req.body.contentLength);
    } else if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
    }
    return headers;
  }

  private async readBody<T>(res: Dispatcher.ResponseData, req: HttpRequest, timeoutSignal: AbortSignal): Promise<T> {
    try {
      switch (req.response) {
        case 'stream':
          return res.body as unknown as T;
        case 'none':
          await res.body.dump();
          return undefined as T;
        case 'buffer':
          return (await this.readAll(res, req)) as T;
        case 'text':
          return (await this.readAll(res, req)).toString('utf8') as T;
        case 'json': {
          const text = (await this.readAll(res, req)).toString('utf8');
          if (text.trim() === '') return undefined as T;
          try {
            return JSON.parse(text) as T;
          } catch {
            throw new HopxError(
              `HopX answered "${req.context.operation}" with a body that is not JSON (HTTP ${res.statusCode}). ` +
                'Check that HOPX_BASE_URL points at the HopX API.',
              { status: res.statusCode },
            );
          }
        }
      }
    } catch (cause) {
      throw this.transportError(cause, req, timeoutSignal);
    }
  }

  /** The whole body, refusing one larger than maxResponseBytes (a runaway output must not exhaust memory). */
  private async readAll(res: Dispatcher.ResponseData, req: HttpRequest): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > this.config.maxResponseBytes) {
        res.body.destroy();
        throw new HopxError(
          `HopX answered "${req.context.operation}" with more than ${sizeText(this.config.maxResponseBytes)}, ` +
            'more than the client holds in memory. Write large output to a file in the sandbox and read it in parts ' +
            '(e.g. with head, tail or split), or download it as a stream.',
          { status: res.statusCode, code: 'RESPONSE_TOO_LARGE' },
        );
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  private async readErrorText(res: Dispatcher.ResponseData, req: HttpRequest, timeoutSignal: AbortSignal): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body) {
        if (size < MAX_ERROR_BODY_BYTES) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (cause) {
      const error = this.transportError(cause, req, timeoutSignal);
      if (!(error instanceof NetworkError)) throw error;
      // A body cut short still leaves the status to map.
    }
    return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
  }

  /** When (ms) to retry after an HTTP error, or undefined to give up. */
  private retryDelayMs(
    error: HopxError,
    res: Dispatcher.ResponseData,
    bodyText: string,
    idempotent: boolean,
    attempt: number,
  ): number | undefined {
    if (attempt >= this.config.maxRetries) return undefined;
    if (error instanceof DesktopNotAvailableError) return undefined; // an answer, not a transient fault
    const status = res.statusCode;
    if (status === 429 || status === 503) {
      if (error instanceof ResourceLimitError) return undefined; // a quota does not clear by waiting
      const retryAfter =
        parseRetryAfterHeader(headerValue(res.headers, 'retry-after')) ?? parseErrorBody(bodyText).retryAfterSeconds;
      if (retryAfter !== undefined) {
        return retryAfter <= this.config.maxRetryAfterSeconds ? retryAfter * 1000 : undefined;
      }
      if (status === 429) return undefined;
    }
    if (status >= 500 && status !== 501 && idempotent) return this.backoffMs(attempt);
    return undefined;
  }

  /** base · 2^attempt, capped, with ±25 % jitter so parallel clients spread out. */
  private backoffMs(attempt: number): number {
    const raw = Math.min(this.config.maxRetryDelayMs, this.config.retryBaseDelayMs * 2 ** attempt);
    return raw * (0.75 + Math.random() * 0.5);
  }

  private async sleep(ms: number, req: HttpRequest, signal: AbortSignal, timeoutSignal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(this.transportError(signal.reason, req, timeoutSignal));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private transportError(cause: unknown, req: HttpRequest, timeoutSignal: AbortSignal): HopxError {
    if (cause instanceof HopxError) return cause;
    const code = (cause as { code?: unknown } | undefined)?.code;
    const undiciTimeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    if (req.signal?.aborted) return new AbortedError(`Cancelled: ${req.context.operation} was aborted by the caller.`, { cause });
    return errorFromTransport(cause, req.context, {
      timedOut: timeoutSignal.aborted || undiciTimeout,
      timeoutMs: req.timeoutMs,
    });
  }

  private log(
    req: HttpRequest,
    attempt: number,
    started: number,
    status: number | undefined,
    requestId: string,
    error?: HopxError,
  ): void {
    const line = {
      method: req.method,
      path: req.path,
      status: status ?? null,
      ms: Math.round(performance.now() - started),
      requestId,
      attempt: attempt + 1,
      ...(error ? { error: error.name } : {}),
    };
    this.config.logger.debug(line, 'hopx request');
  }
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 20 ? `${Math.round(bytes / 2 ** 20)} MiB` : `${bytes} bytes`;
}

function buildUrl(
  baseUrl: string,
  path: string,
  query?: Record<string, string | number | boolean | undefined>,
): string {
  const url = new URL(baseUrl.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
