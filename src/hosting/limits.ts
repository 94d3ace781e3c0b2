/**
 * Per-caller limits of a hosted server (issue 9, "Limits and abuse"). A caller is an identity
 * from the authenticator (OAuth issuer + subject, a caller's own HopX key, or the one shared
 * static-token/anonymous caller).
 *
 * - Request rate: a token bucket per caller; refused with HTTP 429 and Retry-After.
 * - Concurrent calls: requests in flight per caller; refused with HTTP 429 and Retry-After.
 * - Live sandboxes: the sandboxes the caller's conversations created and still hold, plus its
 *   creates in flight; a sandbox_create past the limit is an isError result that says how to
 *   free one. Counted from the conversation records in the state store (every replica's), so a
 *   killed or ended sandbox frees its slot without bookkeeping that could drift.
 *
 * 0 turns a limit off. The counters live in the state store (src/state): in memory for one
 * process, in Redis when replicas share the limits.
 */
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { StateStore } from '../state/types.js';
import type { ToolCallHooks } from '../tools/index.js';

/** A counter that no replica changed for this long lapses (a replica that died mid-call leaks nothing for ever). */
const COUNTER_TTL_MS = 60 * 60 * 1000;

export interface LimitSettings {
  /** Live sandboxes per caller. */
  maxSandboxes: number;
  /** Requests in flight per caller. */
  maxConcurrentCalls: number;
  /** Requests per minute per caller (bursts up to a tenth of it, at least 5). */
  requestsPerMinute: number;
}

export const DEFAULT_LIMITS: LimitSettings = { maxSandboxes: 10, maxConcurrentCalls: 16, requestsPerMinute: 600 };

export type LimitName = 'rate' | 'concurrency' | 'sandboxes';

export type Admission = { ok: true; done: () => void } | { ok: false; limit: LimitName; retryAfterSeconds: number; message: string };

/** The identity the HTTP layer stamped on the request's AuthInfo (absent on stdio). */
export function identityOf(authInfo: { extra?: Record<string, unknown> } | undefined): string | undefined {
  const identity = authInfo?.extra?.identity;
  return typeof identity === 'string' ? identity : undefined;
}

export class CallerLimits {
  constructor(
    readonly settings: LimitSettings,
    private readonly counters: Pick<StateStore, 'takeToken' | 'adjustCounter'>,
    /** Sandboxes created and still held by the caller's conversations, on every replica. */
    private readonly liveSandboxes: (identity: string) => Promise<number>,
    private readonly onRefused?: (limit: LimitName) => void,
  ) {}

  /**
   * Admits one request of `identity`, or says which limit refused it and when to retry. A
   * `longLived` request (a subscriptions/listen stream, open by design) counts against the rate
   * but does not hold a calls-in-flight slot.
   */
  async admit(identity: string, longLived = false): Promise<Admission> {
    const { requestsPerMinute, maxConcurrentCalls } = this.settings;
    if (requestsPerMinute > 0) {
      const take = await this.counters.takeToken(`rate:${identity}`, Math.max(5, Math.ceil(requestsPerMinute / 10)), requestsPerMinute / 60, Date.now());
      if (!take.ok) {
        return this.refuse('rate', Math.ceil(take.retryAfterMs / 1000), `Too many requests: the limit is ${requestsPerMinute} per minute per caller.`);
      }
    }
    if (maxConcurrentCalls > 0 && !longLived) {
      const key = `calls:${identity}`;
      if (!(await this.tryAcquire(key, maxConcurrentCalls))) {
        return this.refuse('concurrency', 1, `Too many calls in flight: the limit is ${maxConcurrentCalls} at once per caller. Wait for one to finish.`);
      }
      let released = false;
      return {
        ok: true,
        done: () => {
          if (released) return;
          released = true;
          this.release(key).catch(() => {});
        },
      };
    }
    return { ok: true, done: () => {} };
  }

  /** Tool-call hook: holds sandbox_create to the caller's live-sandbox limit. */
  readonly around: NonNullable<ToolCallHooks['around']> = async ({ tool, mcp }, run) => {
    const identity = identityOf(mcp.http?.authInfo);
    const max = this.settings.maxSandboxes;
    if (tool.name !== 'sandbox_create' || identity === undefined || max <= 0) return run();
    const live = await this.liveSandboxes(identity);
    // Creates in flight hold a slot too, so concurrent creates cannot overshoot the limit.
    const key = `creates:${identity}`;
    if (live >= max || !(await this.tryAcquire(key, max - live))) {
      this.onRefused?.('sandboxes');
      return sandboxLimitResult(max);
    }
    try {
      return await run();
    } finally {
      await this.release(key).catch(() => {});
    }
  };

  /** Adds one to `key` unless that passes `max` (then takes it back): true when it stayed. */
  private async tryAcquire(key: string, max: number): Promise<boolean> {
    if ((await this.counters.adjustCounter(key, 1, COUNTER_TTL_MS)) <= max) return true;
    await this.counters.adjustCounter(key, -1, COUNTER_TTL_MS);
    return false;
  }

  private async release(key: string): Promise<void> {
    await this.counters.adjustCounter(key, -1, COUNTER_TTL_MS);
  }

  private refuse(limit: LimitName, retryAfterSeconds: number, message: string): Admission {
    this.onRefused?.(limit);
    return { ok: false, limit, retryAfterSeconds: Math.max(1, retryAfterSeconds), message: `${message} Retry after ${Math.max(1, retryAfterSeconds)} s.` };
  }
}

function sandboxLimitResult(max: number): CallToolResult {
  return {
    isError: true,
    content: [
      {
        type: 'text',
        text:
          `Sandbox limit reached: each caller may have ${max} live sandboxes. Kill one you no longer need with sandbox_kill ` +
          '(sandbox_list shows yours), or end an old conversation, then create again.',
      },
    ],
  };
}
