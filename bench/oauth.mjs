// OAuth benchmark (run `npm run build` first, or `npm run bench -- oauth`): what verifying an
// OAuth access token costs per call, side by side with the static bearer token.
//   1. End to end: two built servers on one local backend, one with `--auth oauth` (JWT access
//      tokens from a real oidc-provider, JWKS fetched once and cached), one with `--auth token`.
//      The cheapest request of each era (2025: `ping`; 2026, which has no ping:
//      `resources/templates/list`) alternately on each — target: OAuth adds <= 0.2 ms per call at
//      the median.
//   2. The authentication step alone, in process: the OAuth gate (JWT signature, issuer, expiry,
//      audience) with its verified-token cache and without it, vs the static-token gate (SHA-256 +
//      timingSafeEqual), median per request.
// Options (env): BENCH_PINGS (default 2000 per server and era), BENCH_GATE (default 5000).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import { startAuthServer } from '../test/support/oidc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => join(root, 'dist', path);
const { startLocalBackend } = await import(dist('local/index.js'));
const { oauthAuth, staticTokenAuth } = await import(dist('auth/gate.js'));

const PINGS = Number(process.env.BENCH_PINGS ?? 2000);
const GATE = Number(process.env.BENCH_GATE ?? 5000);
const TARGET_MS = 0.2;
const STATIC_TOKEN = 'bench-static-token-0123456789abcdef';

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const ms = (n) => `${n.toFixed(3)} ms`;

/** Starts the built server and resolves with its URL (from the "Listening on" line). */
function startServer(args, env) {
  const child = spawn(process.execPath, [dist('cli.js'), '--http', '--port', '0', '--rate-limit', '0', '--max-calls-per-caller', '0', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      err += chunk;
      const url = /Listening on (\S+)/.exec(err)?.[1];
      if (url) resolve({ url, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${err}`)));
  });
}

async function connect(url, era, token) {
  const client = new Client({ name: 'bench-oauth', version: '1.0.0' }, { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-oauth-'));
const backend = await startLocalBackend({ stateDir });
const as = await startAuthServer();
const env = { ...getDefaultEnvironment(), HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url, HOPX_MCP_LOG_LEVEL: 'warn' };
const servers = [];
const clients = [];
let missed = false;
try {
  const oauthServer = await startServer(['--auth', 'oauth', '--issuer', as.issuer], env);
  const tokenServer = await startServer(['--auth', 'token'], { ...env, HOPX_MCP_AUTH_TOKEN: STATIC_TOKEN });
  servers.push(oauthServer, tokenServer);
  const accessToken = await as.token('writer', { resource: oauthServer.url });

  console.log(`1. end to end: ${PINGS} cheapest calls per server and era, alternating (OAuth JWT vs static token)`);
  for (const era of ['legacy', 'modern']) {
    const viaOauth = await connect(oauthServer.url, era, accessToken);
    const viaToken = await connect(tokenServer.url, era, STATIC_TOKEN);
    clients.push(viaOauth, viaToken);
    const times = { oauth: [], token: [] };
    const call = (client) => (era === 'legacy' ? client.ping() : client.listResourceTemplates());
    const one = async (client, into) => {
      const started = performance.now();
      await call(client);
      into.push(performance.now() - started);
    };
    for (let i = 0; i < 200; i++) await Promise.all([call(viaOauth), call(viaToken)]); // warm-up
    for (let i = 0; i < PINGS; i++) {
      // Alternate which goes first, so neither always follows the other's garbage.
      if (i % 2 === 0) {
        await one(viaOauth, times.oauth);
        await one(viaToken, times.token);
      } else {
        await one(viaToken, times.token);
        await one(viaOauth, times.oauth);
      }
    }
    // Each OAuth call is paired with the static-token call next to it: the median of the pair
    // differences follows the auth cost even while other work on the machine comes and goes.
    const added = median(times.oauth.map((t, i) => t - times.token[i]));
    const ok = added <= TARGET_MS;
    missed ||= !ok;
    console.log(
      `   ${era.padEnd(6)}  oauth p50 ${ms(median(times.oauth))}   token p50 ${ms(median(times.token))}   ` +
        `added (median of paired differences) ${ms(added)} (target <= ${TARGET_MS} ms) ${ok ? 'OK' : 'MISSED'}`,
    );
  }

  console.log(`\n2. the authentication step alone, in process, ${GATE} requests each`);
  const resource = new URL('http://127.0.0.1:1/mcp');
  const jwt = await as.token('writer', { resource: resource.href });
  const gates = {
    'oauth, verified-token cache (the default)': { gate: oauthAuth({ issuer: as.issuer, resource }), header: `Bearer ${jwt}` },
    'oauth, signature checked every time': { gate: oauthAuth({ issuer: as.issuer, resource, cacheSeconds: 0 }), header: `Bearer ${jwt}` },
    'static token': { gate: staticTokenAuth(STATIC_TOKEN), header: `Bearer ${STATIC_TOKEN}` },
  };
  const res = { writeHead: () => res, end: () => res, setHeader: () => {}, headersSent: false };
  for (const [name, { gate, header }] of Object.entries(gates)) {
    const req = { headers: { authorization: header } };
    if (!(await gate.authenticate(req, res))) throw new Error(`${name} gate refused its own token`);
    const times = [];
    for (let i = 0; i < GATE; i++) {
      const started = performance.now();
      await gate.authenticate(req, res);
      times.push(performance.now() - started);
    }
    console.log(`   ${name.padEnd(42)}  p50 ${ms(median(times))}`);
  }
} finally {
  await Promise.allSettled(clients.map((c) => c.close()));
  await Promise.allSettled(servers.map((s) => s.stop()));
  await as.close();
  await backend.close();
  await rm(stateDir, { recursive: true, force: true });
}
process.exit(missed ? 1 : 0);
