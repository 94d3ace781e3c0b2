/**
 * The conversations an HTTP server holds: 2025-era sessions (by Mcp-Session-Id) and 2026-era
 * callers (by identity). It enforces the cap and the idle expiry, which the SDK does not do: a
 * forgotten conversation must not keep its sandboxes alive.
 *
 * What is held here is this replica's copy; the record lives in the state store. Idle expiry
 * works from the store, so it also ends conversations no replica holds any more (their replica
 * died): every replica sweeps, and a lease in the store makes exactly one of them end each
 * expired conversation (kill its sandboxes, delete its record).
 */
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { McpServer } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
import type { ConversationRecord, StateStore } from '../state/types.js';
import type { OpenConversation } from './conversations.js';

export interface HeldConversation {
  kind: 'session' | 'caller';
  /** Session id, or caller identity. */
  key: string;
  /** Who may use it (a session presented by anyone else is "not found"). */
  identity: string;
  open: OpenConversation;
  lastSeenMs: number;
  /** POSTs in flight; a conversation is never expired mid-call. */
  active: number;
  /** 2025-era sessions only: their transport and server live as long as the session. */
  transport?: NodeStreamableHTTPServerTransport;
  server?: McpServer;
}

export interface HeldConversationsOptions {
  max: number;
  idleSeconds: number;
  logger: Logger;
  state: StateStore;
  /** This replica's name in leases. */
  replicaId: string;
  /**
   * Ends a conversation this replica does not hold (from its stored record): kill its sandboxes
   * and delete the record.
   */
  endStored(record: ConversationRecord, reason: string): Promise<void>;
}

/** How long one replica may take to end an expired conversation before another may retry. */
const END_LEASE_MS = 120_000;
/** Expired conversations looked at per sweep. */
const SWEEP_BATCH = 100;

export class HeldConversations {
  private readonly sessions = new Map<string, HeldConversation>();
  private readonly callers = new Map<string, HeldConversation>();
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping: Promise<void> | null = null;
  private readonly idleMs: number;

  constructor(private readonly o: HeldConversationsOptions) {
    this.idleMs = o.idleSeconds * 1000;
    // A quarter of the idle time (at most 30 s): in-flight conversations are touched at least
    // three times per idle period, so a long call never looks idle to another replica.
    this.sweepTimer = setInterval(() => void this.sweep(), Math.max(50, Math.min(this.idleMs / 4, 30_000)));
    this.sweepTimer.unref();
  }

  get(kind: HeldConversation['kind'], key: string): HeldConversation | undefined {
    return this.map(kind).get(key);
  }

  hasRoom(): boolean {
    return this.sessions.size + this.callers.size < this.o.max;
  }

  add(held: HeldConversation): void {
    this.map(held.kind).set(held.key, held);
  }

  /** Marks it used now, here and in the store (other replicas' sweepers read the store). */
  async touch(held: HeldConversation): Promise<void> {
    held.lastSeenMs = Date.now();
    await this.o.state.touch(held.open.conversation.id, held.lastSeenMs);
  }

  /** Forgets it at once (later requests miss it), then closes it and ends the conversation. */
  async end(held: HeldConversation, reason: string): Promise<void> {
    this.forget(held);
    await held.transport?.close().catch(() => {});
    await held.server?.close().catch(() => {});
    await held.open.end(reason);
    if (held.kind === 'caller') await this.o.state.forgetCaller(held.identity, held.open.conversation.id).catch(() => {});
  }

  /** Drops this replica's copy; the stored conversation and its sandboxes are left as they are. */
  async release(held: HeldConversation, reason: string): Promise<void> {
    this.forget(held);
    await held.transport?.close().catch(() => {});
    await held.server?.close().catch(() => {});
    await held.open.release(reason);
  }

  /**
   * Shutdown. With a store other replicas share, 2026-era conversations carry on there (released
   * here); 2025-era sessions cannot (their stream state dies with this process), so they end.
   */
  async endAll(reason: string): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => {});
    const shared = this.o.state.kind !== 'memory';
    await Promise.allSettled([
      ...[...this.sessions.values()].map((held) => this.end(held, reason)),
      ...[...this.callers.values()].map((held) => (shared ? this.release(held, reason) : this.end(held, reason))),
    ]);
  }

  stats(): { sessions: number; callers: number } {
    return { sessions: this.sessions.size, callers: this.callers.size };
  }

  /** Sandboxes created and still held by this replica's conversations (metrics). */
  liveSandboxes(): number {
    let count = 0;
    for (const held of [...this.sessions.values(), ...this.callers.values()]) {
      count += held.open.conversation.attachedSandboxes().filter((s) => s.origin === 'created').length;
    }
    return count;
  }

  /** One sweep at a time; failures (store away) are logged and retried at the next tick. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((error: unknown) => this.o.logger.warn({ err: String(error) }, 'idle sweep failed; retrying at the next one'))
      .finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const now = Date.now();
    const all = [...this.sessions.values(), ...this.callers.values()];
    const byId = new Map(all.map((held) => [held.open.conversation.id, held]));
    // In-flight calls keep their conversation fresh in the store.
    await Promise.all(all.filter((h) => h.active > 0).map((h) => this.o.state.touch(h.open.conversation.id, now)));

    for (const id of await this.o.state.idleSince(now - this.idleMs, SWEEP_BATCH)) {
      const local = byId.get(id);
      if (local && local.active > 0) continue;
      const record = await this.o.state.loadConversation(id);
      if (!record) {
        // Its record is gone (ended elsewhere mid-way): clear the idle entry.
        await this.o.state.deleteConversation(id);
        continue;
      }
      if (!(await this.o.state.claim(`end:${id}`, this.o.replicaId, END_LEASE_MS))) continue;
      this.o.logger.info({ conversation_id: id, kind: record.meta.kind, idle_s: this.o.idleSeconds, held_here: local !== undefined }, 'session expired');
      if (local) {
        await this.end(local, 'idle timeout');
      } else {
        await this.o.endStored(record, 'idle timeout');
        if (record.meta.kind === 'caller') await this.o.state.forgetCaller(record.meta.identity, id);
      }
    }

    // Copies of conversations that other replicas ended: drop them (nothing to kill here).
    for (const held of all) {
      if (held.active === 0 && now - held.lastSeenMs >= this.idleMs && this.map(held.kind).get(held.key) === held) {
        if (!(await this.o.state.loadConversation(held.open.conversation.id))) await this.release(held, 'ended by another replica');
      }
    }
  }

  private forget(held: HeldConversation): void {
    if (this.map(held.kind).get(held.key) === held) this.map(held.kind).delete(held.key);
  }

  private map(kind: HeldConversation['kind']): Map<string, HeldConversation> {
    return kind === 'session' ? this.sessions : this.callers;
  }
}
