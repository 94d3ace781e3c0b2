/**
 * Long calls over the in-memory transport against the real local backend: cancel stops the run
 * (python interrupted with its variables kept, or its kernel restarted and the next result saying
 * so; commands and other languages killed as a process group), the next call starts at once,
 * progress carries the printed lines. Transports and eras: test/transports/long-calls-*.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { cancelCommandThenNext, cancelPythonThenNext, cancelWithoutProgressThenNext, progressCarriesLines, PYTHON_COUNTER, startCounting, TWO_READS } from '../support/long-calls.js';
import { callOk, connect, makeConversation, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
beforeAll(async () => {
  backend = await startTestBackend();
  s = await connect(makeConversation(backend.client));
  await callOk(s.client, 'sandbox_create', {});
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

describe('cancel stops the run', () => {
  it('python: interrupted, variables kept, the next run answers at once', async () => {
    await cancelPythonThenNext(s.client);
  });

  it('python without a progress token (one POST, no stream): stopped the same way', async () => {
    await cancelWithoutProgressThenNext(s.client);
  });

  it('python that ignores the interrupt: the kernel is restarted and the next result says its state was lost', async () => {
    await callOk(s.client, 'sandbox_run_code', { code: 'kept = 1' });
    const stubborn = ['import signal', 'signal.signal(signal.SIGINT, signal.SIG_IGN)', PYTHON_COUNTER].join('\n');
    const run = await startCounting(s.client, 'sandbox_run_code', { code: stubborn, timeout_seconds: 120 });
    run.stop();
    await expect(run.result).rejects.toThrow();
    const next = await s.client.callTool({ name: 'sandbox_run_code', arguments: { code: 'kept' } });
    const structured = next.structuredContent as { stderr: string; success: boolean };
    expect(structured.success).toBe(false);
    expect(structured.stderr).toMatch(/^\[The Python kernel was restarted: a cancelled run did not stop within 0\.5 s of its interrupt; variables from earlier runs are gone\]/);
    expect(structured.stderr).toMatch(/NameError: name 'kept' is not defined/);
    // Only that one result carries the note.
    const after = await callOk(s.client, 'sandbox_run_code', { code: 'kept = 2; kept' });
    expect(after.structuredContent.stderr).toBe('');
  });

  it('a bash command: its process group is killed, the next command runs', async () => {
    await cancelCommandThenNext(s.client);
  });

  it('javascript: the process is killed', async () => {
    const loop = "let i = 0; setInterval(() => { i++; require('fs').writeFileSync('/workspace/counter', String(i)); console.log('count ' + i); }, 100);";
    const run = await startCounting(s.client, 'sandbox_run_code', { code: loop, language: 'javascript', timeout_seconds: 120 });
    run.stop();
    await expect(run.result).rejects.toThrow();
    const next = await callOk(s.client, 'sandbox_run_command', { command: TWO_READS });
    const [a, b] = (next.structuredContent.stdout as string).trim().split(' ');
    expect(b, JSON.stringify(next.structuredContent)).toBe(a);
  });

  it('a cancel of a finished call, of an unknown request, and twice has no effect', async () => {
    const controller = new AbortController();
    const r = await s.client.callTool({ name: 'sandbox_run_code', arguments: { code: '1 + 1' } }, { signal: controller.signal });
    expect(r.isError).toBeFalsy();
    controller.abort('too late');
    controller.abort('again');
    // A cancellation naming a request that never existed.
    await s.client.notification({ method: 'notifications/cancelled', params: { requestId: 987654, reason: 'unknown' } });
    const run = await startCounting(s.client, 'sandbox_run_command', { command: 'i=0; while true; do i=$((i+1)); echo "count $i"; sleep 0.1; done', timeout_seconds: 120 });
    run.stop('first');
    run.stop('second');
    await expect(run.result).rejects.toThrow();
    const still = await callOk(s.client, 'sandbox_run_code', { code: '2 + 2' });
    expect(still.structuredContent.result).toBe('4');
  });
});

describe('progress', () => {
  it('carries the printed lines, stdout and stderr, while the call runs', async () => {
    await progressCarriesLines(s.client);
  });
});

describe('on HopX cloud: commands and stateless code run as tracked processes (the local backend serves the same wire)', () => {
  let cloud: Connected;
  beforeAll(async () => {
    cloud = await connect(makeConversation(backend.client, { backend: 'cloud' }));
    await callOk(cloud.client, 'sandbox_create', {});
  });
  afterAll(async () => {
    await cloud?.close();
  });

  it('a command answers like a foreground one, its lines arrive as progress, and a cancel kills it', async () => {
    const r = await callOk(cloud.client, 'sandbox_run_command', { command: 'echo out; echo err >&2; exit 3' });
    expect(r.structuredContent).toMatchObject({ success: false, exit_code: 3, stdout: 'out\n', stderr: 'err\n' });
    await progressCarriesLines(cloud.client);
    await cancelCommandThenNext(cloud.client);
    const listed = await callOk(cloud.client, 'sandbox_list_processes', {});
    const processes = listed.structuredContent.processes as Array<{ name: string | null; status: string; end_reason?: string | null }>;
    const loops = processes.filter((p) => p.name === 'sandbox_run_command' && p.status !== 'completed' && p.status !== 'failed');
    expect(loops.length).toBeGreaterThan(0);
    expect(loops.every((p) => p.status === 'killed')).toBe(true);
  });

  it('javascript: killed on cancel; python still runs in the kernel (variables kept)', async () => {
    const loop = "let i = 0; setInterval(() => { i++; require('fs').writeFileSync('/workspace/counter', String(i)); console.log('count ' + i); }, 100);";
    const run = await startCounting(cloud.client, 'sandbox_run_code', { code: loop, language: 'javascript', timeout_seconds: 120 });
    run.stop();
    await expect(run.result).rejects.toThrow();
    const next = await callOk(cloud.client, 'sandbox_run_command', { command: TWO_READS });
    const [a, b] = (next.structuredContent.stdout as string).trim().split(' ');
    expect(b).toBe(a);
    await cancelPythonThenNext(cloud.client);
  });

  it('a command past its timeout is killed and reported as timed out', async () => {
    const r = await cloud.client.callTool({ name: 'sandbox_run_command', arguments: { command: 'sleep 30', timeout_seconds: 1 } });
    expect(r.isError).toBe(true);
    expect((r.content as Array<{ text?: string }>)[0].text).toMatch(/timed out inside the sandbox after 1 s/);
  });
});
