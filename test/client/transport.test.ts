/** Faults: token refresh on 401, retries (and where they must not happen), timeouts, aborts, logs. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  createConnectionPool,
  AbortedError,
  HopxError,
  NetworkError,
  RateLimitError,
  RequestTimeoutError,
  SandboxNotRunningError,
  ServerError,
  TokenExpiredError,
} from '../../src/client/index.js';
import { flatError, inOneDay, nestedError, sandboxBody, TEST_API_KEY } from '../support/wire-server.js';
import { primeAgent, primeAgentWithRotation, SANDBOX_ID, TOKEN_1, TOKEN_2, useWireServer } from './helpers.js';

const h = useWireServer();
const PROCESSES_OK = { json: { processes: [], count: 0 } };

describe('agent token', () => {
  it('on a 401 refreshes once and retries with the new token', async () => {
    primeAgentWithRotation(h.wire);
    h.wire.on('GET', '/execute/processes', { status: 401, json: flatError('Invalid or expired token', 'UNAUTHORIZED') }, PROCESSES_OK);
    await h.client.agent(SANDBOX_ID).processes.list();
    const calls = h.wire.calls('/execute/processes');
    expect(calls.map((c) => c.headers.authorization)).toEqual([`Bearer ${TOKEN_1}`, `Bearer ${TOKEN_2}`]);
    expect(h.wire.calls(/token\/refresh/)).toHaveLength(2);
  });

  it('a second 401 surfaces as TokenExpiredError after exactly one refresh-retry', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/execute/processes', { status: 401, json: flatError('Invalid or expired token', 'UNAUTHORIZED') });
    const error = await h.client.agent(SANDBOX_ID).processes.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenExpiredError);
    expect(h.wire.calls('/execute/processes')).toHaveLength(2);
    expect((error as Error).message).not.toContain(TOKEN_1);
  });

  it('refreshes proactively when the cached token has expired, and not when it is fresh', async () => {
    h.wire.on('POST', '/v1/sandboxes', {
      status: 201,
      json: { ...sandboxBody(SANDBOX_ID, h.wire.url), auth_token: TOKEN_1, token_expires_at: new Date(Date.now() - 1000).toISOString() },
    });
    primeAgent(h.wire, SANDBOX_ID, TOKEN_2);
    h.wire.on('GET', '/execute/processes', PROCESSES_OK);
    await h.client.sandboxes.create({ template: 'base' });
    await h.client.agent(SANDBOX_ID).processes.list();
    await h.client.agent(SANDBOX_ID).processes.list();
    expect(h.wire.calls(/token\/refresh/)).toHaveLength(1);
    expect(h.wire.calls('/execute/processes').map((c) => c.headers.authorization)).toEqual([`Bearer ${TOKEN_2}`, `Bearer ${TOKEN_2}`]);
  });

  it('concurrent first calls share one refresh, through one agent handle or several', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/execute/processes', PROCESSES_OK);
    const agent = h.client.agent(SANDBOX_ID);
    await Promise.all([agent.processes.list(), agent.processes.list(), h.client.agent(SANDBOX_ID).processes.list()]);
    expect(h.wire.calls(/token\/refresh/)).toHaveLength(1);
  });
});

describe('response size', () => {
  it('refuses a buffered response larger than maxResponseBytes, saying what to do instead', async () => {
    const client = h.makeClient({ maxResponseBytes: 4096 });
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { json: { success: true, stdout: 'x'.repeat(10_000), stderr: '', exit_code: 0 } });
    const error = await client.agent(SANDBOX_ID).code.run({ code: 'print("x" * 10000)' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HopxError);
    expect((error as Error).message).toMatch(/"run code" with more than 4096 bytes.*Write large output to a file/);
    // A response within the limit is read as usual.
    h.wire.on('POST', '/execute', { json: { success: true, stdout: 'small\n', stderr: '', exit_code: 0 } });
    expect((await client.agent(SANDBOX_ID).code.run({ code: 'print("small")' })).stdout).toBe('small\n');
  });
});

describe('retries', () => {
  it('429 with Retry-After is retried after the delay it asks for, even for a POST', async () => {
    primeAgent(h.wire);
    h.wire.on(
      'POST',
      '/execute',
      { status: 429, headers: { 'retry-after': '0.3' }, json: flatError('slow down', 'RATE_LIMIT_EXCEEDED') },
      { json: { success: true, stdout: 'ok\n', stderr: '', exit_code: 0 } },
    );
    const agent = h.client.agent(SANDBOX_ID);
    await agent.health().catch(() => undefined); // warm the token so timing covers only the retry
    const started = performance.now();
    const result = await agent.code.run({ code: 'print("ok")' });
    const elapsed = performance.now() - started;
    expect(result.stdout).toBe('ok\n');
    expect(h.wire.calls('/execute')).toHaveLength(2);
    expect(elapsed).toBeGreaterThanOrEqual(280);
  });

  it('429 with retry_after in the body (either envelope) is honoured too', async () => {
    h.wire.on(
      'GET',
      '/v1/sandboxes',
      { status: 429, json: nestedError('slow', 'RATE_LIMIT_EXCEEDED', { retry_after_seconds: 0.05 }) },
      { status: 429, json: flatError('slow', 'RATE_LIMIT_EXCEEDED', { retry_after: 0.05 }) },
      { json: { data: [], has_more: false } },
    );
    await h.client.sandboxes.list();
    expect(h.wire.calls('/v1/sandboxes')).toHaveLength(3);
  });

  it('429 without Retry-After is not retried and becomes RateLimitError', async () => {
    h.wire.on('GET', '/v1/sandboxes', { status: 429, json: { error: 'Too many requests', code: 'RATE_LIMIT_EXCEEDED' } });
    const error = await h.client.sandboxes.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterSeconds).toBeUndefined();
    expect(h.wire.calls('/v1/sandboxes')).toHaveLength(1);
  });

  it('a Retry-After longer than maxRetryAfterSeconds is returned to the caller, not slept through', async () => {
    h.wire.on('GET', '/v1/sandboxes', { status: 429, headers: { 'retry-after': '120' }, json: flatError('slow', 'RATE_LIMIT_EXCEEDED') });
    const error = await h.client.sandboxes.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterSeconds).toBe(120);
    expect((error as Error).message).toMatch(/rate limit hit while trying to list sandboxes/);
    expect(h.wire.calls('/v1/sandboxes')).toHaveLength(1);
  });

  it('503 with Retry-After is retried, also on create', async () => {
    h.wire.on(
      'POST',
      '/v1/sandboxes',
      { status: 503, headers: { 'retry-after': '0' }, json: flatError('No nodes available', 'SERVICE_UNAVAILABLE') },
      { status: 201, json: sandboxBody(SANDBOX_ID, h.wire.url) },
    );
    const info = await h.client.sandboxes.create({ template: 'base' });
    expect(info.id).toBe(SANDBOX_ID);
    expect(h.wire.calls('/v1/sandboxes', 'POST')).toHaveLength(2);
  });

  it('503 without Retry-After on create is not retried', async () => {
    h.wire.on('POST', '/v1/sandboxes', { status: 503, json: flatError('No nodes available', 'SERVICE_UNAVAILABLE') });
    await expect(h.client.sandboxes.create({ template: 'base' })).rejects.toBeInstanceOf(ServerError);
    expect(h.wire.calls('/v1/sandboxes', 'POST')).toHaveLength(1);
  });

  it('5xx on GET is retried up to maxRetries, then ServerError with the request id', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { status: 502, headers: { 'x-request-id': 'req-502' }, text: 'bad gateway' });
    const error = await h.client.sandboxes.get(SANDBOX_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 502, requestId: 'req-502' });
    expect(h.wire.calls(`/v1/sandboxes/${SANDBOX_ID}`)).toHaveLength(3);
  });

  it('5xx on execute is not retried (code has side effects)', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { status: 500, json: flatError('kernel died', 'INTERNAL_ERROR') });
    await expect(h.client.agent(SANDBOX_ID).code.run({ code: 'x=1' })).rejects.toBeInstanceOf(ServerError);
    expect(h.wire.calls('/execute')).toHaveLength(1);
  });

  it('a connection reset on GET is retried', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { destroy: true }, { json: sandboxBody(SANDBOX_ID, h.wire.url) });
    expect((await h.client.sandboxes.get(SANDBOX_ID)).id).toBe(SANDBOX_ID);
    expect(h.wire.calls(`/v1/sandboxes/${SANDBOX_ID}`)).toHaveLength(2);
  });

  it('a connection reset on create is NOT retried', async () => {
    h.wire.on('POST', '/v1/sandboxes', { destroy: true }, { status: 201, json: sandboxBody(SANDBOX_ID, h.wire.url) });
    const error = await h.client.sandboxes.create({ template: 'base' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/Could not reach the HopX API to create a sandbox/);
    expect(h.wire.calls('/v1/sandboxes', 'POST')).toHaveLength(1);
  });
});

describe('timeouts and cancellation', () => {
  it('a response slower than timeoutMs becomes RequestTimeoutError', async () => {
    h.wire.on('GET', '/v1/sandboxes', { delayMs: 1000, json: { data: [] } });
    const error = await h.client.sandboxes.list({}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ timeoutMs: 100 });
    expect((error as Error).message).toMatch(/within 100 ms/);
  });

  it('rejects a nonsensical timeoutMs before sending', async () => {
    await expect(h.client.sandboxes.list({}, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number/);
    await expect(h.client.sandboxes.list({}, { timeoutMs: Number.NaN })).rejects.toThrow(/timeoutMs/);
    expect(h.wire.requests).toHaveLength(0);
  });

  it('the timeout bounds retries too (the whole call)', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { status: 503, headers: { 'retry-after': '5' }, json: flatError('busy', 'SERVICE_UNAVAILABLE') });
    const started = performance.now();
    const error = await h.client.sandboxes.get(SANDBOX_ID, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(performance.now() - started).toBeLessThan(4000);
  });

  it("the caller's abort becomes AbortedError, mid-request and before sending", async () => {
    h.wire.on('GET', '/v1/sandboxes', { delayMs: 1000, json: { data: [] } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(h.client.sandboxes.list({}, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    const before = h.wire.requests.length;
    await expect(h.client.sandboxes.list({}, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    expect(h.wire.requests.length).toBe(before);
  });

  it('execute waits for the execution timeout + 30 s, not the default request timeout', async () => {
    const client = h.makeClient({ requestTimeoutMs: 150 });
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { delayMs: 400, json: { success: true, stdout: '', stderr: '', exit_code: 0 } });
    const result = await client.agent(SANDBOX_ID).code.run({ code: 'import time; time.sleep(0.4)', timeoutSeconds: 1 });
    expect(result.success).toBe(true);
  });
});

describe('agent reachability, IPv4, logging', () => {
  it('an agent that refuses connections on a paused sandbox gives SandboxNotRunningError', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { json: sandboxBody(SANDBOX_ID, `http://127.0.0.1:${port}`, { status: 'paused' }) });
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/token/refresh`, { json: { auth_token: TOKEN_1, token_expires_at: inOneDay() } });
    const error = await h.client.agent(SANDBOX_ID).files.read('/workspace/a.txt').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxNotRunningError);
    expect(error).toMatchObject({ sandboxId: SANDBOX_ID, state: 'paused' });
    expect((error as Error).message).toMatch(/is paused, so its agent is unreachable/);
  });

  it('a 502 from the agent edge of a stopped sandbox gives SandboxNotRunningError (after GET retries)', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, { json: sandboxBody(SANDBOX_ID, h.wire.url) }, { json: sandboxBody(SANDBOX_ID, h.wire.url, { status: 'stopped' }) });
    h.wire.on('GET', '/files/list', { status: 502, text: 'Bad Gateway' });
    const error = await h.client.agent(SANDBOX_ID).files.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxNotRunningError);
    expect(error).toMatchObject({ state: 'stopped' });
    expect((error as Error).message).toMatch(/is stopped, so its agent is unreachable/);
    expect(h.wire.calls('/files/list')).toHaveLength(3);
  });

  it('a 502 from the agent of a running sandbox stays a ServerError', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/files/list', { status: 502, text: 'Bad Gateway' });
    await expect(h.client.agent(SANDBOX_ID).files.list()).rejects.toBeInstanceOf(ServerError);
  });

  it('connects over IPv4 when given a hostname (localhost → 127.0.0.1)', async () => {
    const client = h.makeClient({ baseUrl: h.wire.url.replace('127.0.0.1', 'localhost') });
    h.wire.on('GET', '/health', { json: { status: 'ok' } });
    expect((await client.health()).ok).toBe(true);
  });

  it('logs method, path, status, ms and request id per attempt, and never a secret', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/execute/processes', { headers: { 'x-request-id': 'req-agent-1' }, ...PROCESSES_OK });
    await h.client.agent(SANDBOX_ID).processes.list();
    const line = h.logs.find((l) => l.obj.path === '/execute/processes');
    expect(line?.obj).toMatchObject({ method: 'GET', status: 200, requestId: 'req-agent-1', attempt: 1 });
    expect(typeof line?.obj.ms).toBe('number');
    const all = JSON.stringify(h.logs);
    expect(all).not.toContain(TOKEN_1);
    expect(all).not.toContain(TEST_API_KEY);
  });

  it('clients given one pool share it: closing one leaves the others working; its maker closes it', async () => {
    h.wire.on('GET', '/health', { json: { status: 'ok' } });
    const pool = createConnectionPool();
    const a = h.makeClient({ pool });
    const b = h.makeClient({ pool });
    await a.health();
    await a.close();
    await a.close(); // idempotent
    expect((await b.health()).ok).toBe(true);
    expect((await h.client.health()).ok).toBe(true); // a client with its own pool is unaffected
    await b.close();
    expect((await h.client.health()).ok).toBe(true);
    await pool.close();
  });

  it('sends a request id on every request', async () => {
    h.wire.on('GET', '/health', { json: { status: 'ok' } });
    await h.client.health();
    expect(h.wire.requests[0].headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
