/**
 * Prometheus metrics of one HTTP server (served at /metrics). The registry belongs to the server
 * that made it, not to the module: two servers in one process (tests) never mix their counts.
 *
 * Gauges are read when scraped (from the live conversations), so they cannot drift; counters and
 * the latency histogram are fed by the tool-call hook and the authenticator.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RefusalReason } from '../auth/verifier.js';
import type { ToolCallHooks } from '../tools/index.js';
import type { LimitName } from './limits.js';

/** Client errors that mean HopX (or the local backend) failed or did not answer. */
const BACKEND_ERRORS = new Set(['ServerError', 'NetworkError', 'RequestTimeoutError']);

/** The class names along an error's prototype chain (the client's errors subclass each other). */
function errorClasses(error: unknown): string[] {
  const names: string[] = [];
  for (let proto = error !== null && typeof error === 'object' ? (Object.getPrototypeOf(error) as object | null) : null; proto && proto !== Error.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name;
    if (name) names.push(name);
  }
  return names;
}

export interface ServerMetrics {
  readonly registry: Registry;
  /** Hook for every tool call's outcome and duration. */
  readonly ended: NonNullable<ToolCallHooks['ended']>;
  authFailure(reason: RefusalReason): void;
  limitRefusal(limit: LimitName): void;
  /** The text for GET /metrics, and its content type. */
  scrape(): Promise<{ body: string; contentType: string }>;
}

export function createMetrics(o: {
  conversations: () => { sessions: number; callers: number };
  liveSandboxes: () => number;
  /**
   * Also the process metrics (CPU, memory, event-loop lag, GC). They watch the whole process and
   * cannot be stopped, so only the one server of a `hopx-mcp` process turns them on (not tests).
   */
  processMetrics?: boolean;
}): ServerMetrics {
  const registry = new Registry();
  if (o.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'hopx_mcp_' });

  new Gauge({
    name: 'hopx_mcp_conversations_open',
    help: 'Conversations held: 2025-era sessions and 2026-era callers',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const { sessions, callers } = o.conversations();
      this.set({ kind: 'session' }, sessions);
      this.set({ kind: 'caller' }, callers);
    },
  });
  new Gauge({
    name: 'hopx_mcp_sandboxes_live',
    help: 'Sandboxes created by open conversations and not yet killed',
    registers: [registry],
    collect() {
      this.set(o.liveSandboxes());
    },
  });
  const calls = new Counter({
    name: 'hopx_mcp_tool_calls_total',
    help: 'Tool calls by tool and outcome (ok, error, invalid_input, failed, limited)',
    labelNames: ['tool', 'outcome'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'hopx_mcp_tool_call_duration_seconds',
    help: 'Tool call duration, from validated input to result',
    labelNames: ['tool'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const backendErrors = new Counter({
    name: 'hopx_mcp_backend_errors_total',
    help: 'Tool calls that failed because HopX (or the local backend) failed or did not answer',
    labelNames: ['error'],
    registers: [registry],
  });
  const authFailures = new Counter({
    name: 'hopx_mcp_auth_failures_total',
    help: 'Requests refused by authentication, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
  const limitRefusals = new Counter({
    name: 'hopx_mcp_limit_refusals_total',
    help: 'Requests or calls refused by a per-caller limit (rate, concurrency, sandboxes)',
    labelNames: ['limit'],
    registers: [registry],
  });

  return {
    registry,
    ended({ tool, outcome, seconds, error }) {
      calls.inc({ tool: tool.name, outcome });
      latency.observe({ tool: tool.name }, seconds);
      const backend = errorClasses(error).find((name) => BACKEND_ERRORS.has(name));
      if (backend) backendErrors.inc({ error: backend });
    },
    authFailure: (reason) => authFailures.inc({ reason }),
    limitRefusal(limit) {
      limitRefusals.inc({ limit });
      // A refused sandbox_create is still a tool call; it never reached the seam's own count.
      if (limit === 'sandboxes') calls.inc({ tool: 'sandbox_create', outcome: 'limited' });
    },
    async scrape() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
