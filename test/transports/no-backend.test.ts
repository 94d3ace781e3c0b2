/**
 * No backend is not a crash (issue 8 §3, docs/decisions.md decision 10): without HOPX_API_KEY and without
 * a usable local backend the server stays up, lists its tools, and every tool answers isError with
 * the probe's reason and what to configure, logged once on stderr.
 *
 * The probe is made to fail for real: the built server runs in a private mount namespace where
 * /usr/bin/bwrap is /bin/false (bubblewrap "installed" but failing), over stdio and HTTP.
 * The platform check (macOS/Windows) is driven through openBackend's `platform` option.
 */
import { spawn, spawnSync } from 'node:child_process';
import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { allTools, filterTools } from '../../src/tools/index.js';
import { openBackend } from '../../src/transports/backend.js';
import { openConversation } from '../../src/transports/conversations.js';
import { ensureBuilt } from './built-cli.js';
import { callTool, connectHttp } from './helpers.js';

/** The server's default tool list: no backend hides none of it. */
const DEFAULT_TOOL_COUNT = filterTools(allTools).length;

/** `unshare` as root gives the server a private view of /usr/bin/bwrap. */
const canHideBwrap =
  process.geteuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;
if (!canHideBwrap) console.warn('SKIPPED: hiding bubblewrap needs root and unshare (CI runs as root)');

/** argv that runs the built CLI with bubblewrap present but unusable. */
function withoutBwrap(cli: string, args: string[]): { command: string; args: string[] } {
  const script = 'mount --bind /bin/false /usr/bin/bwrap && exec "$@"';
  return { command: 'unshare', args: ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, cli, ...args] };
}

/** What any backend-needing tool must say with bubblewrap unusable. */
function expectBubblewrapAdvice(text: string): void {
  expect(text).toMatch(/^No sandbox backend is available: HOPX_API_KEY is not set, and bwrap test run failed/);
  // /bin/false exits 1 without a word: the reason says what that means, never an empty "(exit 1): ."
  expect(text).toContain('bwrap test run failed (exit 1): /usr/bin/bwrap is not bubblewrap (its --version says "false (GNU coreutils)');
  expect(text).toContain('set HOPX_API_KEY to use HopX cloud sandboxes (get a key at https://console.hopx.dev)');
  expect(text).toContain('install bubblewrap (apt-get install bubblewrap)');
  expect(text).toContain('--allow-unisolated (HOPX_MCP_ALLOW_UNISOLATED=1)');
}

/** Each server gets its own state folder: other worktrees run tests on this machine too. */
const stateDirs: string[] = [];
const env = (): Record<string, string> => {
  const stateDir = mkdtempSync(join(tmpdir(), 'hopx-no-backend-'));
  stateDirs.push(stateDir);
  return { ...getDefaultEnvironment(), HOPX_MCP_LOG_LEVEL: 'info', HOPX_MCP_STATE_DIR: stateDir, HOPX_LOCAL_STATE_DIR: stateDir };
};
afterAll(() => {
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

let cli: string;
beforeAll(async () => {
  cli = await ensureBuilt();
});

describe.skipIf(!canHideBwrap)('the built server with bubblewrap unusable', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('stdio: stays up, lists every tool, and each tool explains; the reason is logged once', async () => {
    const { command, args } = withoutBwrap(cli, []);
    const transport = new StdioClientTransport({ command, args, env: env(), stderr: 'pipe' });
    let stderr = '';
    transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'no-backend-test', version: '1.0.0' });
    await client.connect(transport);
    cleanups.push(() => client.close());

    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toHaveLength(DEFAULT_TOOL_COUNT);
    const create = await callTool(client, 'sandbox_create', {});
    expect(create.isError).toBe(true);
    expectBubblewrapAdvice(create.text);
    // Without a sandbox the backend is still the first thing to fix (not "create one with sandbox_create").
    const run = await callTool(client, 'sandbox_run_code', { code: '1+1' });
    expect(run).toMatchObject({ isError: true, text: create.text });
    const list = await callTool(client, 'sandbox_list', {});
    expect(list).toMatchObject({ isError: true, text: create.text });
    // Bad input is still named as such first.
    expect((await callTool(client, 'sandbox_run_code', {})).text).toMatch(/code/);

    expect(stderr.split('No sandbox backend is available').length - 1).toBe(1);
    expect(transport.pid).not.toBeNull();
  });

  it('HTTP: serves both protocol eras and each tool explains', async () => {
    const { command, args } = withoutBwrap(cli, ['--http', '--port', '0']);
    const child = spawn(command, args, { env: env(), stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await exited;
    });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /Listening on (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      void exited.then(() => reject(new Error(`the server exited:\n${stderr}`)));
    });
    const health = await fetch(url.replace(/\/mcp$/, '/healthz'));
    expect(await health.json()).toEqual({ ok: true, backend: 'none' });
    for (const era of ['legacy', 'modern'] as const) {
      const client = await connectHttp(url, era);
      cleanups.push(() => client.close());
      expect((await client.listTools()).tools).toHaveLength(DEFAULT_TOOL_COUNT);
      const create = await callTool(client, 'sandbox_create', {});
      expect(create.isError).toBe(true);
      expectBubblewrapAdvice(create.text);
    }
    expect(stderr.split('No sandbox backend is available').length - 1).toBe(1);
  });
});

describe.skipIf(!canHideBwrap)('the escape hatch has one name: HOPX_MCP_ALLOW_UNISOLATED / --allow-unisolated', () => {
  it('the MCP server then runs code (unisolated) where it had no backend', async () => {
    const { command, args } = withoutBwrap(cli, []);
    const transport = new StdioClientTransport({ command, args, env: { ...env(), HOPX_MCP_ALLOW_UNISOLATED: '1', HOPX_MCP_LOG_LEVEL: 'warn' }, stderr: 'pipe' });
    let stderr = '';
    transport.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'no-backend-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const r = await callTool(client, 'sandbox_run_command', { command: 'echo unisolated-ok' });
      // No sandbox yet: the ordinary advice, not the no-backend one.
      expect(r.text).toMatch(/sandbox_create/);
      const created = await callTool(client, 'sandbox_create', { template: 'code-interpreter' });
      expect(created.isError).toBe(false);
      // The tool texts were fixed before the backend started; the result says what the probe found.
      expect(created.text).toContain('On this machine: sandboxes are NOT isolated (--allow-unisolated)');
      expect((await callTool(client, 'sandbox_run_command', { command: 'echo unisolated-ok' })).text).toContain('unisolated-ok');
      expect(stderr).toMatch(/UNISOLATED local sandboxes/);
    } finally {
      await client.close();
    }
  });

  it('hopx-mcp local-backend reads the same variable', async () => {
    const { command, args } = withoutBwrap(cli, ['local-backend', '--port', '0']);
    const child = spawn(command, args, { env: { ...env(), HOPX_MCP_ALLOW_UNISOLATED: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let stderr = '';
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (/isolation: process/.test(stderr)) resolve();
        });
        void exited.then(() => reject(new Error(`local-backend exited:\n${stderr}`)));
      });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('no usable local backend, in process', () => {
  it('on macOS or Windows the only advice is HOPX_API_KEY', async () => {
    const backend = await openBackend({ platform: 'darwin', logger: silentLogger() });
    expect(backend.unavailable).toBe(
      'No sandbox backend is available: HOPX_API_KEY is not set, and local sandboxes need Linux with bubblewrap, and this is macOS. ' +
        'To fix, set HOPX_API_KEY to use HopX cloud sandboxes (get a key at https://console.hopx.dev); then restart the MCP server.',
    );
    const open = openConversation({ backend, logger: silentLogger() }, { transport: 'stdio' });
    const server = open.newServer();
    const client = new Client({ name: 'no-backend-test', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(b), client.connect(a)]);
    try {
      expect((await client.listTools()).tools).toHaveLength(DEFAULT_TOOL_COUNT);
      const r = await callTool(client, 'sandbox_get_info', { sandbox_id: 'abc' });
      expect(r).toEqual({ isError: true, text: backend.unavailable, structured: undefined });
      // The client itself explains too, for any path that reaches it.
      await expect(backend.client.agent('abc').files.read('/x')).rejects.toThrow(backend.unavailable!);
      await expect(backend.client.sandboxes.list()).rejects.toMatchObject({ name: 'BackendUnavailableError' });
    } finally {
      await client.close();
      await open.end('test finished');
      await backend.close();
    }
  });

  it('a state folder that cannot be made is a reason too (stdio, raw lines)', async () => {
    const child = spawn(process.execPath, [cli], {
      env: { ...env(), HOPX_MCP_STATE_DIR: '/dev/null/state', HOPX_MCP_LOG_LEVEL: 'warn' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stdin.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n` +
        `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'sandbox_list', arguments: {} } })}\n`,
    );
    // Both requests are answered; then closing stdin ends the server normally.
    const replies = async () => stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id?: number; result?: any });
    for (;;) {
      if ((await replies()).length >= 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.stdin.end();
    expect(await exited).toBe(0);
    const [init, list] = await replies();
    expect(init!.id).toBe(1);
    expect(list!.result.isError).toBe(true);
    expect(list!.result.content[0].text).toMatch(/^No sandbox backend is available: HOPX_API_KEY is not set, and .*\/dev\/null\/state.*set HOPX_API_KEY/);
  });
});
