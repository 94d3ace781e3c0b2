/**
 * Streamable HTTP transport, in process, against a real local backend: both protocol eras doing
 * real sandbox calls, the session lifecycle, and the HTTP safety rules.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { createLogger } from '../../src/log.js';
import { HttpStartError, startHttpServer, type HttpServer, type HttpServerOptions } from '../../src/transports/http.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import {
  backendOver,
  callTool,
  connectHttp,
  createSandbox,
  INITIALIZE_BODY,
  MCP_HEADERS,
  rawRequest,
  sandboxGone,
  testServerOptions,
  waitFor,
} from './helpers.js';

let test: TestBackend;
const servers: HttpServer[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  test = await startTestBackend();
});
afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await test?.close();
});

async function serve(overrides: Partial<HttpServerOptions> = {}): Promise<HttpServer> {
  const server = await startHttpServer(testServerOptions(test, { ...(process.env.DEBUG_HTTP ? { logger: createLogger({ level: 'debug' }) } : {}), ...overrides }));
  servers.push(server);
  return server;
}

async function connect(server: HttpServer, era: 'legacy' | 'modern', headers?: Record<string, string>): Promise<Client> {
  const client = await connectHttp(server.url, era, headers);
  clients.push(client);
  return client;
}

describe.each(['legacy', 'modern'] as const)('%s-era client', (era) => {
  it('initializes, lists tools and runs python in a sandbox', async () => {
    const server = await serve();
    const client = await connect(server, era);
    expect(client.getProtocolEra()).toBe(era);
    if (era === 'modern') expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    else expect(client.getNegotiatedProtocolVersion()).not.toBe('2026-07-28');

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['sandbox_create', 'sandbox_run_code']));

    const id = await createSandbox(client);
    // No sandbox_id: the conversation remembers its current sandbox across requests, which for
    // the 2026 era means across stateless requests of the same caller.
    const run = await callTool(client, 'sandbox_run_code', { code: 'print(1+1)' });
    expect(run.isError, run.text).toBe(false);
    expect(run.text).toContain('2');
    expect(server.stats()).toEqual(era === 'legacy' ? { sessions: 1, callers: 0 } : { sessions: 0, callers: 1 });

    expect(await sandboxGone(test.client, id)).toBe(false);
    await server.close();
    // Shutdown ended the conversation: its sandbox is gone from the backend.
    expect(await sandboxGone(test.client, id)).toBe(true);
  });
});

describe('2025-era sessions', () => {
  it('DELETE ends the session and kills its sandboxes; the id is then unknown (404)', async () => {
    const server = await serve();
    const client = await connect(server, 'legacy');
    const id = await createSandbox(client);
    const transport = client.transport as unknown as { sessionId?: string; terminateSession(): Promise<void> };
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/[0-9a-f-]{36}/);
    expect(await sandboxGone(test.client, id)).toBe(false);

    await transport.terminateSession();
    expect(await sandboxGone(test.client, id)).toBe(true);
    expect(server.stats().sessions).toBe(0);

    const after = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    expect(after.body).toMatch(/Session not found/);
  });

  it('answers 404 for an unknown session and 400 for a request without one', async () => {
    const server = await serve();
    const unknown = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': 'no-such-session' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(unknown.status).toBe(404);
    const missing = await rawRequest(server.url, { method: 'GET', headers: { accept: 'text/event-stream' } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatch(/initialize/);
    const badInit = await rawRequest(server.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    expect(badInit.status).toBe(400);
    expect(badInit.body).toMatch(/protocolVersion, capabilities and clientInfo/);
    // An initialize the SDK refuses (no text/event-stream in Accept) hands out no session and
    // so must not keep a conversation open.
    const refused = await rawRequest(server.url, { headers: { ...MCP_HEADERS, accept: 'application/json' }, body: INITIALIZE_BODY });
    expect(refused.status).toBe(406);
    expect(server.stats()).toEqual({ sessions: 0, callers: 0 });
  });

  it('expires an idle session and kills its sandbox', async () => {
    const server = await serve({ sessionIdleSeconds: 1 });
    const client = await connect(server, 'legacy');
    const id = await createSandbox(client);
    await waitFor(() => server.stats().sessions === 0, 10_000, 'idle expiry');
    await waitFor(() => sandboxGone(test.client, id), 10_000, 'sandbox killed after expiry');
    await expect(client.listTools()).rejects.toThrow();
  });

  it('expires an idle 2026-era caller conversation too', async () => {
    const server = await serve({ sessionIdleSeconds: 1 });
    const client = await connect(server, 'modern');
    const id = await createSandbox(client);
    expect(server.stats().callers).toBe(1);
    await waitFor(() => server.stats().callers === 0, 10_000, 'idle expiry');
    await waitFor(() => sandboxGone(test.client, id), 10_000, 'sandbox killed after expiry');
    // The same caller simply starts a new conversation: no current sandbox any more.
    const again = await callTool(client, 'sandbox_run_code', { code: 'print(1)' });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(/sandbox_create/);
  });

  it('keeps conversations apart: a session does not see another session’s current sandbox', async () => {
    const server = await serve();
    const a = await connect(server, 'legacy');
    const b = await connect(server, 'legacy');
    await createSandbox(a);
    const fromB = await callTool(b, 'sandbox_run_code', { code: 'print(1)' });
    expect(fromB.isError).toBe(true);
    expect(fromB.text).toMatch(/sandbox_create/);
  });
});

describe('HTTP safety', () => {
  it('rejects foreign Host and Origin headers with 403 (DNS rebinding)', async () => {
    const server = await serve();
    const evilHost = await rawRequest(server.url, { headers: { ...MCP_HEADERS, host: 'evil.example.com' }, body: INITIALIZE_BODY });
    expect(evilHost.status).toBe(403);
    const evilOrigin = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, origin: 'http://evil.example.com' },
      body: INITIALIZE_BODY,
    });
    expect(evilOrigin.status).toBe(403);
    const local = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` },
      body: INITIALIZE_BODY,
    });
    expect(local.status).toBe(200);
  });

  it('checks Host on a wide bind once --allowed-hosts names the public names', async () => {
    const token = 'hosts-token-0123456789abcdef';
    const server = await serve({ host: '0.0.0.0', authToken: token, allowedHosts: ['mcp.example.com'] });
    const url = server.url.replace('0.0.0.0', '127.0.0.1');
    const headers = { ...MCP_HEADERS, authorization: `Bearer ${token}` };
    const foreign = await rawRequest(url, { headers: { ...headers, host: 'evil.example.com' }, body: INITIALIZE_BODY });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/--allowed-hosts/);
    const named = await rawRequest(url, { headers: { ...headers, host: `mcp.example.com:${server.port}` }, body: INITIALIZE_BODY });
    expect(named.status).toBe(200);
  });

  it('requires the bearer token when one is set: missing or wrong → 401, right → served', async () => {
    const token = 'test-token-0123456789abcdef';
    const server = await serve({ authToken: token });
    const missing = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toMatch(/^Bearer/);
    const wrong = await rawRequest(server.url, { headers: { ...MCP_HEADERS, authorization: 'Bearer nope' }, body: INITIALIZE_BODY });
    expect(wrong.status).toBe(401);
    const client = await connect(server, 'modern', { authorization: `Bearer ${token}` });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('refuses a non-loopback bind without a token, and serves one with a token', async () => {
    await expect(serve({ host: '0.0.0.0' })).rejects.toThrow(HttpStartError);
    await expect(serve({ host: '0.0.0.0' })).rejects.toThrow(/HOPX_MCP_AUTH_TOKEN/);
    const token = 'wide-token-0123456789abcdef';
    const server = await serve({ host: '0.0.0.0', authToken: token });
    const url = server.url.replace('0.0.0.0', '127.0.0.1');
    const denied = await rawRequest(url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(denied.status).toBe(401);
    const client = await connectHttp(url, 'legacy', { authorization: `Bearer ${token}` });
    clients.push(client);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('answers 413 for a body over the limit, 415 for a non-JSON body, 400 for broken JSON', async () => {
    const server = await serve({ maxBodyBytes: 2048 });
    const big = await rawRequest(server.url, {
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(4096) } }),
    });
    expect(big.status).toBe(413);
    const text = await rawRequest(server.url, { headers: { ...MCP_HEADERS, 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
    const broken = await rawRequest(server.url, { headers: MCP_HEADERS, body: '{"jsonrpc":' });
    expect(broken.status).toBe(400);
    expect(broken.body).toMatch(/-32700/);
  });

  it('caps open conversations (503 beyond the cap)', async () => {
    const server = await serve({ maxSessions: 1 });
    await connect(server, 'legacy');
    const refused = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/Too many open conversations/);
  });

  it('gives each caller key its own conversation (cloud mode) and binds sessions to their caller', async () => {
    const server = await serve({ backend: backendOver(test, 'cloud') });
    // A caller with its own (valid) key works; its sandboxes are its own.
    const owner = await connect(server, 'modern', { 'x-hopx-api-key': test.backend.apiKey });
    const id = await createSandbox(owner);
    // A caller with another key is another conversation: no current sandbox, and the other's
    // sandbox is refused; its key reaches HopX (here: rejected by the backend as invalid).
    const other = await connect(server, 'modern', { 'x-hopx-api-key': 'hopx_live_not_a_real_key' });
    const attempt = await callTool(other, 'sandbox_run_code', { sandbox_id: id, code: 'print(1)' });
    expect(attempt.isError).toBe(true);
    const created = await callTool(other, 'sandbox_create', { template: 'code-interpreter' });
    expect(created.isError).toBe(true);
    expect(created.text).toMatch(/key|auth|401/i);
    expect(server.stats().callers).toBe(2);

    // The refusal above could be the bad key alone; a keyless caller with working credentials
    // (the server's own account, which can reach the sandbox) must still be kept out of it.
    const keyless = await connect(server, 'modern');
    const foreign = await callTool(keyless, 'sandbox_run_code', { sandbox_id: id, code: 'print(1)' });
    expect(foreign.isError).toBe(true);
    expect(foreign.text).toMatch(/not attached to this conversation/);
    expect(JSON.stringify((await callTool(keyless, 'sandbox_list')).structured)).not.toContain(id);
    expect(server.stats().callers).toBe(3);

    // A 2025-era session id presented by another caller is unknown to them.
    const legacy = await connect(server, 'legacy', { 'x-hopx-api-key': test.backend.apiKey });
    const sessionId = (legacy.transport as unknown as { sessionId: string }).sessionId;
    const stolen = await rawRequest(server.url, {
      headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'x-hopx-api-key': 'hopx_live_someone_else' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    expect(stolen.status).toBe(404);
  });

  it('with requireCallerKey (cloud mode) refuses callers without their own key', async () => {
    const server = await serve({ backend: backendOver(test, 'cloud'), requireCallerKey: true });
    const keyless = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(keyless.status).toBe(401);
    expect(keyless.body).toMatch(/x-hopx-api-key/i);
    const blank = await rawRequest(server.url, { headers: { ...MCP_HEADERS, 'x-hopx-api-key': '  ' }, body: INITIALIZE_BODY });
    expect(blank.status).toBe(401);
    const client = await connect(server, 'legacy', { 'x-hopx-api-key': test.backend.apiKey });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('serves /healthz and 404s other paths', async () => {
    const server = await serve();
    const base = server.url.replace(/\/mcp$/, '');
    const health = await rawRequest(`${base}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, backend: 'local' });
    expect((await rawRequest(`${base}/other`, { method: 'GET' })).status).toBe(404);
  });
});
