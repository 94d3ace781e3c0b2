/**
 * The local backend's control plane end to end: real sandboxes, driven through the project's HopX
 * client and, where the wire format itself is the subject, through raw fetch.
 */
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { agent, bwrapMissingReason, control, expectHopxError, until, wireSandbox } from './helpers.js';

describe.skipIf(bwrapMissingReason !== null)('local backend control plane', () => {
  let t: TestBackend;
  beforeAll(async () => {
    t = await startTestBackend();
  });
  afterAll(async () => {
    await t?.close();
  });

  test('GET /health needs no key and reports the runtime probe', async () => {
    const res = await fetch(`${t.backend.url}/health`);
    const body = (await res.json()) as { status: string; runtime: { isolation: string }; templates: string[] };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.runtime.isolation).toBe(t.backend.probe.isolation);
    expect(body.templates).toContain('base');
    expect((await t.client.health()).ok).toBe(true);
  });

  test('a wrong or missing API key is 401 in the HopX error format', async () => {
    for (const headers of [{ 'X-API-Key': 'hopx_live_wrongwrongwr.nope' }, { Authorization: 'Bearer nope' }, {}] as Array<Record<string, string>>) {
      const res = await fetch(`${t.backend.url}/v1/sandboxes`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-request-id')).toMatch(/^req_/);
      expectHopxError(await res.json(), 'AUTHENTICATION_REQUIRED');
    }
    const bearer = await fetch(`${t.backend.url}/v1/templates`, { headers: { Authorization: `Bearer ${t.backend.apiKey}` } });
    expect(bearer.status).toBe(200);
  });

  test('a request node:http cannot parse still gets a HopX error body', async () => {
    const { port } = new URL(t.backend.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(Number(port), '127.0.0.1', () => socket.write('NOT A REQUEST\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toMatch(/\r\nX-Request-ID: req_/);
    expectHopxError(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)), 'INVALID_REQUEST');
  });

  test('templates: list, filters, get by name and by id, 404 for unknown', async () => {
    const all = await t.client.templates.list();
    const names = all.map((x) => x.name);
    expect(names).toContain('base');
    if (t.backend.probe.python?.matplotlib) expect(names).toContain('code-interpreter');
    for (const tpl of all) expect(tpl.id).toMatch(/^\d+$/);
    const bash = await t.client.templates.list({ language: 'bash' });
    expect(bash.map((x) => x.name)).toContain('base');
    const byName = await t.client.templates.get('base');
    expect((await t.client.templates.get(byName.id)).name).toBe('base');
    const missing = await control(t, 'GET', '/v1/templates/no-such-template');
    expect(missing.status).toBe(404);
    expectHopxError(missing.body, 'RESOURCE_NOT_FOUND');
  });

  test('create returns the full sandbox object; get, list with cursor pagination, kill', async () => {
    const created = await control(t, 'POST', '/v1/sandboxes', { template_name: 'base', timeout_seconds: 600, env_vars: { GREETING: 'hi' } });
    expect(created.status).toBe(201);
    const s = created.body;
    expect(s.id).toMatch(/^\d{10}[a-z0-9]{8}$/);
    expect(s).toMatchObject({ object: 'sandbox', status: 'running', template_name: 'base', timeout_seconds: 600 });
    expect(s.template_id).toMatch(/^\d+$/);
    expect(s.public_host).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.direct_url).toBe(s.public_host);
    expect(s.auth_token.split('.')).toHaveLength(3);
    expect(Date.parse(s.token_expires_at)).toBeGreaterThan(Date.now());
    expect(Date.parse(s.expires_at)).toBeGreaterThan(Date.now() + 590_000);
    expect(s.internet_access).toBe(false); // local default: the sandbox gets its own network namespace
    expect(s.resources).toEqual({ vcpu: expect.any(Number), memory_mb: expect.any(Number), disk_mb: expect.any(Number) });

    const second = await t.client.sandboxes.create({ template: 'base' });
    const third = await t.client.sandboxes.create({ templateId: s.template_id });
    const info = await t.client.sandboxes.get(second.id);
    expect(info.publicHost).toBe(second.publicHost);

    const page1 = await control(t, 'GET', '/v1/sandboxes?limit=2');
    expect(page1.body).toMatchObject({ object: 'list', has_more: true });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await control(t, 'GET', `/v1/sandboxes?limit=2&cursor=${page1.body.next_cursor}`);
    const ids = [...page1.body.data, ...page2.body.data].map((x: { id: string }) => x.id);
    expect(new Set(ids)).toEqual(new Set([s.id, second.id, third.id]));
    const listed: string[] = [];
    for await (const x of t.client.sandboxes.listAll({ limit: 1 })) listed.push(x.id);
    expect(listed.sort()).toEqual([s.id, second.id, third.id].sort());
    expect((await control(t, 'GET', '/v1/sandboxes?limit=0')).status).toBe(400);

    expect(await t.client.sandboxes.kill(second.id)).toBe(true);
    expect((await control(t, 'POST', `/v1/sandboxes/${third.id}/kill`)).body).toMatchObject({ id: third.id, status: 'killed' });
    const gone = await control(t, 'GET', `/v1/sandboxes/${second.id}`);
    expect(gone.status).toBe(404);
    expectHopxError(gone.body, 'RESOURCE_NOT_FOUND');
    expect(await t.client.sandboxes.kill(second.id)).toBe(false);
    await t.client.sandboxes.kill(s.id);
  });

  test('bad create input names the field', async () => {
    const noTemplate = await control(t, 'POST', '/v1/sandboxes', {});
    expect(noTemplate.status).toBe(400);
    expect(noTemplate.body.error).toMatch(/template_id or template_name/);
    const badTimeout = await control(t, 'POST', '/v1/sandboxes', { template_name: 'base', timeout_seconds: -5 });
    expect(badTimeout.status).toBe(400);
    expect(badTimeout.body.error).toMatch(/timeout_seconds/);
    const badJson = await fetch(`${t.backend.url}/v1/sandboxes`, {
      method: 'POST',
      headers: { 'X-API-Key': t.backend.apiKey, 'Content-Type': 'application/json' },
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
    expectHopxError(await badJson.json(), 'INVALID_JSON');
    const unknown = await control(t, 'POST', '/v1/sandboxes', { template_name: 'nope' });
    expect(unknown.status).toBe(404);
  });

  test('agent auth: no token, a forged token, another sandbox\'s token → 401; open endpoints need none', async () => {
    const a = await t.client.sandboxes.create({ template: 'base' });
    const b = await t.client.sandboxes.create({ template: 'base' });
    try {
      const wa = await wireSandbox(t, a.id);
      const wb = await wireSandbox(t, b.id);
      const health = await agent(wa, 'GET', '/health', undefined, null);
      expect(health.body.status).toBe('healthy');
      expect((await agent(wa, 'GET', '/info', undefined, null)).body.vm_id).toBe(a.id);
      for (const token of [null, 'x.y.z', wb.auth_token, `${wa.auth_token.slice(0, -2)}AA`]) {
        const res = await agent(wa, 'GET', '/env', undefined, token);
        expect(res.status).toBe(401);
        expect(res.body.error).toBe('Invalid or expired token');
        expect(res.headers.get('x-request-id')).toBe(res.body.request_id);
      }
      expect((await agent(wa, 'GET', '/env')).status).toBe(200);
      // refresh issues a new token; it works on the agent
      const refreshed = await control(t, 'POST', `/v1/sandboxes/${a.id}/token/refresh`);
      expect(refreshed.body.auth_token).not.toBe(wa.auth_token);
      expect((await agent(wa, 'GET', '/env', undefined, refreshed.body.auth_token)).status).toBe(200);
      expect((await t.client.sandboxes.refreshToken(a.id)).expiresAt).toBeTruthy();
    } finally {
      await t.client.sandboxes.kill(a.id);
      await t.client.sandboxes.kill(b.id);
    }
  });

  test('by default a sandbox has its own network: the backend\'s loopback ports are unreachable from inside', async () => {
    const s = await t.client.sandboxes.create({ template: 'base' });
    try {
      const port = new URL(t.backend.url).port;
      const probe = await t.client.agent(s.id).commands.run({ command: `(echo > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo open || echo closed` });
      expect(probe.stdout).toBe('closed\n');
    } finally {
      await t.client.sandboxes.kill(s.id);
    }
  });

  test('pause stops progress, resume continues; stop keeps files, start runs again; wrong transitions are 409', async () => {
    const s = await t.client.sandboxes.create({ template: 'base' });
    const sandboxAgent = t.client.agent(s.id);
    try {
      await sandboxAgent.commands.runBackground({
        command: 'i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; sleep 0.05; done',
      });
      const read = async () => Number((await sandboxAgent.files.read('/workspace/counter').catch(() => '0')).trim() || 0);
      await until(async () => (await read()) > 2);
      expect((await t.client.sandboxes.pause(s.id)).status).toBe('paused');
      const w = await wireSandbox(t, s.id);
      const whilePaused = await agent(w, 'GET', '/files/read?path=/workspace/counter');
      expect(whilePaused.status).toBe(409);
      expectHopxError(whilePaused.body, 'SANDBOX_PAUSED');
      const health = await agent(w, 'GET', '/health', undefined, null);
      expect([health.status, health.body.status]).toEqual([503, 'paused']);
      expect((await control(t, 'POST', `/v1/sandboxes/${s.id}/pause`)).status).toBe(409);
      expect((await control(t, 'POST', `/v1/sandboxes/${s.id}/start`)).status).toBe(409);
      // The agent refuses while paused, so read the counter from the host side of /workspace.
      const hostCounter = join(t.stateDir, 'sandboxes', s.id, 'workspace', 'counter');
      const atPause = (await readFile(hostCounter, 'utf8')).trim();
      await new Promise((r) => setTimeout(r, 400));
      expect((await readFile(hostCounter, 'utf8')).trim()).toBe(atPause);
      await t.client.sandboxes.resume(s.id);
      await until(async () => (await read()) > Number(atPause) + 2);

      await sandboxAgent.files.write('/workspace/keep.txt', 'kept');
      expect((await t.client.sandboxes.stop(s.id)).status).toBe('stopped');
      expect((await control(t, 'POST', `/v1/sandboxes/${s.id}/resume`)).status).toBe(409);
      expect((await t.client.sandboxes.start(s.id)).status).toBe('running');
      expect(await sandboxAgent.files.read('/workspace/keep.txt')).toBe('kept');
      const ps = await sandboxAgent.commands.run({ command: 'ps -eo args | grep -c "[s]leep 0.05" || true' });
      expect(ps.stdout.trim()).toBe('0');
    } finally {
      await t.client.sandboxes.kill(s.id);
    }
  });

  test('a sandbox is killed when its timeout passes; PUT timeout counts from now', async () => {
    const s = await t.client.sandboxes.create({ template: 'base', timeoutSeconds: 1 });
    await until(async () => (await control(t, 'GET', `/v1/sandboxes/${s.id}`)).status === 404);
    const other = await t.client.sandboxes.create({ template: 'base' });
    expect(other.expiresAt).toBeNull();
    const set = await t.client.sandboxes.setTimeout(other.id, 3600);
    expect(Date.parse(set.expiresAt!)).toBeGreaterThan(Date.now() + 3_500_000);
    const bad = await control(t, 'PUT', `/v1/sandboxes/${other.id}/timeout`, { timeout_seconds: 0 });
    expect(bad.status).toBe(400);
    await t.client.sandboxes.kill(other.id);
  });
});
