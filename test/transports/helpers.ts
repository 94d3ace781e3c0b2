/**
 * Shared pieces of the transport tests: a Backend over the test local backend, SDK clients for
 * both protocol eras, and a check that a sandbox is really gone on the backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startHttpServer, type HttpServer, type HttpServerOptions } from '../../src/transports/http.js';
import { HopxClient } from '../../src/client/index.js';
import { NotFoundError } from '../../src/client/errors.js';
import type { HopxClientApi } from '../../src/client/types.js';
import type { Backend } from '../../src/transports/backend.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { ensureBuilt } from './built-cli.js';

/** A test backend for the enclosing describe block; call the getter inside its tests. */
export function useTestBackend(): () => TestBackend {
  let test: TestBackend | undefined;
  beforeAll(async () => {
    test = await startTestBackend();
  });
  afterAll(async () => {
    await test?.close();
  });
  return () => {
    if (!test) throw new Error('test backend not started (use the getter inside a test)');
    return test;
  };
}

/** HTTP server options for tests: loopback, any port, the test backend, silent; overridable. */
export function testServerOptions(test: TestBackend, overrides: Partial<HttpServerOptions> = {}): HttpServerOptions {
  return {
    backend: backendOver(test),
    logger: silentLogger(),
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 4 * 1024 * 1024,
    maxSessions: 50,
    sessionIdleSeconds: 600,
    ...overrides,
  };
}

/**
 * One HTTP server over a test backend for the whole file (or describe block): started before its
 * tests, closed after them (before the backend).
 */
export function useFileHttpServer(): () => HttpServer {
  const backend = useTestBackend();
  let server: HttpServer | undefined;
  beforeAll(async () => {
    server = await startHttpServer(testServerOptions(backend(), { maxSessions: 10 }));
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('HTTP server not started (use the getter inside a test)');
    return server;
  };
}

/**
 * Clients of the built CLI over stdio, as Claude Desktop runs it (its own local backend in
 * process), sharing a private state folder for the file. The CLI is built first if stale.
 */
export function useBuiltStdio(name: string): (era?: Era) => Promise<Client> {
  let cli: string | undefined;
  let stateDir: string | undefined;
  beforeAll(async () => {
    cli = await ensureBuilt();
    stateDir = await mkdtemp(join(tmpdir(), `hopx-${name}-`));
  });
  afterAll(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });
  return async (era) => {
    if (!cli || !stateDir) throw new Error('stdio fixture not ready (connect inside a test)');
    const env = { ...getDefaultEnvironment(), HOPX_MCP_STATE_DIR: stateDir, HOPX_MCP_LOG_LEVEL: 'warn' };
    const transport = new StdioClientTransport({ command: process.execPath, args: [cli], env, stderr: 'ignore' });
    const client = new Client({ name: `${name}-test`, version: '1.0.0' }, era ? { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } } : undefined);
    await client.connect(transport);
    return client;
  };
}

/**
 * The server's Backend over a test backend. `cloud` makes the server behave as in HopX cloud mode
 * (caller keys honoured) while talking to the local backend.
 */
export function backendOver(test: TestBackend, kind: 'cloud' | 'local' = 'local'): Backend {
  return {
    kind,
    baseUrl: test.backend.url,
    client: test.client,
    clientForKey: (apiKey) => (kind === 'cloud' ? new HopxClient({ apiKey, baseUrl: test.backend.url, maxRetries: 0 }) : test.client),
    close: async () => {},
  };
}

export type Era = 'legacy' | 'modern';

export async function connectHttp(url: string, era: Era, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(
    { name: 'transport-test', version: '1.0.0' },
    { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } },
  );
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

export interface ToolText {
  text: string;
  isError: boolean;
  structured: Record<string, unknown> | undefined;
}

export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolText> {
  const result = await client.callTool({ name, arguments: args });
  const content = (result.content ?? []) as Array<{ type: string; text?: string }>;
  return {
    text: content.filter((c) => c.type === 'text').map((c) => c.text).join('\n'),
    isError: result.isError === true,
    structured: result.structuredContent as Record<string, unknown> | undefined,
  };
}

/** Creates a sandbox through MCP and returns its id (from structuredContent). */
export async function createSandbox(client: Client): Promise<string> {
  const created = await callTool(client, 'sandbox_create', { template: 'code-interpreter' });
  if (created.isError) throw new Error(`sandbox_create failed: ${created.text}`);
  const id = (created.structured?.sandbox_id ?? created.structured?.id) as string | undefined;
  if (!id) throw new Error(`sandbox_create returned no id: ${JSON.stringify(created.structured)}`);
  return id;
}

/** True when the backend no longer runs the sandbox (404, or a killed/deleted status). */
export async function sandboxGone(client: HopxClientApi, id: string): Promise<boolean> {
  try {
    const info = await client.sandboxes.get(id);
    return ['killed', 'deleted', 'stopped', 'error'].includes(info.status);
  } catch (error) {
    if (error instanceof NotFoundError) return true;
    throw error;
  }
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A raw HTTP request (node:http lets tests set Host, unlike fetch). */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export const INITIALIZE_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/**
 * One test file's HTTP fixture: a test backend for the whole file, `serve()` starting HTTP servers
 * on it (test defaults, overridable), and `track()` for clients; servers and clients are closed
 * after each test, the backend after the file.
 */
export function useHttpFixture(): {
  backend: () => TestBackend;
  serve: (overrides?: Partial<HttpServerOptions>) => Promise<HttpServer>;
  track: <C extends { close(): Promise<void> }>(closable: C) => C;
} {
  const backend = useTestBackend();
  const servers: HttpServer[] = [];
  const closables: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.allSettled(closables.splice(0).map((c) => c.close()));
    await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  });
  return {
    backend,
    async serve(overrides = {}) {
      const server = await startHttpServer(testServerOptions(backend(), overrides));
      servers.push(server);
      return server;
    },
    track(closable) {
      closables.push(closable);
      return closable;
    },
  };
}
