// Desktop benchmark (run `npm run build` first, or `npm run bench -- desktop`): a screenshot of a
// 1280x800 desktop with a window on it, from the call to the image content in the client's hands.
//   1. sandbox_desktop_screenshot through hopx-mcp over stdio (the whole path: MCP, HopX client,
//      local agent, in-sandbox helper, PNG encode, base64) — target: median <= 150 ms.
//   2. the same screenshot through the HopX client directly, to show what MCP adds.
// Options (env): BENCH_RUNS (default 40).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => join(root, 'dist', path);
const { startLocalBackend } = await import(dist('local/index.js'));
const { HopxClient } = await import(dist('client/index.js'));

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const TARGET_MS = 150;
const quantile = (values, q) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))];
const median = (values) => quantile(values, 0.5);
const ms = (n) => `${n.toFixed(1)} ms`;

const APP = `
import tkinter as tk
r = tk.Tk(); r.title("Bench"); r.geometry("900x600+100+80")
t = tk.Text(r, font=("TkFixedFont", 11))
t.insert("1.0", "\\n".join("line %d: the quick brown fox jumps over the lazy dog 0123456789" % i for i in range(60)))
t.pack(fill="both", expand=True)
r.mainloop()
`;

const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-desktop-'));
const backend = await startLocalBackend({ stateDir });
try {
  if (!backend.probe.desktop.available) {
    console.log(`SKIPPED: no desktop template (${backend.probe.desktop.missing.join(', ')} missing)`);
    process.exit(0);
  }
  const env = { ...getDefaultEnvironment(), HOPX_API_KEY: backend.apiKey, HOPX_BASE_URL: backend.url, HOPX_MCP_LOG_LEVEL: 'warn' };
  const mcp = new Client({ name: 'bench', version: '1.0.0' });
  await mcp.connect(new StdioClientTransport({ command: process.execPath, args: [dist('cli.js'), '--toolsets', 'sandbox,commands,files,desktop'], env }));
  const call = async (name, args) => {
    const result = await mcp.callTool({ name, arguments: args });
    if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content)}`);
    return result;
  };
  const created = await call('sandbox_create', { template: 'desktop' });
  const sandboxId = created.structuredContent.sandbox_id ?? created.structuredContent.id;
  await call('sandbox_write_file', { path: '/workspace/bench.py', content: APP });
  await call('sandbox_run_command', { command: 'python3 /workspace/bench.py', background: true, timeout_seconds: 3600 });
  // Wait for the window (a reason, not a stopwatch).
  for (let i = 0; ; i++) {
    const list = await call('sandbox_desktop_windows', {});
    if (list.structuredContent.windows.some((w) => w.title === 'Bench')) break;
    if (i > 600) throw new Error('the bench window never appeared');
    await new Promise((r) => setTimeout(r, 50));
  }

  const direct = new HopxClient({ apiKey: backend.apiKey, baseUrl: backend.url });
  const desktop = direct.agent(sandboxId).desktop;
  const viaMcp = async () => {
    const result = await call('sandbox_desktop_screenshot', {});
    const image = result.content.find((c) => c.type === 'image');
    if (!image) throw new Error('no image content');
    return Buffer.from(image.data, 'base64').length;
  };
  const viaClient = async () => (await desktop.screenshot()).data.length;
  for (let i = 0; i < 3; i++) await Promise.all([viaMcp(), viaClient()]);
  const mcpTimes = [];
  const clientTimes = [];
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    for (const [fn, into] of i % 2 ? [[viaMcp, mcpTimes], [viaClient, clientTimes]] : [[viaClient, clientTimes], [viaMcp, mcpTimes]]) {
      const t0 = performance.now();
      bytes = await fn();
      into.push(performance.now() - t0);
    }
  }
  await direct.close();
  await mcp.close();

  const m = median(mcpTimes);
  console.log(`\nscreenshot of a 1280x800 desktop (a 900x600 text window on it), PNG ${Math.round(bytes / 1024)} KB, ${RUNS} runs each, interleaved`);
  console.log(`   HopX client direct            median ${ms(median(clientTimes))}  p90 ${ms(quantile(clientTimes, 0.9))}`);
  console.log(`   MCP (stdio) -> image content  median ${ms(m)}  p90 ${ms(quantile(mcpTimes, 0.9))}  target <= ${TARGET_MS} ms: ${m <= TARGET_MS ? 'OK' : 'MISSED'}`);
  console.log(`   MCP adds                      ${ms(m - median(clientTimes))} (ratio ${(m / median(clientTimes)).toFixed(2)}x)`);
} finally {
  await backend.close();
  await rm(stateDir, { recursive: true, force: true });
}
