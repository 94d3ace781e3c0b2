/**
 * The state store contract, run against both implementations: the in-memory store and the Redis
 * store on a real redis-server. Then what only Redis has to prove: two stores (two replicas) see
 * each other's writes, the bus crosses between them, events resume from the other replica, and a
 * Redis restart is reported and recovered from.
 */
import { randomUUID } from 'node:crypto';
import type { JSONRPCMessage, ServerEvent } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { MemoryStateStore } from '../../src/state/memory.js';
import { RedisStateStore } from '../../src/state/redis.js';
import { StateUnavailableError, type AttachedSandbox, type ConversationMeta, type StateStore } from '../../src/state/types.js';
import { startTestRedis, type TestRedis } from '../support/redis.js';

let redis: TestRedis;
const opened: StateStore[] = [];
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await redis?.close();
});

async function redisStore(prefix: string): Promise<RedisStateStore> {
  const store = await RedisStateStore.open({ url: redis.url, logger: silentLogger(), prefix, connectTimeoutMs: 2000 });
  opened.push(store);
  return store;
}

function meta(id = randomUUID(), identity = 'alice'): ConversationMeta {
  return { id, kind: 'caller', identity, account: 'server', keepSandboxes: false, createdAt: new Date().toISOString() };
}

let clock = Date.parse('2026-12-03T08:00:00Z');
function sandbox(id: string): AttachedSandbox {
  // Distinct, increasing attach times: "latest other sandbox" must be well defined.
  clock += 1000;
  return { id, origin: 'created', leaseSeconds: 600, expiresAtMs: clock + 600_000, attachedAt: new Date(clock).toISOString() };
}

const kinds: Array<[string, () => Promise<StateStore>]> = [
  ['memory', () => Promise.resolve(new MemoryStateStore())],
  ['redis', () => redisStore(`t${randomUUID().slice(0, 8)}:`)],
];

describe.each(kinds)('%s store', (_name, open) => {
  let store: StateStore;
  beforeAll(async () => {
    store = await open();
  });

  it('keeps a conversation: sandboxes in attach order, current, killed ids; ended = null', async () => {
    const m = meta();
    await store.createConversation(m);
    expect(await store.putSandbox(m.id, sandbox('a'), true)).toBe(true);
    expect(await store.putSandbox(m.id, sandbox('b'), true)).toBe(true);
    expect(await store.putSandbox(m.id, sandbox('c'), false)).toBe(true);
    let record = await store.loadConversation(m.id);
    expect(record?.meta).toEqual(m);
    expect(record?.sandboxes.map((s) => s.id)).toEqual(['a', 'b', 'c']);
    expect(record?.current).toBe('b');

    // Removing the current one falls back to the latest other (c), and remembers b as killed.
    expect(await store.removeSandbox(m.id, 'b')).toBe('c');
    await store.setCurrent(m.id, 'a');
    expect(await store.removeSandbox(m.id, 'c')).toBe('a');
    record = await store.loadConversation(m.id);
    expect(record?.sandboxes.map((s) => s.id)).toEqual(['a']);
    expect(record?.killed).toEqual(['b', 'c']);
    // Re-attaching a killed id clears it from the killed list.
    await store.putSandbox(m.id, sandbox('b'), false);
    expect((await store.loadConversation(m.id))?.killed).toEqual(['c']);

    await store.deleteConversation(m.id);
    expect(await store.loadConversation(m.id)).toBeNull();
    // A write racing with the end never recreates the conversation.
    expect(await store.putSandbox(m.id, sandbox('z'), true)).toBe(false);
    expect(await store.loadConversation(m.id)).toBeNull();
  });

  it('gives one conversation per caller identity, and forgets only the matching link', async () => {
    const identity = `caller-${randomUUID()}`;
    const first = await store.callerConversation(identity, 'conv-1');
    const second = await store.callerConversation(identity, 'conv-2');
    expect(first).toEqual({ id: 'conv-1', created: true });
    expect(second).toEqual({ id: 'conv-1', created: false });
    await store.forgetCaller(identity, 'conv-2');
    expect((await store.callerConversation(identity, 'conv-3')).id).toBe('conv-1');
    await store.forgetCaller(identity, 'conv-1');
    expect(await store.callerConversation(identity, 'conv-3')).toEqual({ id: 'conv-3', created: true });
  });

  it("counts an identity's live created sandboxes over all its conversations", async () => {
    const identity = `caller-${randomUUID()}`;
    const [one, two, other] = [meta(undefined, identity), meta(undefined, identity), meta()];
    for (const m of [one, two, other]) await store.createConversation(m);
    await store.putSandbox(one.id, sandbox('a'), true);
    await store.putSandbox(one.id, sandbox('b'), false);
    await store.putSandbox(two.id, { ...sandbox('c'), origin: 'connected' }, true);
    await store.putSandbox(two.id, sandbox('d'), true);
    await store.putSandbox(other.id, sandbox('e'), true);
    expect(await store.liveSandboxes(identity)).toBe(3);
    // A killed sandbox and an ended conversation free their slots.
    await store.removeSandbox(one.id, 'a');
    expect(await store.liveSandboxes(identity)).toBe(2);
    await store.deleteConversation(two.id);
    expect(await store.liveSandboxes(identity)).toBe(1);
    expect(await store.liveSandboxes(`nobody-${randomUUID()}`)).toBe(0);
  });

  it('lists idle conversations oldest first, and touching one makes it fresh', async () => {
    const [a, b] = [meta(), meta()];
    await store.createConversation(a);
    await store.createConversation(b);
    await store.touch(a.id, 1_000);
    await store.touch(b.id, 500);
    // touch never moves a conversation back in time (GT), so use fresh ones with old times.
    const idle = await store.idleSince(Date.now() + 60_000, 100);
    expect(idle).toContain(a.id);
    expect(idle).toContain(b.id);
    await store.touch(a.id, Date.now() + 120_000);
    expect(await store.idleSince(Date.now() + 60_000, 100)).not.toContain(a.id);
    await store.deleteConversation(a.id);
    await store.deleteConversation(b.id);
    expect(await store.idleSince(Date.now() + 300_000, 100)).not.toContain(b.id);
  });

  it('hands a lease to one owner until it is released or lapses', async () => {
    const lease = `end:${randomUUID()}`;
    expect(await store.claim(lease, 'replica-a', 60_000)).toBe(true);
    expect(await store.claim(lease, 'replica-b', 60_000)).toBe(false);
    expect(await store.claim(lease, 'replica-a', 60_000)).toBe(true);
    await store.release(lease, 'replica-b');
    expect(await store.claim(lease, 'replica-b', 60_000)).toBe(false);
    await store.release(lease, 'replica-a');
    expect(await store.claim(lease, 'replica-b', 50)).toBe(true);
    // Lapsing: wait on the lease itself (a real expiry), not on a fixed sleep.
    while (!(await store.claim(lease, 'replica-c', 60_000))) await new Promise((r) => setTimeout(r, 20));
    expect(await store.claim(lease, 'replica-b', 60_000)).toBe(false);
  });

  it('runs a token bucket and counters', async () => {
    const bucket = `rate:${randomUUID()}`;
    const t0 = 1_000_000;
    const takes = [];
    for (let i = 0; i < 4; i++) takes.push(await store.takeToken(bucket, 3, 1, t0));
    expect(takes.map((t) => t.ok)).toEqual([true, true, true, false]);
    expect(takes[2].remaining).toBe(0);
    expect(takes[3].retryAfterMs).toBe(1000);
    expect((await store.takeToken(bucket, 3, 1, t0 + 500)).ok).toBe(false);
    expect((await store.takeToken(bucket, 3, 1, t0 + 1000)).ok).toBe(true);

    const counter = `calls:${randomUUID()}`;
    expect(await store.adjustCounter(counter, 1, 60_000)).toBe(1);
    expect(await store.adjustCounter(counter, 1, 60_000)).toBe(2);
    expect(await store.adjustCounter(counter, -1, 60_000)).toBe(1);
  });

  it('stores SSE events and replays those after a given id (priming events are anchors, not messages)', async () => {
    const stream = randomUUID();
    const priming = await store.eventStore.storeEvent(stream, {} as JSONRPCMessage);
    const m1: JSONRPCMessage = { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } };
    const m2: JSONRPCMessage = { jsonrpc: '2.0', id: 7, result: { content: [] } };
    const id1 = await store.eventStore.storeEvent(stream, m1);
    const id2 = await store.eventStore.storeEvent(stream, m2);
    expect(await store.eventStore.getStreamIdForEventId?.(id1)).toBe(stream);
    expect(await store.eventStore.getStreamIdForEventId?.(`${randomUUID()}_1`)).toBeUndefined();

    const replayed: Array<[string, JSONRPCMessage]> = [];
    const send = (id: string, message: JSONRPCMessage) => {
      replayed.push([id, message]);
      return Promise.resolve();
    };
    expect(await store.eventStore.replayEventsAfter(priming, { send })).toBe(stream);
    expect(replayed).toEqual([
      [id1, m1],
      [id2, m2],
    ]);
    replayed.length = 0;
    await store.eventStore.replayEventsAfter(id1, { send });
    expect(replayed).toEqual([[id2, m2]]);
  });

  it('delivers bus events to subscribers until they unsubscribe', () => {
    const seen: ServerEvent[] = [];
    const off = store.bus.subscribe((e) => seen.push(e));
    store.bus.publish({ kind: 'resource_updated', uri: 'hopx://x' });
    off();
    store.bus.publish({ kind: 'tools_list_changed' });
    expect(seen).toEqual([{ kind: 'resource_updated', uri: 'hopx://x' }]);
  });
});

describe('redis store across replicas', () => {
  it('two replicas share conversations, leases and resumable streams', async () => {
    const prefix = `x${randomUUID().slice(0, 8)}:`;
    const [a, b] = [await redisStore(prefix), await redisStore(prefix)];
    const m = meta();
    await a.createConversation(m);
    await a.putSandbox(m.id, sandbox('s1'), true);
    expect((await b.loadConversation(m.id))?.current).toBe('s1');

    expect(await a.claim('end:c1', 'a', 60_000)).toBe(true);
    expect(await b.claim('end:c1', 'b', 60_000)).toBe(false);

    const stream = randomUUID();
    const first = await a.eventStore.storeEvent(stream, {} as JSONRPCMessage);
    const message: JSONRPCMessage = { jsonrpc: '2.0', id: 1, result: {} };
    await a.eventStore.storeEvent(stream, message);
    const replayed: JSONRPCMessage[] = [];
    await b.eventStore.replayEventsAfter(first, { send: (_id, msg) => (replayed.push(msg), Promise.resolve()) });
    expect(replayed).toEqual([message]);
  });

  it("counts a caller's sandboxes held through either replica", async () => {
    const prefix = `l${randomUUID().slice(0, 8)}:`;
    const [a, b] = [await redisStore(prefix), await redisStore(prefix)];
    const identity = `caller-${randomUUID()}`;
    const [onA, onB] = [meta(undefined, identity), meta(undefined, identity)];
    await a.createConversation(onA);
    await b.createConversation(onB);
    await a.putSandbox(onA.id, sandbox('s1'), true);
    await b.putSandbox(onB.id, sandbox('s2'), true);
    expect(await a.liveSandboxes(identity)).toBe(2);
    expect(await b.liveSandboxes(identity)).toBe(2);
  });

  it('carries a bus event published on one replica to the subscribers of the other, once', async () => {
    const prefix = `y${randomUUID().slice(0, 8)}:`;
    const [a, b] = [await redisStore(prefix), await redisStore(prefix)];
    const onA: ServerEvent[] = [];
    const onB: ServerEvent[] = [];
    a.bus.subscribe((e) => onA.push(e));
    const arrived = new Promise<void>((resolve) =>
      b.bus.subscribe((e) => {
        onB.push(e);
        resolve();
      }),
    );
    a.bus.publish({ kind: 'resource_updated', uri: 'hopx://sandbox/1/files/x' });
    await arrived;
    // A ping round trip on A's subscriber connection orders after its own message: no echo came.
    await a.bus.subscriber.ping();
    expect(onB).toEqual([{ kind: 'resource_updated', uri: 'hopx://sandbox/1/files/x' }]);
    expect(onA).toEqual([{ kind: 'resource_updated', uri: 'hopx://sandbox/1/files/x' }]);
  });

  it('reports a Redis outage as StateUnavailableError at once, and recovers when Redis is back', async () => {
    const prefix = `z${randomUUID().slice(0, 8)}:`;
    const store = await redisStore(prefix);
    const other = await redisStore(prefix);
    const m = meta();
    await store.createConversation(m);
    await store.check();
    await redis.stop();
    await expect(store.check()).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(store.loadConversation(m.id)).rejects.toThrow(/state store is unavailable/);
    await redis.start();
    // ioredis reconnects on its own; wait for that event rather than a fixed time.
    for (;;) {
      try {
        await store.check();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // Append-only persistence: the conversation survived the restart.
    expect((await store.loadConversation(m.id))?.meta.id).toBe(m.id);

    // The bus subscribed again on its own: an event published on one replica reaches the other.
    // The other's subscriber reconnects on its own schedule, so publish until one arrives.
    const heard: ServerEvent[] = [];
    other.bus.subscribe((e) => heard.push(e));
    for (let i = 0; heard.length === 0; i++) {
      expect(i, 'no bus event crossed replicas after Redis came back').toBeLessThan(200);
      store.bus.publish({ kind: 'resource_updated', uri: `hopx://sandbox/1/files/after-restart` });
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(heard[0]).toEqual({ kind: 'resource_updated', uri: 'hopx://sandbox/1/files/after-restart' });
  });
});
