/**
 * Long calls over real transports, both protocol eras (docs/long-calls.md): over streamable HTTP
 * and over stdio (the built CLI, local backend in process), a cancelled run stops and the next
 * call starts at once; progress carries the printed lines; a client that disconnects mid-call
 * stops the run as a cancel does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { startHttpServer, type HttpServer } from '../../src/transports/http.js';
import { cancelCommandThenNext, cancelPythonThenNext, cancelWithoutProgressThenNext, progressCarriesLines, startCounting, TWO_READS } from '../support/long-calls.js';
import { ensureBuilt } from './built-cli.js';
import { backendOver, callTool, connectHttp, createSandbox, useTestBackend, type Era } from './helpers.js';

const backend = useTestBackend();
let server: HttpServer;
let cli: string;
let stateDir: string;

beforeAll(async () => {
  server = await startHttpServer({
    backend: backendOver(backend()),
    logger: silentLogger(),
    host: '127.0.0.1',
    port: 0,
    maxBodyBytes: 4 * 1024 * 1024,
    maxSessions: 10,
    sessionIdleSeconds: 600,
  });
  cli = await ensureBuilt();
  stateDir = await mkdtemp(join(tmpdir(), 'hopx-long-calls-'));
});
afterAll(async () => {
  await server?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function connectStdio(era: Era): Promise<Client> {
  const env = { ...getDefaultEnvironment(), HOPX_MCP_STATE_DIR: stateDir, HOPX_MCP_LOG_LEVEL: 'warn' };
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli], env, stderr: 'ignore' });
  const client = new Client({ name: 'long-calls-test', version: '1.0.0' }, { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } });
  await client.connect(transport);
  return client;
}

const transports = {
  http: (era: Era) => connectHttp(server.url, era),
  stdio: connectStdio,
};

describe.each(['http', 'stdio'] as const)('over %s', (transport) => {
  describe.each(['legacy', 'modern'] as const)('%s-era client', (era) => {
    it('cancel stops python (variables kept) and a command; the next call starts at once; progress carries lines', async () => {
      const client = await transports[transport](era);
      try {
        expect(client.getProtocolEra()).toBe(era);
        await createSandbox(client);
        await cancelPythonThenNext(client);
        await cancelCommandThenNext(client);
        await cancelWithoutProgressThenNext(client);
        await progressCarriesLines(client);
      } finally {
        await client.close();
      }
    });
  });
});

describe.each<Era>(['modern'])('%s-era client over HTTP that disconnects mid-call', (era) => {
  it('the run stops as if cancelled', async () => {
    const first = await connectHttp(server.url, era);
    const id = await createSandbox(first);
    await startCounting(first, 'sandbox_run_command', { command: "i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; echo \"count $i\"; sleep 0.1; done", timeout_seconds: 120 });
    // Drop the connection without ending the conversation (a 2025 session is not DELETEd: it
    // lives on, the client may come back); the run must not live on.
    await first.close();
    const again = await connectHttp(server.url, era);
    try {
      if (era === 'legacy') await callTool(again, 'sandbox_connect', { sandbox_id: id });
      const r = await callTool(again, 'sandbox_run_command', { sandbox_id: id, command: TWO_READS });
      expect(r.isError, r.text).toBe(false);
      const [a, b] = String(r.structured?.stdout).trim().split(' ');
      expect(b).toBe(a);
    } finally {
      await again.close();
    }
  });
});
