import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { probeHost } from '../../../src/local/runtime/probe.js';
import type { LocalSandbox } from '../../../src/local/runtime/types.js';
import { bash, capture, skipReason, startRuntime, type TestRuntime } from './helpers.js';

// The degraded tier for machines without bubblewrap, forced here so it runs for real everywhere.
const host = await probeHost();
const noPython = skipReason(!host.probe.python, 'no /usr/bin/python3');

describe('unisolated process tier', () => {
  let rt: TestRuntime;
  let sandbox: LocalSandbox;
  beforeAll(async () => {
    rt = await startRuntime({ isolation: 'process' });
    sandbox = await rt.create('plain');
  });
  afterAll(async () => {
    await rt?.close();
  });

  test('reports the tier and its warning', () => {
    expect(rt.runtime.probe.isolation).toBe('process');
    expect(rt.runtime.probe.warnings.join(' ')).toMatch(/unisolated process tier/);
  });

  test('runs in the sandbox dirs with HOME and HOPX_WORKSPACE redirected', async () => {
    const r = await bash(sandbox, 'pwd; echo "$HOME|$HOPX_WORKSPACE"; echo hi > out.txt; id -u');
    const [cwd, envLine, uid] = r.stdout.trim().split('\n');
    expect(cwd).toBe(sandbox.dirs.workspace);
    expect(envLine).toBe(`${sandbox.dirs.home}|${sandbox.dirs.workspace}`);
    expect(Number(uid)).toBe(host.probe.sandboxUid ?? process.geteuid!());
    const resolved = await sandbox.resolvePath('/workspace/out.txt');
    expect(readFileSync(resolved.hostPath, 'utf8')).toBe('hi\n');
  });

  test.skipIf(noPython)('keeps python state and runs other languages', async () => {
    await sandbox.runPython({ code: 'n = 5', env: {}, timeoutMs: 10_000 });
    expect((await sandbox.runPython({ code: 'n * 2', env: {}, timeoutMs: 10_000 })).result).toEqual({ 'text/plain': '10' });
    const js = await capture(sandbox.execCode({ language: 'javascript', code: 'console.log(6 * 7)', env: {}, timeoutMs: 10_000 }));
    expect(js.stdout).toBe('42\n');
  });

  test('timeouts kill the process group; destroy removes the files', async () => {
    const r = await bash(sandbox, 'sleep 100 & wait', 300);
    expect(r.timedOut).toBe(true);
    const root = sandbox.dirs.root;
    await sandbox.destroy();
    expect(existsSync(root)).toBe(false);
  });
});
