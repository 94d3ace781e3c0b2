/** The status/code → error class table, both error envelopes, and message hygiene. */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, ConflictError, ExecutionTimeoutError, FileNotFoundError, HopxError, NotFoundError, PathNotAllowedError, PaymentRequiredError, PermissionDeniedError, ProcessNotFoundError, RateLimitError, ResourceLimitError, SandboxExpiredError, SandboxNotFoundError, SandboxNotRunningError, ServerError, TemplateNotFoundError, TokenExpiredError, ValidationError } from '../../src/client/errors.js';
import { errorFromResponse, parseErrorBody, parseRetryAfterHeader, type ErrorContext } from '../../src/client/error-table.js';
import { fakeJwt, flatError, nestedError, TEST_API_KEY } from '../support/wire-server.js';

const control: ErrorContext = { operation: 'get sandbox', plane: 'control', resource: 'sandbox', sandboxId: 'sbx1' };
const agentFile: ErrorContext = { operation: 'read file', plane: 'agent', resource: 'file', sandboxId: 'sbx1', path: '/workspace/a.txt' };
const agentProc: ErrorContext = { operation: 'kill process', plane: 'agent', resource: 'process', processId: 'proc_1' };
const other: ErrorContext = { operation: 'list sandboxes', plane: 'control', resource: 'other' };

type Case = [name: string, status: number, body: unknown, context: ErrorContext, cls: new (...a: never[]) => HopxError, text: RegExp];

const cases: Case[] = [
  ['400 flat', 400, flatError('Either template_id or template_name must be provided', 'INVALID_REQUEST'), other, ValidationError, /HopX said: "Either template_id.*"\.$/],
  ['400 missing field', 400, flatError('missing', 'MISSING_PARAMETER', { details: { missing_field: 'code' } }), other, ValidationError, /field "code"/],
  ['400 on a file', 400, flatError('Not a directory: /workspace/a.txt', 'INVALID_PATH'), agentFile, ValidationError, /rejected the request to read file/],
  ['401 control', 401, flatError('Invalid API key', 'AUTHENTICATION_REQUIRED'), other, AuthenticationError, /rejected the API key/],
  ['401 agent', 401, flatError('Invalid or expired token', 'TOKEN_INVALID'), agentFile, TokenExpiredError, /rejected its access token in sandbox sbx1/],
  ['401 token expired code', 401, nestedError('expired', 'TOKEN_EXPIRED'), other, TokenExpiredError, /token/],
  ['402', 402, flatError('Insufficient credits', 'PAYMENT_REQUIRED'), other, PaymentRequiredError, /payment required/],
  ['403 limit (PY rule)', 403, nestedError('Sandbox limit reached', 'FORBIDDEN', { limit: 5, current: 5, available: 0, upgrade_url: 'https://x/up' }), other, ResourceLimitError, /quota reached/],
  ['429 quota', 429, flatError('Too many sandboxes', 'RESOURCE_LIMIT_ERROR'), other, ResourceLimitError, /quota/],
  ['429 rate', 429, flatError('Slow down', 'RATE_LIMIT_EXCEEDED', { retry_after: 20 }), other, RateLimitError, /rate limit hit/],
  ['429 rate with a limit detail', 429, flatError('Slow down', 'RATE_LIMIT_EXCEEDED', { details: { limit: 100, remaining: 0 } }), other, RateLimitError, /rate limit/],
  ['429 nested', 429, nestedError('Slow down', 'RATE_LIMIT_EXCEEDED', { retry_after_seconds: 7 }), other, RateLimitError, /rate limit hit/],
  ['403 path', 403, flatError('Access denied - path not allowed', 'PATH_NOT_ALLOWED', { path: '/etc/shadow' }), agentFile, PathNotAllowedError, /\/etc\/shadow/],
  ['403 forbidden on file', 403, flatError('Forbidden', 'FORBIDDEN'), agentFile, PathNotAllowedError, /does not allow access to \/workspace\/a\.txt/],
  ['403 not found on file (old agent)', 403, flatError('File not found', 'FORBIDDEN'), agentFile, FileNotFoundError, /does not exist/],
  ['404 file code', 404, flatError('File not found', 'FILE_NOT_FOUND', { path: '/workspace/x' }), agentFile, FileNotFoundError, /\/workspace\/x does not exist/],
  ['404 file no code', 404, 'not found', agentFile, FileNotFoundError, /a\.txt does not exist/],
  ['404 dir', 404, flatError('Directory not found', 'DIRECTORY_NOT_FOUND'), agentFile, FileNotFoundError, /does not exist in sandbox sbx1/],
  ['404 process', 404, flatError('Process not found', 'PROCESS_NOT_FOUND'), agentProc, ProcessNotFoundError, /proc_1/],
  ['404 sandbox', 404, flatError('Sandbox not found', 'RESOURCE_NOT_FOUND'), control, SandboxNotFoundError, /sbx1 was not found/],
  ['404 template', 404, flatError('Template not found', 'RESOURCE_NOT_FOUND'), { operation: 'create a sandbox', plane: 'control', resource: 'template', template: 'nope' }, TemplateNotFoundError, /nope/],
  ['404 other', 404, flatError('Nope', 'NOT_FOUND'), other, NotFoundError, /Nope/],
  ['403 plain', 403, flatError('Not yours', 'FORBIDDEN'), control, PermissionDeniedError, /denied permission/],
  ['408', 408, flatError('Execution timed out', 'EXECUTION_TIMEOUT', { details: { timeout_seconds: 5 } }), other, ExecutionTimeoutError, /after 5 s/],
  ['409', 409, flatError('exists', 'CONFLICT'), other, ConflictError, /conflicts/],
  ['409 on a sandbox', 409, flatError('it is running', 'CONFLICT'), { ...control, operation: 'start sandbox' }, ConflictError, /^Could not start sandbox sbx1: it conflicts/],
  ['409 about a sandbox', 409, flatError('busy', 'CONFLICT'), { ...control, operation: 'set the timeout' }, ConflictError, /^Could not set the timeout of sandbox sbx1:/],
  ['409 in a sandbox', 409, flatError('exists', 'CONFLICT'), agentFile, ConflictError, /^Could not read file in sandbox sbx1:/],
  ['409 paused code', 409, flatError('Sandbox sbx1 is paused', 'SANDBOX_PAUSED'), { ...agentFile, operation: 'run code' }, SandboxNotRunningError, /^Could not run code in sandbox sbx1: the sandbox is paused\.$/],
  ['410', 410, flatError('Sandbox expired', 'SANDBOX_EXPIRED', { expires_at: '2030-01-01T00:00:00Z' }), control, SandboxExpiredError, /expired \(at 2030/],
  ['stopped code', 400, flatError('Sandbox is stopped', 'SANDBOX_STOPPED'), control, SandboxNotRunningError, /the sandbox is stopped/],
  ['500', 500, flatError('boom', 'INTERNAL_ERROR'), other, ServerError, /HTTP 500.*boom/],
  ['503 nested', 503, nestedError('no nodes', 'SERVICE_UNAVAILABLE'), other, ServerError, /no nodes/],
  ['418 unknown', 418, { message: 'teapot' }, other, HopxError, /HTTP 418.*teapot/],
];

describe('errorFromResponse table', () => {
  it.each(cases)('%s → right class, its fields, and a message that states the fact and names no tool', (_name, status, body, context, cls, text) => {
    const error = errorFromResponse(status, typeof body === 'string' ? body : JSON.stringify(body), {}, context);
    expect(error).toBeInstanceOf(cls);
    expect(error.constructor).toBe(cls);
    expect(error.status).toBe(status);
    expect(error.operation).toBe(context.operation);
    expect(error.message).toMatch(text);
    // The client knows nothing of MCP: advice naming tools is the MCP layer's (src/errors.ts).
    expect(error.message).not.toMatch(/sandbox_[a-z]/);
  });

  it('gives the fields the advice is chosen from: state, path, field, retry delay, request id, HopX\'s words', () => {
    expect(errorFromResponse(409, flatError('paused', 'SANDBOX_PAUSED'), {}, agentFile)).toMatchObject({ state: 'paused', sandboxId: 'sbx1' });
    expect(errorFromResponse(409, { error: 'x', code: 'CONFLICT', status: 'stopped' }, {}, control)).toMatchObject({ state: 'stopped' });
    expect(errorFromResponse(403, flatError('Forbidden', 'PATH_NOT_ALLOWED', { path: '/workspace' }), {}, agentFile)).toMatchObject({ path: '/workspace' });
    expect(errorFromResponse(400, flatError('missing', 'MISSING_PARAMETER', { details: { missing_field: 'code' } }), {}, other)).toMatchObject({ field: 'code' });
    expect(errorFromResponse(429, flatError('Slow down', 'RATE_LIMIT_EXCEEDED', { retry_after: 20 }), {}, other)).toMatchObject({ retryAfterSeconds: 20 });
    expect(errorFromResponse(500, flatError('boom', 'INTERNAL_ERROR'), {}, other)).toMatchObject({ requestId: 'req_flat', serverMessage: 'boom' });
    expect(errorFromResponse(403, nestedError('limit', 'FORBIDDEN', { upgrade_url: 'https://x/up' }), {}, other)).toMatchObject({ upgradeUrl: 'https://x/up' });
  });

  it('keeps code, request id and details from the flat envelope', () => {
    const error = errorFromResponse(400, flatError('bad', 'INVALID_JSON', { details: { line: 3 } }), {}, other);
    expect(error).toMatchObject({ code: 'INVALID_JSON', requestId: 'req_flat', details: { line: 3 } });
  });

  it('keeps code, request id and details from the nested envelope', () => {
    const error = errorFromResponse(429, nestedError('slow', 'RATE_LIMIT_EXCEEDED', { retry_after_seconds: 3 }), {}, other);
    expect(error).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', requestId: 'req_nested', retryAfterSeconds: 3 });
  });

  it('takes the request id from X-Request-ID when the body has none, and Retry-After over the body', () => {
    const error = errorFromResponse(429, { error: 'slow', retry_after: 99 }, { 'x-request-id': 'hdr-1', 'retry-after': '2' }, other);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ requestId: 'hdr-1', retryAfterSeconds: 2 });
  });

  it('fills typed fields: sandboxId, path, processId, quota numbers', () => {
    expect(errorFromResponse(404, '', {}, control)).toMatchObject({ sandboxId: 'sbx1' });
    expect(errorFromResponse(404, flatError('x', 'FILE_NOT_FOUND', { path: '/workspace/q' }), {}, agentFile)).toMatchObject({ path: '/workspace/q' });
    expect(errorFromResponse(404, flatError('x', 'PROCESS_NOT_FOUND'), {}, agentProc)).toMatchObject({ processId: 'proc_1' });
    expect(
      errorFromResponse(403, nestedError('limit hit', 'FORBIDDEN', { limit: 5, current: 6, available: 0, upgrade_url: 'https://u' }), {}, other),
    ).toMatchObject({ limit: 5, current: 6, available: 0, upgradeUrl: 'https://u' });
  });

  it('never repeats a key or a token the server echoed', () => {
    const jwt = fakeJwt('leak');
    const body = flatError(`bad header Bearer ${jwt} for key ${TEST_API_KEY}`, 'FORBIDDEN');
    const error = errorFromResponse(403, body, {}, control);
    expect(error.message).not.toContain(jwt);
    expect(error.message).not.toContain(TEST_API_KEY);
    expect(error.message).toContain('[redacted');
  });

  it('uses a non-JSON body as the message', () => {
    const error = errorFromResponse(502, '<html>Bad gateway</html>', {}, other);
    expect(error).toBeInstanceOf(ServerError);
    expect(error.message).toContain('Bad gateway');
  });
});

describe('body and header parsing', () => {
  it('reads every place a retry delay can hide', () => {
    expect(parseErrorBody({ retry_after: 4 }).retryAfterSeconds).toBe(4);
    expect(parseErrorBody({ error: { details: { retry_after_seconds: 5 } } }).retryAfterSeconds).toBe(5);
    expect(parseErrorBody({ details: { retry_after_seconds: '6' } }).retryAfterSeconds).toBe(6);
    expect(parseErrorBody({}).retryAfterSeconds).toBeUndefined();
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfterHeader('3')).toBe(3);
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfterHeader('Tue, 01 Jan 2030 00:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfterHeader('soon')).toBeUndefined();
  });

  it('prefers message, then nested message, then the error string', () => {
    expect(parseErrorBody({ error: 'short', message: 'long form' }).message).toBe('long form');
    expect(parseErrorBody({ error: { message: 'nested' } }).message).toBe('nested');
    expect(parseErrorBody({ error: 'only error' }).message).toBe('only error');
  });
});
