// MCP benchmark (run `npm run build` first, or `npm run bench -- mcp`). Everything talks to one
// local backend started here, so MCP overhead is measured against the same sandboxes:
//   1. sandbox_run_code (python `1+1`) through hopx-mcp over stdio vs the same call through the
//      HopX client directly, interleaved — target: MCP adds <= 1 ms at the median.
//   2. cold start: spawn of dist/cli.js to the initialize response — target <= 300 ms — and to
//      the reply of a first call that needs the backend (the handshake does not wait for it)
//      (cloud mode = no local backend to start; local mode = backend started in process).
//   3. HTTP: 100 concurrent conversations (2025-era sessions) calling a tool that round-trips to
//      the backend, plus 100 concurrent 2026-era clients; calls/s, p50/p99, server RSS.
// Options (env): BENCH_RUNS (default 60), BENCH_COLD (default 10), BENCH_CONVERSATIONS (100),
// BENCH_CALLS (calls per conversation, default 10).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => join(root, 'dist', path);
const CLI = dist('cli.js');
const { startLocalBackend } = await import(dist('local/index.js'));
const { HopxClient } = await import(dist('client/index.js'));

const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const COLD = Number(process.env.BENCH_COLD ?? 10);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 100);
const CALLS = Number(process.env.BENCH_CALLS ?? 10);

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values) => quantile(values, 0.5);
const ms = (n) => `${n.toFixed(2)} ms`;
const verdict = (ok) => (ok ? 'OK' : 'MISSED');

const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-mcp-'));
const backend = await startLocalBackend({ stateDir });
const cloudEnv = { ...getDefaultEnvironment(), HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url, HOPX_MCP_LOG_LEVEL: 'warn' };

async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

try {
  // ---------------------------------------------------------------- 1. MCP over stdio vs direct
  const direct = new HopxClient({ apiKey: backend.apiKey, baseUrl: backend.url });
  const sandbox = await direct.sandboxes.create({ template: 'code-interpreter', timeoutSeconds: 600 });
  const agent = direct.agent(sandbox.id);

  const mcp = new Client({ name: 'bench', version: '1.0.0' });
  await mcp.connect(new StdioClientTransport({ command: process.execPath, args: [CLI], env: cloudEnv }));
  const created = await mcp.callTool({ name: 'sandbox_create', arguments: { template: 'code-interpreter' } });
  if (created.isError) throw new Error(`sandbox_create failed: ${JSON.stringify(created.content)}`);

  const viaMcp = async () => {
    const result = await mcp.callTool({ name: 'sandbox_run_code', arguments: { code: '1+1' } });
    if (result.isError) throw new Error(JSON.stringify(result.content));
  };
  const viaClient = async () => {
    await agent.code.run({ code: '1+1' });
  };
  for (let i = 0; i < 5; i++) await Promise.all([viaMcp(), viaClient()]).catch((e) => { throw e; });
  const mcpTimes = [];
  const clientTimes = [];
  for (let i = 0; i < RUNS; i++) {
    for (const [fn, into] of i % 2 ? [[viaMcp, mcpTimes], [viaClient, clientTimes]] : [[viaClient, clientTimes], [viaMcp, mcpTimes]]) {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    }
  }
  await mcp.close();
  await direct.sandboxes.kill(sandbox.id);
  await direct.close();
  const overhead = median(mcpTimes) - median(clientTimes);
  console.log(`\n1. sandbox_run_code python "1+1", ${RUNS} runs each, interleaved`);
  console.log(`   direct client     median ${ms(median(clientTimes))}  p90 ${ms(quantile(clientTimes, 0.9))}`);
  console.log(`   MCP over stdio    median ${ms(median(mcpTimes))}  p90 ${ms(quantile(mcpTimes, 0.9))}`);
  console.log(`   MCP overhead      ${ms(overhead)} (ratio ${(median(mcpTimes) / median(clientTimes)).toFixed(3)}x)  target <= 1 ms: ${verdict(overhead <= 1)}`);

  // ---------------------------------------------------------------- 2. cold start
  // Spawn -> initialize response (the handshake target), and spawn -> the reply to a first call
  // that needs the backend (the stdio server answers the handshake before its backend is up).
  const coldStart = (env) =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'ignore'] });
      const send = (message) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
      let buffer = '';
      let initialized;
      child.once('exit', (code) => reject(new Error(`exited ${code} before answering`)));
      child.stdout.on('data', (chunk) => {
        buffer += chunk;
        for (let newline; (newline = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(newline + 1)) {
          const message = JSON.parse(buffer.slice(0, newline));
          if (message.id === 1) {
            initialized = performance.now() - t0;
            send({ method: 'notifications/initialized' });
            send({ id: 2, method: 'tools/call', params: { name: 'sandbox_list_templates', arguments: {} } });
          } else if (message.id === 2) {
            if (message.error || message.result?.isError) return reject(new Error(JSON.stringify(message)));
            const firstCall = performance.now() - t0;
            child.removeAllListeners('exit');
            child.once('exit', () => resolve({ initialized, firstCall }));
            child.stdin.end();
          }
        }
      });
      send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
    });
  const localEnv = { ...getDefaultEnvironment(), HOPX_MCP_STATE_DIR: stateDir, HOPX_MCP_LOG_LEVEL: 'warn' };
  const coldCloud = [];
  const coldLocal = [];
  for (let i = 0; i < COLD; i++) {
    coldCloud.push(await coldStart(cloudEnv));
    coldLocal.push(await coldStart(localEnv));
  }
  console.log(`\n2. cold start, spawn -> initialize response (and -> first backend call), ${COLD} runs each`);
  for (const [label, runs] of [['cloud mode (no local backend)  ', coldCloud], ['local backend in process       ', coldLocal]]) {
    const init = runs.map((r) => r.initialized);
    const first = runs.map((r) => r.firstCall);
    console.log(
      `   ${label} median ${ms(median(init))}  max ${ms(Math.max(...init))}  target <= 300 ms: ${verdict(median(init) <= 300)}` +
        `   first call median ${ms(median(first))}`,
    );
  }

  // ---------------------------------------------------------------- 3. HTTP, many conversations
  // Every client here is the one anonymous caller: per-caller limits off, or they would measure 429s.
  const server = spawn(process.execPath, [CLI, '--http', '--port', '0', '--max-sessions', String(CONVERSATIONS + 10), '--max-calls-per-caller', '0', '--rate-limit', '0'], {
    env: cloudEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let serverErr = '';
  const url = await new Promise((resolve, reject) => {
    server.stderr.on('data', (chunk) => {
      serverErr += chunk;
      const match = /Listening on (\S+)/.exec(serverErr);
      if (match) resolve(match[1]);
    });
    server.once('exit', (code) => reject(new Error(`HTTP server exited ${code}: ${serverErr}`)));
  });
  const rssIdle = await rssOf(server.pid);

  const runHttp = async (era) => {
    const clients = await Promise.all(
      Array.from({ length: CONVERSATIONS }, async () => {
        const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } });
        await client.connect(new StreamableHTTPClientTransport(new URL(url)));
        return client;
      }),
    );
    const latencies = [];
    let peakRss = await rssOf(server.pid);
    const sampler = setInterval(() => rssOf(server.pid).then((r) => (peakRss = Math.max(peakRss, r)), () => {}), 100);
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < CALLS; i++) {
          const s = performance.now();
          const result = await client.callTool({ name: 'sandbox_list_templates', arguments: {} });
          if (result.isError) throw new Error(JSON.stringify(result.content));
          latencies.push(performance.now() - s);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await Promise.all(clients.map((c) => c.close()));
    return { calls: latencies.length, rate: latencies.length / seconds, p50: median(latencies), p99: quantile(latencies, 0.99), peakRss };
  };
  console.log(`\n3. streamable HTTP, ${CONVERSATIONS} concurrent clients x ${CALLS} calls of sandbox_list_templates (a backend round trip)`);
  console.log(`   server RSS idle ${rssIdle.toFixed(1)} MB`);
  for (const era of ['legacy', 'modern']) {
    const r = await runHttp(era);
    const what = era === 'legacy' ? `${CONVERSATIONS} sessions (2025 era)` : `${CONVERSATIONS} clients (2026 era, one caller)`;
    console.log(`   ${what.padEnd(36)} ${r.rate.toFixed(0)} calls/s  p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  peak RSS ${r.peakRss.toFixed(1)} MB`);
  }
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
} finally {
  await backend.close();
  await rm(stateDir, { recursive: true, force: true });
}
