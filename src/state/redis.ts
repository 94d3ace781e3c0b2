/**
 * The Redis state store (`--state redis://…`): what lets several replicas serve one conversation.
 *
 * Layout (every key under one prefix, default "hopx:"):
 *   conv:<id>            hash: meta (JSON), current (id or ""), sb:<sandbox> (JSON), killed:<sandbox> (ms)
 *   caller:<identity>    string: the caller's conversation id (2026-era)
 *   ident:<identity>     set: the identity's conversation ids (its live-sandbox count)
 *   idle                 sorted set: conversation id → last use (ms)
 *   lease:<name>         string: owner, with a TTL
 *   bucket:<name>        hash: tokens, at (token buckets)
 *   count:<name>         integer counter with a TTL
 *   ev:<stream> / ev:<stream>:seq   list of [seq, message] / its sequence (resumable SSE)
 *   channel bus          pub/sub: ServerEvents between replicas
 *
 * Commands fail fast while Redis is away (no offline queue): a request then gets a clear
 * "state store unavailable" error instead of hanging, and /readyz says not ready. ioredis keeps
 * reconnecting and resubscribing in the background.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { EventId, EventStore, JSONRPCMessage, ServerEvent, ServerEventBus, StreamId } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
import { eventId, isPriming, parseEventId } from './memory.js';
import {
  EVENT_TTL_MS,
  MAX_EVENTS_PER_STREAM,
  MAX_KILLED_IDS,
  StateUnavailableError,
  type AttachedSandbox,
  type ConversationMeta,
  type ConversationRecord,
  type StateStore,
  type TokenTake,
} from './types.js';

export interface RedisStoreOptions {
  url: string;
  logger: Logger;
  /** Key prefix (tests use one per run to share a Redis). Default "hopx:". */
  prefix?: string;
  /** Give up connecting at startup after this long. Default 5000 ms. */
  connectTimeoutMs?: number;
}

const PUT_SANDBOX = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'sb:' .. ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[1], 'killed:' .. ARGV[1])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'current', ARGV[1]) end
return 1`;

// Forget a sandbox; when it was current, the latest other attached one becomes current. The
// killed list is trimmed to the newest ARGV[3] entries.
const REMOVE_SANDBOX = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HDEL', KEYS[1], 'sb:' .. ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'killed:' .. ARGV[1], ARGV[2])
end
local all = redis.call('HGETALL', KEYS[1])
local killed = {}
local best, bestAt = '', ''
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 7) == 'killed:' then table.insert(killed, {f, tonumber(all[i + 1])}) end
  if string.sub(f, 1, 3) == 'sb:' then
    local s = cjson.decode(all[i + 1])
    if s.attachedAt >= bestAt then best = s.id; bestAt = s.attachedAt end
  end
end
if #killed > tonumber(ARGV[3]) then
  table.sort(killed, function(a, b) return a[2] < b[2] end)
  for i = 1, #killed - tonumber(ARGV[3]) do redis.call('HDEL', KEYS[1], killed[i][1]) end
end
local current = redis.call('HGET', KEYS[1], 'current')
if current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'current', best)
  current = best
end
return current`;

const SET_CURRENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'current', ARGV[1])
return 1`;

const DELETE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const CLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

// Token bucket; mirrors takeFromBucket() in memory.ts. Returns {ok, remaining, retryAfterMs}.
const TAKE_TOKEN = `
local capacity, refill, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or capacity, tonumber(state[2]) or now
local refilled = math.min(capacity, tokens + math.max(0, now - at) / 1000 * refill)
local ttl = 1000
if refill > 0 then ttl = math.ceil(capacity / refill * 1000) + 1000 end
if refilled >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(refilled - 1), 'at', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, math.floor(refilled - 1), 0}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(refilled), 'at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if refill <= 0 then return {0, 0, -1} end
return {0, 0, math.ceil((1 - refilled) / refill * 1000)}`;

// Sandboxes with origin "created" over the identity's conversations; ids whose conversation is
// gone (ended, or its replica died before cleaning up) leave the set here.
const LIVE_SANDBOXES = `
local live = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('SREM', KEYS[1], id)
  else
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 3) == 'sb:' and cjson.decode(all[i + 1]).origin == 'created' then live = live + 1 end
    end
  end
end
return live`;

type Scripted = Redis & { [name: string]: (...args: Array<string | number>) => Promise<unknown> };

export class RedisStateStore implements StateStore {
  readonly kind = 'redis' as const;
  readonly describe: string;
  readonly eventStore: EventStore;
  readonly bus: RedisServerEventBus;

  private constructor(
    private readonly redis: Scripted,
    private readonly prefix: string,
    subscriber: Redis,
    private readonly logger: Logger,
    url: string,
  ) {
    this.describe = describeRedisUrl(url);
    this.eventStore = new RedisEventStore(this, redis, prefix);
    this.bus = new RedisServerEventBus(redis, subscriber, `${prefix}bus`, logger);
  }

  /** Connects (both the command and the subscriber connection) or throws a clear error. */
  static async open(options: RedisStoreOptions): Promise<RedisStateStore> {
    const logger = options.logger.child({ component: 'state', store: 'redis' });
    const common = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      // Keep trying for ever, at most every 2 s: an operator restarting Redis expects recovery.
      retryStrategy: (times: number) => Math.min(times * 100, 2000),
    };
    const redis = new Redis(options.url, common) as Scripted;
    // The bus resubscribes itself after a reconnect: ioredis's own resubscribe leaves its promise
    // unhandled, and a connection closing mid-way (Redis flapping, shutdown) would crash the process.
    const subscriber = new Redis(options.url, { ...common, autoResubscribe: false });
    let down = false;
    for (const [name, conn] of [['commands', redis], ['bus', subscriber]] as const) {
      conn.on('error', (err: Error) => {
        if (!down) logger.warn({ connection: name, err: err.message }, 'state store (Redis) unreachable; retrying');
        down = true;
      });
      conn.on('ready', () => {
        if (down) logger.info({ connection: name }, 'state store (Redis) reachable again');
        down = false;
      });
    }
    redis.defineCommand('hopxPutSandbox', { numberOfKeys: 1, lua: PUT_SANDBOX });
    redis.defineCommand('hopxRemoveSandbox', { numberOfKeys: 1, lua: REMOVE_SANDBOX });
    redis.defineCommand('hopxSetCurrent', { numberOfKeys: 1, lua: SET_CURRENT });
    redis.defineCommand('hopxDeleteIf', { numberOfKeys: 1, lua: DELETE_IF });
    redis.defineCommand('hopxClaim', { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand('hopxTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
    redis.defineCommand('hopxLiveSandboxes', { numberOfKeys: 1, lua: LIVE_SANDBOXES });
    try {
      await redis.connect();
      await subscriber.connect();
    } catch (error) {
      redis.disconnect();
      subscriber.disconnect();
      throw new Error(`cannot reach Redis at ${describeRedisUrl(options.url)}: ${(error as Error).message}`, { cause: error });
    }
    const store = new RedisStateStore(redis, options.prefix ?? 'hopx:', subscriber, logger, options.url);
    await store.bus.start();
    logger.info({ redis: store.describe }, 'state store: Redis');
    return store;
  }

  /** Runs a command; any failure (Redis down, timeout) becomes StateUnavailableError. */
  async run<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      this.logger.debug({ op: what, err: (error as Error).message }, 'state store command failed');
      // While disconnected ioredis says "Stream isn't writeable and enableOfflineQueue options is
      // false": an operator needs "not connected".
      const detail = this.redis.status === 'ready' ? (error as Error).message : `not connected (${this.redis.status})`;
      throw new StateUnavailableError(`Redis ${this.describe}: ${detail}`);
    }
  }

  private conv(id: string): string {
    return `${this.prefix}conv:${id}`;
  }

  private ident(identity: string): string {
    return `${this.prefix}ident:${identity}`;
  }

  createConversation(meta: ConversationMeta): Promise<void> {
    return this.run('create', async () => {
      await this.redis
        .multi()
        .hset(this.conv(meta.id), 'meta', JSON.stringify(meta), 'current', '')
        .zadd(`${this.prefix}idle`, Date.now(), meta.id)
        .sadd(this.ident(meta.identity), meta.id)
        .exec();
    });
  }

  loadConversation(id: string): Promise<ConversationRecord | null> {
    return this.run('load', async () => {
      const fields = await this.redis.hgetall(this.conv(id));
      if (!fields.meta) return null;
      const sandboxes: AttachedSandbox[] = [];
      const killed: Array<[string, number]> = [];
      for (const [field, value] of Object.entries(fields)) {
        if (field.startsWith('sb:')) sandboxes.push(JSON.parse(value) as AttachedSandbox);
        else if (field.startsWith('killed:')) killed.push([field.slice(7), Number(value)]);
      }
      sandboxes.sort((a, b) => a.attachedAt.localeCompare(b.attachedAt));
      killed.sort((a, b) => a[1] - b[1]);
      return {
        meta: JSON.parse(fields.meta) as ConversationMeta,
        sandboxes,
        current: fields.current || null,
        killed: killed.map(([sid]) => sid),
      };
    });
  }

  putSandbox(conversationId: string, sandbox: AttachedSandbox, makeCurrent: boolean): Promise<boolean> {
    return this.run('put sandbox', async () => {
      const done = await this.redis.hopxPutSandbox(this.conv(conversationId), sandbox.id, JSON.stringify(sandbox), makeCurrent ? '1' : '0');
      return done === 1;
    });
  }

  removeSandbox(conversationId: string, sandboxId: string): Promise<string | null> {
    return this.run('remove sandbox', async () => {
      const current = await this.redis.hopxRemoveSandbox(this.conv(conversationId), sandboxId, Date.now(), MAX_KILLED_IDS);
      return typeof current === 'string' && current !== '' ? current : null;
    });
  }

  setCurrent(conversationId: string, sandboxId: string | null): Promise<void> {
    return this.run('set current', async () => {
      await this.redis.hopxSetCurrent(this.conv(conversationId), sandboxId ?? '');
    });
  }

  deleteConversation(id: string): Promise<void> {
    return this.run('delete', async () => {
      const meta = await this.redis.hget(this.conv(id), 'meta');
      const identity = meta ? (JSON.parse(meta) as ConversationMeta).identity : null;
      const tx = this.redis.multi().del(this.conv(id)).zrem(`${this.prefix}idle`, id);
      if (identity !== null) tx.srem(this.ident(identity), id);
      await tx.exec();
    });
  }

  liveSandboxes(identity: string): Promise<number> {
    return this.run('live sandboxes', async () => Number(await this.redis.hopxLiveSandboxes(this.ident(identity), `${this.prefix}conv:`)));
  }

  callerConversation(identity: string, newId: string): Promise<{ id: string; created: boolean }> {
    return this.run('caller', async () => {
      const key = `${this.prefix}caller:${identity}`;
      // Every 2026-era request asks: read first (one round trip when it exists, the usual case).
      for (;;) {
        const existing = await this.redis.get(key);
        if (existing) return { id: existing, created: false };
        if ((await this.redis.set(key, newId, 'NX')) === 'OK') return { id: newId, created: true };
        // Another replica created it between GET and SET NX: read theirs.
      }
    });
  }

  forgetCaller(identity: string, conversationId: string): Promise<void> {
    return this.run('forget caller', async () => {
      await this.redis.hopxDeleteIf(`${this.prefix}caller:${identity}`, conversationId);
    });
  }

  touch(conversationId: string, nowMs: number): Promise<void> {
    return this.run('touch', async () => {
      // XX: never resurrect a conversation another replica just ended.
      await this.redis.zadd(`${this.prefix}idle`, 'XX', 'GT', nowMs, conversationId);
    });
  }

  idleSince(cutoffMs: number, limit: number): Promise<string[]> {
    return this.run('idle', () => this.redis.zrangebyscore(`${this.prefix}idle`, 0, cutoffMs, 'LIMIT', 0, limit));
  }

  claim(lease: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.run('claim', async () => (await this.redis.hopxClaim(`${this.prefix}lease:${lease}`, owner, Math.max(1, Math.round(ttlMs)))) === 1);
  }

  release(lease: string, owner: string): Promise<void> {
    return this.run('release', async () => {
      await this.redis.hopxDeleteIf(`${this.prefix}lease:${lease}`, owner);
    });
  }

  takeToken(bucket: string, capacity: number, refillPerSecond: number, nowMs: number): Promise<TokenTake> {
    return this.run('token', async () => {
      const [ok, remaining, retry] = (await this.redis.hopxTakeToken(`${this.prefix}bucket:${bucket}`, capacity, refillPerSecond, nowMs)) as number[];
      return { ok: ok === 1, remaining, retryAfterMs: retry < 0 ? Number.MAX_SAFE_INTEGER : retry };
    });
  }

  adjustCounter(counter: string, delta: number, ttlMs: number): Promise<number> {
    return this.run('counter', async () => {
      const key = `${this.prefix}count:${counter}`;
      const results = await this.redis.multi().incrby(key, delta).pexpire(key, Math.max(1, Math.round(ttlMs))).exec();
      return Number(results?.[0]?.[1] ?? 0);
    });
  }

  async check(): Promise<void> {
    if (this.redis.status !== 'ready') throw new StateUnavailableError(`Redis ${this.describe}: ${this.redis.status}`);
    await this.run('ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    this.bus.stop();
    await Promise.allSettled([this.redis.quit(), this.bus.subscriber.quit()]);
    this.redis.disconnect();
    this.bus.subscriber.disconnect();
  }
}

/** redis://user:secret@host:port/db → redis://host:port/db (no credentials in logs). */
function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis (unparsable URL)';
  }
}

/** Resumable SSE over Redis: any replica can replay a stream another replica wrote. */
class RedisEventStore implements EventStore {
  constructor(
    private readonly store: RedisStateStore,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return this.store.run('store event', async () => {
      const list = `${this.prefix}ev:${streamId}`;
      const seq = await this.redis.incr(`${list}:seq`);
      await this.redis
        .multi()
        .rpush(list, JSON.stringify([seq, message]))
        .ltrim(list, -MAX_EVENTS_PER_STREAM, -1)
        .pexpire(list, EVENT_TTL_MS)
        .pexpire(`${list}:seq`, EVENT_TTL_MS)
        .exec();
      return eventId(streamId, seq);
    });
  }

  getStreamIdForEventId(id: EventId): Promise<StreamId | undefined> {
    return this.store.run('event stream', async () => {
      const parsed = parseEventId(id);
      if (!parsed) return undefined;
      return (await this.redis.exists(`${this.prefix}ev:${parsed.streamId}:seq`)) === 1 ? parsed.streamId : undefined;
    });
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (id: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const parsed = parseEventId(lastEventId);
    if (!parsed) throw new Error(`Unknown event id ${lastEventId}.`);
    const raw = await this.store.run('replay', () => this.redis.lrange(`${this.prefix}ev:${parsed.streamId}`, 0, -1));
    for (const entry of raw) {
      const [seq, message] = JSON.parse(entry) as [number, JSONRPCMessage];
      if (seq > parsed.sequence && !isPriming(message)) await send(eventId(parsed.streamId, seq), message);
    }
    return parsed.streamId;
  }
}

/**
 * The SDK's ServerEventBus over Redis pub/sub. A publish reaches this replica's listeners at once
 * (so local streams never wait on Redis) and every other replica through the channel; a replica
 * ignores its own messages coming back.
 */
export class RedisServerEventBus implements ServerEventBus {
  private readonly listeners = new Set<(event: ServerEvent) => void>();
  private readonly origin = randomUUID();
  private readonly onMessage = (channel: string, raw: string): void => {
    if (channel !== this.channel) return;
    try {
      const { from, event } = JSON.parse(raw) as { from: string; event: ServerEvent };
      if (from !== this.origin) this.deliver(event);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'bad message on the event bus');
    }
  };

  constructor(
    private readonly publisher: Redis,
    readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  private readonly resubscribe = (): void => {
    this.subscriber.subscribe(this.channel).catch((error: unknown) => {
      // The connection dropped again before the reply; the next 'ready' tries again.
      this.logger.debug({ err: (error as Error).message }, 'event bus resubscribe interrupted');
    });
  };

  async start(): Promise<void> {
    this.subscriber.on('message', this.onMessage);
    await this.subscriber.subscribe(this.channel);
    this.subscriber.on('ready', this.resubscribe);
  }

  stop(): void {
    this.subscriber.off('message', this.onMessage);
    this.subscriber.off('ready', this.resubscribe);
    this.listeners.clear();
  }

  publish(event: ServerEvent): void {
    this.deliver(event);
    this.publisher.publish(this.channel, JSON.stringify({ from: this.origin, event })).catch((error: unknown) => {
      // Other replicas miss this one; their clients re-read on their next call. Said, not thrown.
      this.logger.warn({ err: (error as Error).message, kind: event.kind }, 'event not shared with other replicas (Redis unreachable)');
    });
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private deliver(event: ServerEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'event bus listener failed');
      }
    }
  }
}
