// Several hopx-mcp replicas on this machine, the way deploy/compose.yaml runs them: Redis, one
// shared HopX-compatible backend (`hopx-mcp local-backend`, standing in for HopX cloud: both
// replicas must reach the same sandboxes), N replicas in cloud mode with `--state redis://…`,
// and HAProxy with deploy/haproxy.cfg in front. Every program is real and listens on loopback
// ports chosen here.
//
// Used by the integration test (test/replicas) and the benchmark (bench/replicas.mjs); run it by
// hand to try it as an operator:
//
//   npm run build && node scripts/cluster.mjs            # prints the proxy URL and the pids
//
// Needs the redis-server and haproxy packages (see .ci/run). Ctrl+C stops everything.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
const HAPROXY_CFG = join(ROOT, 'deploy', 'haproxy.cfg');

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A child process whose output is kept (the tail, for errors; every line, for log assertions)
 * and whose readiness is a printed line.
 */
function run(name, command, args, { env = {}, ready, keepLines = true } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = { name, child, lines: [], tail: '', exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))) };
  let pending = '';
  const waiters = [];
  const onData = (chunk) => {
    const text = chunk.toString();
    proc.tail = (proc.tail + text).slice(-4000);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (keepLines) proc.lines.push(line);
      for (const w of [...waiters]) {
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  proc.waitFor = (pattern, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no line matching ${pattern} within ${timeoutMs} ms\n${proc.tail}`)), timeoutMs);
      const w = {
        pattern,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      waiters.push(w);
      proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        if (waiters.includes(w)) reject(new Error(`${name} exited (${code ?? signal}) before printing ${pattern}:\n${proc.tail}`));
      });
    });
  proc.ready = ready ? proc.waitFor(ready) : Promise.resolve('');
  /** Stops it (SIGTERM, or the given signal) and waits for it to exit. */
  proc.stop = async (signal = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return proc.exited;
  };
  return proc;
}

/** Log lines of a replica (pino JSON on stderr), parsed; other lines are skipped. */
export function jsonLines(lines) {
  const out = [];
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a partial line at a kill: not a log record
    }
  }
  return out;
}

/**
 * Starts the whole cluster. Options: replicas (default 2), idleSeconds (default 1800),
 * logLevel (default 'info'), replicaArgs ({ url }) => more replica flags (url: the MCP endpoint
 * through HAProxy, e.g. for --resource-url). Returns handles to every part:
 *   url            the MCP endpoint through HAProxy
 *   replicas[i]    { url, port, proc, logs() (every line of every run), stop(signal), start() }
 *   redis          { url, stop(), start() }    (same port and data after a restart)
 *   backend        { url, apiKey }
 *   close()        stops everything and removes the temp dirs
 */
export async function startCluster(options = {}) {
  const count = options.replicas ?? 2;
  const dir = await mkdtemp(join(tmpdir(), 'hopx-cluster-'));
  const parts = [];
  const cleanup = async () => {
    for (const p of parts.reverse()) await p.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Redis with an append-only file: a restart keeps the data, as a production Redis would.
    const redisPort = await freePort();
    const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', ''];
    const redis = {
      url: `redis://127.0.0.1:${redisPort}`,
      port: redisPort,
      proc: null,
      async start() {
        redis.proc = run('redis-server', 'redis-server', redisArgs, { ready: /Ready to accept connections/, keepLines: false });
        await redis.proc.ready;
      },
      async stop(signal) {
        await redis.proc?.stop(signal);
      },
    };
    await redis.start();
    parts.push(redis);

    // Its own temp dir: the sandbox uid must be able to enter it (mkdtemp dirs are 0700).
    const backendDir = await mkdtemp(join(tmpdir(), 'hopx-cluster-backend-'));
    parts.push({ stop: () => rm(backendDir, { recursive: true, force: true }) });
    const backendProc = run('local-backend', process.execPath, [CLI, 'local-backend', '--port', '0', '--state-dir', backendDir], {
      ready: /HOPX_API_KEY=/,
    });
    parts.push(backendProc);
    await backendProc.ready;
    const backend = {
      url: /HOPX_BASE_URL=(\S+)/.exec(backendProc.tail)[1],
      apiKey: /HOPX_API_KEY=(\S+)/.exec(backendProc.tail)[1],
      proc: backendProc,
    };

    const proxyPort = await freePort();
    const proxyUrl = `http://127.0.0.1:${proxyPort}/mcp`;
    const replicas = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const runs = [];
      const replica = {
        index: i,
        port,
        url: `http://127.0.0.1:${port}/mcp`,
        base: `http://127.0.0.1:${port}`,
        proc: null,
        /** Every log line of every run of this replica (kills and restarts included). */
        logs: () => runs.flatMap((r) => r.lines),
        async start() {
          const args = [
            CLI,
            '--http',
            '--port',
            String(port),
            '--state',
            redis.url,
            '--session-idle-seconds',
            String(options.idleSeconds ?? 1800),
            '--log-level',
            options.logLevel ?? 'info',
            ...(options.replicaArgs?.({ url: proxyUrl }) ?? []),
          ];
          replica.proc = run(`replica${i + 1}`, process.execPath, args, {
            env: { HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url },
            ready: /Listening on http/,
          });
          runs.push(replica.proc);
          await replica.proc.ready;
        },
        async stop(signal) {
          await replica.proc?.stop(signal);
        },
      };
      await replica.start();
      replicas.push(replica);
      parts.push(replica);
    }

    const statsPort = await freePort();
    const env = { HOPX_PROXY_BIND: `127.0.0.1:${proxyPort}`, HOPX_PROXY_STATS: `127.0.0.1:${statsPort}` };
    replicas.forEach((r, i) => (env[`HOPX_REPLICA_${i + 1}`] = `127.0.0.1:${r.port}`));
    if (count !== 2) throw new Error('deploy/haproxy.cfg names two replicas');
    const proxy = run('haproxy', 'haproxy', ['-db', '-f', HAPROXY_CFG], { env });
    parts.push(proxy);
    const cluster = {
      url: proxyUrl,
      proxyBase: `http://127.0.0.1:${proxyPort}`,
      /** HAProxy's view of each replica: "UP", "DOWN", ... (its health checks of /readyz). */
      serverStates: () => serverStates(`http://127.0.0.1:${statsPort}/stats;csv`),
      replicas,
      redis,
      backend,
      proxy,
      dir,
      close: cleanup,
    };
    // HAProxy is up once it answers; the replicas once it routes /readyz to a ready one.
    await waitUntil(
      async () => {
        if (proxy.child.exitCode !== null) throw new Error(`haproxy exited (${proxy.child.exitCode}):\n${proxy.tail}`);
        // A passed health check, not just the initial state (HAProxy starts servers as UP).
        const states = await cluster.serverStates();
        return replicas.every((r) => states[`replica${r.index + 1}`] === 'UP L7OK');
      },
      30_000,
      'HAProxy health checks passing on every replica',
    );
    return cluster;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** HAProxy's stats CSV → { replica1: "UP L7OK", ... } (status and last check result). */
export async function serverStates(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const [header, ...rows] = (await res.text()).trim().split('\n');
    const cols = header.replace(/^# /, '').split(',');
    const at = (row, name) => row.split(',')[cols.indexOf(name)];
    const out = {};
    for (const row of rows) if (at(row, 'pxname') === 'replicas' && at(row, 'svname').startsWith('replica')) out[at(row, 'svname')] = `${at(row, 'status')} ${at(row, 'check_status')}`;
    return out;
  } catch {
    return {};
  }
}

/** GET /readyz status code, or 0 when nothing answers. */
export async function readyz(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** Polls a state until it holds (a safety deadline, not a timing assumption). */
export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  let cluster;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await cluster?.close();
    process.exit(0);
  };
  // Registered first: a Ctrl+C while starting must not leave the programs running.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  cluster = await startCluster({ idleSeconds: Number(process.env.IDLE_SECONDS ?? 1800) });
  if (stopping) await cluster.close();
  process.stderr.write(
    [
      `MCP endpoint (HAProxy): ${cluster.url}`,
      ...cluster.replicas.map((r) => `replica${r.index + 1}: ${r.url} (pid ${r.proc.child.pid})`),
      `Redis: ${cluster.redis.url} (pid ${cluster.redis.proc.child.pid})`,
      `HopX local backend: ${cluster.backend.url} (pid ${cluster.backend.proc.child.pid})`,
      `HAProxy pid ${cluster.proxy.child.pid}. Ctrl+C stops everything.`,
      '',
    ].join('\n'),
  );
}
