/**
 * Cross-request notifications cross replicas: a 2026-era `subscriptions/listen` stream open on
 * replica A hears an event published on replica B, through the Redis-backed ServerEventBus each
 * replica hands createMcpHandler. Two HTTP servers in this process, each with its own Redis store
 * connection (as two replicas have), on a real redis-server; the servers carry the conformance
 * fixtures, which advertise list-changed notifications. (Resource updates take the same bus: the
 * HTTP transport publishes file/process/sandbox watch updates through the handler's notifier.)
 */
import { randomUUID } from 'node:crypto';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HopxClient } from '../../src/client/index.js';
import { Conversation } from '../../src/conversation/conversation.js';
import { silentLogger } from '../../src/log.js';
import { RedisStateStore } from '../../src/state/redis.js';
import { startConformanceServer } from '../conformance/server.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
const closers: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await redis?.close();
});

it('delivers an event published on replica B to a listen stream on replica A, filtered by what it listens for', { timeout: 60_000 }, async () => {
  const prefix = `bus${randomUUID().slice(0, 8)}:`;
  const stores = await Promise.all([0, 1].map(() => RedisStateStore.open({ url: redis.url, logger: silentLogger(), prefix })));
  for (const s of stores) closers.push(() => s.close());
  const [a, b] = await Promise.all(stores.map((state) => startConformanceServer({ state })));
  closers.push(() => a.close(), () => b.close());

  const client = new Client({ name: 'bus-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(a.url)));
  closers.push(() => client.close());
  const seen: string[] = [];
  let arrived: () => void = () => {};
  const listChanged = new Promise<void>((resolve) => (arrived = resolve));
  client.setNotificationHandler('notifications/tools/list_changed', () => void seen.push('tools'));
  client.setNotificationHandler('notifications/resources/list_changed', () => {
    seen.push('resources');
    arrived();
  });
  const subscription = await client.listen({ resourcesListChanged: true });
  closers.push(() => subscription.close());
  expect(subscription.honoredFilter.resourcesListChanged).toBe(true);

  // Published on B: first an event this stream did not ask for (A's listen router drops it),
  // then through a conversation whose store is B's, the way tools publish. Redis keeps the order,
  // so once the second arrives the first was seen and filtered.
  stores[1].bus.publish({ kind: 'tools_list_changed' });
  const hopx = new HopxClient({ apiKey: 'unused', baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
  closers.push(() => hopx.close());
  const onB = new Conversation({ id: randomUUID(), client: hopx, backend: 'cloud', logger: silentLogger(), state: stores[1] });
  onB.notify.resourcesChanged();
  await listChanged;
  expect(seen).toEqual(['resources']);
});
