/**
 * The published shape: `npm pack`, install the tarball into an empty project (dependencies from
 * the npm cache or registry), and `npx hopx-mcp` answers initialize and tools/list over stdio.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from './transports/built-cli.js';

let work: string | undefined;
let stateDir: string | undefined;
afterAll(async () => {
  for (const dir of [work, stateDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

it('installs from the packed tarball; `npx hopx-mcp` serves MCP and runs code', { timeout: 240_000 }, async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'hopx-pack-'));
  // Its own temp dir: the sandbox uid must be able to enter the state dir's parent.
  stateDir = await mkdtemp(join(tmpdir(), 'hopx-pack-state-'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }),
  ) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = packed[0].files.map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining(['dist/cli.js', 'dist/index.js', 'dist/local/runtime/kernel.py', 'mcp.json', 'package.json']),
  );
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);

  const app = join(work, 'app');
  execFileSync('mkdir', [app]);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed[0].filename)], {
    cwd: app,
    encoding: 'utf8',
  });
  expect(await readdir(join(app, 'node_modules', '.bin'))).toContain('hopx-mcp');
  // The library entry loads and exposes the serving pieces.
  const exported = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "const m = await import('hopx-mcp'); console.log(Object.keys(m).join(','));"],
    { cwd: app, encoding: 'utf8' },
  );
  expect(exported.trim().split(',')).toEqual(
    expect.arrayContaining(['createHopxMcpServer', 'startHttpServer', 'startStdioServer', 'openBackend', 'HopxClient', 'resolveConfig']),
  );

  const transport = new StdioClientTransport({
    command: 'npx',
    args: ['--no', 'hopx-mcp'],
    cwd: app,
    env: { ...getDefaultEnvironment(), HOPX_MCP_STATE_DIR: stateDir, HOPX_MCP_LOG_LEVEL: 'warn' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'pack-test', version: '1.0.0' });
  try {
    await client.connect(transport).catch((error: unknown) => {
      throw new Error(`npx hopx-mcp did not start: ${String(error)}\n${stderr}`);
    });
    expect(client.getServerVersion()?.name, stderr).toBe('hopx-mcp');
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['sandbox_create', 'sandbox_run_code']));
    // The installed package alone runs code on its in-process local backend (its runtime assets,
    // e.g. the Python kernel, made it into the tarball).
    const created = await client.callTool({ name: 'sandbox_create', arguments: { template: 'code-interpreter' } });
    expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
    const run = await client.callTool({ name: 'sandbox_run_code', arguments: { code: 'print(20+22)' } });
    expect(JSON.stringify(run.content)).toContain('42');
  } finally {
    await client.close();
  }
});
