// Output benchmark (run `npm run build` first, or `npm run bench -- output`): one run that prints
// 100 MB, through the built server over stdio with its local backend in process (the server's RSS
// includes the backend). Target: the server's RSS grows <= 64 MB over its level before the run,
// and the result still arrives, naming the sandbox file that holds the whole output (checked by
// size). Once for a shell command and once for Python (through the kernel).
// Options (env): BENCH_OUTPUT_MB (default 100).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MB = Number(process.env.BENCH_OUTPUT_MB ?? 100);
const TARGET_MB = 64;
const LINES = MB * 10_000; // 100-byte lines

async function rssMb(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

const runs = [
  ['sandbox_run_command', { command: `yes 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | head -n ${LINES}`, timeout_seconds: 300 }, 'shell command (yes | head)'],
  ['sandbox_run_code', { code: `import sys\nline = "x" * 99 + "\\n"\nfor _ in range(${LINES / 1000}):\n    sys.stdout.write(line * 1000)`, timeout_seconds: 300 }, 'python (kernel)'],
];
let failed = false;
console.log(`\n${MB} MB of output from one run, each in a fresh server; its RSS sampled every 20 ms (target: growth <= ${TARGET_MB} MB)`);
for (const [tool, args, label] of runs) {
  const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-output-'));
  const env = { ...getDefaultEnvironment(), HOPX_MCP_LOG_LEVEL: 'warn' };
  delete env.HOPX_API_KEY;
  const transport = new StdioClientTransport({ command: process.execPath, args: [join(root, 'dist', 'cli.js'), '--state-dir', stateDir], env });
  const client = new Client({ name: 'bench-output', version: '1.0.0' });
  try {
    await client.connect(transport);
    const pid = transport.pid;
    const call = async (name, a) => {
      const r = await client.callTool({ name, arguments: a }, { timeout: 600_000 });
      if (r.isError) throw new Error(`${name}: ${r.content?.[0]?.text}`);
      return r;
    };
    await call('sandbox_create', {});
    // Warm up the same path (kernel started, code loaded) so the baseline is the steady state.
    if (tool === 'sandbox_run_code') await call(tool, { code: 'print("x" * 3_000_000)' });
    else await call(tool, { command: 'yes | head -n 1500000' });
    const before = await rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => {
      rssMb(pid).then((v) => (peak = Math.max(peak, v)), () => undefined);
    }, 20);
    const t0 = performance.now();
    const r = await call(tool, args);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, await rssMb(pid));
    const sc = r.structuredContent;
    const path = sc.stdout_full_path;
    const size = path ? (await call('sandbox_run_command', { command: `wc -c < ${path}` })).structuredContent.stdout.trim() : 'none';
    const growth = peak - before;
    const ok = growth <= TARGET_MB && sc.truncated && Number(size) === MB * 1_000_000;
    if (!ok) failed = true;
    console.log(
      `  ${label}: ${seconds.toFixed(1)} s; RSS ${before.toFixed(0)} → peak ${peak.toFixed(0)} MB (growth ${growth.toFixed(1)} MB); ` +
        `result ${JSON.stringify(r).length} chars, whole kept at ${path} (${size} bytes) — ${ok ? 'OK' : 'MISSED'}`,
    );
  } catch (err) {
    failed = true;
    console.error(err);
  } finally {
    await client.close().catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
process.exit(failed ? 1 : 0);
