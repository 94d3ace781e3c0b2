/**
 * Logging: the conversation's events reach the client as `notifications/message`, through the
 * real SDK client, at or above the level it set with logging/setLevel. Real sandboxes (created,
 * killed, expiring, expired) and a real backend that is away and then comes back.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HopxClient } from '../../src/client/index.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, type Connected } from './harness.js';

interface Logged {
  level: string;
  logger?: string;
  data: { event: string; message: string; sandbox_id?: string; expires_at?: string };
}

/** Collects every log message the client receives. */
function collect(c: Connected): Logged[] {
  const seen: Logged[] = [];
  c.client.setNotificationHandler('notifications/message', (n) => {
    seen.push(n.params as Logged);
  });
  return seen;
}

/** Resolves once `check` holds (the test timeout bounds the wait). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.close();
});

describe('log messages', () => {
  it('says what happens to sandboxes, at or above the level set with logging/setLevel', async () => {
    const s = await connect(makeConversation(backend.client));
    const seen = collect(s);
    try {
      // No level set: everything is sent.
      const first = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
      await until(() => seen.length >= 1);
      expect(seen[0]).toMatchObject({ level: 'info', logger: 'hopx-mcp/sandboxes', data: { event: 'sandbox_created', sandbox_id: first } });
      expect(seen[0].data.message).toMatch(new RegExp(`^Sandbox ${first} created; it expires at \\S+ unless used\\.$`));

      await s.client.setLoggingLevel('warning');
      // Below warning: a create (info) and a kill (notice) say nothing now.
      const second = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
      await callOk(s.client, 'sandbox_kill', { sandbox_id: second });
      // A sandbox 8 s from its end: "expiring" (warning) at once, then "expired" (warning) once it is gone.
      const short = await backend.client.sandboxes.create({ template: 'base', timeoutSeconds: 8 });
      await callOk(s.client, 'sandbox_connect', { sandbox_id: short.id });
      await until(() => seen.some((m) => m.data.event === 'sandbox_expired'));
      expect(seen.slice(1).map((m) => [m.level, m.data.event, m.data.sandbox_id])).toEqual([
        ['warning', 'sandbox_expiring', short.id],
        ['warning', 'sandbox_expired', short.id],
      ]);
      expect(seen[1].data.message).toMatch(new RegExp(`^Sandbox ${short.id} expires in \\d+ s \\(at \\S+\\) and will then be killed\\. Any tool call on it, or sandbox_set_timeout, extends it\\.$`));
      expect(seen[2].data.message).toContain('reached its timeout');

      // Back down to info: the kill is said again.
      await s.client.setLoggingLevel('info');
      await callOk(s.client, 'sandbox_kill', { sandbox_id: first });
      await until(() => seen.length >= 4);
      expect(seen[3]).toMatchObject({ level: 'notice', data: { event: 'sandbox_killed', sandbox_id: first, message: `Sandbox ${first} killed.` } });
    } finally {
      await s.close();
    }
  });

  it('says when the backend cannot be reached, and when it is back', async () => {
    // A port nothing listens on yet: the backend is "down" until one starts there.
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const client = new HopxClient({ apiKey: 'hopx_test_key', baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0, requestTimeoutMs: 5000 });
    const s = await connect(makeConversation(client, { noticeTimings: { backendProbeMs: 100 } }));
    const seen = collect(s);
    let late: TestBackend | undefined;
    try {
      await s.client.setLoggingLevel('notice');
      const failed = await call(s.client, 'sandbox_list', { scope: 'account' });
      expect(failed.isError).toBe(true);
      await until(() => seen.length >= 1);
      expect(seen[0]).toMatchObject({ level: 'error', logger: 'hopx-mcp/backend', data: { event: 'backend_lost' } });
      expect(seen[0].data.message).toMatch(/^The HopX backend cannot be reached \(.+\)\. Tools fail until it is back/);
      // A second failure says nothing new.
      await call(s.client, 'sandbox_list', { scope: 'account' });

      late = await startTestBackend({ port, apiKey: 'hopx_test_key' });
      await until(() => seen.length >= 2);
      expect(seen.map((m) => m.data.event)).toEqual(['backend_lost', 'backend_back']);
      expect(seen[1]).toMatchObject({ level: 'notice', data: { message: 'The HopX backend can be reached again.' } });
      expect((await call(s.client, 'sandbox_list', { scope: 'account' })).isError).toBeFalsy();
    } finally {
      await s.close();
      await client.close();
      await late?.close();
    }
  });
});
