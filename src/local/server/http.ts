/**
 * Small HTTP helpers shared by the control plane and the agents: request ids, JSON and error
 * responses in the HopX shape, bounded JSON bodies, constant-time secret comparison, a router.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { SandboxStateError } from '../runtime/errors.js';
import { ApiError } from './errors.js';
import { newRequestId } from './ids.js';

/** JSON bodies above this are refused with 413 (file bytes should go through /files/upload). */
const MAX_JSON_BODY_BYTES = 64 * 1024 * 1024;

interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  url: URL;
  params: Record<string, string>;
}

export function startRequest(req: IncomingMessage, res: ServerResponse): { requestId: string; url: URL } {
  const requestId = newRequestId();
  res.setHeader('X-Request-ID', requestId);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  return { requestId, url };
}

export function nowIso(): string {
  return new Date().toISOString();
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function errorBody(err: ApiError, requestId: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    ...err.extra.body,
    error: err.message,
    message: err.message,
    code: err.code,
    request_id: requestId,
    timestamp: nowIso(),
  };
  if (err.extra.path !== undefined) body.path = err.extra.path;
  if (err.extra.details !== undefined) body.details = err.extra.details;
  return body;
}

/**
 * A sandbox that stopped being runnable while a request was on its way (paused, stopped, killed
 * after the agent's gate let it in) answers as the gate would have, not with a 500.
 */
function stateConflict(err: SandboxStateError): ApiError {
  if (err.state === 'paused') return new ApiError(409, 'SANDBOX_PAUSED', `${err.message} (POST /v1/sandboxes/{id}/resume)`);
  if (err.state === 'destroyed') return new ApiError(410, 'SANDBOX_EXPIRED', err.message);
  return new ApiError(409, 'SANDBOX_STOPPED', `${err.message} (POST /v1/sandboxes/{id}/start)`);
}

/** Any thrown value as the error to answer: ApiError as itself, anything else a 500 without internals. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof SandboxStateError) return stateConflict(err);
  return new ApiError(500, 'INTERNAL_ERROR', 'Internal error in the local backend; see its log');
}

/** Answer any thrown value (see toApiError). */
export function sendError(res: ServerResponse, requestId: string, err: unknown): ApiError {
  const apiError = toApiError(err);
  if (res.headersSent) {
    res.destroy();
    return apiError;
  }
  sendJson(res, apiError.status, errorBody(apiError, requestId));
  return apiError;
}

/** A whole HTTP/1.1 error response, for sockets that never became a request (or an upgrade refused). */
export function rawErrorResponse(err: ApiError, requestId: string): string {
  const body = JSON.stringify(errorBody(err, requestId));
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? err.code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `X-Request-ID: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** node:http's answer to a request it cannot parse, in the HopX error format (it sends no body). */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const apiError =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError(431, 'HEADERS_TOO_LARGE', 'Request headers are too large')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError(408, 'REQUEST_TIMEOUT', 'The request was not received in time')
        : new ApiError(400, 'INVALID_REQUEST', 'Malformed HTTP request');
  socket.end(rawErrorResponse(apiError, newRequestId()));
}

/** Read and parse a JSON object body, refusing bodies over the limit with 413. Empty body → {}. */
export async function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  if (total === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks, total).toString('utf8'));
  } catch {
    throw new ApiError(400, 'INVALID_JSON', 'Request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ApiError(400, 'INVALID_JSON', 'Request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(limit: number): ApiError {
  return new ApiError(
    413,
    'PAYLOAD_TOO_LARGE',
    `Request body exceeds ${Math.round(limit / 1024 / 1024)} MiB; send large files with POST /files/upload (multipart)`,
  );
}

/** Compare two secrets in constant time (hashing first equalises lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match ? match[1].trim() : null;
}

export function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value[0] ?? null;
  return typeof value === 'string' ? value : null;
}

// ------------------------------------------------------------------------------------- router

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  pattern: string;
  segments: string[];
  handler: Handler;
}

/** Method + path-pattern router; `:name` segments become params. Path match + wrong method → 405. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern, segments: splitPath(pattern), handler });
    return this;
  }

  match(
    method: string,
    pathname: string,
  ): { handler: Handler; params: Record<string, string>; pattern: string } | ApiError {
    const segments = splitPath(pathname);
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      pathMatched = true;
      if (route.method === method) return { handler: route.handler, params, pattern: route.pattern };
    }
    if (pathMatched) {
      return new ApiError(405, 'METHOD_NOT_ALLOWED', `Method ${method} is not allowed on ${pathname}`);
    }
    return new ApiError(404, 'NOT_FOUND', `No endpoint ${method} ${pathname}`);
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith(':')) {
      try {
        params[p.slice(1)] = decodeURIComponent(actual[i]);
      } catch {
        return null;
      }
    } else if (p !== actual[i]) return null;
  }
  return params;
}

/** The URL clients should use for a listener: wildcard binds are reached through loopback. */
export function listenerUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
