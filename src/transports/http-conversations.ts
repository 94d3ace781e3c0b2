/**
 * The conversations an HTTP server holds: 2025-era sessions (by Mcp-Session-Id) and 2026-era
 * callers (by identity). It enforces the cap and the idle expiry, which the SDK does not do: a
 * forgotten conversation must not keep its sandboxes alive.
 */
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { McpServer } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
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

export class HeldConversations {
  private readonly sessions = new Map<string, HeldConversation>();
  private readonly callers = new Map<string, HeldConversation>();
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly o: { max: number; idleSeconds: number; logger: Logger }) {
    const idleMs = o.idleSeconds * 1000;
    this.sweep = setInterval(() => this.expireIdle(idleMs), Math.max(50, Math.min(idleMs / 4, 30_000)));
    this.sweep.unref();
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

  /** Forgets it at once (later requests miss it), then closes it and ends the conversation. */
  async end(held: HeldConversation, reason: string): Promise<void> {
    this.map(held.kind).delete(held.key);
    await held.transport?.close().catch(() => {});
    await held.server?.close().catch(() => {});
    await held.open.end(reason);
  }

  async endAll(reason: string): Promise<void> {
    clearInterval(this.sweep);
    const all = [...this.sessions.values(), ...this.callers.values()];
    await Promise.allSettled(all.map((held) => this.end(held, reason)));
  }

  stats(): { sessions: number; callers: number } {
    return { sessions: this.sessions.size, callers: this.callers.size };
  }

  /** Sandboxes created and still held by the conversations of one identity, or of all (limits, metrics). */
  liveSandboxes(identity?: string): number {
    let count = 0;
    for (const held of [...this.sessions.values(), ...this.callers.values()]) {
      if (identity !== undefined && held.identity !== identity) continue;
      count += held.open.conversation.attachedSandboxes().filter((s) => s.origin === 'created').length;
    }
    return count;
  }

  private expireIdle(idleMs: number): void {
    const now = Date.now();
    for (const held of [...this.sessions.values(), ...this.callers.values()]) {
      if (held.active === 0 && now - held.lastSeenMs >= idleMs) {
        this.o.logger.info(
          { conversation_id: held.open.conversation.id, kind: held.kind, idle_s: this.o.idleSeconds },
          'session expired',
        );
        void this.end(held, 'idle timeout');
      }
    }
  }

  private map(kind: HeldConversation['kind']): Map<string, HeldConversation> {
    return kind === 'session' ? this.sessions : this.callers;
  }
}
