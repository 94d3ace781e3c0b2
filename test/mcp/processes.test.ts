/**
 * Background processes through a real MCP client against real local sandboxes: how each one
 * ended, said in sandbox_list_processes, and a background output past the agent's limit kept
 * whole in the sandbox and paged back through sandbox_read_file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

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
