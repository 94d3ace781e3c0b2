/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance 0.1.16) against the HTTP
 * server with the test-only fixtures. Node 20 needs the globSync shim (node20-compat.mjs).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startConformanceServer } from './server.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const CLI = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url));

let server: Awaited<ReturnType<typeof startConformanceServer>>;
let checksDir: string;
beforeAll(async () => {
  server = await startConformanceServer();
  checksDir = await mkdtemp(join(tmpdir(), 'hopx-conformance-'));
});
afterAll(async () => {
  await server?.close();
  if (checksDir) await rm(checksDir, { recursive: true, force: true });
});

/** The failed checks with their messages, from the per-scenario checks.json files (-o). */
async function failedChecks(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const scenario of await readdir(dir)) {
    const checks = JSON.parse(await readFile(join(dir, scenario, 'checks.json'), 'utf8')) as Array<{
      id: string;
      status: string;
      errorMessage?: string;
    }>;
    for (const check of checks.filter((c) => c.status === 'FAILURE' || c.status === 'WARNING')) {
      lines.push(`${scenario} [${check.id}] ${check.status}: ${check.errorMessage ?? ''}`);
    }
  }
  return lines;
}

function runSuite(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NODE_OPTIONS: `--import ${here('./node20-compat.mjs')}`, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

it('passes the whole server suite, pending scenarios included (expected-failures.yml lists any exception)', { timeout: 180_000 }, async () => {
  // The suite insists on a localhost URL (dns-rebinding-protection).
  const url = server.url.replace('127.0.0.1', 'localhost');
  const { code, output } = await runSuite([
    'server',
    '--url',
    url,
    '--suite',
    'all',
    '--expected-failures',
    here('./expected-failures.yml'),
    '-o',
    checksDir,
  ]);
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  if (code !== 0) console.error((await failedChecks(checksDir).catch(() => [output])).join('\n'));
  expect(code, summary).toBe(0);
  // Exit 0 alone would also follow a run that found no scenarios: 0.1.16 has 30 active and 2
  // pending server scenarios, each leaving its checks.json.
  expect((await readdir(checksDir)).length, summary).toBeGreaterThanOrEqual(32);
  expect(Number(/Total: (\d+) passed, 0 failed/.exec(summary)?.[1] ?? 0), summary).toBeGreaterThanOrEqual(32);

  // SSE polling (SEP-1699) passes for the right reason: the POST stream was primed with an event
  // id and a retry field, closed mid-call, and the result came back on the resumed GET stream.
  const polling = (await readdir(checksDir)).find((d) => d.includes('sse-polling'));
  expect(polling, (await readdir(checksDir)).join(' ')).toBeDefined();
  const checks = JSON.parse(await readFile(join(checksDir, polling!, 'checks.json'), 'utf8')) as Array<{ id: string; status: string }>;
  const status = (id: string) => checks.find((c) => c.id === id)?.status;
  expect(status('server-sse-priming-event')).toBe('SUCCESS');
  expect(status('server-sse-retry-field')).toBe('SUCCESS');
  expect(status('server-sse-disconnect-resume')).toBe('SUCCESS');
});
