/**
 * What a hosted HTTP server adds besides authentication: per-caller limits (sandboxes, calls in
 * flight, request rate), /metrics, /readyz, and a sandbox_create whose caller went away. All
 * against the real local backend through the real SDK client or raw HTTP.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { HopxClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/log.js';
import { RedisStateStore } from '../../src/state/redis.js';
import { startTestRedis } from '../support/redis.js';
import { fileUri } from '../../src/conversation/uris.js';
import type { HttpServer } from '../../src/transports/http.js';
import { backendOver, callTool, connectHttp, createSandbox, INITIALIZE_BODY, MCP_HEADERS, rawRequest, sandboxGone, useHttpFixture, waitFor } from './helpers.js';

const fixture = useHttpFixture();
const serve = fixture.serve;

async function connect(server: HttpServer, era: 'legacy' | 'modern'): Promise<Client> {
  return fixture.track(await connectHttp(server.url, era));
}

function origin(server: HttpServer): string {
  return new URL(server.url).origin;
}

describe('per-caller limits', () => {
  it('caps live sandboxes per caller across its conversations; killing one frees a slot', async () => {
    const server = await serve({ limits: { maxSandboxes: 2 } });
    const a = await connect(server, 'legacy');
    const b = await connect(server, 'legacy');
    const first = await createSandbox(a);
    await createSandbox(b);
    const refused = await callTool(b, 'sandbox_create');
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/Sandbox limit reached: each caller may have 2 live sandboxes/);
    expect(refused.text).toMatch(/sandbox_kill/);

    const killed = await callTool(a, 'sandbox_kill', { sandbox_id: first });
    expect(killed.isError, killed.text).toBe(false);
    await createSandbox(b);
    const metrics = await (await fetch(`${origin(server)}/metrics`)).text();
    expect(metrics).toContain('hopx_mcp_limit_refusals_total{limit="sandboxes"} 1');
    expect(metrics).toContain('hopx_mcp_sandboxes_live 2');
  });

  it('refuses requests past the rate with 429 and Retry-After', async () => {
    // 6 a minute: a burst of 5, then one every 10 s.
    const server = await serve({ limits: { requestsPerMinute: 6 } });
    const statuses: number[] = [];
    let retryAfter: string | string[] | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
      statuses.push(res.status);
      retryAfter = res.headers['retry-after'];
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(10);
    // A notification is not a request: it is never refused (a refused cancel would make things worse).
    const note = await rawRequest(server.url, { headers: MCP_HEADERS, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    expect(note.status).not.toBe(429);
  });

  it('shares the rate between replicas on one Redis (real redis-server)', async () => {
    const redis = await startTestRedis();
    const prefix = `limits-${process.pid}-${Date.now()}:`;
    const stores = await Promise.all([0, 1].map(() => RedisStateStore.open({ url: redis.url, logger: silentLogger(), prefix })));
    try {
      const [a, b] = await Promise.all(stores.map((state) => serve({ state, limits: { requestsPerMinute: 6 } })));
      const statuses: number[] = [];
      for (const server of [a, b, a, b, a, b]) {
        statuses.push((await rawRequest(server!.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY })).status);
      }
      // One bucket of 5 for the caller, whichever replica it reaches.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await Promise.allSettled(stores.map((s) => s.close()));
      await redis.close();
    }
  });

  it('refuses a call past the calls-in-flight limit with 429, and admits again once one ends', async () => {
    const server = await serve({ limits: { maxConcurrentCalls: 1 } });
    const client = await connect(server, 'modern');
    const id = await createSandbox(client);
    // A call that waits for a file the test writes through the backend: in flight until then.
    const busy = callTool(client, 'sandbox_run_code', {
      code: 'import os, time\nopen("/tmp/started", "w").close()\nwhile not os.path.exists("/tmp/go"): time.sleep(0.02)\nprint("released")',
    });
    await waitFor(() => fixture.backend().client.agent(id).files.exists('/tmp/started'), 15_000, 'the busy call to start');
    await expect(client.listTools()).rejects.toThrow(/429|Too many calls in flight/);
    await fixture.backend().client.agent(id).files.write('/tmp/go', 'x');
    const done = await busy;
    expect(done.text).toContain('released');
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('does not count an open subscriptions/listen stream as a call in flight', async () => {
    const server = await serve({ limits: { maxConcurrentCalls: 1 } });
    const client = await connect(server, 'modern');
    const id = await createSandbox(client);
    await fixture.backend().client.agent(id).files.write('/workspace/watched.txt', 'x');
    const listening = await client.listen({ resourceSubscriptions: [fileUri(id, '/workspace/watched.txt')] });
    try {
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      const run = await callTool(client, 'sandbox_run_code', { code: 'print(5)' });
      expect(run.text).toContain('5');
    } finally {
      await listening.close();
    }
  });
});

/**
 * A control plane in front of the local backend that holds the answer to a sandbox create until
 * the test lets it go: the sandbox is real, only its id's arrival is timed by the test.
 */
async function holdingProxy(target: string): Promise<{ url: string; created: Promise<string>; release: () => void; close: () => Promise<void> }> {
  let arrived!: (id: string) => void;
  const created = new Promise<string>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server: Server = createServer((req, res) => {
    const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const send = () => res.writeHead(answer.statusCode ?? 502, answer.headers).end(body);
        if (req.method === 'POST' && req.url === '/v1/sandboxes') {
          arrived((JSON.parse(body.toString()) as { id: string }).id);
          void released.then(send);
        } else send();
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    created,
    release,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

describe('a sandbox_create whose caller went away', () => {
  it('kills the sandbox when its id arrives', async () => {
    const proxy = await holdingProxy(fixture.backend().backend.url);
    const client = new HopxClient({ apiKey: fixture.backend().backend.apiKey, baseUrl: proxy.url });
    try {
      const server = await serve({ backend: { ...backendOver(fixture.backend()), baseUrl: proxy.url, client } });
      const init = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
      const session = { ...MCP_HEADERS, 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
      await rawRequest(server.url, { headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
      // Its stream never gets an answer (a cancelled request has none); closing the server ends it.
      void rawRequest(server.url, {
        headers: session,
        body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'sandbox_create', arguments: {} } }),
      }).catch(() => undefined);
      const id = await proxy.created;
      // The caller cancels while HopX is still answering; the 202 means the server has seen it.
      const cancel = await rawRequest(server.url, {
        headers: session,
        body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'user left' } }),
      });
      expect(cancel.status).toBe(202);
      expect(await sandboxGone(fixture.backend().client, id)).toBe(false);
      proxy.release();
      await waitFor(() => sandboxGone(fixture.backend().client, id), 15_000, 'the abandoned sandbox to be killed');
      expect(server.stats().sessions).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe('operations', () => {
  it('/metrics: conversations, live sandboxes, tool calls by outcome, latency, auth failures', async () => {
    const server = await serve({ authToken: 'a-static-token-for-tests-0123456789' });
    const refused = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(refused.status).toBe(401);
    const client = await connectHttp(server.url, 'legacy', { authorization: 'Bearer a-static-token-for-tests-0123456789' });
    fixture.track(client);
    await createSandbox(client);
    await callTool(client, 'sandbox_run_code', { code: 'print(1)' });
    await callTool(client, 'sandbox_read_file', { path: '/nonexistent/file' });
    await callTool(client, 'sandbox_create', { timeout_seconds: 'soon' });

    const res = await fetch(`${origin(server)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('hopx_mcp_conversations_open{kind="session"} 1');
    expect(text).toContain('hopx_mcp_sandboxes_live 1');
    expect(text).toContain('hopx_mcp_tool_calls_total{tool="sandbox_create",outcome="ok"} 1');
    expect(text).toContain('hopx_mcp_tool_calls_total{tool="sandbox_create",outcome="invalid_input"} 1');
    expect(text).toContain('hopx_mcp_tool_calls_total{tool="sandbox_run_code",outcome="ok"} 1');
    expect(text).toMatch(/hopx_mcp_tool_calls_total\{tool="sandbox_read_file",outcome="error"\} 1/);
    expect(text).toMatch(/hopx_mcp_tool_call_duration_seconds_count\{tool="sandbox_run_code"\} 1/);
    expect(text).toContain('hopx_mcp_auth_failures_total{reason="missing"} 1');
    expect(text).toContain('# TYPE hopx_mcp_backend_errors_total counter');
    // No secret reaches the metrics.
    expect(text).not.toContain('a-static-token-for-tests');
  });

  it('/metrics with HOPX_MCP_METRICS_TOKEN: 401 without it or with another token, 200 with it; MCP callers unaffected', async () => {
    const server = await serve({ metricsToken: 'metrics-scraper-token-0123456789' });
    const bare = await fetch(`${origin(server)}/metrics`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="hopx-mcp-metrics"');
    expect(await bare.text()).toContain('HOPX_MCP_METRICS_TOKEN');
    const wrong = await fetch(`${origin(server)}/metrics`, { headers: { authorization: 'Bearer metrics-scraper-token-01234567XX' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(`${origin(server)}/metrics`, { headers: { authorization: 'Bearer metrics-scraper-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('hopx_mcp_tool_calls_total');
    // The metrics token guards /metrics only: /healthz, /readyz and MCP keep their own rules.
    expect((await fetch(`${origin(server)}/healthz`)).status).toBe(200);
    expect((await fetch(`${origin(server)}/readyz`)).status).toBe(200);
    const client = await connect(server, 'modern');
    expect((await callTool(client, 'sandbox_list_templates')).isError).toBe(false);
  });

  it('/readyz checks the backend; /healthz stays up; backend failures are counted', async () => {
    const server = await serve();
    const ready = await fetch(`${origin(server)}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, checks: { backend: { ok: true }, auth: { ok: true } } });

    // A backend that does not answer: not ready, still healthy.
    const dead = new HopxClient({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
    const broken = await serve({ backend: { ...backendOver(fixture.backend()), client: dead } });
    const notReady = await fetch(`${origin(broken)}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: { backend: { ok: boolean } } }).checks.backend.ok).toBe(false);
    expect((await fetch(`${origin(broken)}/healthz`)).status).toBe(200);

    // A call that needs it fails with a result that says so, and counts as a backend error.
    const client = await connect(broken, 'modern');
    const listed = await callTool(client, 'sandbox_list', { scope: 'account' });
    expect(listed.isError).toBe(true);
    const metrics = await (await fetch(`${origin(broken)}/metrics`)).text();
    expect(metrics).toMatch(/hopx_mcp_backend_errors_total\{error="(NetworkError|RequestTimeoutError|ServerError)"\} 1/);
    expect(metrics).toContain('hopx_mcp_tool_calls_total{tool="sandbox_list",outcome="error"} 1');
    await dead.close();
  });
});
