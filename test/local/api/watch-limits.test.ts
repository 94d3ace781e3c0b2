/** /files/watch limits: each watched directory holds a host inotify watch, so a sandbox gets 32. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { bwrapMissingReason, wireSandbox, type WireSandbox } from './helpers.js';

/** Open a watch socket and ask for `count` watches of /workspace; resolves with the replies. */
async function watchSocket(w: WireSandbox, count: number): Promise<{ ws: WebSocket; replies: Array<Record<string, unknown>> }> {
  const ws = new WebSocket(`${w.public_host.replace('http', 'ws')}/files/watch`, { headers: { Authorization: `Bearer ${w.auth_token}` } });
  const replies: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => replies.push(JSON.parse(data.toString())));
  await new Promise((r) => ws.once('open', r));
  for (let i = 0; i < count; i++) ws.send(JSON.stringify({ action: 'watch', path: '/workspace' }));
  const deadline = Date.now() + 10_000;
  while (replies.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return { ws, replies };
}

async function closed(ws: WebSocket): Promise<void> {
  const done = new Promise((r) => ws.once('close', r));
  ws.close();
  await done;
}

describe.skipIf(bwrapMissingReason !== null)('local backend agent: watch limits', () => {
  let t: TestBackend;
  let w: WireSandbox;
  beforeAll(async () => {
    t = await startTestBackend();
    w = await wireSandbox(t, (await t.client.sandboxes.create({ template: 'base' })).id);
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a sandbox holds at most 32 watches across its sockets; closing sockets frees them', async () => {
    const sockets = [];
    for (let i = 0; i < 4; i++) {
      const s = await watchSocket(w, 8);
      expect(s.replies.map((r) => r.type)).toEqual(Array(8).fill('watching'));
      sockets.push(s.ws);
    }
    const refused = await watchSocket(w, 1);
    expect(refused.replies[0]).toMatchObject({ type: 'error', code: 'RESOURCE_LIMIT_ERROR' });
    for (const ws of [...sockets, refused.ws]) await closed(ws);
    // The server counts a socket's watches down when it sees the close.
    const deadline = Date.now() + 5000;
    let again = await watchSocket(w, 1);
    while (again.replies[0]?.type !== 'watching' && Date.now() < deadline) {
      await closed(again.ws);
      again = await watchSocket(w, 1);
    }
    expect(again.replies[0]).toMatchObject({ type: 'watching', path: '/workspace' });
    await closed(again.ws);
  });
});
