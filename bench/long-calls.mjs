// Long-call benchmark (run `npm run build` first, or `npm run bench -- long-calls`): the built
// server over stdio, talking to a local backend started here (as in cloud mode: HTTP and the
// /execute/stream socket between them). docs/long-calls.md.
//   1. cancel -> the next call in that sandbox starts: a python loop (and a bash loop) is running
//      and printing; the client cancels it and at once calls sandbox_run_code (sandbox_run_command)
//      whose code prints the time it started. Target: median <= 300 ms (it was 54 s before: the
//      next run waited for the cancelled one's timeout).
//   2. a printed line -> its progress notification at the client: python prints lines stamped
//      with the time of printing; each line's latency is the client's receive time minus that
//      stamp. Sparse lines (one every 400 ms: each goes out at once) and dense ones (every 20 ms:
//      the 250 ms throttle applies). Target: median <= 300 ms.
// Both clocks are this machine's wall clock (Date.now / time.time), in ms.
// Options (env): BENCH_CANCELS (default 20), BENCH_LINES (default 40).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startLocalBackend } = await import(join(root, 'dist', 'local', 'index.js'));

const CANCELS = Number(process.env.BENCH_CANCELS ?? 20);
const LINES = Number(process.env.BENCH_LINES ?? 40);
const TARGET_MS = 300;

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const median = (values) => quantile(values, 0.5);
const ms = (n) => `${n.toFixed(1)} ms`;
const verdict = (ok) => (ok ? 'OK' : 'MISSED');
const text = (r) => (r.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

const PYTHON_LOOP = "import time\ni = 0\nwhile True:\n    i += 1\n    print(f'count {i}', flush=True)\n    time.sleep(0.05)";
const BASH_LOOP = 'i=0; while true; do i=$((i+1)); echo "count $i"; sleep 0.05; done';

const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-long-'));
const backend = await startLocalBackend({ stateDir });
const env = { ...getDefaultEnvironment(), HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url, HOPX_MCP_LOG_LEVEL: 'warn' };
const client = new Client({ name: 'bench-long-calls', version: '1.0.0' });
let failed = false;

async function call(name, args, options) {
  const r = await client.callTool({ name, arguments: args }, options);
  if (r.isError) throw new Error(`${name}: ${text(r)}`);
  return r;
}

/** Starts `name` with a loop, waits until its output shows in progress, cancels; ms from cancel to the next call's start. */
async function cancelThenNext(name, loopArgs, nextArgs, startedAt) {
  const controller = new AbortController();
  let counting;
  const seen = new Promise((resolve) => (counting = resolve));
  const pending = client.callTool(
    { name, arguments: loopArgs },
    { signal: controller.signal, onprogress: (p) => /count \d+/.test(p.message ?? '') && counting(), resetTimeoutOnProgress: true, timeout: 600_000 },
  );
  pending.catch(() => {});
  await seen;
  const cancelledAt = Date.now();
  controller.abort('bench cancel');
  const next = await call(nextArgs.tool, nextArgs.args);
  const answeredAt = Date.now();
  return { start: startedAt(next) - cancelledAt, answer: answeredAt - cancelledAt };
}

try {
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(root, 'dist', 'cli.js')], env }));
  await call('sandbox_create', {});
  await call('sandbox_run_code', { code: 'import time' });

  // ------------------------------------------------------------------ 1. cancel -> next call starts
  const nextPython = { tool: 'sandbox_run_code', args: { code: 'import time\nprint(int(time.time() * 1000))' } };
  const nextBash = { tool: 'sandbox_run_command', args: { command: 'date +%s%3N' } };
  const stamp = (r) => Number(r.structuredContent.stdout.trim());
  const results = { python: [], bash: [] };
  for (let i = 0; i < CANCELS; i++) {
    results.python.push(await cancelThenNext('sandbox_run_code', { code: PYTHON_LOOP, timeout_seconds: 120 }, nextPython, stamp));
    results.bash.push(await cancelThenNext('sandbox_run_command', { command: BASH_LOOP, timeout_seconds: 120 }, nextBash, stamp));
  }
  console.log(`\n1. cancel -> the next call in that sandbox starts (${CANCELS} runs each; target median <= ${TARGET_MS} ms)`);
  for (const [label, rows] of [['python loop -> sandbox_run_code', results.python], ['bash loop -> sandbox_run_command', results.bash]]) {
    const starts = rows.map((r) => r.start);
    const answers = rows.map((r) => r.answer);
    const ok = median(starts) <= TARGET_MS;
    failed ||= !ok;
    console.log(`   ${label.padEnd(34)} starts: median ${ms(median(starts))} p90 ${ms(quantile(starts, 0.9))}; answered: median ${ms(median(answers))}  ${verdict(ok)}`);
  }

  // ------------------------------------------------------------ 2. printed line -> its progress
  console.log(`\n2. a printed line -> its progress notification at the client (${LINES} lines each; target median <= ${TARGET_MS} ms)`);
  for (const [label, gap] of [['sparse (a line every 400 ms)', 0.4], ['dense (a line every 20 ms)', 0.02]]) {
    const code = `import time\nfor i in range(${LINES}):\n    print(f'line {i} {time.time() * 1000:.1f}', flush=True)\n    time.sleep(${gap})`;
    const latency = new Map();
    await call('sandbox_run_code', { code, timeout_seconds: 300 }, {
      onprogress: (p) => {
        const now = Date.now();
        for (const m of (p.message ?? '').matchAll(/^line (\d+) ([\d.]+)$/gm)) {
          if (!latency.has(m[1])) latency.set(m[1], now - Number(m[2]));
        }
      },
      resetTimeoutOnProgress: true,
    });
    const values = [...latency.values()];
    const ok = values.length > 0 && median(values) <= TARGET_MS;
    failed ||= !ok;
    console.log(`   ${label.padEnd(30)} median ${ms(median(values))} p90 ${ms(quantile(values, 0.9))} (${values.length}/${LINES} lines shown; the rest scrolled past between notifications)  ${verdict(ok)}`);
  }
} finally {
  await client.close().catch(() => {});
  await backend.close();
  await rm(stateDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
