/**
 * The `hopx-mcp` command itself (built dist/cli.js): flags, HTTP startup and graceful shutdown,
 * the local-backend subcommand.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './built-cli.js';
import { callTool, connectHttp, createSandbox, sandboxGone, useTestBackend } from './helpers.js';
// @ts-expect-error plain ESM script without type declarations (JSDoc types only)
import { startAuthServer } from '../support/oidc.mjs';

let cli: string;
beforeAll(async () => {
  cli = await ensureBuilt();
});

interface Running {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
  /** Resolves with the first stderr match (or rejects when the process exits first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function run(args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...getDefaultEnvironment(), HOPX_MCP_LOG_LEVEL: 'info', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    async waitFor(pattern, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = stderr.match(pattern);
        if (match) return match;
        if (done || Date.now() > deadline) throw new Error(`no ${pattern} in stderr:\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
}

describe('flags', () => {
  it('--help and --version print to stdout and exit 0 (so $(hopx-mcp --version) works)', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toMatch(/Usage:[\s\S]*--http[\s\S]*HOPX_MCP_READ_ONLY/);
    const version = run(['--version']);
    expect(await version.exited).toBe(0);
    expect(version.stdout()).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(help.stderr() + version.stderr()).toBe('');
  });

  it('exits 2 with a message naming the flag on bad input', async () => {
    const bad = run(['--port', '99999', '--http']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/--port="99999"/);
    const secret = run(['--api-key', 'x']);
    expect(await secret.exited).toBe(2);
    expect(secret.stderr()).toMatch(/HOPX_API_KEY/);
  });

  it('refuses a non-loopback HTTP bind without HOPX_MCP_AUTH_TOKEN (exit 2)', async () => {
    const open = run(['--http', '--host', '0.0.0.0', '--port', '0'], { HOPX_API_KEY: 'k', HOPX_BASE_URL: 'http://127.0.0.1:9' });
    expect(await open.exited).toBe(2);
    expect(open.stderr()).toMatch(/Refusing to listen on 0\.0\.0\.0 without authentication/);
  });
});

describe('tool selection flags', () => {
  it('--read-only and --toolsets reach the server', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli, '--read-only', '--toolsets', 'sandbox,files'],
      // Listing tools never calls HopX: a closed port is enough.
      env: { ...getDefaultEnvironment(), HOPX_API_KEY: 'unused', HOPX_BASE_URL: 'http://127.0.0.1:9', HOPX_MCP_LOG_LEVEL: 'warn' },
    });
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('sandbox_list');
      expect(names).toContain('sandbox_read_file');
      expect(names).not.toContain('sandbox_create');
      expect(names).not.toContain('sandbox_write_file');
      expect(names).not.toContain('sandbox_run_code');
    } finally {
      await client.close();
    }
  });
});

describe('hopx-mcp --http', () => {
  const testBackend = useTestBackend();

  it('prints its URL, serves MCP with a token, on SIGTERM ends every conversation (sandboxes killed), logs no secret', async () => {
    const test = testBackend();
    const token = 'cli-test-token-0123456789abcdef';
    const server = run(['--http', '--port', '0', '--log-level', 'debug'], {
      HOPX_API_KEY: test.backend.apiKey,
      HOPX_BASE_URL: test.backend.url,
      HOPX_MCP_AUTH_TOKEN: token,
    });
    try {
      const [, url] = await server.waitFor(/Listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/);
      expect(server.stderr()).toContain('claude mcp add --transport http hopx');
      // Every connect line carries the token (by its variable name, never the secret itself).
      const hints = server.stderr().slice(server.stderr().indexOf('Connect a client:')).split('\n').slice(1, 5);
      expect(hints.map((line) => /Authorization": "Bearer|Authorization: Bearer \$HOPX_MCP_AUTH_TOKEN/.test(line))).toEqual([true, true, true, true]);
      expect(server.stderr()).not.toContain(token);
      const auth = { authorization: `Bearer ${token}` };
      const legacy = await connectHttp(url, 'legacy', auth);
      const modern = await connectHttp(url, 'modern', { ...auth, 'x-hopx-api-key': test.backend.apiKey });
      const ids = [await createSandbox(legacy), await createSandbox(modern)];
      expect((await callTool(modern, 'sandbox_run_code', { code: 'print(6*7)' })).text).toContain('42');
      for (const id of ids) expect(await sandboxGone(test.client, id)).toBe(false);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      for (const id of ids) expect(await sandboxGone(test.client, id)).toBe(true);
      expect(server.stderr().match(/"msg":"conversation ended"/g)?.length).toBeGreaterThanOrEqual(2);
      // Debug logs of a whole session, and still no secret in them.
      expect(server.stderr()).not.toContain(token);
      expect(server.stderr()).not.toContain(test.backend.apiKey);
      await Promise.allSettled([legacy.close(), modern.close()]);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('--log-format pretty over stdio', () => {
  const testBackend = useTestBackend();

  it('writes readable log lines to stderr only (stdout stays pure JSON-RPC) and still redacts secrets', async () => {
    const test = testBackend();
    const secret = 'pretty-secret-value-0123456789';
    const server = run(['--log-format', 'pretty', '--log-level', 'debug'], {
      HOPX_API_KEY: test.backend.apiKey,
      HOPX_BASE_URL: test.backend.url,
    });
    const send = (message: Record<string, unknown>) => server.child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
    // Answers by id, from stdout lines (each must be a whole JSON-RPC message).
    const answered = (id: number) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const found = server
            .stdout()
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as Record<string, unknown>)
            .find((message) => message.id === id);
          if (found) {
            server.child.stdout!.off('data', check);
            resolve(found);
          }
        };
        server.child.stdout!.on('data', check);
        void server.exited.then(() => reject(new Error(`exited before answering ${id}:\n${server.stderr()}`)));
      });
    try {
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'cli-test', version: '1' } } });
      await answered(1);
      send({ method: 'notifications/initialized' });
      send({ id: 2, method: 'tools/call', params: { name: 'sandbox_create', arguments: { env_vars: { SERVICE_TOKEN: secret } } } });
      const created = (await answered(2)).result as { isError?: boolean; structuredContent?: { sandbox_id?: string } };
      expect(created.isError, server.stderr()).toBeFalsy();
      send({ id: 3, method: 'tools/call', params: { name: 'sandbox_set_env', arguments: { variables: { OTHER_SECRET: secret } } } });
      await answered(3);
      server.child.stdin!.end();
      expect(await server.exited).toBe(0);
      expect(await sandboxGone(test.client, created.structuredContent!.sandbox_id!)).toBe(true);

      for (const line of server.stdout().split('\n').filter((l) => l !== '')) {
        expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
      }
      const lines = server.stderr().split('\n').filter((l) => l !== '');
      expect(lines.length).toBeGreaterThan(3);
      // pino-pretty's layout, without colour codes (stderr is a pipe here), never a JSON object.
      for (const line of lines) expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL) \(hopx-mcp\): /);
      expect(server.stderr()).toMatch(/INFO \(hopx-mcp\): tool call .*"tool":"sandbox_create"/);
      expect(server.stderr()).toMatch(/DEBUG \(hopx-mcp\): hopx request /);
      expect(server.stderr()).not.toContain(secret);
      expect(server.stderr()).not.toContain(test.backend.apiKey);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('run by a person at a terminal', () => {
  const hasScript = spawnSync('script', ['--version']).status === 0;

  it.skipIf(!hasScript)('says it waits for an MCP client, logs in the pretty format, and ends on Ctrl+D', async () => {
    // `script` gives the server a real terminal on stdin, stdout and stderr.
    const stateDir = mkdtempSync(join(tmpdir(), 'hopx-tty-'));
    const child = spawn('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)}`, '/dev/null'], {
      env: { ...getDefaultEnvironment(), HOPX_MCP_LOG_LEVEL: 'info', HOPX_MCP_STATE_DIR: stateDir, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until(() => /backend ready/.test(screen), exited, () => screen);
      expect(screen).toContain('hopx-mcp speaks MCP over stdin/stdout: an MCP client');
      // pino-pretty, coloured for the terminal: no JSON lines.
      const green = new RegExp(String.raw`\[\d\d:\d\d:\d\d\.\d{3}\] ${'\u001b'}\[32mINFO${'\u001b'}\[39m \(hopx-mcp\): `);
      expect(screen).toMatch(green);
      expect(screen).not.toContain('{"level":');
      child.stdin.write('\u0004');
      expect(await exited).toBe(0);
      expect(screen).toMatch(/stdio server stopped/);
    } finally {
      child.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

/** Resolves once `ready()` holds (checked as output arrives), or rejects when the process exits first. */
async function until(ready: () => boolean, exited: Promise<unknown>, output: () => string): Promise<void> {
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (ready()) return;
    if (done) throw new Error(`exited before it was ready:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('hopx-mcp --http --auth oauth', () => {
  const testBackend = useTestBackend();
  it('binds beyond loopback with OAuth alone, publishes its metadata at the resource URL path, and applies the limit flags', async () => {
    const test = testBackend();
    const as = await startAuthServer();
    const resource = 'https://mcp.example.test/mcp';
    const server = run(
      ['--http', '--host', '0.0.0.0', '--port', '0', '--auth', 'oauth', '--issuer', as.issuer, '--resource-url', resource, '--max-sandboxes-per-caller', '1'],
      { HOPX_API_KEY: test.backend.apiKey, HOPX_BASE_URL: test.backend.url },
    );
    try {
      const [, port] = await server.waitFor(/Listening on http:\/\/0\.0\.0\.0:(\d+)\/mcp/);
      expect(server.stderr()).toContain(`OAuth: clients find the authorization server (${as.issuer})`);
      const url = `http://127.0.0.1:${port}/mcp`;
      const prm = await fetch(`http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`);
      expect(await prm.json()).toMatchObject({ resource, authorization_servers: [as.issuer] });
      const client = await connectHttp(url, 'modern', { authorization: `Bearer ${await as.token('writer', { resource })}` });
      await createSandbox(client);
      const second = await callTool(client, 'sandbox_create');
      expect(second.text).toMatch(/each caller may have 1 live sandboxes/);
      // The command's server also exports the process metrics.
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('hopx_mcp_tool_calls_total{tool="sandbox_create",outcome="ok"} 1');
      expect(metrics).toMatch(/^hopx_mcp_process_cpu_user_seconds_total \d/m);
      await client.close();
    } finally {
      server.child.kill('SIGKILL');
      await as.close();
    }
  });
});

describe('hopx-mcp local-backend', () => {
  it('starts the local backend alone, prints its URL and key, and stops on SIGINT', async () => {
    const backend = run(['local-backend', '--port', '0']);
    try {
      const [, url] = await backend.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      expect(backend.stderr()).toMatch(/HOPX_API_KEY=\S+/);
      backend.child.kill('SIGINT');
      expect(await backend.exited).toBe(0);
    } finally {
      backend.child.kill('SIGKILL');
    }
  });
});
