import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { probeHost } from '../../../src/local/runtime/probe.js';
import { skipReason, waitUntil } from './helpers.js';

const host = await probeHost();
const DIST = resolve('dist/local/runtime/index.js');
const noBwrap = skipReason(host.probe.isolation !== 'namespaces', `bubblewrap unusable here: ${host.bwrapFailure}`);
const noPython = skipReason(!host.probe.python, 'no /usr/bin/python3: the kernel cannot be checked');
const noDist = skipReason(!existsSync(DIST), 'dist/ is not built (run `npm run build` or `npm test`): this test starts a backend process');

// A backend process whose parent left fd 40 open without close-on-exec (as an MCP client or a job
// runner may): every sandbox process, the anchor and the python kernel included, is checked for it.
// Node marks its low fds close-on-exec at start-up (up to the first gap past 15), not high ones.
const CHILD = `
import { readlinkSync } from 'node:fs';
import { createRuntime } from ${JSON.stringify(DIST)};
const inherited = readlinkSync('/proc/self/fd/40');
const rt = await createRuntime({ stateDir: process.argv[1] });
try {
  const sb = await rt.create({ id: 'fds', internetAccess: false, limits: { memoryMb: 256, vcpu: 1, maxProcesses: 64 } });
  await sb.runPython({ code: '1', env: {}, timeoutMs: 30000 });
  const h = sb.exec({ argv: ['bash', '-c', 'ls -l /proc/[0-9]*/fd/ 2>/dev/null'], env: {}, timeoutMs: 10000, stdin: '' });
  let listing = '';
  h.onStdout((c) => (listing += c));
  await h.done;
  const holders = listing.split('\\n').filter((line) => line.endsWith(inherited)).length;
  const processes = (await sb.processes()).length;
  process.stdout.write(JSON.stringify({ inherited, holders, processes }) + '\\n');
} finally {
  await rt.shutdown();
}
`;

const STDIO = ['ignore', 'pipe', 'inherit', ...Array<'ignore'>(37).fill('ignore')] as const;

describe.skipIf(noBwrap || noPython || noDist)('file descriptors the backend inherited', () => {
  test('are closed in every sandbox process', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hopx-fds-'));
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, stateDir], { stdio: [...STDIO, 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await waitUntil(() => out.includes('\n'), 60_000, 'the child backend to report');
      const report = JSON.parse(out) as { inherited: string; holders: number; processes: number };
      expect(report.inherited).toMatch(/^socket:/);
      expect(report.processes).toBeGreaterThan(0); // the kernel was running
      expect(report.holders).toBe(0);
    } finally {
      await exited;
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
