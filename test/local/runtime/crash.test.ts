import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createRuntime } from '../../../src/local/runtime/index.js';
import { probeHost } from '../../../src/local/runtime/probe.js';
import { pidsInNamespace } from '../../../src/local/runtime/proc.js';
import { skipReason, waitUntil } from './helpers.js';

const host = await probeHost();
const DIST = resolve('dist/local/runtime/index.js');
const noBwrap = skipReason(host.probe.isolation !== 'namespaces', `bubblewrap unusable here: ${host.bwrapFailure}`);
const noDist = skipReason(!existsSync(DIST), 'dist/ is not built (run `npm run build` or `npm test`): the crash test kills a real backend process');

// A backend process that starts a sandbox with a daemon, the python kernel and a port forward,
// then reports the host pids it knows about.
const CHILD = `
import { createRuntime } from ${JSON.stringify(DIST)};
const rt = await createRuntime({ stateDir: process.argv[1] });
const sb = await rt.create({ id: 'crashy', internetAccess: false, limits: { memoryMb: 256, vcpu: 1, maxProcesses: 64 } });
const h = sb.exec({ argv: ['bash', '-c', 'setsid sleep 1000 > /dev/null 2>&1 < /dev/null &'], env: {}, timeoutMs: 5000, stdin: '' });
await h.done;
await sb.runPython({ code: '1', env: {}, timeoutMs: 10000 });
await sb.forwardPort(8080);
const { anchorPid, cgroupProcsFiles } = sb.diagnostics;
process.stdout.write(JSON.stringify({ anchorPid, cgroupProcsFiles }) + '\\n');
setInterval(() => {}, 1000);
`;

describe.skipIf(noBwrap || noDist)('a crashed backend', () => {
  test('leaves no sandbox processes, and the next runtime sweeps its dirs and cgroups', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'hopx-crash-'));
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, stateDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    try {
      await waitUntil(() => out.includes('\n'), 30_000, 'the child backend to start its sandbox');
      const { anchorPid, cgroupProcsFiles } = JSON.parse(out) as { anchorPid: number; cgroupProcsFiles: string[] };
      const namespace = await readlink(`/proc/${anchorPid}/ns/pid`);
      child.kill('SIGKILL');

      await waitUntil(async () => (await pidsInNamespace(namespace)).length === 0, 5000, 'the sandbox processes to die with their backend');
      // Everything that was in the sandbox's cgroup is gone too (kernel helpers, the forwarder).
      await waitUntil(
        async () => {
          for (const file of cgroupProcsFiles) {
            if ((await readFile(file, 'utf8').catch(() => '')).trim()) return false;
          }
          return true;
        },
        5000,
        'the cgroups to empty',
      );
      expect(existsSync(join(stateDir, 'sandboxes', 'crashy'))).toBe(true);

      const next = await createRuntime({ stateDir });
      try {
        expect(existsSync(join(stateDir, 'sandboxes', 'crashy'))).toBe(false);
        for (const file of cgroupProcsFiles) expect(existsSync(file), file).toBe(false);
      } finally {
        await next.shutdown();
      }
    } finally {
      child.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
