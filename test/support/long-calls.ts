/**
 * Long-call scenarios shared by the in-memory, stdio and HTTP tests (docs/long-calls.md): each
 * takes an SDK client already connected (any transport, either era) to hopx-mcp on the local
 * backend, with a current sandbox. No stopwatch: every wait has a condition (a progress message
 * that shows the run is going, a call that could only answer after the cancelled run stopped).
 * A cancel that did not stop a run shows up as the next call waiting for the run's 120 s timeout,
 * which fails the test by its own timeout.
 */
import type { Client } from '@modelcontextprotocol/client';
import { expect } from 'vitest';

type Result = Awaited<ReturnType<Client['callTool']>>;

export function textOf(result: Result): string {
  return (result.content as Array<{ type: string; text?: string }>).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<Result & { structuredContent: Record<string, any> }> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError) throw new Error(`${name} failed: ${textOf(r)}`);
  return r as Result & { structuredContent: Record<string, any> };
}

/** A Python loop that prints and writes a growing counter every 0.1 s until stopped. */
export const PYTHON_COUNTER = [
  'import time',
  'i = 0',
  'while True:',
  '    i += 1',
  "    open('/workspace/counter', 'w').write(str(i))",
  "    print(f'count {i}', flush=True)",
  '    time.sleep(0.1)',
].join('\n');

/** The same loop in bash: a process group (the loop's shell and each sleep) to kill. */
export const BASH_COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; echo \"count $i\"; sleep 0.1; done";

/** Reads the counter twice, 0.5 s apart: equal values mean the loop is gone. */
export const TWO_READS = 'a=$(cat /workspace/counter); sleep 0.5; b=$(cat /workspace/counter); echo "$a $b"';

/**
 * Starts a long call with progress and resolves once a progress message shows its output (so it
 * is surely running). `stop` aborts it; `result` settles with the call.
 */
export async function startCounting(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<{ stop(reason?: string): void; result: Promise<Result>; messages: string[] }> {
  const controller = new AbortController();
  const messages: string[] = [];
  let seen!: () => void;
  const counting = new Promise<void>((resolve) => (seen = resolve));
  const result = client.callTool(
    { name, arguments: args },
    {
      signal: controller.signal,
      onprogress: (p) => {
        messages.push(p.message ?? '');
        if (/count \d+/.test(p.message ?? '')) seen();
      },
      resetTimeoutOnProgress: true,
      timeout: 300_000,
    },
  );
  result.catch(() => undefined);
  await Promise.race([counting, result.then((r) => Promise.reject(new Error(`${name} ended before counting: ${textOf(r)}`)))]);
  return { stop: (reason = 'user cancelled') => controller.abort(reason), result, messages };
}

/** The counter file's value, read by a python run (which itself waits for the kernel to be free). */
async function readCounter(client: Client, sleepSeconds = 0): Promise<number> {
  const code = `${sleepSeconds ? `import time; time.sleep(${sleepSeconds})\n` : ''}int(open('/workspace/counter').read())`;
  const r = await ok(client, 'sandbox_run_code', { code });
  return Number(r.structuredContent.result);
}

/**
 * Python: a variable set, a counting loop cancelled; the next run answers (no wait for the loop's
 * 120 s timeout), the variable is still there and no restart is reported, and the counter no
 * longer grows.
 */
export async function cancelPythonThenNext(client: Client): Promise<void> {
  await ok(client, 'sandbox_run_code', { code: 'kept = 41' });
  const run = await startCounting(client, 'sandbox_run_code', { code: PYTHON_COUNTER, timeout_seconds: 120 });
  run.stop();
  await expect(run.result).rejects.toThrow();
  const next = await ok(client, 'sandbox_run_code', { code: 'kept + 1' });
  expect(next.structuredContent.result).toBe('42');
  expect(next.structuredContent.stderr).not.toMatch(/restarted/);
  const before = await readCounter(client);
  expect(await readCounter(client, 0.5)).toBe(before);
}

/** A command loop cancelled: its process group is gone (the counter stops), the next command runs. */
export async function cancelCommandThenNext(client: Client): Promise<void> {
  const run = await startCounting(client, 'sandbox_run_command', { command: BASH_COUNTER, timeout_seconds: 120 });
  run.stop();
  await expect(run.result).rejects.toThrow();
  const next = await ok(client, 'sandbox_run_command', { command: TWO_READS });
  const [a, b] = (next.structuredContent.stdout as string).trim().split(' ');
  expect(b).toBe(a);
}

/**
 * Progress messages carry the printed lines while the call runs: the program waits for a file
 * that the test writes only after it saw the first line in a progress message.
 */
export async function progressCarriesLines(client: Client): Promise<void> {
  await ok(client, 'sandbox_run_command', { command: 'rm -f /workspace/go' });
  const code = [
    'import os, sys, time',
    "print('first line from the run', flush=True)",
    "print('a warning', file=sys.stderr, flush=True)",
    "while not os.path.exists('/workspace/go'): time.sleep(0.05)",
    "print('after go')",
  ].join('\n');
  const messages: string[] = [];
  let sawFirst!: () => void;
  const first = new Promise<void>((resolve) => (sawFirst = resolve));
  const pending = client.callTool(
    { name: 'sandbox_run_code', arguments: { code, timeout_seconds: 120 } },
    {
      onprogress: (p) => {
        messages.push(p.message ?? '');
        if (p.message?.includes('first line from the run') && p.message.includes('[stderr] a warning')) sawFirst();
      },
      resetTimeoutOnProgress: true,
    },
  );
  await Promise.race([first, pending.then((r) => Promise.reject(new Error(`ended before its lines showed in progress: ${textOf(r)} ${JSON.stringify(messages)}`)))]);
  // The run is still waiting for this file: the line came live, not with the result.
  await ok(client, 'sandbox_write_file', { path: '/workspace/go', content: '' });
  const r = await pending;
  expect(r.isError, textOf(r)).toBeFalsy();
  const shown = messages.find((m) => m.includes('first line from the run'))!;
  expect(shown).toMatch(/^sandbox_run_code running \([\d.]+ s\)\n/);
  expect(messages.every((m) => !m.includes('after go'))).toBe(true);
}

/**
 * The same without a progress token (the run is one POST, not a stream): the loop is known to run
 * once its counter file exists; a cancel stops it all the same, variables kept.
 */
export async function cancelWithoutProgressThenNext(client: Client): Promise<void> {
  await ok(client, 'sandbox_run_code', { code: 'kept = 41' });
  await ok(client, 'sandbox_run_command', { command: 'rm -f /workspace/counter' });
  const controller = new AbortController();
  const result = client.callTool({ name: 'sandbox_run_code', arguments: { code: PYTHON_COUNTER, timeout_seconds: 120 } }, { signal: controller.signal });
  result.catch(() => undefined);
  for (;;) {
    const r = await ok(client, 'sandbox_run_command', { command: 'cat /workspace/counter 2>/dev/null || true' });
    if ((r.structuredContent.stdout as string).trim() !== '') break;
  }
  controller.abort('user cancelled');
  await expect(result).rejects.toThrow();
  const next = await ok(client, 'sandbox_run_code', { code: 'kept + 1' });
  expect(next.structuredContent.result).toBe('42');
  const before = await readCounter(client);
  expect(await readCounter(client, 0.5)).toBe(before);
}
