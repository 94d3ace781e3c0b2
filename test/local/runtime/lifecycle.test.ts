import { existsSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRuntime } from '../../../src/local/runtime/index.js';
import { probeHost } from '../../../src/local/runtime/probe.js';
import { pidsInNamespace } from '../../../src/local/runtime/proc.js';
import type { BwrapSandbox } from '../../../src/local/runtime/sandbox.js';
import { bash, expectPauseStopsProgress, skipReason, startRuntime, startTicker, waitUntil, type TestRuntime } from './helpers.js';

const host = await probeHost();
const noBwrap = skipReason(host.probe.isolation !== 'namespaces', `bubblewrap unusable here: ${host.bwrapFailure}`);
const noCgroups = skipReason(host.probe.limits === 'prlimit', 'no writable cgroups (run as root for limits, pause and kill tests)');

test.skipIf(skipReason(process.env.CI !== 'true', 'CI is not set; the degraded-tier guard only runs on CI'))(
  'on CI the probe finds bubblewrap, cgroups and the runtimes',
  () => {
    expect(host.probe.isolation).toBe('namespaces');
    expect(host.probe.limits).not.toBe('prlimit');
    expect(host.probe.pause).not.toBe('sigstop');
    expect(host.probe.python).toMatchObject({ matplotlib: true, pandas: true });
    expect(host.probe.node).not.toBeNull();
    expect(host.probe.go).not.toBeNull();
  },
);

test.skipIf(skipReason(!host.probe.root, 'not root: sandboxes run as the backend user, who can always reach its state dir'))(
  'a state dir the sandbox uid cannot reach is refused with the fix',
  async () => {
    const base = mkdtempSync(join(tmpdir(), 'hopx-private-')); // mode 0700
    try {
      await expect(createRuntime({ stateDir: join(base, 'state') })).rejects.toThrow(/cannot enter; choose a stateDir under \/tmp/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  },
);

describe.skipIf(noBwrap)('sandbox lifecycle', () => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  test('destroy leaves no processes, cgroups or files', async () => {
    const sandbox = await rt.create('clean');
    // A daemon that escapes its process group must still die with the sandbox.
    const started = await bash(sandbox, 'setsid sleep 1000 > /dev/null 2>&1 < /dev/null & echo started');
    expect(started.stdout).toBe('started\n');
    const { anchorPid, cgroupProcsFiles } = (sandbox as BwrapSandbox).diagnostics;
    expect(anchorPid).toBeGreaterThan(0);
    const ns = await readlink(`/proc/${anchorPid}/ns/pid`);
    // setsid forks and execs after the shell has returned, so wait for the daemon to show up.
    await waitUntil(async () => (await sandbox.processes()).some((p) => p.command === 'sleep 1000'), 5000, 'the daemon');

    await sandbox.destroy();
    expect(sandbox.state).toBe('destroyed');
    // The orphaned pid 1 is reaped by the host's init shortly after it died.
    await waitUntil(() => !existsSync(`/proc/${anchorPid}`), 3000, 'the anchor to be reaped');
    expect(await pidsInNamespace(ns)).toEqual([]);
    for (const file of cgroupProcsFiles) expect(existsSync(file), file).toBe(false);
    expect(existsSync(sandbox.dirs.root)).toBe(false);
    expect(rt.runtime.get(sandbox.id)).toBeUndefined();
    await sandbox.destroy(); // idempotent
  });

  test('stop keeps the files and start gives a fresh process tree', async () => {
    const sandbox = await rt.create('stop');
    await bash(sandbox, 'echo kept > /workspace/f.txt; sleep 1000 > /dev/null 2>&1 &');
    await sandbox.stop();
    expect(sandbox.state).toBe('stopped');
    expect(() => sandbox.exec({ argv: ['true'], env: {}, timeoutMs: 1000 })).toThrow(/stopped; start it first/);
    await sandbox.start();
    const after = await bash(sandbox, 'cat /workspace/f.txt; ps -eo args');
    expect(after.stdout).toContain('kept');
    expect(after.stdout).not.toContain('sleep 1000');
    await sandbox.destroy();
  });

  test('pause stops progress and resume continues', async () => {
    const sandbox = await rt.create('pause');
    const ticks = await startTicker(sandbox);
    await sandbox.pause();
    expect(() => sandbox.exec({ argv: ['true'], env: {}, timeoutMs: 1000 })).toThrow(/paused; resume it first/);
    await sandbox.resume();
    await expectPauseStopsProgress(sandbox, ticks);
    // Destroying a paused sandbox still kills everything.
    await sandbox.pause();
    await sandbox.destroy();
    expect(existsSync(sandbox.dirs.root)).toBe(false);
  });

  test('time spent paused does not count against running work\'s timeouts', async () => {
    const sandbox = await rt.create('pausetime');
    try {
      // Short work with a 2 s timeout, paused once it has started for longer than that timeout:
      // if paused time counted, both would time out; the work itself needs only a fraction of it.
      const TIMEOUT_MS = 2000;
      const started: string[] = [];
      const work = sandbox.exec({ argv: ['bash', '-c', 'echo started; sleep 0.5; echo finished'], env: {}, timeoutMs: TIMEOUT_MS, stdin: '' });
      let workOut = '';
      work.onStdout((c) => {
        workOut += c;
        if (c.includes('started')) started.push('bash');
      });
      const cell = host.probe.python
        ? sandbox.runPython({ code: 'import time\nprint("started", flush=True)\ntime.sleep(0.5)\n"finished"', env: {}, timeoutMs: TIMEOUT_MS }, (_s, c) => {
            if (c.includes('started')) started.push('python');
          })
        : null;
      await waitUntil(() => started.length === (cell ? 2 : 1), 30_000, 'the work to start');
      await sandbox.pause();
      await new Promise((r) => setTimeout(r, TIMEOUT_MS + 500)); // paused for longer than the timeout
      await sandbox.resume();
      expect(await work.done).toMatchObject({ timedOut: false });
      expect(workOut).toBe('started\nfinished\n');
      if (cell) expect(await cell).toMatchObject({ timedOut: false, stateLost: false, result: { 'text/plain': "'finished'" } });
    } finally {
      await sandbox.destroy();
    }
  });

  test('reports the anchor dying from inside (kill -9 -1)', async () => {
    const sandbox = await rt.create('suicide');
    const reasons: string[] = [];
    sandbox.onAnchorExit((reason) => reasons.push(reason));
    await bash(sandbox, 'kill -9 -1');
    await waitUntil(() => reasons.length > 0, 5000, 'onAnchorExit');
    expect(reasons[0]).toMatch(/anchor exited/);
    expect(sandbox.state).toBe('stopped');
    await sandbox.destroy();
    expect(existsSync(sandbox.dirs.root)).toBe(false);
  });

  test('usage and processes report real numbers', async () => {
    const sandbox = await rt.create('usage');
    await bash(sandbox, 'head -c 3000000 /dev/urandom > /workspace/blob; sleep 30 > /dev/null 2>&1 &');
    await waitUntil(async () => (await sandbox.processes()).some((p) => p.command === 'sleep 30'), 5000, 'the sleeper');
    const processes = await sandbox.processes();
    const sleeper = processes.find((p) => p.command === 'sleep 30');
    expect(sleeper).toMatchObject({ name: 'sleep', user: 'root' });
    expect(sleeper!.status).toMatch(/sleeping|running/); // running for a moment right after exec
    expect(sleeper!.pid).toBeLessThan(100); // a pid from the sandbox's own namespace
    expect(processes.some((p) => p.command.includes('infinity'))).toBe(false);
    const usage = await sandbox.usage();
    expect(usage.processes.count).toBe(processes.length);
    expect(usage.disk.usedBytes).toBeGreaterThanOrEqual(3_000_000);
    // No quota: the total is the sandbox's own files plus the space still free on this machine's
    // filesystem, not the size of the whole disk (other files fill part of it).
    const fs = statfsSync(sandbox.dirs.root);
    expect(usage.disk.totalBytes).toBeLessThan(fs.blocks * fs.bsize);
    expect(Math.abs(usage.disk.totalBytes - usage.disk.usedBytes - fs.bavail * fs.bsize)).toBeLessThan(256 * 1024 * 1024);
    expect(usage.memory.totalBytes).toBe(512 * 1024 * 1024);
    expect(usage.cpu.cores).toBe(1);
    if (!noCgroups) expect(usage.memory.usedBytes).toBeGreaterThan(0);
    await sandbox.destroy();
  });

  test('rejects unsafe ids and bad limits with a clear message', async () => {
    await expect(
      rt.runtime.create({ id: '../evil', internetAccess: false, limits: { memoryMb: 512, vcpu: 1, maxProcesses: 64 } }),
    ).rejects.toThrow(/invalid sandbox id/);
    await expect(
      rt.runtime.create({ id: 'ok-id', internetAccess: false, limits: { memoryMb: 1, vcpu: 1, maxProcesses: 64 } }),
    ).rejects.toThrow(/memoryMb must be at least 32/);
  });
});
