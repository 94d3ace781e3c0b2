/**
 * The state store: hosted state that must outlive one request (docs/decisions.md decision 11).
 *
 * One interface, two implementations: in memory for one process (the default, stdio and a single
 * HTTP process) and Redis for several replicas (`--state redis://…`). Everything a replica needs
 * to carry on a conversation another replica started lives here: the conversation's sandboxes,
 * its current sandbox, which caller it belongs to, when it was last used (idle expiry), leases
 * that make one replica do a job exactly once, the counters behind per-caller limits, the SSE
 * events a 2025-era client may resume from, and the bus that carries notifications across
 * replicas. A replica's memory is only a cache of this.
 */
import type { EventStore, ServerEventBus } from '@modelcontextprotocol/server';

export type SandboxOrigin = 'created' | 'connected';

export interface AttachedSandbox {
  id: string;
  origin: SandboxOrigin;
  /** Lease length in seconds (the timeout it was created with); null = never extend. */
  leaseSeconds: number | null;
  /** When HopX will kill it, epoch ms; null = unknown or never. */
  expiresAtMs: number | null;
  attachedAt: string;
}

export interface ConversationMeta {
  id: string;
  /** stdio connection, 2025-era HTTP session, or 2026-era HTTP caller. */
  kind: 'stdio' | 'session' | 'caller';
  /** Who may use it (caller identity; "anonymous" / "bearer" without OAuth). */
  identity: string;
  /**
   * Which HopX account its sandboxes live in: "server" (the server's own key) or "key:<fingerprint>"
   * of a caller's own key. The key itself is never stored: only a replica that holds it (from a
   * recent request) can kill that caller's sandboxes; otherwise they die at their HopX timeout.
   */
  account: string;
  keepSandboxes: boolean;
  createdAt: string;
}

export interface ConversationRecord {
  meta: ConversationMeta;
  /** In attach order. */
  sandboxes: AttachedSandbox[];
  current: string | null;
  /** Sandboxes this conversation killed (bounded), for "it was killed" errors. */
  killed: string[];
}

/** A token bucket's answer: allowed, or how long until a token is free. */
export interface TokenTake {
  ok: boolean;
  /** Tokens left after this take (floored). */
  remaining: number;
  /** When refused: ms until one token is available. */
  retryAfterMs: number;
}

/** Thrown when the store cannot be reached (Redis down): callers turn it into a clear error. */
export class StateUnavailableError extends Error {
  override name = 'StateUnavailableError';
  constructor(detail: string) {
    super(`The server's state store is unavailable (${detail}). Retry in a few seconds.`);
  }
}

export interface StateStore {
  readonly kind: 'memory' | 'redis';
  /** Where it lives, without credentials (for logs and /readyz). */
  readonly describe: string;

  // ---- conversations
  /** Records a new conversation (no sandboxes, no current). */
  createConversation(meta: ConversationMeta): Promise<void>;
  /** The conversation as every replica sees it; null when it ended or never existed. */
  loadConversation(id: string): Promise<ConversationRecord | null>;
  /** Adds or replaces one sandbox; with `makeCurrent` it also becomes the current one. No-op on an ended conversation (returns false). */
  putSandbox(conversationId: string, sandbox: AttachedSandbox, makeCurrent: boolean): Promise<boolean>;
  /**
   * Forgets a sandbox (remembered as killed). When it was current, the latest other attached
   * sandbox becomes current. Returns the current sandbox afterwards.
   */
  removeSandbox(conversationId: string, sandboxId: string): Promise<string | null>;
  setCurrent(conversationId: string, sandboxId: string | null): Promise<void>;
  /** Removes every trace of the conversation (after its sandboxes were dealt with). */
  deleteConversation(id: string): Promise<void>;

  /**
   * Sandboxes the identity's conversations created and still hold, over every replica (the
   * per-caller sandbox limit). Counted from the conversation records themselves: a killed sandbox
   * or an ended conversation frees its slot without a counter that could drift.
   */
  liveSandboxes(identity: string): Promise<number>;

  // ---- 2026-era callers: one conversation per identity, shared by every replica
  /** The caller's conversation id, created with `newId` when it has none (atomically: two replicas agree). */
  callerConversation(identity: string, newId: string): Promise<{ id: string; created: boolean }>;
  /** Drops the identity → conversation link, only if it still points at `conversationId`. */
  forgetCaller(identity: string, conversationId: string): Promise<void>;

  // ---- idle expiry
  /** Marks the conversation used at `nowMs`. */
  touch(conversationId: string, nowMs: number): Promise<void>;
  /** Conversations last used at or before `cutoffMs`, oldest first. */
  idleSince(cutoffMs: number, limit: number): Promise<string[]>;

  // ---- leases: a job done by exactly one replica
  /** Takes the lease when free (or already ours); it lapses after `ttlMs` unless renewed. */
  claim(lease: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees the lease if `owner` holds it. */
  release(lease: string, owner: string): Promise<void>;

  // ---- per-caller limits (shared by every replica with Redis)
  /** Token bucket: `capacity` tokens, refilled at `refillPerSecond`. */
  takeToken(bucket: string, capacity: number, refillPerSecond: number, nowMs: number): Promise<TokenTake>;
  /** Adds `delta` to a counter and returns the new value; the counter lapses `ttlMs` after its last change. */
  adjustCounter(counter: string, delta: number, ttlMs: number): Promise<number>;

  // ---- transports
  /** Resumable SSE (2025-era sessions): where a dropped stream's messages are kept. */
  readonly eventStore: EventStore;
  /** Cross-request notifications (subscriptions/listen) for createMcpHandler. */
  readonly bus: ServerEventBus;

  // ---- operations
  /** Throws StateUnavailableError when the store cannot answer now (for /readyz). */
  check(): Promise<void>;
  close(): Promise<void>;
}

/** How many killed ids a conversation remembers for its error messages. */
export const MAX_KILLED_IDS = 100;
/** Events kept per SSE stream for resumption (older ones are dropped). */
export const MAX_EVENTS_PER_STREAM = 1000;
/** A resumable stream's events are kept this long after its last event. */
export const EVENT_TTL_MS = 60 * 60 * 1000;
