// Local backend benchmark: medians over repeated runs, through the HopX client, against a local
// backend in this process. Run after `npm run build`: `node bench/local.mjs`.
// Targets are goals for this machine kind, not assertions; the ratio column is measured / target.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HopxClient } from '../dist/client/index.js';
import { startLocalBackend } from '../dist/local/index.js';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function measure(runs, fn, warmup = 2) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

const stateDir = await mkdtemp(join(tmpdir(), 'hopx-bench-'));
const backend = await startLocalBackend({ stateDir });
const client = new HopxClient({ apiKey: backend.apiKey, baseUrl: backend.url });
const rows = [];
try {
  const created = [];
  const create = await measure(15, async () => created.push((await client.sandboxes.create({ template: 'base' })).id), 1);
  for (const id of created) await client.sandboxes.kill(id);
  rows.push(['sandbox create (base)', create, 150]);

  const template = backend.probe.python?.matplotlib ? 'code-interpreter' : 'base';
  const sandbox = await client.sandboxes.create({ template });
  const agent = client.agent(sandbox.id);
  if (backend.probe.python) {
    rows.push(['python run_code, warm kernel', await measure(50, () => agent.code.run({ code: '1 + 1' }), 3), 5]);
  }
  rows.push(['bash command (echo)', await measure(30, () => agent.commands.run({ command: 'echo hi' })), 30]);
  const data = randomBytes(10 * 1024 * 1024);
  rows.push([
    '10 MB file write + read',
    await measure(8, async () => {
      await agent.files.writeBytes('/workspace/bench.bin', data);
      const back = await agent.files.readBytes('/workspace/bench.bin');
      if (back.length !== data.length) throw new Error('10 MB round trip returned the wrong size');
    }, 1),
    null,
  ]);
  await client.sandboxes.kill(sandbox.id);
} finally {
  await client.close();
  await backend.close();
  await rm(stateDir, { recursive: true, force: true });
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`local backend (isolation ${backend.probe.isolation}, limits ${backend.probe.limits}), medians:`);
console.log(`${pad('operation', 32)}${pad('runs', 6)}${pad('median ms', 11)}${pad('target ms', 11)}ratio`);
for (const [name, times, target] of rows) {
  const m = median(times);
  const ratio = target ? (m / target).toFixed(2) : '-';
  console.log(`${pad(name, 32)}${pad(times.length, 6)}${pad(m.toFixed(1), 11)}${pad(target ?? '-', 11)}${ratio}`);
}
