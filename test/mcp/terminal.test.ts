/**
 * Interactive terminals through a real MCP client against real local sandboxes: a Python REPL
 * driven line by line, a y/n prompt, Ctrl-C, `top` rendered as a screen, and cleanup of the
 * program when a terminal, its sandbox or its conversation ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
let sandboxId: string;

beforeAll(async () => {
  backend = await startTestBackend();
  s = await connect(makeConversation(backend.client));
  sandboxId = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id;
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

/** Processes in the sandbox whose command line contains `needle` (ps, not the terminal itself). */
async function processesMatching(client: Connected['client'], needle: string): Promise<string[]> {
  const r = await callOk(client, 'sandbox_run_command', { command: 'ps -eo args=' });
  return (r.structuredContent.stdout as string).split('\n').filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('sandbox_terminal_*', () => {
  it('drives a Python REPL line by line, keeping its state between sends', async () => {
    const start = await callOk(s.client, 'sandbox_terminal_start', { command: 'python3 -q', cols: 80, rows: 24 });
    const id = start.structuredContent.terminal_id as string;
    expect(id).toMatch(/^term_/);
    expect(start.structuredContent.sandbox_id).toBe(sandboxId);
    // The REPL's prompt may come after the first quiet moment; wait for it explicitly.
    const ready = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, wait_for: '>>> ', timeout_seconds: 30 });
    expect(ready.structuredContent.screen + ready.structuredContent.output).toContain('>>>');

    await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'x = 6 * 7', keys: ['Enter'], wait_for: '>>> ' });
    const r = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'print("answer", x)', keys: ['Enter'], wait_for: 'answer 42' });
    expect(r.structuredContent.waited).toBe('text');
    expect(r.structuredContent.output).toContain('answer 42');
    expect(r.structuredContent.screen).toMatch(/>>> print\("answer", x\)\nanswer 42/);
    expect(textOf(r)).toContain('--- screen');

    const bye = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, keys: ['Ctrl-D'], timeout_seconds: 30 });
    const ended = bye.structuredContent.exited ? bye : await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, timeout_seconds: 30 });
    expect(ended.structuredContent).toMatchObject({ exited: true, exit_code: 0 });
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
  });

  it('answers a y/n prompt and interrupts a running program with Ctrl-C', async () => {
    const id = (await callOk(s.client, 'sandbox_terminal_start', {})).structuredContent.terminal_id as string;
    // The awaited texts must not occur in the typed line: its echo arrives as output too.
    const script = 'n=3; read -p "Install $n packages? [Y/n] " a; echo "answer=[$a]"';
    const asked = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: script, keys: ['Enter'], wait_for: 'Install 3 packages? [Y/n] ' });
    expect(asked.structuredContent.waited).toBe('text');
    const answered = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'y', keys: ['Enter'], wait_for: 'answer=[y]' });
    expect(answered.structuredContent.output).toContain('answer=[y]');

    await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'sleep 1000; echo after-sleep', keys: ['Enter'] });
    await eventually(() => processesMatching(s.client, 'sleep 1000'), (p) => p.length === 1, 'sleep 1000 to start');
    const interrupted = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, keys: ['Ctrl-C'], text: '' });
    expect(interrupted.structuredContent.screen).toContain('^C');
    expect(interrupted.structuredContent.output).not.toContain('after-sleep');
    await eventually(() => processesMatching(s.client, 'sleep 1000'), (p) => p.length === 0, 'sleep to end after Ctrl-C');
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
  });

  it('renders a full-screen program (top) as a readable screen', async () => {
    const id = (await callOk(s.client, 'sandbox_terminal_start', { command: 'top -d 1', cols: 100, rows: 30 })).structuredContent.terminal_id as string;
    const r = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, wait_for: 'PID', timeout_seconds: 30 });
    const screen = r.structuredContent.screen as string;
    expect(screen).toMatch(/^top - /m);
    expect(screen).toMatch(/^Tasks:/m);
    expect(screen).toMatch(/PID\s+USER/);
    // Rendered, not raw: no escape sequences, no line longer than the terminal.
    expect(screen).not.toContain('\x1b');
    expect(Math.max(...screen.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    const quit = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'q', timeout_seconds: 30 });
    const ended = quit.structuredContent.exited ? quit : await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id, timeout_seconds: 30 });
    expect(ended.structuredContent.exited).toBe(true);
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
  });

  it('closing a terminal ends its program; a closed or unknown terminal is a clear error', async () => {
    const id = (await callOk(s.client, 'sandbox_terminal_start', { command: 'sleep 2001' })).structuredContent.terminal_id as string;
    await eventually(() => processesMatching(s.client, 'sleep 2001'), (p) => p.length === 1, 'sleep 2001 to start');
    const closed = await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
    expect(closed.structuredContent).toEqual({ terminal_id: id, closed: true });
    await eventually(() => processesMatching(s.client, 'sleep 2001'), (p) => p.length === 0, 'the closed terminal program to end');

    const again = await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
    expect(again.structuredContent.closed).toBe(false);
    const late = await call(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'x' });
    expect(late.isError).toBe(true);
    expect(textOf(late)).toContain(`Terminal "${id}" was closed. Start a new one with sandbox_terminal_start`);
    const unknown = await call(s.client, 'sandbox_terminal_send', { terminal_id: 'term_nope' });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toContain('No terminal "term_nope" in this conversation');
  });

  it('refuses an unknown key name, naming the known ones, and types nothing', async () => {
    const id = (await callOk(s.client, 'sandbox_terminal_start', {})).structuredContent.terminal_id as string;
    const r = await call(s.client, 'sandbox_terminal_send', { terminal_id: id, text: 'echo typed-before-bad-key', keys: ['Enter', 'Hyper-Q'] });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/unknown key "Hyper-Q".*Ctrl-C/);
    const screen = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: id });
    expect(screen.structuredContent.screen).not.toContain('typed-before-bad-key');
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
  });

  it("another conversation cannot use a conversation's terminal", async () => {
    const id = (await callOk(s.client, 'sandbox_terminal_start', {})).structuredContent.terminal_id as string;
    const other = await connect(makeConversation(backend.client));
    try {
      const r = await call(other.client, 'sandbox_terminal_send', { terminal_id: id, text: 'echo hi', keys: ['Enter'] });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain(`No terminal "${id}" in this conversation`);
    } finally {
      await other.close();
    }
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: id });
  });

  it("the end of a conversation closes its terminals and their programs", async () => {
    const mine = await connect(makeConversation(backend.client));
    await callOk(mine.client, 'sandbox_connect', { sandbox_id: sandboxId });
    await callOk(mine.client, 'sandbox_terminal_start', { command: 'sleep 2002' });
    await eventually(() => processesMatching(s.client, 'sleep 2002'), (p) => p.length === 1, 'sleep 2002 to start');
    await mine.close();
    await eventually(() => processesMatching(s.client, 'sleep 2002'), (p) => p.length === 0, "the ended conversation's terminal program to end");
  });

  it('validates input: sizes, and keys must be a list', async () => {
    const small = await call(s.client, 'sandbox_terminal_start', { cols: 5 });
    expect(small.isError).toBe(true);
    expect(textOf(small)).toContain('cols');
    const notList = await call(s.client, 'sandbox_terminal_send', { terminal_id: 'term_x', keys: 'Enter' });
    expect(notList.isError).toBe(true);
    expect(textOf(notList)).toContain('keys');
  });
});
