/**
 * Background processes through a real MCP client against real local sandboxes: how each one
 * ended, said in sandbox_list_processes, and a background output past the agent's limit kept
 * whole in the sandbox and paged back through sandbox_read_file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
let sandboxId: string;

beforeAll(async () => {
  backend = await startTestBackend();
  s = await connect(makeConversation(backend.client), { outputBudgetChars: 400_000 });
  sandboxId = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id;
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

/** Polls sandbox_list_processes for one process until `done` holds (the test timeout bounds it). */
async function processWhen(processId: string, done: (p: Record<string, any>) => boolean) {
  for (;;) {
    const r = await callOk(s.client, 'sandbox_list_processes', { process_id: processId });
    if (done(r.structuredContent.processes[0])) return r;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const ended = (p: Record<string, any>) => p.status !== 'running';

describe('end reasons', () => {
  it('a background command has no timeout unless given one, and says when one killed it', async () => {
    const capped = await callOk(s.client, 'sandbox_run_command', { command: 'echo up; sleep 600', background: true, timeout_seconds: 1 });
    const pid = capped.structuredContent.process_id as string;
    const r = await processWhen(pid, ended);
    expect(r.structuredContent.processes[0]).toMatchObject({ status: 'killed', end_reason: 'killed after its 1 s timeout', stdout: 'up\n' });
    expect(textOf(r)).toContain(`${pid}: killed, exit 143 (killed after its 1 s timeout)`);

    const uncapped = await callOk(s.client, 'sandbox_run_command', { command: 'sleep 600', background: true });
    const info = await backend.client.agent(sandboxId).processes.get(uncapped.structuredContent.process_id);
    expect(info?.timeoutSeconds).toBe(365 * 86_400);
    await callOk(s.client, 'sandbox_kill_process', { process_id: uncapped.structuredContent.process_id });
  });

  it('a killed process says sandbox_kill_process killed it; one that exited says its code', async () => {
    const started = await callOk(s.client, 'sandbox_run_code_background', { code: 'sleep 600', language: 'bash', name: 'napper' });
    const pid = started.structuredContent.process_id as string;
    await callOk(s.client, 'sandbox_kill_process', { process_id: pid });
    const killed = await processWhen(pid, ended);
    expect(killed.structuredContent.processes[0]).toMatchObject({ status: 'killed', end_reason: 'killed by sandbox_kill_process' });
    expect(textOf(killed)).toMatch(new RegExp(`${pid} \\(napper\\): killed, exit \\d+ \\(killed by sandbox_kill_process\\)`));

    const quick = await callOk(s.client, 'sandbox_run_code_background', { code: 'exit 4', language: 'bash' });
    const done = await processWhen(quick.structuredContent.process_id, ended);
    expect(done.structuredContent.processes[0]).toMatchObject({ status: 'failed', exit_code: 4, end_reason: 'exited with code 4' });
    // "exited with code 4" would only repeat "exit 4".
    expect(textOf(done)).toBe(`Background processes in sandbox ${sandboxId}:\n${quick.structuredContent.process_id}: failed, exit 4`);
  });
});

describe('background output kept whole', () => {
  it('names the sandbox file holding the whole stdout, which sandbox_read_file pages back exactly', async () => {
    const rows = 80_000;
    const expected = Array.from({ length: rows }, (_, i) => `bg row ${String(i + 1).padStart(7, '0')} of the output\n`).join('');
    expect(expected.length).toBeGreaterThan(2 * 1024 * 1024);
    const started = await callOk(s.client, 'sandbox_run_command', { command: `seq -f "bg row %07g of the output" 1 ${rows}`, background: true });
    const pid = started.structuredContent.process_id as string;
    const r = await processWhen(pid, ended);
    const p = r.structuredContent.processes[0];
    expect(p.status).toBe('completed');
    // Kept by the sandbox's agent (no copy went through the server), under the process's id.
    expect(p.stdout_full_path).toBe(`/tmp/hopx-outputs/${pid}.stdout.txt`);
    expect(p.stdout).toContain(`whole stdout of ${pid}: ${p.stdout_full_path}`);
    expect(p.stdout.length).toBeLessThan(expected.length);
    let collected = '';
    for (let start: number | null = 1; start !== null; ) {
      const page = await callOk(s.client, 'sandbox_read_file', { path: p.stdout_full_path, start_line: start, line_count: 20_000 });
      collected += page.structuredContent.content;
      start = page.structuredContent.next_start_line;
    }
    expect(collected).toBe(expected);
  });
});

describe('sandbox_wait_process', () => {
  it('streams the lines a process prints as progress, and returns once it ends with its status and output', async () => {
    const started = await callOk(s.client, 'sandbox_run_command', {
      command: 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.4; done; echo "warn" >&2; exit 2',
      background: true,
    });
    const pid = started.structuredContent.process_id as string;
    const progress: { message?: string }[] = [];
    const r = await s.client.callTool(
      { name: 'sandbox_wait_process', arguments: { process_id: pid, timeout_seconds: 60 } },
      { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true },
    );
    expect(r.isError).toBeFalsy();
    const sc = r.structuredContent as Record<string, any>;
    expect(sc).toMatchObject({ sandbox_id: sandboxId, ended: true, process: { process_id: pid, status: 'failed', exit_code: 2, end_reason: 'exited with code 2', stderr: 'warn\n' } });
    expect(sc.process.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\ntick 5\ntick 6\n');
    expect(textOf(r)).toMatch(new RegExp(`^Process ${pid} in sandbox ${sandboxId} has ended \\(exited with code 2\\); waited [\\d.]+ s\\.\\n${pid}: failed, exit 2\\n--- stdout ---\\ntick 1\\n`));
    // The lines came as they were printed, several notifications apart, each under the call's name.
    const messages = progress.map((p) => p.message ?? '');
    expect(messages.every((m) => m.startsWith('sandbox_wait_process running ('))).toBe(true);
    const firstWith = (line: string) => messages.findIndex((m) => m.split('\n').includes(line));
    expect(firstWith('tick 2')).toBeGreaterThanOrEqual(0);
    expect(firstWith('tick 6')).toBeGreaterThan(firstWith('tick 2'));
    expect(messages.some((m) => m.includes(`waiting for ${pid}`))).toBe(true);
  });

  it('returns at its timeout with the process still running, and at once for a process that already ended', async () => {
    const started = await callOk(s.client, 'sandbox_run_command', { command: 'echo waiting-on-me; sleep 600', background: true });
    const pid = started.structuredContent.process_id as string;
    const r = await callOk(s.client, 'sandbox_wait_process', { process_id: pid, timeout_seconds: 1 });
    expect(r.structuredContent).toMatchObject({ ended: false, process: { status: 'running', end_reason: null, exit_code: null } });
    expect(r.structuredContent.waited_seconds).toBeGreaterThanOrEqual(1);
    expect(textOf(r)).toContain(`Process ${pid} in sandbox ${sandboxId} is still running after 1 s of waiting: call sandbox_wait_process again`);

    await callOk(s.client, 'sandbox_kill_process', { process_id: pid });
    const after = await callOk(s.client, 'sandbox_wait_process', { process_id: pid, timeout_seconds: 30 });
    expect(after.structuredContent).toMatchObject({ ended: true, process: { status: 'killed', end_reason: 'killed by sandbox_kill_process', stdout: 'waiting-on-me\n' } });
    // Ended already: it answers from its first look, far from its 30 s timeout.
    expect(after.structuredContent.waited_seconds).toBeLessThan(15);
    expect(textOf(after)).toMatch(new RegExp(`^Process ${pid} in sandbox ${sandboxId} has ended \\(killed by sandbox_kill_process\\)(; waited [\\d.]+ s)?\\.\\n`));
  });

  it('an unknown process, and a process of another conversation\'s sandbox, are errors naming them', async () => {
    const unknown = await call(s.client, 'sandbox_wait_process', { process_id: 'proc_nope', timeout_seconds: 5 });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^No background process "proc_nope" in sandbox \S+\. Call sandbox_list_processes/);

    // Another conversation's sandbox and its process: neither is reachable from this one.
    const other = await connect(makeConversation(backend.client));
    try {
      const otherSandbox = (await callOk(other.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
      const foreign = (await callOk(other.client, 'sandbox_run_command', { command: 'sleep 600', background: true })).structuredContent.process_id as string;
      const bySandbox = await call(s.client, 'sandbox_wait_process', { sandbox_id: otherSandbox, process_id: foreign, timeout_seconds: 5 });
      expect(bySandbox.isError).toBe(true);
      expect(textOf(bySandbox)).toContain(otherSandbox);
      const byId = await call(s.client, 'sandbox_wait_process', { process_id: foreign, timeout_seconds: 5 });
      expect(byId.isError).toBe(true);
      expect(textOf(byId)).toContain(`No background process "${foreign}" in sandbox ${sandboxId}`);
    } finally {
      await other.close();
    }
  });
});
