/**
 * The in-memory state store: the default for one process (stdio, or one HTTP process). Same
 * semantics as the Redis store, so the code above it never asks which one it has.
 */
import { InMemoryServerEventBus, type EventId, type EventStore, type JSONRPCMessage, type StreamId } from '@modelcontextprotocol/server';
import {
  EVENT_TTL_MS,
  MAX_EVENTS_PER_STREAM,
  MAX_KILLED_IDS,
  type AttachedSandbox,
  type ConversationMeta,
  type ConversationRecord,
  type StateStore,
  type TokenTake,
} from './types.js';

interface Held {
  meta: ConversationMeta;
  sandboxes: Map<string, AttachedSandbox>;
  current: string | null;
  killed: string[];
}

export class MemoryStateStore implements StateStore {
  readonly kind = 'memory' as const;
  readonly describe = 'memory';
  readonly eventStore = new MemoryEventStore();
  readonly bus = new InMemoryServerEventBus();

  private readonly conversations = new Map<string, Held>();
  private readonly callers = new Map<string, string>();
  private readonly lastSeen = new Map<string, number>();
  private readonly leases = new Map<string, { owner: string; until: number }>();
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();
  private readonly counters = new Map<string, { value: number; until: number }>();

  createConversation(meta: ConversationMeta): Promise<void> {
    this.conversations.set(meta.id, { meta: { ...meta }, sandboxes: new Map(), current: null, killed: [] });
    this.lastSeen.set(meta.id, Date.now());
    return Promise.resolve();
  }

  loadConversation(id: string): Promise<ConversationRecord | null> {
    const held = this.conversations.get(id);
    if (!held) return Promise.resolve(null);
    return Promise.resolve({
      meta: { ...held.meta },
      sandboxes: [...held.sandboxes.values()].map((s) => ({ ...s })),
      current: held.current,
      killed: [...held.killed],
    });
  }

  putSandbox(conversationId: string, sandbox: AttachedSandbox, makeCurrent: boolean): Promise<boolean> {
    const held = this.conversations.get(conversationId);
    if (!held) return Promise.resolve(false);
    held.sandboxes.set(sandbox.id, { ...sandbox });
    held.killed = held.killed.filter((id) => id !== sandbox.id);
    if (makeCurrent) held.current = sandbox.id;
    return Promise.resolve(true);
  }

  removeSandbox(conversationId: string, sandboxId: string): Promise<string | null> {
    const held = this.conversations.get(conversationId);
    if (!held) return Promise.resolve(null);
    if (held.sandboxes.delete(sandboxId)) {
      held.killed = [...held.killed.filter((id) => id !== sandboxId), sandboxId].slice(-MAX_KILLED_IDS);
    }
    if (held.current === sandboxId) held.current = latest(held.sandboxes.values());
    return Promise.resolve(held.current);
  }

  setCurrent(conversationId: string, sandboxId: string | null): Promise<void> {
    const held = this.conversations.get(conversationId);
    if (held) held.current = sandboxId;
    return Promise.resolve();
  }

  deleteConversation(id: string): Promise<void> {
    this.conversations.delete(id);
    this.lastSeen.delete(id);
    return Promise.resolve();
  }

  liveSandboxes(identity: string): Promise<number> {
    let live = 0;
    for (const held of this.conversations.values()) {
      if (held.meta.identity !== identity) continue;
      for (const sandbox of held.sandboxes.values()) if (sandbox.origin === 'created') live += 1;
    }
    return Promise.resolve(live);
  }

  callerConversation(identity: string, newId: string): Promise<{ id: string; created: boolean }> {
    const existing = this.callers.get(identity);
    if (existing) return Promise.resolve({ id: existing, created: false });
    this.callers.set(identity, newId);
    return Promise.resolve({ id: newId, created: true });
  }

  forgetCaller(identity: string, conversationId: string): Promise<void> {
    if (this.callers.get(identity) === conversationId) this.callers.delete(identity);
    return Promise.resolve();
  }

  touch(conversationId: string, nowMs: number): Promise<void> {
    // Like Redis ZADD XX GT: never resurrect an ended conversation, never move back in time.
    const seen = this.lastSeen.get(conversationId);
    if (seen !== undefined && nowMs > seen) this.lastSeen.set(conversationId, nowMs);
    return Promise.resolve();
  }

  idleSince(cutoffMs: number, limit: number): Promise<string[]> {
    const idle = [...this.lastSeen.entries()].filter(([, at]) => at <= cutoffMs).sort((a, b) => a[1] - b[1]);
    return Promise.resolve(idle.slice(0, limit).map(([id]) => id));
  }

  claim(lease: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    const held = this.leases.get(lease);
    if (held && held.until > now && held.owner !== owner) return Promise.resolve(false);
    this.leases.set(lease, { owner, until: now + ttlMs });
    return Promise.resolve(true);
  }

  release(lease: string, owner: string): Promise<void> {
    if (this.leases.get(lease)?.owner === owner) this.leases.delete(lease);
    return Promise.resolve();
  }

  takeToken(bucket: string, capacity: number, refillPerSecond: number, nowMs: number): Promise<TokenTake> {
    const state = this.buckets.get(bucket) ?? { tokens: capacity, atMs: nowMs };
    const take = takeFromBucket(state, capacity, refillPerSecond, nowMs);
    this.buckets.set(bucket, { tokens: take.tokens, atMs: nowMs });
    return Promise.resolve(take.answer);
  }

  adjustCounter(counter: string, delta: number, ttlMs: number): Promise<number> {
    const now = Date.now();
    const held = this.counters.get(counter);
    const value = (held && held.until > now ? held.value : 0) + delta;
    this.counters.set(counter, { value, until: now + ttlMs });
    return Promise.resolve(value);
  }

  check(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The most recently attached sandbox, or null. */
function latest(sandboxes: Iterable<AttachedSandbox>): string | null {
  let best: AttachedSandbox | null = null;
  for (const s of sandboxes) if (!best || s.attachedAt >= best.attachedAt) best = s;
  return best?.id ?? null;
}

/** One token-bucket step, shared by the memory store and mirrored by the Redis script. */
function takeFromBucket(
  state: { tokens: number; atMs: number },
  capacity: number,
  refillPerSecond: number,
  nowMs: number,
): { tokens: number; answer: TokenTake } {
  const refilled = Math.min(capacity, state.tokens + (Math.max(0, nowMs - state.atMs) / 1000) * refillPerSecond);
  if (refilled >= 1) return { tokens: refilled - 1, answer: { ok: true, remaining: Math.floor(refilled - 1), retryAfterMs: 0 } };
  const retryAfterMs = refillPerSecond > 0 ? Math.ceil(((1 - refilled) / refillPerSecond) * 1000) : Number.MAX_SAFE_INTEGER;
  return { tokens: refilled, answer: { ok: false, remaining: 0, retryAfterMs } };
}

/** Event ids are `<streamId>_<sequence>`: the stream is found again from the id alone. */
export function eventId(streamId: StreamId, sequence: number): EventId {
  return `${streamId}_${sequence}`;
}

export function parseEventId(id: EventId): { streamId: StreamId; sequence: number } | null {
  const cut = id.lastIndexOf('_');
  const sequence = Number(id.slice(cut + 1));
  if (cut <= 0 || !Number.isSafeInteger(sequence)) return null;
  return { streamId: id.slice(0, cut), sequence };
}

/** The SDK's EventStore in memory: a bounded list per stream, forgotten an hour after its last event. */
class MemoryEventStore implements EventStore {
  private readonly streams = new Map<StreamId, { next: number; events: Array<{ seq: number; message: JSONRPCMessage }>; until: number }>();

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const now = Date.now();
    for (const [id, s] of this.streams) if (s.until <= now) this.streams.delete(id);
    const stream = this.streams.get(streamId) ?? { next: 1, events: [], until: 0 };
    const seq = stream.next++;
    stream.events.push({ seq, message });
    if (stream.events.length > MAX_EVENTS_PER_STREAM) stream.events.shift();
    stream.until = now + EVENT_TTL_MS;
    this.streams.set(streamId, stream);
    return Promise.resolve(eventId(streamId, seq));
  }

  getStreamIdForEventId(id: EventId): Promise<StreamId | undefined> {
    const parsed = parseEventId(id);
    return Promise.resolve(parsed && this.streams.has(parsed.streamId) ? parsed.streamId : undefined);
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (id: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const parsed = parseEventId(lastEventId);
    const stream = parsed ? this.streams.get(parsed.streamId) : undefined;
    if (!parsed || !stream) throw new Error(`Unknown event id ${lastEventId}: the stream expired or never existed.`);
    for (const e of stream.events) {
      // The empty priming event is an anchor for resumption, not a message to deliver.
      if (e.seq > parsed.sequence && !isPriming(e.message)) await send(eventId(parsed.streamId, e.seq), e.message);
    }
    return parsed.streamId;
  }
}

export function isPriming(message: JSONRPCMessage): boolean {
  return Object.keys(message).length === 0;
}
