// Replicas benchmark (run `npm run build` first, or `npm run bench -- replicas`): what sharing state
// through Redis costs. 100 concurrent 2026-era conversations, each calling a tool that round-trips
// to the backend (sandbox_list_templates), against:
//   A. one replica, in-memory state (the default), and
//   B. two replicas with --state redis://… behind HAProxy (deploy/haproxy.cfg), via
//      scripts/cluster.mjs: real redis-server and haproxy.
// Target: B's calls/s >= 0.8 x A's; p50/p99 latency reported for both.
//
// One conversation per caller: each of the 100 clients is its own OAuth client (registered at a
// real oidc-provider, RFC 7591) with its own token, so it is its own identity and conversation
// (without authentication every client would be the one anonymous caller). Both setups verify
// the same tokens, so that cost is the same on both sides. Per-caller limits are off (they would
// measure 429s). The two setups run alternately, BENCH_ROUNDS times each; the medians compare.
// Options (env): BENCH_CONVERSATIONS (100), BENCH_CALLS (calls per conversation, 20), BENCH_ROUNDS (2).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { freePort, startCluster } from '../scripts/cluster.mjs';
import { startAuthServer } from '../test/support/oidc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(root, 'dist', 'cli.js');
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 100);
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TARGET_RATIO = 0.8;

const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);
const ms = (n) => `${n.toFixed(1)} ms`;

const common = ['--rate-limit', '0', '--max-calls-per-caller', '0', '--max-sessions', String(CONVERSATIONS * 4), '--log-level', 'warn'];

const auth = await startAuthServer();
let cluster;
let single;
try {
  // One OAuth client per conversation.
  const credentials = [];
  for (let i = 0; i < CONVERSATIONS; i++) {
    const res = await fetch(`${auth.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' }),
    });
    const json = await res.json();
    if (!json.client_id) throw new Error(`client registration failed: ${JSON.stringify(json)}`);
    credentials.push({ id: json.client_id, secret: json.client_secret });
  }
  const tokensFor = (resource) =>
    Promise.all(
      credentials.map(async ({ id, secret }) => {
        const res = await fetch(auth.tokenEndpoint, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'sandbox:read sandbox:write', resource }),
        });
        const json = await res.json();
        if (!json.access_token) throw new Error(`token for ${id} failed: ${JSON.stringify(json)}`);
        return json.access_token;
      }),
    );

  // B: two replicas on Redis behind HAProxy (also starts the shared local backend).
  cluster = await startCluster({
    logLevel: 'warn',
    replicaArgs: ({ url }) => ['--auth', 'oauth', '--issuer', auth.issuer, '--resource-url', url, ...common],
  });

  // A: one replica, in-memory state, on the same backend.
  const port = await freePort();
  const singleUrl = `http://127.0.0.1:${port}/mcp`;
  single = spawn(process.execPath, [CLI, '--http', '--port', String(port), '--auth', 'oauth', '--issuer', auth.issuer, '--resource-url', singleUrl, ...common], {
    env: { ...process.env, HOPX_API_KEY: cluster.backend.apiKey, HOPX_BASE_URL: cluster.backend.url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let err = '';
    single.stderr.on('data', (chunk) => {
      err += chunk;
      if (/Listening on/.test(err)) resolve();
    });
    single.once('exit', (code) => reject(new Error(`single replica exited ${code}: ${err}`)));
  });

  const run = async (url) => {
    const tokens = await tokensFor(url);
    const clients = await Promise.all(
      tokens.map(async (token) => {
        const client = new Client({ name: 'bench', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
        await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
        // Warm-up call: the conversation exists before the clock starts.
        const r = await client.callTool({ name: 'sandbox_list_templates', arguments: {} });
        if (r.isError) throw new Error(JSON.stringify(r.content));
        return client;
      }),
    );
    const latencies = [];
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
    await Promise.all(clients.map((c) => c.close()));
    return { rate: latencies.length / seconds, p50: median(latencies), p99: quantile(latencies, 0.99) };
  };

  const results = { single: [], cluster: [] };
  for (let round = 0; round < ROUNDS; round++) {
    results.single.push(await run(singleUrl));
    try {
      results.cluster.push(await run(cluster.url));
    } catch (error) {
      // Say why HAProxy had no replica: its own log and the replicas' last lines.
      console.error(`HAProxy:\n${cluster.proxy.tail}`);
      for (const r of cluster.replicas) console.error(`replica${r.index + 1}:\n${r.proc.tail.slice(-1500)}`);
      throw error;
    }
  }

  console.log(`\n${CONVERSATIONS} concurrent 2026-era conversations (one OAuth caller each) x ${CALLS} calls of sandbox_list_templates, ${ROUNDS} rounds each, alternating`);
  const summary = {};
  for (const [name, label] of [
    ['single', 'A. one replica, memory state       '],
    ['cluster', 'B. two replicas + Redis via HAProxy '],
  ]) {
    const rs = results[name];
    summary[name] = median(rs.map((r) => r.rate));
    console.log(
      `   ${label} ${summary[name].toFixed(0)} calls/s (rounds: ${rs.map((r) => r.rate.toFixed(0)).join(', ')})` +
        `  p50 ${ms(median(rs.map((r) => r.p50)))}  p99 ${ms(median(rs.map((r) => r.p99)))}`,
    );
  }
  const ratio = summary.cluster / summary.single;
  console.log(`   ratio B/A ${ratio.toFixed(2)}  target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'OK' : 'MISSED'}`);
  console.log('   (2 cores shared by the bench client, the backend, the replicas, Redis and HAProxy)');
} finally {
  if (single && single.exitCode === null) {
    single.kill('SIGTERM');
    await new Promise((resolve) => single.once('exit', resolve));
  }
  await cluster?.close();
  await auth.close();
}
