import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { probeHost } from '../../../src/local/runtime/probe.js';
import type { LocalSandbox } from '../../../src/local/runtime/types.js';
import { bash, capture, skipReason, startRuntime, type TestRuntime } from './helpers.js';

const host = await probeHost();
const noBwrap = skipReason(host.probe.isolation !== 'namespaces', `bubblewrap unusable here: ${host.bwrapFailure}`);
const noCgroups = skipReason(host.probe.limits === 'prlimit', 'no writable cgroups: pids and memory limits cannot be tested');
const noRoot = skipReason(!host.probe.root, 'not root: sandboxes run as the backend user, so host-root files are not the test case');

describe.skipIf(noBwrap)('containment', () => {
  let rt: TestRuntime;
  let sandbox: LocalSandbox;
  beforeAll(async () => {
    rt = await startRuntime();
    sandbox = await rt.create('contain');
  });
  afterAll(async () => {
    await rt?.close();
  });

  test.skipIf(noRoot)('cannot read /etc/shadow, even as root inside', async () => {
    const r = await bash(sandbox, 'id -u; cat /etc/shadow');
    expect(r.stdout).toBe('0\n');
    expect(r.stderr).toContain('Permission denied');
    expect(r.exitCode).toBe(1);
  });

  test.skipIf(noRoot)('cannot create nested user namespaces (a root backend disables them)', async () => {
    const r = await bash(sandbox, 'unshare --user true && echo nested');
    expect(r.stdout).toBe('');
    expect(r.exitCode).not.toBe(0);
  });

  test('loader variables in a request env reach the sandbox but not the host-side helpers', async () => {
    // On the host, LD_DEBUG_OUTPUT would make the prelude's sh and nsenter (root, when the backend
    // is) write trace files into this host directory; LD_PRELOAD would load a library as they do.
    const outside = mkdtempSync(join(tmpdir(), 'hopx-loader-'));
    try {
      const r = await capture(
        sandbox.exec({
          argv: ['bash', '-c', 'echo "seen:$LD_DEBUG_OUTPUT|$TZDIR|$KEPT"'],
          env: { LD_DEBUG: 'files', LD_DEBUG_OUTPUT: join(outside, 'trace'), TZDIR: '/nowhere', KEPT: 'yes' },
          timeoutMs: 10_000,
          stdin: '',
        }),
      );
      // (inside, the trace path does not exist, so ld.so's trace goes to the output too)
      expect(r.stdout.split('\n')).toContain(`seen:${join(outside, 'trace')}|/nowhere|yes`);
      expect(readdirSync(outside)).toEqual([]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('sees its own cgroup as the root, not the host cgroup paths', async () => {
    const r = await bash(sandbox, 'cat /proc/self/cgroup');
    expect(r.stdout).not.toContain('hopx-local');
  });

  test('cannot write /usr or /etc, can write /workspace, /root and /tmp', async () => {
    const r = await bash(sandbox, 'touch /usr/x; touch /etc/x; touch /workspace/w /root/h /tmp/t && echo wrote');
    expect(r.stderr).toMatch(/\/usr\/x.*Read-only file system/);
    expect(r.stderr).toMatch(/\/etc\/x.*Read-only file system/);
    expect(r.stdout).toBe('wrote\n');
  });

  test('has no network: a host loopback server is unreachable', async () => {
    const server = createServer((socket) => socket.end('host secret\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = await capture(
        sandbox.execCode({
          language: 'python',
          code: `import socket\ntry:\n    socket.create_connection(("127.0.0.1", ${port}), timeout=2)\n    print("connected")\nexcept OSError as e:\n    print(type(e).__name__)\ntry:\n    socket.getaddrinfo("example.com", 80)\n    print("resolved")\nexcept OSError as e:\n    print("dns", type(e).__name__)`,
          env: {},
          timeoutMs: 10_000,
        }),
      );
      expect(r.stdout).toBe('ConnectionRefusedError\ndns gaierror\n');
    } finally {
      server.close();
    }
  });

  test('internetAccess shares the host network (there is no internet here, so a host loopback server stands in)', async () => {
    const server = createServer((socket) => socket.end('reachable\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const online = await rt.create('online', { internetAccess: true });
    try {
      const r = await bash(online, `exec 3<>/dev/tcp/127.0.0.1/${port} && cat <&3`);
      expect(r.stdout).toBe('reachable\n');
      expect((await online.forwardPort(port)).hostPort).toBe(port); // no forwarder needed
    } finally {
      server.close();
      await online.destroy();
    }
  });

  test("one sandbox cannot see another's files or processes", async () => {
    const other = await rt.create('neighbour');
    try {
      await bash(other, 'echo private > /workspace/mine.txt; sleep 60 > /dev/null 2>&1 &');
      // Patterns, so the command line itself (visible to ps) does not contain the names.
      const seen = await bash(sandbox, "ls -a /workspace /root /tmp; ps -eo args; find / -name 'mi?e.txt' 2>/dev/null; echo done");
      expect(seen.stdout).not.toContain('mine.txt');
      expect(seen.stdout).not.toContain('sleep 60');
      expect(seen.stdout).toContain('done');
    } finally {
      await other.destroy();
    }
  });

  test('a timeout kills the whole process group, including children that ignore SIGTERM', async () => {
    const r = await capture(
      sandbox.exec({ argv: ['bash', '-c', 'trap "" TERM; sleep 100 & sleep 101 & echo started; wait'], env: {}, timeoutMs: 1000, stdin: '' }),
    );
    expect(r.stdout).toBe('started\n');
    expect(r.timedOut).toBe(true);
    expect(r.signal).toMatch(/SIGTERM|SIGKILL/);
    const left = await bash(sandbox, 'ps -eo args');
    expect(left.stdout).not.toMatch(/sleep 10[01]/);
  });

  test.skipIf(noCgroups)('a fork bomb stops at pids.max and the host is fine', async () => {
    const bombed = await rt.create('forkbomb', { maxProcesses: 40 });
    try {
      const r = await capture(
        bombed.execCode({
          language: 'python',
          code: [
            'import os, time',
            'n = 0',
            'try:',
            '    while n < 1000:',
            '        if os.fork() == 0:',
            '            time.sleep(30)',
            '            os._exit(0)',
            '        n += 1',
            'except OSError as e:',
            '    print("blocked after", n, e.strerror)',
          ].join('\n'),
          env: {},
          timeoutMs: 20_000,
        }),
      );
      const match = /blocked after (\d+) Resource temporarily unavailable/.exec(r.stdout);
      expect(match, r.stdout + r.stderr).not.toBeNull();
      expect(Number(match![1])).toBeLessThan(40);
      expect(spawnSync('/bin/true').status).toBe(0);
    } finally {
      await bombed.destroy();
    }
  });

  test.skipIf(noCgroups)('a memory bomb is OOM-killed and reported', async () => {
    const small = await rt.create('oom', { memoryMb: 96 });
    try {
      const r = await capture(
        small.execCode({
          language: 'python',
          code: 'chunks = []\nwhile True:\n    chunks.append(bytearray(8 * 2**20))',
          env: {},
          timeoutMs: 30_000,
        }),
      );
      expect(r.oomKilled).toBe(true);
      expect(r.signal ?? r.exitCode).toMatch(/SIGKILL|137/);

      const cell = await small.runPython({ code: 'keep = 1', env: {}, timeoutMs: 10_000 });
      expect(cell.error).toBeNull();
      const bomb = await small.runPython({ code: 'x = []\nwhile True:\n    x.append(bytearray(8 * 2**20))', env: {}, timeoutMs: 30_000 });
      expect(bomb).toMatchObject({ stateLost: true, oomKilled: true });
      expect(bomb.error?.name).toBe('MemoryError');
      expect(bomb.error?.value).toMatch(/out of memory \(limit 96 MB\)/);
      const after = await small.runPython({ code: 'keep', env: {}, timeoutMs: 10_000 });
      expect(after.error?.name).toBe('NameError');
    } finally {
      await small.destroy();
    }
  });
});
