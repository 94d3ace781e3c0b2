/**
 * stdio: the built `hopx-mcp` spawned as MCP clients spawn it. With no HOPX_API_KEY it runs the
 * local backend in process; with HOPX_API_KEY/HOPX_BASE_URL aimed at a test backend it behaves as
 * in cloud mode, which lets the test see from outside that stdin EOF kills the sandbox.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './built-cli.js';
import { callTool, createSandbox, sandboxGone, useTestBackend } from './helpers.js';

let cli: string;
let stateDir: string;
beforeAll(async () => {
  cli = await ensureBuilt();
  stateDir = await mkdtemp(join(tmpdir(), 'hopx-stdio-test-'));
});
afterAll(async () => {
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

function localEnv(): Record<string, string> {
  return { ...getDefaultEnvironment(), HOPX_MCP_STATE_DIR: stateDir, HOPX_MCP_LOG_LEVEL: 'warn' };
}

async function connectStdio(era: 'legacy' | 'modern', env: Record<string, string>): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli], env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'stdio-test', version: '1.0.0' }, { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe.each(['legacy', 'modern'] as const)('%s-era client over stdio, local backend in process', (era) => {
  it('initializes, lists tools and runs python in a sandbox', async () => {
    const { client, stderr } = await connectStdio(era, localEnv());
    try {
      expect(client.getProtocolEra()).toBe(era);
      expect(client.getServerVersion()?.name).toBe('hopx-mcp');
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(20);
      await createSandbox(client);
      const run = await callTool(client, 'sandbox_run_code', { code: 'print(1+1)' });
      expect(run.isError, `${run.text}\n${stderr()}`).toBe(false);
      expect(run.text).toContain('2');
    } finally {
      await client.close();
    }
  });
});

describe.each([
  ['stdin EOF', 'stdin closed'],
  ['SIGTERM', 'signal SIGTERM'],
])('%s with the local backend in process', (how, reason) => {
  it('ends the conversation, kills its sandbox and closes the local backend before exiting 0', async () => {
    const { child, exited, stderr: logs, id } = await spawnWithSandbox({ ...localEnv(), HOPX_MCP_LOG_LEVEL: 'info' });

    if (how === 'SIGTERM') child.kill('SIGTERM');
    else child.stdin.end();
    expect(await exited).toBe(0);
    expect(logs()).toContain(reason);
    // The order matters: the conversation kills its sandbox, then the backend closes, then exit.
    const lines = logs().split('\n');
    const at = (msg: string, extra = '') => lines.findIndex((line) => line.includes(`"msg":"${msg}"`) && line.includes(extra));
    expect(at('sandbox killed', `"sandbox_id":"${id}"`), logs()).toBeGreaterThanOrEqual(0);
    expect(at('conversation ended'), logs()).toBeGreaterThanOrEqual(0);
    expect(at('local backend closed'), logs()).toBeGreaterThan(at('conversation ended'));
  });
});

describe('requests piped in before EOF', () => {
  it('are all answered before the conversation ends, although the backend was still starting', async () => {
    const child = spawn(process.execPath, [cli], { env: { ...localEnv(), HOPX_MCP_LOG_LEVEL: 'info' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const requests = [
      { method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'pipe', version: '1' } } },
      { method: 'tools/call', params: { name: 'sandbox_create', arguments: { template: 'code-interpreter' } } },
      { method: 'tools/call', params: { name: 'sandbox_list', arguments: {} } },
    ];
    child.stdin.end(requests.map((r, i) => `${JSON.stringify({ jsonrpc: '2.0', id: i + 1, ...r })}\n`).join(''));
    expect(await exited, stderr).toBe(0);
    const replies = stdout.trim().split('\n').map((line) => JSON.parse(line) as { id: number; result?: { isError?: boolean } });
    expect(replies.map((r) => r.id).sort()).toEqual([1, 2, 3]);
    expect(replies.find((r) => r.id === 2)?.result?.isError, stdout).toBeFalsy();
    // ... and the sandbox created on the way was killed with the conversation.
    expect(stderr).toContain('"msg":"sandbox killed"');
  });
});

/**
 * Spawns the built CLI and, over raw JSON-RPC on its pipes (so that the one thing ending the
 * server is the one under test), initializes and creates a sandbox.
 */
async function spawnWithSandbox(env: Record<string, string>) {
  const child = spawn(process.execPath, [cli], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const rpc = jsonRpcOver(child.stdout, child.stdin, () => stderr);
  await rpc.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
  rpc.notify('notifications/initialized');
  const created = (await rpc.request('tools/call', { name: 'sandbox_create', arguments: { template: 'code-interpreter' } })) as {
    result: { structuredContent: { sandbox_id: string } };
  };
  return { child, exited, stderr: () => stderr, id: created.result.structuredContent.sandbox_id };
}

/** Raw JSON-RPC over a child's pipes, so that the one thing ending the server is the one under test. */
function jsonRpcOver(stdout: NodeJS.ReadableStream, stdin: NodeJS.WritableStream, stderr: () => string) {
  const responses = new Map<number, Record<string, unknown>>();
  let buffer = '';
  let nextId = 1;
  stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffer.slice(0, newline)) as { id?: number };
      buffer = buffer.slice(newline + 1);
      if (typeof message.id === 'number') responses.set(message.id, message);
    }
  });
  return {
    notify(method: string) {
      stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method })}\n`);
    },
    async request(method: string, params: object): Promise<Record<string, unknown>> {
      const id = nextId++;
      stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      const deadline = Date.now() + 30_000;
      while (!responses.has(id)) {
        if (Date.now() > deadline) throw new Error(`no reply to ${method}; stderr:\n${stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return responses.get(id)!;
    },
  };
}

describe('end of a stdio conversation', () => {
  const test = useTestBackend();

  it.each([
    ['stdin EOF', 'stdin closed'],
    ['SIGTERM', 'signal SIGTERM'],
  ])('%s ends the conversation: the sandbox is killed and the process exits 0', async (how, reason) => {
    const { child, exited, stderr: logs, id } = await spawnWithSandbox({
      ...getDefaultEnvironment(),
      HOPX_API_KEY: test().backend.apiKey,
      HOPX_BASE_URL: test().backend.url,
      HOPX_MCP_LOG_LEVEL: 'info',
    });
    expect(await sandboxGone(test().client, id)).toBe(false);

    if (how === 'SIGTERM') child.kill('SIGTERM');
    else child.stdin.end();
    expect(await exited).toBe(0);
    expect(logs()).toContain('"msg":"conversation ended"');
    expect(logs()).toContain(reason);
    expect(await sandboxGone(test().client, id)).toBe(true);
  });
});
