/**
 * Resource subscriptions with real SDK clients, in both protocol eras, against a real local
 * backend: 2025 era over stdio (the built CLI) and over HTTP sessions (resources/subscribe), 2026
 * era over HTTP (subscriptions/listen). An update arrives after a file write and none after
 * unsubscribing; unsubscribe, a closed listen stream and the end of the conversation leave no
 * watch behind, counted on the sandbox's agent itself (its hopx_agent_open_watches gauge).
 */
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './built-cli.js';
import { callTool, useHttpFixture, waitFor } from './helpers.js';

const { backend, serve, track } = useHttpFixture();
const sandboxes: string[] = [];
afterAll(async () => {
  await Promise.allSettled(sandboxes.map((id) => backend().client.sandboxes.kill(id)));
});

/** Watches the sandbox's agent has open now. */
async function agentWatches(sandboxId: string): Promise<number> {
  const text = await backend().client.agent(sandboxId).prometheusMetrics();
  const m = /^hopx_agent_open_watches (\d+)$/m.exec(text);
  if (!m) throw new Error('the agent reports no hopx_agent_open_watches gauge');
  return Number(m[1]);
}

/** A sandbox made outside the conversation and attached to it: ending the conversation leaves it running. */
async function connectedSandbox(client: Client): Promise<string> {
  const info = await backend().client.sandboxes.create({ template: 'code-interpreter', timeoutSeconds: 600 });
  sandboxes.push(info.id);
  const r = await callTool(client, 'sandbox_connect', { sandbox_id: info.id });
  if (r.isError) throw new Error(r.text);
  return info.id;
}

const fileUri = (sandboxId: string, name: string) => `hopx://sandboxes/${sandboxId}/files/workspace/${name}`;
const write = async (client: Client, name: string, content: string) => {
  const r = await callTool(client, 'sandbox_write_file', { path: `/workspace/${name}`, content });
  if (r.isError) throw new Error(r.text);
};

type Subscribe = (uri: string) => Promise<() => Promise<void>>;

/** The shared scenario: update after a write, none after unsubscribe, refusals watch nothing. */
async function updatesThenNone(client: Client, sandboxId: string, subscribe: Subscribe): Promise<void> {
  const updates: string[] = [];
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    updates.push(n.params.uri);
  });
  await write(client, 'watched.txt', 'one');
  await write(client, 'sentinel.txt', 'zero');
  const watched = fileUri(sandboxId, 'watched.txt');
  const sentinel = fileUri(sandboxId, 'sentinel.txt');

  const stop = await subscribe(watched);
  expect(await agentWatches(sandboxId)).toBe(1);
  await write(client, 'watched.txt', 'two');
  await waitFor(() => updates.includes(watched), 15_000, 'an update after the write');

  await stop();
  await waitFor(async () => (await agentWatches(sandboxId)) === 0, 15_000, 'the agent watch to close after unsubscribe');
  updates.length = 0;
  // None after unsubscribe: a write to the unsubscribed file, then one to a subscribed sentinel;
  // the sentinel's update arrives, the first file's does not.
  const stopSentinel = await subscribe(sentinel);
  await write(client, 'watched.txt', 'three');
  await write(client, 'sentinel.txt', 'one');
  await waitFor(() => updates.includes(sentinel), 15_000, 'the sentinel update');
  expect(updates).not.toContain(watched);
  await stopSentinel();
  await waitFor(async () => (await agentWatches(sandboxId)) === 0, 15_000, 'the sentinel watch to close');

  // A missing file and a foreign sandbox: a protocol error naming the URI, nothing watched.
  const missing = fileUri(sandboxId, 'missing.txt');
  await expect(subscribe(missing)).rejects.toThrow(/hopx:\/\/sandboxes\/.+\/files\/workspace\/missing\.txt.*does not exist/);
  await expect(subscribe('hopx://sandboxes/1700000000someone/files/workspace/a.txt')).rejects.toThrow(
    /hopx:\/\/sandboxes\/1700000000someone\/files\/workspace\/a\.txt: sandbox 1700000000someone is not attached/,
  );
  await expect(subscribe(`hopx://sandboxes/${sandboxId}/metrics`)).rejects.toThrow(/metrics cannot be subscribed/);
  expect(await agentWatches(sandboxId)).toBe(0);
}

describe('2025 era over stdio (resources/subscribe)', () => {
  it('advertises subscribe, delivers an update after a write and none after unsubscribe; EOF stops every watch', async () => {
    const cli = await ensureBuilt();
    const env = { ...getDefaultEnvironment(), HOPX_API_KEY: backend().backend.apiKey, HOPX_BASE_URL: backend().backend.url, HOPX_MCP_LOG_LEVEL: 'warn' };
    const client = new Client({ name: 'subs-stdio', version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli], env, stderr: 'pipe' }));
    let closed = false;
    try {
      expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
      const sandboxId = await connectedSandbox(client);
      const subscribe: Subscribe = async (uri) => {
        await client.subscribeResource({ uri });
        return async () => void (await client.unsubscribeResource({ uri }));
      };
      await updatesThenNone(client, sandboxId, subscribe);
      // The end of the conversation (stdin EOF) stops a watch still open.
      await subscribe(fileUri(sandboxId, 'watched.txt'));
      expect(await agentWatches(sandboxId)).toBe(1);
      await client.close();
      closed = true;
      await waitFor(async () => (await agentWatches(sandboxId)) === 0, 15_000, 'the watch to close at the end of the conversation');
    } finally {
      if (!closed) await client.close();
    }
  });
});

describe('over HTTP', () => {
  it('2025 era session (resources/subscribe): an update after a write, none after unsubscribe; DELETE stops every watch', async () => {
    const server = await serve();
    const transport = new StreamableHTTPClientTransport(new URL(server.url));
    const client = track(new Client({ name: 'subs-http-2025', version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } }));
    await client.connect(transport);
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const sandboxId = await connectedSandbox(client);
    await updatesThenNone(client, sandboxId, async (uri) => {
      await client.subscribeResource({ uri });
      return async () => void (await client.unsubscribeResource({ uri }));
    });
    await client.subscribeResource({ uri: fileUri(sandboxId, 'watched.txt') });
    expect(await agentWatches(sandboxId)).toBe(1);
    await transport.terminateSession();
    await waitFor(async () => (await agentWatches(sandboxId)) === 0, 15_000, 'the watch to close when the session ends');
  });

  it('2026 era (subscriptions/listen): an update after a write, none after the stream closes; the end of the conversation stops every watch', async () => {
    const server = await serve();
    const client = track(new Client({ name: 'subs-http-2026', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } }));
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    const sandboxId = await connectedSandbox(client);
    await updatesThenNone(client, sandboxId, async (uri) => {
      const subscription = await client.listen({ resourceSubscriptions: [uri] });
      expect(subscription.honoredFilter.resourceSubscriptions).toEqual([uri]);
      return () => subscription.close();
    });
    // Two streams on one file share one agent watch; each hears the update once.
    const uri = fileUri(sandboxId, 'watched.txt');
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    const a = await client.listen({ resourceSubscriptions: [uri] });
    const b = await client.listen({ resourceSubscriptions: [uri] });
    expect(await agentWatches(sandboxId)).toBe(1);
    await write(client, 'watched.txt', 'four');
    await waitFor(() => updates.length >= 2, 15_000, 'one update per stream');
    expect(updates).toEqual([uri, uri]);
    await a.close();
    expect(await agentWatches(sandboxId)).toBe(1); // b still listens
    // The server ending every conversation (shutdown) stops the watch b still holds.
    await server.close();
    await waitFor(async () => (await agentWatches(sandboxId)) === 0, 15_000, 'the watch to close at the end of the conversation');
    await b.close();
  });
});
