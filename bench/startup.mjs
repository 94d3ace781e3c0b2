// Time to first useful answer (issue 8 §7), over stdio, medians of BENCH_STARTS spawns each:
//
//   A. spawn of dist/cli.js → the answer to the first tools/list (sent, as clients do, right
//      after the initialize response), in both modes: local (no HOPX_API_KEY: the backend starts
//      in the server's process) and cloud (HOPX_API_KEY + HOPX_BASE_URL at a local backend that
//      this script started). Target <= 350 ms.
//   B. spawn → the result of the first sandbox_run_code ("1+1") on a fresh local sandbox, going
//      the way a client does: initialize, tools/list, sandbox_create, sandbox_run_code. Target
//      <= 600 ms.
//   C. MCP overhead: sandbox_run_code "1+1" through one long-lived server over stdio against the
//      same call made directly with the HopX client, interleaved, BENCH_RUNS each, in both modes
//      (local: the server's in-process backend vs the direct client on this script's backend, the
//      same code; cloud: both on this script's backend). Target <= 1 ms at the median.
//
// All three are measured in this one run, so their figures are comparable; each line prints the
// median, the target and the ratio median / target. Run `npm run build` first (`npm run bench --
// startup` does). Options (env): BENCH_STARTS (default 15), BENCH_RUNS (default 60), BENCH_CLI.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// BENCH_CLI: another build's cli.js (say, an older commit's), to compare before and after.
const CLI = process.env.BENCH_CLI ?? join(root, 'dist', 'cli.js');
const { startLocalBackend } = await import(join(root, 'dist', 'local', 'index.js'));
const { HopxClient } = await import(join(root, 'dist', 'client', 'index.js'));

const STARTS = Number(process.env.BENCH_STARTS ?? 15);
const RUNS = Number(process.env.BENCH_RUNS ?? 60);
const TARGET = { toolsList: 350, firstRun: 600, overhead: 1 };

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values) => quantile(values, 0.5);
const ms = (n) => `${n.toFixed(n < 10 ? 2 : 0)} ms`.padStart(9);
const line = (label, values, target) => {
  const m = median(values);
  const verdict = m <= target ? 'OK' : 'MISSED';
  console.log(
    `   ${label.padEnd(44)} median ${ms(m)}  p90 ${ms(quantile(values, 0.9))}  target ${ms(target)}  ratio ${(m / target).toFixed(2)}  ${verdict}`,
  );
};

/**
 * A server process driven by raw JSON-RPC lines, so that nothing but the server is timed. `at`
 * is the spawn time; `request` resolves with the message answering it.
 */
function startServer(env) {
  const at = performance.now();
  const child = spawn(process.execPath, [CLI], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting = new Map();
  let stderr = '';
  let buffer = '';
  let nextId = 1;
  child.stderr.on('data', (chunk) => (stderr += chunk));
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    for (let newline; (newline = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(newline + 1)) {
      const message = JSON.parse(buffer.slice(0, newline));
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const send = (message) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  const request = (method, params) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, (message) => {
        if (message.error || message.result?.isError) reject(new Error(`${method}: ${JSON.stringify(message)}\n${stderr}`));
        else resolve(message.result);
      });
      send({ id, method, params });
      void exited.then((code) => reject(new Error(`server exited ${code} during ${method}:\n${stderr}`)));
    });
  const initialize = async () => {
    await request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } });
    send({ method: 'notifications/initialized' });
  };
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  return { at, request, initialize, stop };
}

const callTool = (server, name, args = {}) => server.request('tools/call', { name, arguments: args });

async function toolsList(env) {
  const server = startServer(env);
  await server.initialize();
  await server.request('tools/list', {});
  const elapsed = performance.now() - server.at;
  await server.stop();
  return elapsed;
}

async function firstRun(env) {
  const server = startServer(env);
  await server.initialize();
  await server.request('tools/list', {});
  await callTool(server, 'sandbox_create', {});
  const result = await callTool(server, 'sandbox_run_code', { code: '1+1' });
  const elapsed = performance.now() - server.at;
  if (!JSON.stringify(result).includes('2')) throw new Error(`unexpected result ${JSON.stringify(result)}`);
  await server.stop(); // the conversation ends: its sandbox is killed before the process exits
  return elapsed;
}

async function overhead(env, direct) {
  const server = startServer(env);
  await server.initialize();
  await callTool(server, 'sandbox_create', {});
  const sandbox = await direct.sandboxes.create({ template: 'code-interpreter', timeoutSeconds: 600 });
  const agent = direct.agent(sandbox.id);
  const viaMcp = () => callTool(server, 'sandbox_run_code', { code: '1+1' });
  const viaClient = () => agent.code.run({ code: '1+1' });
  for (let i = 0; i < 5; i++) {
    await viaMcp();
    await viaClient();
  }
  const mcp = [];
  const client = [];
  for (let i = 0; i < RUNS; i++) {
    for (const [fn, into] of i % 2 ? [[viaMcp, mcp], [viaClient, client]] : [[viaClient, client], [viaMcp, mcp]]) {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    }
  }
  await server.stop();
  await direct.sandboxes.kill(sandbox.id);
  return { mcp, client };
}

// Each state dir is made by mkdtemp itself: a sandbox's uid must be able to enter its parent.
const sharedState = await mkdtemp(join(tmpdir(), 'hopx-bench-startup-'));
const serverState = await mkdtemp(join(tmpdir(), 'hopx-bench-startup-'));
const backend = await startLocalBackend({ stateDir: sharedState });
const direct = new HopxClient({ apiKey: backend.apiKey, baseUrl: backend.url });
const base = { PATH: process.env.PATH, HOME: process.env.HOME, HOPX_MCP_LOG_LEVEL: 'warn', HOPX_MCP_LOG_FORMAT: 'json' };
const localEnv = { ...base, HOPX_MCP_STATE_DIR: serverState };
const cloudEnv = { ...base, HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url };

try {
  // One unmeasured start each: the first spawn pays for cold disk caches.
  await toolsList(localEnv);
  await toolsList(cloudEnv);
  const list = { local: [], cloud: [] };
  const run = { local: [], cloud: [] };
  for (let i = 0; i < STARTS; i++) {
    list.local.push(await toolsList(localEnv));
    list.cloud.push(await toolsList(cloudEnv));
    run.local.push(await firstRun(localEnv));
    run.cloud.push(await firstRun(cloudEnv));
  }
  const local = await overhead(localEnv, direct);
  const cloud = await overhead(cloudEnv, direct);

  console.log(`time to first useful answer over stdio, ${CLI} (${STARTS} spawns each; overhead ${RUNS} interleaved calls each)`);
  console.log('A. spawn -> first tools/list answer');
  line('local backend (no HOPX_API_KEY)', list.local, TARGET.toolsList);
  line('cloud mode (HOPX_API_KEY, backend elsewhere)', list.cloud, TARGET.toolsList);
  console.log('B. spawn -> first sandbox_run_code "1+1" result (fresh sandbox)');
  line('local backend (no HOPX_API_KEY)', run.local, TARGET.firstRun);
  line('cloud mode (HOPX_API_KEY, backend elsewhere)', run.cloud, TARGET.firstRun);
  console.log('C. sandbox_run_code "1+1": through MCP over stdio vs the HopX client directly');
  for (const [label, r] of [['local backend', local], ['cloud mode', cloud]]) {
    const extra = r.mcp.map((_, i) => r.mcp[i] - r.client[i]);
    console.log(`   ${label}: direct median ${ms(median(r.client))}, MCP median ${ms(median(r.mcp))} (MCP / direct ${(median(r.mcp) / median(r.client)).toFixed(2)})`);
    const added = median(r.mcp) - median(r.client);
    console.log(
      `      MCP overhead ${ms(added)} (median of paired differences ${ms(median(extra))})  target ${ms(TARGET.overhead)}  ratio ${(added / TARGET.overhead).toFixed(2)}  ${added <= TARGET.overhead ? 'OK' : 'MISSED'}`,
    );
  }
} finally {
  await direct.close();
  await backend.close();
  for (const dir of [sharedState, serverState]) await rm(dir, { recursive: true, force: true });
}
