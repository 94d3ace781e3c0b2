/**
 * Log messages over streamable HTTP: a 2025-era session gets the conversation's events on its
 * stream, filtered by its own logging/setLevel; a 2026-era client (that era deprecates logging,
 * and has no session to send on) gets none, and its calls are unaffected.
 */
import { describe, expect, it } from 'vitest';
import { callTool, connectHttp, createSandbox, useHttpFixture } from './helpers.js';

const fixture = useHttpFixture();

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

describe('log messages over HTTP', () => {
  it('a 2025-era session hears its own events at the level it set', async () => {
    const server = await fixture.serve();
    const client = fixture.track(await connectHttp(server.url, 'legacy'));
    const seen: Array<{ level: string; data: { event: string; sandbox_id?: string } }> = [];
    client.setNotificationHandler('notifications/message', (n) => {
      seen.push(n.params as (typeof seen)[number]);
    });
    await client.setLoggingLevel('notice');
    const id = await createSandbox(client); // info: below notice
    expect((await callTool(client, 'sandbox_kill', { sandbox_id: id })).isError).toBe(false);
    await until(() => seen.length >= 1);
    expect(seen).toEqual([expect.objectContaining({ level: 'notice', data: expect.objectContaining({ event: 'sandbox_killed', sandbox_id: id }) })]);
  });

  it('a 2026-era client gets no log messages, and its tools work as ever', async () => {
    const server = await fixture.serve();
    const client = fixture.track(await connectHttp(server.url, 'modern'));
    const seen: unknown[] = [];
    client.setNotificationHandler('notifications/message', (n) => {
      seen.push(n.params);
    });
    const id = await createSandbox(client);
    expect((await callTool(client, 'sandbox_kill', { sandbox_id: id })).isError).toBe(false);
    expect(seen).toEqual([]);
  });
});
