/**
 * What a hosted HTTP server adds around MCP (issue 9): authentication and caller identity
 * (src/auth), per-caller limits, Prometheus metrics, and readiness. The HTTP transport calls it at
 * four points: operator routes (/metrics, /readyz, the OAuth metadata), authenticate, admit, and
 * the tool-call hooks it hands every McpServer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/server';
import { noAuth, oauthAuth, staticTokenAuth, type Authenticator, type Caller } from '../auth/gate.js';
import type { Logger } from '../log.js';
import type { ToolCallHooks } from '../tools/index.js';
import type { HopxClientApi } from '../client/types.js';
import { bearerMatcher, sendJsonRpcError } from '../http/guards.js';
import type { StateStore } from '../state/types.js';
import { CallerLimits, DEFAULT_LIMITS, type LimitSettings } from './limits.js';
import { createMetrics, type ServerMetrics } from './metrics.js';
import { probeReadiness, type ReadinessCheck } from './readiness.js';

export type { Caller } from '../auth/gate.js';

interface OAuthOptions {
  /** The authorization server's issuer identifier. */
  issuer: string;
  /** This server's canonical URL (what tokens' audience must be); default: the URL it listens on. */
  resourceUrl?: string;
  /** Verify tokens by RFC 7662 introspection with these client credentials (default: JWT + JWKS). */
  introspection?: { clientId: string; clientSecret: string };
}

export interface HostingOptions {
  /** The server's own HopX client, asked for /readyz whether HopX (cloud or local) answers. */
  backend: { readonly client: Pick<HopxClientApi, 'health'> };
  logger: Logger;
  /** The static bearer token (`--auth token`). */
  authToken?: string;
  /** OAuth resource server (`--auth oauth`); wins over authToken. */
  oauth?: OAuthOptions;
  limits?: Partial<LimitSettings>;
  /** More /readyz checks. */
  readinessChecks?: ReadinessCheck[];
  /** Export the process metrics too (the CLI's one server per process). */
  processMetrics?: boolean;
  /** When set, GET /metrics needs `Authorization: Bearer <metricsToken>` (HOPX_MCP_METRICS_TOKEN). */
  metricsToken?: string;
}

export interface Hosting {
  readonly authenticator: Authenticator;
  readonly metrics: ServerMetrics;
  readonly limits: CallerLimits;
  /** Hooks for every McpServer this host builds. */
  readonly hooks: ToolCallHooks;
  /** Answers /metrics, /readyz and the OAuth metadata routes; false for any other path. */
  serveRoute(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** The caller, or undefined after answering with 401/403/503. */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<Caller | undefined>;
  /**
   * Admits a request that carries a JSON-RPC request (notifications and responses pass freely:
   * refusing a cancel would make things worse), or answers 429 and returns undefined.
   */
  admit(identity: string, body: unknown, res: ServerResponse): Promise<(() => void) | undefined>;
  /** The AuthInfo handed to the MCP layer: the verified token (OAuth) plus the caller's identity. */
  authInfoFor(caller: Caller, identity: string): AuthInfo;
}

export interface ConversationCounts {
  stats(): { sessions: number; callers: number };
  /** Sandboxes created and held by this replica's conversations (the metrics gauge). */
  liveSandboxes(): number;
}

/** A 2026-era `subscriptions/listen`: its response is a stream that stays open by design. */
function opensListenStream(body: unknown): boolean {
  return body !== null && typeof body === 'object' && (body as { method?: unknown }).method === 'subscriptions/listen';
}

function carriesRequest(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => m !== null && typeof m === 'object' && 'method' in m && 'id' in m);
}

/**
 * `listenUrl` (the default OAuth resource) is known only after listen; `state` holds the limit
 * counters (shared by replicas with Redis) and is checked by /readyz.
 */
export function createHosting(o: HostingOptions, conversations: ConversationCounts, state: StateStore, listenUrl: string): Hosting {
  let metrics: ServerMetrics | undefined;
  const onRefused = (reason: Parameters<ServerMetrics['authFailure']>[0]) => metrics?.authFailure(reason);
  const authenticator: Authenticator = o.oauth
    ? oauthAuth({
        issuer: o.oauth.issuer,
        resource: new URL(o.oauth.resourceUrl ?? listenUrl),
        introspection: o.oauth.introspection,
        onRefused,
      })
    : o.authToken
      ? staticTokenAuth(o.authToken, onRefused)
      : noAuth();
  metrics = createMetrics({
    conversations: () => conversations.stats(),
    liveSandboxes: () => conversations.liveSandboxes(),
    processMetrics: o.processMetrics,
  });
  const m = metrics;
  const metricsAllowed = o.metricsToken ? bearerMatcher(o.metricsToken) : null;
  const limits = new CallerLimits(
    { ...DEFAULT_LIMITS, ...o.limits },
    state,
    (identity) => state.liveSandboxes(identity),
    (limit) => m.limitRefusal(limit),
  );
  const checks: ReadinessCheck[] = [
    {
      name: 'backend',
      async check() {
        await o.backend.client.health({ timeoutMs: 3_000 });
        return { ok: true };
      },
    },
    { name: 'auth', check: () => authenticator.ready() },
    {
      name: 'state',
      async check() {
        await state.check();
        return { ok: true, detail: state.describe };
      },
    },
    ...(o.readinessChecks ?? []),
  ];

  return {
    authenticator,
    metrics: m,
    limits,
    hooks: { around: limits.around, ended: m.ended },
    async serveRoute(req, res, path) {
      if (authenticator.serveMetadata(req, res, path)) return true;
      if (req.method !== 'GET') return false;
      if (path === '/metrics') {
        if (metricsAllowed && !metricsAllowed(req)) {
          res
            .writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="hopx-mcp-metrics"' })
            .end('Unauthorized: /metrics needs "Authorization: Bearer <HOPX_MCP_METRICS_TOKEN>".\n');
          return true;
        }
        const { body, contentType } = await m.scrape();
        res.writeHead(200, { 'content-type': contentType }).end(body);
        return true;
      }
      if (path === '/readyz') {
        const readiness = await probeReadiness(checks);
        if (!readiness.ok) o.logger.warn({ checks: readiness.checks }, 'not ready');
        res.writeHead(readiness.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(readiness));
        return true;
      }
      return false;
    },
    authenticate: (req, res) => authenticator.authenticate(req, res),
    async admit(identity, body, res) {
      if (!carriesRequest(body)) return () => {};
      const admission = await limits.admit(identity, opensListenStream(body));
      if (admission.ok) return admission.done;
      sendJsonRpcError(res, 429, -32000, admission.message, { 'retry-after': String(admission.retryAfterSeconds) });
      return undefined;
    },
    authInfoFor(caller, identity) {
      const base: AuthInfo = caller.authInfo ?? { token: '', clientId: identity, scopes: [] };
      return { ...base, extra: { ...base.extra, identity } };
    },
  };
}
