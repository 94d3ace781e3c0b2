/**
 * Sandbox lifecycle tools, conversations and cleanup, through a real MCP client against the
 * real local backend (real sandboxes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HopxClient } from '../../src/client/index.js';
import type { CallOptions, CreateSandboxOptions, HopxClientApi } from '../../src/client/types.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf } from './harness.js';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => backend?.close());

async function accountSandboxIds(): Promise<string[]> {
  return (await backend.client.sandboxes.list({ limit: 100 })).sandboxes.map((s) => s.id);
}

describe('lifecycle tools', () => {
  it('create → info → list → set timeout → pause/resume → stop/start → kill', async () => {
    const s = await connect(makeConversation(backend.client));
    try {
      const created = await callOk(s.client, 'sandbox_create', { template: 'code-interpreter', timeout_seconds: 600 });
      const id = created.structuredContent.sandbox_id as string;
      expect(created.structuredContent).toMatchObject({ status: 'running', template: 'code-interpreter', attached: 'created', current: true, timeout_seconds: 600 });
      expect(textOf(created)).toContain(`Created sandbox ${id}`);
      // Relative first: a model rarely knows what time it is.
      expect(textOf(created)).toMatch(/expires in 10 min \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/);
      expect(JSON.stringify(created)).not.toMatch(/eyJ|public_host|127\.0\.0\.1/);

      const info = await callOk(s.client, 'sandbox_get_info', {});
      expect(info.structuredContent).toMatchObject({ sandbox_id: id, status: 'running', current: true });

      const listed = await callOk(s.client, 'sandbox_list', {});
      expect(listed.structuredContent.scope).toBe('conversation');
      expect(listed.structuredContent.sandboxes.map((x: { sandbox_id: string }) => x.sandbox_id)).toEqual([id]);

      const t = await callOk(s.client, 'sandbox_set_timeout', { timeout_seconds: 1200 });
      expect(t.structuredContent.timeout_seconds).toBe(1200);
      expect(textOf(t)).toMatch(/^Sandbox \S+ now expires in 20 min \(/);
      expect(Date.parse(t.structuredContent.expires_at) - Date.now()).toBeGreaterThan(1100_000);

      const again = await callOk(s.client, 'sandbox_resume', {});
      expect(again.structuredContent.status).toBe('running');
      expect(textOf(again)).toBe(`Sandbox ${id} was already running.`);
      const paused = await callOk(s.client, 'sandbox_pause', {});
      expect(paused.structuredContent.status).toBe('paused');
      expect(textOf(paused)).toBe(`Sandbox ${id} paused. Memory and processes are kept; nothing runs until sandbox_resume.`);
      expect((await callOk(s.client, 'sandbox_get_info', {})).structuredContent.status).toBe('paused');
      const whilePaused = await call(s.client, 'sandbox_run_command', { command: 'echo hi' });
      expect(whilePaused.isError).toBe(true);
      expect(textOf(whilePaused)).toMatch(/: the sandbox is paused\. Resume it with sandbox_resume, then retry\./);
      expect(textOf(whilePaused)).not.toMatch(/POST|\/v1\/|HopX said/);
      expect((await callOk(s.client, 'sandbox_resume', {})).structuredContent.status).toBe('running');

      await callOk(s.client, 'sandbox_write_file', { path: '/workspace/kept.txt', content: 'still here' });
      const stopped = await callOk(s.client, 'sandbox_stop', {});
      expect(stopped.structuredContent.status).toBe('stopped');
      expect(textOf(stopped)).toBe(`Sandbox ${id} stopped. Files are kept; processes and Python variables are gone. Start it again with sandbox_start.`);
      const whileStopped = await call(s.client, 'sandbox_run_code', { code: 'print(1)' });
      expect(textOf(whileStopped)).toMatch(/^Could not run code in sandbox \S+: the sandbox is stopped\. Start it with sandbox_start, then retry\./);
      expect((await callOk(s.client, 'sandbox_start', {})).structuredContent.status).toBe('running');
      const kept = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/kept.txt' });
      expect(kept.structuredContent.content).toBe('still here');

      const killed = await callOk(s.client, 'sandbox_kill', {});
      expect(killed.structuredContent).toEqual({ sandbox_id: id, killed: true, current_sandbox_id: null });
      expect(await accountSandboxIds()).not.toContain(id);
      const after = await call(s.client, 'sandbox_get_info', {});
      expect(textOf(after)).toMatch(/no current sandbox/);
      // Naming the killed sandbox says it is gone, not "attach it with sandbox_connect".
      const byId = await call(s.client, 'sandbox_run_command', { sandbox_id: id, command: 'true' });
      expect(byId.isError).toBe(true);
      expect(textOf(byId)).toBe(`Sandbox "${id}" was killed earlier in this conversation. Create a new one with sandbox_create.`);
    } finally {
      await s.close();
    }
  });

  it('lists templates, gets one, and checks health', async () => {
    const s = await connect(makeConversation(backend.client));
    try {
      const list = await callOk(s.client, 'sandbox_list_templates', {});
      const names = list.structuredContent.templates.map((t: { name: string }) => t.name);
      expect(names).toContain('code-interpreter');
      const one = await callOk(s.client, 'sandbox_get_template', { name: 'code-interpreter' });
      expect(one.structuredContent).toMatchObject({ name: 'code-interpreter', language: 'python' });
      expect(one.structuredContent.features).toContain('python');
      const missing = await call(s.client, 'sandbox_get_template', { name: 'no-such-template' });
      expect(missing.isError).toBe(true);
      expect(textOf(missing)).toMatch(/no-such-template|not found/i);

      const noSandbox = await callOk(s.client, 'sandbox_health_check', {});
      expect(noSandbox.structuredContent).toEqual({ api: { ok: true, status: expect.any(String) }, sandbox: null });
      await callOk(s.client, 'sandbox_create', {});
      const withSandbox = await callOk(s.client, 'sandbox_health_check', {});
      expect(withSandbox.structuredContent.sandbox).toMatchObject({ healthy: true });
      // The harness conversation serves the local backend, and the text names it as such.
      expect(textOf(withSandbox)).toMatch(/^Local backend: ok\. Sandbox \S+: healthy\.$/);
    } finally {
      await s.close();
    }
  });

  it('pages through the account\'s sandboxes with limit and cursor, and filters by status', async () => {
    const s = await connect(makeConversation(backend.client));
    try {
      const ids = new Set<string>();
      for (let i = 0; i < 3; i++) ids.add((await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id);
      await callOk(s.client, 'sandbox_pause', {});
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const r = await callOk(s.client, 'sandbox_list', { scope: 'account', limit: 2, ...(cursor ? { cursor } : {}) });
        expect(r.structuredContent.sandboxes.length).toBeLessThanOrEqual(2);
        seen.push(...r.structuredContent.sandboxes.map((x: { sandbox_id: string }) => x.sandbox_id));
        if (!r.structuredContent.has_more) break;
        cursor = r.structuredContent.next_cursor;
        expect(textOf(r)).toContain(`pass cursor "${cursor}"`);
      }
      expect(seen).toEqual(expect.arrayContaining([...ids]));
      const paused = await callOk(s.client, 'sandbox_list', { status: 'paused' });
      expect(paused.structuredContent.sandboxes.map((x: { sandbox_id: string }) => x.sandbox_id)).toEqual([s.conversation.currentSandboxId]);
    } finally {
      await s.close();
    }
  });

  it('a bad template is an error naming the fix', async () => {
    const s = await connect(makeConversation(backend.client));
    try {
      const r = await call(s.client, 'sandbox_create', { template: 'no-such-template' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/template/i);
      expect(textOf(r)).toMatch(/sandbox_list_templates|available/i);
    } finally {
      await s.close();
    }
  });
});

describe('conversations', () => {
  it('two conversations keep their own current sandbox and cannot touch each other\'s', async () => {
    const a = await connect(makeConversation(backend.client));
    const b = await connect(makeConversation(backend.client));
    try {
      const [ca, cb] = await Promise.all([callOk(a.client, 'sandbox_create', {}), callOk(b.client, 'sandbox_create', {})]);
      const idA = ca.structuredContent.sandbox_id as string;
      const idB = cb.structuredContent.sandbox_id as string;
      expect(idA).not.toBe(idB);
      await Promise.all([
        callOk(a.client, 'sandbox_run_command', { command: 'echo from-a > /workspace/who' }),
        callOk(b.client, 'sandbox_run_command', { command: 'echo from-b > /workspace/who' }),
      ]);
      expect((await callOk(a.client, 'sandbox_read_file', { path: '/workspace/who' })).structuredContent.content).toBe('from-a\n');
      expect((await callOk(b.client, 'sandbox_read_file', { path: '/workspace/who' })).structuredContent.content).toBe('from-b\n');

      const trespass = await call(a.client, 'sandbox_kill', { sandbox_id: idB });
      expect(trespass.isError).toBe(true);
      expect(textOf(trespass)).toContain(`Sandbox "${idB}" is not attached to this conversation`);
      expect(await accountSandboxIds()).toContain(idB);

      const listA = await callOk(a.client, 'sandbox_list', {});
      expect(listA.structuredContent.sandboxes.map((x: { sandbox_id: string }) => x.sandbox_id)).toEqual([idA]);
      const account = await callOk(a.client, 'sandbox_list', { scope: 'account' });
      const seen = account.structuredContent.sandboxes.map((x: { sandbox_id: string; attached: string }) => [x.sandbox_id, x.attached]);
      expect(seen).toEqual(expect.arrayContaining([[idA, 'created'], [idB, 'no']]));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('sandbox_connect attaches another sandbox without taking ownership of its cleanup', async () => {
    const owner = await connect(makeConversation(backend.client));
    const guest = await connect(makeConversation(backend.client));
    let id: string;
    try {
      id = (await callOk(owner.client, 'sandbox_create', {})).structuredContent.sandbox_id;
      const attached = await callOk(guest.client, 'sandbox_connect', { sandbox_id: id });
      expect(attached.structuredContent).toMatchObject({ sandbox_id: id, attached: 'connected', current: true });
      const r = await callOk(guest.client, 'sandbox_run_code', { code: 'print(6*7)' });
      expect(r.structuredContent.stdout).toBe('42\n');
      await guest.close();
      expect(await accountSandboxIds()).toContain(id);
      const unknown = await call(owner.client, 'sandbox_connect', { sandbox_id: 'sbx-does-not-exist' });
      expect(unknown.isError).toBe(true);
      expect(textOf(unknown)).toMatch(/sbx-does-not-exist|not found/i);
    } finally {
      await guest.close();
      await owner.close();
    }
    expect(await accountSandboxIds()).not.toContain(id);
  });

  it('ending a conversation kills the sandboxes it created; keepSandboxes leaves them', async () => {
    const before = new Set(await accountSandboxIds());
    const s = await connect(makeConversation(backend.client));
    const ids = await Promise.all([1, 2].map(async () => (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id as string));
    expect(await accountSandboxIds()).toEqual(expect.arrayContaining(ids));
    await s.close();
    await s.conversation.end('again'); // idempotent
    const left = (await accountSandboxIds()).filter((id) => !before.has(id));
    expect(left).toEqual([]);

    const keeper = await connect(makeConversation(backend.client, { keepSandboxes: true }));
    const kept = (await callOk(keeper.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
    await keeper.close();
    expect(await accountSandboxIds()).toContain(kept);
    await backend.client.sandboxes.kill(kept);
  });

  it('a sandbox whose create finishes after the conversation ended is killed at once', async () => {
    const conversation = makeConversation(backend.client);
    const info = await backend.client.sandboxes.create({ template: 'code-interpreter', timeoutSeconds: 300 });
    await conversation.end('client went away');
    await expect(conversation.attach(info, 'created', 300)).rejects.toThrow(/conversation has ended/);
    expect(await accountSandboxIds()).not.toContain(info.id);
  });

  it('ending a conversation waits for a create in flight and kills the sandbox it made', async () => {
    const real = backend.client;
    const events: string[] = [];
    let createStarted!: () => void;
    const started = new Promise<void>((resolve) => (createStarted = resolve));
    // The real client, with create and kill reporting when they happen.
    const sandboxes = Object.assign(Object.create(real.sandboxes) as HopxClient['sandboxes'], {
      create: (o: CreateSandboxOptions, c?: CallOptions) => {
        createStarted();
        return real.sandboxes.create(o, c).then((info) => (events.push(`created ${info.id}`), info));
      },
      kill: (id: string, c?: CallOptions) => real.sandboxes.kill(id, c).then((existed) => (events.push(`killed ${id}`), existed)),
    });
    const watched: HopxClientApi = { sandboxes, templates: real.templates, health: (c) => real.health(c), agent: (id) => real.agent(id), close: async () => {} };
    const s = await connect(makeConversation(watched));
    const pending = call(s.client, 'sandbox_create', {});
    await started;
    await s.conversation.end('client went away');
    // By the time end() resolves (and a transport would close the client), the sandbox is gone.
    expect(events).toHaveLength(2);
    const id = events[0].replace('created ', '');
    expect(events).toEqual([`created ${id}`, `killed ${id}`]);
    expect(await accountSandboxIds()).not.toContain(id);
    const r = await pending;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/conversation has ended/);
    await s.close();
  });

  it('a call after the conversation ended says so', async () => {
    const s = await connect(makeConversation(backend.client));
    await s.conversation.end('test');
    const r = await call(s.client, 'sandbox_list', {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/conversation has ended/);
    await s.close();
  });

  it('read-only mode never extends a sandbox\'s lifetime, not even on reads', async () => {
    const info = await backend.client.sandboxes.create({ template: 'code-interpreter', timeoutSeconds: 120 });
    const s = await connect(makeConversation(backend.client), { readOnly: true });
    try {
      await callOk(s.client, 'sandbox_connect', { sandbox_id: info.id });
      // Less than half of the 120 s lease left: a writable server would push it out on the next call.
      await backend.client.sandboxes.setTimeout(info.id, 50);
      await callOk(s.client, 'sandbox_get_info', {});
      await callOk(s.client, 'sandbox_list_files', {});
      await s.client.readResource({ uri: `hopx://sandboxes/${info.id}/files/workspace` }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      expect(Date.parse((await backend.client.sandboxes.get(info.id)).expiresAt ?? '0') - Date.now()).toBeLessThan(51_000);
    } finally {
      await s.close();
      await backend.client.sandboxes.kill(info.id);
    }
  });

  it('creates with the default lifetime and extends it on activity when it runs low', async () => {
    const s = await connect(makeConversation(backend.client, { defaultSandboxTimeoutSeconds: 120 }));
    try {
      const created = await callOk(s.client, 'sandbox_create', {});
      const id = created.structuredContent.sandbox_id as string;
      expect(created.structuredContent.timeout_seconds).toBe(120);
      // Less than half the lease left: the next tool call pushes the expiry out by a full lease.
      await backend.client.sandboxes.setTimeout(id, 50);
      s.conversation.noteExpiry(id, new Date(Date.now() + 50_000).toISOString());
      await callOk(s.client, 'sandbox_run_command', { command: 'true' });
      let expires = 0;
      for (let i = 0; i < 50 && expires - Date.now() < 100_000; i++) {
        await new Promise((r) => setTimeout(r, 50));
        expires = Date.parse((await backend.client.sandboxes.get(id)).expiresAt ?? '0');
      }
      expect(expires - Date.now()).toBeGreaterThan(100_000);
      // Plenty left: no extension (one PUT per half-lease at most).
      await backend.client.sandboxes.setTimeout(id, 110);
      s.conversation.noteExpiry(id, new Date(Date.now() + 110_000).toISOString());
      await callOk(s.client, 'sandbox_run_command', { command: 'true' });
      await new Promise((r) => setTimeout(r, 200));
      expect(Date.parse((await backend.client.sandboxes.get(id)).expiresAt ?? '0') - Date.now()).toBeLessThan(111_000);
    } finally {
      await s.close();
    }
  });
});
