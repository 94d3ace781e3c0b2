/**
 * Shared helpers for the runtime tests: a real runtime in a temp state dir, output capture, and
 * capability gates that print why a test is skipped.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../../../src/local/runtime/index.js';
import type { ExecHandle, ExecOutcome, LocalSandbox, RuntimeOptions, SandboxRuntime, SandboxSpec } from '../../../src/local/runtime/types.js';

export interface TestRuntime {
  runtime: SandboxRuntime;
  stateDir: string;
  create(id: string, overrides?: Partial<SandboxSpec> & { memoryMb?: number; maxProcesses?: number }): Promise<LocalSandbox>;
  close(): Promise<void>;
}

let idCounter = 0;

/** A unique sandbox id per test process (cgroup names are machine-wide). */
export function uniqueId(label: string): string {
  return `t${process.pid}-${++idCounter}-${label}`;
}

export async function startRuntime(options: Partial<RuntimeOptions> & { deepStateDir?: boolean } = {}): Promise<TestRuntime> {
  const base = mkdtempSync(join(tmpdir(), 'hopx-rt-test-'));
  // A deep state dir makes forwarder socket paths overflow sun_path (108 bytes).
  const stateDir = options.deepStateDir ? join(base, 'x'.repeat(60), 'y'.repeat(60)) : base;
  if (options.deepStateDir) chmodSync(base, 0o711); // the sandbox uid must be able to pass through
  const runtime = await createRuntime({ stateDir, ...options }).catch((err: unknown) => {
    rmSync(base, { recursive: true, force: true });
    throw err;
  });
  return {
    runtime,
    stateDir,
    create: (id, o = {}) =>
      runtime.create({
        id: uniqueId(id),
        internetAccess: o.internetAccess ?? false,
        limits: o.limits ?? { memoryMb: o.memoryMb ?? 512, vcpu: 1, maxProcesses: o.maxProcesses ?? 256 },
        hostname: o.hostname,
      }),
    close: async () => {
      await runtime.shutdown();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

export interface Captured extends ExecOutcome {
  stdout: string;
  stderr: string;
}

export async function capture(handle: ExecHandle): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  handle.onStdout((c) => (stdout += c));
  handle.onStderr((c) => (stderr += c));
  const outcome = await handle.done;
  return { ...outcome, stdout, stderr };
}

export function bash(sandbox: LocalSandbox, script: string, timeoutMs = 15_000): Promise<Captured> {
  return capture(sandbox.exec({ argv: ['bash', '-c', script], env: {}, timeoutMs, stdin: '' }));
}

/**
 * Returns a reason to skip when the capability is missing, after printing it. On CI the probe
 * must find the strong tiers, and a test in lifecycle.test.ts fails loudly if it does not.
 */
export function skipReason(missing: boolean, reason: string): boolean {
  if (missing) console.warn(`SKIPPED: ${reason}`);
  return missing;
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Start a counter in the sandbox that appends a byte to /tmp/ticks every 20 ms; returns a reader
 * of its length on the host, to check whether the sandbox makes progress.
 */
export async function startTicker(sandbox: LocalSandbox): Promise<() => number> {
  await bash(sandbox, '(while :; do echo -n x >> /tmp/ticks; sleep 0.02; done) > /dev/null 2>&1 &');
  const ticks = () => {
    try {
      return readFileSync(join(sandbox.dirs.scratch, 'ticks'), 'utf8').length;
    } catch {
      return 0;
    }
  };
  await waitUntil(() => ticks() > 3, 5000, 'the ticker to start');
  return ticks;
}

/** Pause, check that nothing moves for 300 ms, resume, check that it moves again. */
export async function expectPauseStopsProgress(sandbox: LocalSandbox, ticks: () => number): Promise<void> {
  await sandbox.pause();
  if (sandbox.state !== 'paused') throw new Error(`expected paused, got ${sandbox.state}`);
  const frozenAt = ticks();
  await new Promise((r) => setTimeout(r, 300));
  if (ticks() !== frozenAt) throw new Error(`the sandbox kept running while paused (${frozenAt} -> ${ticks()})`);
  await sandbox.resume();
  await waitUntil(() => ticks() > frozenAt + 3, 5000, 'the ticker to continue after resume');
}
