/**
 * Subscribing to a background process and to a sandbox's info (2025 era, in-memory transport,
 * real local backend). File subscriptions in every era and transport: test/transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { callOk, connect, makeConversation, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
let sandboxId: string;
const updates: string[] = [];

beforeAll(async () => {
  backend = await startTestBackend();
  // Short polls: these watches poll the agent and the control plane.
  s = await connect(makeConversation(backend.client, { watchTimings: { processPollMs: 100, sandboxPollMs: 200 } }));
  sandboxId = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id;
  s.client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!done()) throw new Error(`timed out waiting for ${what}`);
}

describe('subscriptions', () => {
  it("a background process's output and end arrive as updates of its resource", async () => {
    const started = await callOk(s.client, 'sandbox_run_command', {
      command: 'echo first-line; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo done-line',
      background: true,
    });
    const processId = started.structuredContent.process_id as string;
    const uri = `hopx://sandboxes/${sandboxId}/processes/${processId}`;
    await s.client.subscribeResource({ uri });
    expect(s.conversation.watches.size).toBe(1);
    updates.length = 0;
    await callOk(s.client, 'sandbox_write_file', { path: '/tmp/go', content: '' });
    let read: Record<string, unknown> = {};
    await until(() => updates.includes(uri), 'an update after the process printed and ended');
    for (let i = 0; i < 100 && read.status !== 'completed'; i++) {
      read = JSON.parse(((await s.client.readResource({ uri })).contents[0] as { text: string }).text);
      if (read.status !== 'completed') await until(() => updates.filter((u) => u === uri).length > i + 1, 'the next update');
    }
    expect(read).toMatchObject({ process_id: processId, status: 'completed', exit_code: 0 });
    expect(read.stdout).toBe('first-line\ndone-line\n');
    await s.client.unsubscribeResource({ uri });
    expect(s.conversation.watches.size).toBe(0);
    await expect(s.client.subscribeResource({ uri: `hopx://sandboxes/${sandboxId}/processes/proc_none` })).rejects.toThrow(/proc_none.*no background process proc_none/);
    expect(s.conversation.watches.size).toBe(0);
  });

  it("a sandbox's info: an update when its expiry changes", async () => {
    const uri = `hopx://sandboxes/${sandboxId}`;
    await s.client.subscribeResource({ uri });
    updates.length = 0;
    await callOk(s.client, 'sandbox_set_timeout', { timeout_seconds: 1234 });
    await until(() => updates.includes(uri), 'an update after the timeout changed');
    await s.client.unsubscribeResource({ uri });
    expect(s.conversation.watches.size).toBe(0);
  });
});
