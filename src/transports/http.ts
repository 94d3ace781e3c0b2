/**
 * MCP over streamable HTTP at /mcp, serving both protocol eras (docs/decisions.md decision 1):
 *
 * - 2025-era requests (initialize handshake, Mcp-Session-Id) go to a sessionful
 *   NodeStreamableHTTPServerTransport: one Conversation + McpServer per session.
 * - 2026-era requests (per-request `_meta` envelope, no session) go to a strict
 *   `createMcpHandler(..., { legacy: 'reject' })`. With no session to hang state on, the
 *   Conversation is keyed by the caller's identity (own HopX key, else the bearer token, else the
 *   one anonymous caller of a loopback bind) and ends after the idle timeout.
 *
 * The routing uses the SDK's own `isLegacyRequest`, so it can never disagree with the SDK.
 * Guards run first, in this order: path, Host, Origin, authentication (static token or OAuth,
 * src/hosting), caller key (when required), method, Content-Type, size, per-caller limits.
 * Operator routes (/healthz, /readyz, /metrics, OAuth metadata) answer before the guards.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest } from '@modelcontextprotocol/node';
import {
  createMcpHandler,
  isInitializeRequest,
  isJsonContentType,
  isLegacyRequest,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
} from '@modelcontextprotocol/server';
import { MemoryStateStore } from '../state/memory.js';
import { sessionEventStore } from '../state/session-events.js';
import { StateUnavailableError, type ConversationRecord, type StateStore } from '../state/types.js';
import type { HopxClientApi } from '../client/types.js';
import { identityOf } from '../hosting/limits.js';
import type { ToolCallHooks } from '../tools/index.js';
import { createHosting, type Caller, type Hosting, type HostingOptions } from '../hosting/index.js';
import { openConversation, type ServeOptions } from './conversations.js';
import { allResources } from '../resources/index.js';
import { watchListenStream } from '../resources/subscriptions.js';
import { HeldConversations, type HeldConversation } from './http-conversations.js';
import {
  BodyTooLargeError,
  fingerprint,
  hostGuard,
  isLoopbackHost,
  originGuard,
  readBody,
  sendJsonRpcError,
} from '../http/guards.js';

export const MCP_PATH = '/mcp';
/** Header a caller uses to bring its own HopX API key (honoured in cloud mode only). */
export const CALLER_KEY_HEADER = 'x-hopx-api-key';

export interface HttpServerOptions extends ServeOptions, Pick<HostingOptions, 'oauth' | 'limits' | 'readinessChecks' | 'processMetrics' | 'metricsToken'> {
  host: string;
  port: number;
  /** Bearer token callers must present (`--auth token`); it or `oauth` is required off loopback. */
  authToken?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /**
   * Cloud mode: refuse callers without their own HopX key (401), so that no caller acts with the
   * server's account. Without it, keyless callers share the server's HOPX_API_KEY account.
   */
  requireCallerKey?: boolean;
  maxBodyBytes: number;
  maxSessions: number;
  sessionIdleSeconds: number;
  /**
   * Hosted state shared by replicas (conversations, SSE events, the event bus); default a
   * fresh in-memory store. The caller owns it (closes it after close()).
   */
  state?: StateStore;
}

/** SSE `retry:` sent to 2025-era clients: how soon to reconnect after a stream was closed. */
export const SSE_RETRY_MS = 1000;

export interface HttpServer {
  /** e.g. http://127.0.0.1:3100/mcp */
  url: string;
  port: number;
  /** Open conversations held by this process, by kind (for tests and the benchmark). */
  stats(): { sessions: number; callers: number };
  /** Stops accepting, ends every conversation (killing its sandboxes), closes every socket. */
  close(): Promise<void>;
}

/** Refusal to start: bad bind/auth combination. */
export class HttpStartError extends Error {
  override name = 'HttpStartError';
}

/** Hooks that reach the hosting object once it exists (it needs the listening URL). */
function lazyHooks(get: () => Hosting): ToolCallHooks {
  return {
    around: (call, run) => get().hooks.around!(call, run),
    ended: (call) => get().hooks.ended!(call),
  };
}

/**
 * A 2025-era session's protocol version is the one negotiated at initialize. A request whose
 * MCP-Protocol-Version header names an older supported version is served as the negotiated one:
 * the SDK decides from the header alone whether a stream may be primed and resumed, and a client
 * that negotiated 2025-11-25 handles that whatever its later headers say. Unknown versions are
 * left alone (the SDK answers them 400).
 */
function alignProtocolVersion(req: IncomingMessage, negotiated: string | undefined): void {
  const sent = req.headers['mcp-protocol-version'];
  if (!negotiated || typeof sent !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(sent)) return;
  if (sent < negotiated) req.headers['mcp-protocol-version'] = negotiated;
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { logger } = options;
  const loopback = isLoopbackHost(options.host);
  if (!loopback && !options.authToken && !options.oauth) {
    throw new HttpStartError(
      `Refusing to listen on ${options.host} without authentication: use --auth oauth --issuer URL, or set ` +
        `HOPX_MCP_AUTH_TOKEN (e.g. \`export HOPX_MCP_AUTH_TOKEN=$(openssl rand -hex 32)\`), or bind 127.0.0.1.`,
    );
  }

  const checkHost = hostGuard(options.host, options.allowedHosts ?? []);
  const checkOrigin = originGuard(options.allowedOrigins ?? []);
  if (options.requireCallerKey && options.backend.kind !== 'cloud') {
    logger.warn('--require-caller-key only applies to HopX cloud (HOPX_API_KEY); the local backend has one account');
  }
  const checkCallerKey = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!options.requireCallerKey || options.backend.kind !== 'cloud' || callerKeyOf(req)) return true;
    sendJsonRpcError(res, 401, -32001, `Unauthorized: send your HopX API key in the ${CALLER_KEY_HEADER} header.`, {
      'www-authenticate': 'ApiKey header="X-HopX-Api-Key"',
    });
    return false;
  };
  const state = options.state ?? new MemoryStateStore();
  const replicaId = randomUUID();
  /** Clients for callers' own HopX keys seen by this replica, by account (to end their conversations). */
  const accountClients = new Map<string, HopxClientApi>();

  /** Ends a stored conversation this replica does not hold: kills its created sandboxes, deletes it. */
  const endStored = async (record: ConversationRecord, reason: string): Promise<void> => {
    const client = record.meta.account === 'server' ? options.backend.client : accountClients.get(record.meta.account);
    if (!client) {
      // The key was the caller's and never stored: its sandboxes die at their HopX timeout.
      logger.warn({ conversation_id: record.meta.id, sandboxes: record.sandboxes.length }, 'conversation ended without the caller key; its sandboxes expire at their HopX timeout');
      await state.deleteConversation(record.meta.id);
      return;
    }
    const open = openConversation(serve, { transport: 'http', era: record.meta.kind === 'session' ? 'legacy' : 'modern', client, resume: record });
    await open.end(reason);
  };
  const held = new HeldConversations({ max: options.maxSessions, idleSeconds: options.sessionIdleSeconds, logger, state, replicaId, endStored });
  let closing = false;
  // Made once the listening URL is known (the default OAuth resource URL); before any request.
  let hosting!: Hosting;
  // Every conversation's McpServers report to the hosting hooks (limits, metrics).
  // Every conversation is recorded in the same store the sweeper reads.
  const serve: ServeOptions = { ...options, state, server: { ...options.server, hooks: lazyHooks(() => hosting) } };

  const refuseStateDown = (res: ServerResponse, error: StateUnavailableError): void =>
    sendJsonRpcError(res, 503, -32000, error.message, { 'retry-after': '2' });

  const refuseCapacity = (res: ServerResponse): void =>
    sendJsonRpcError(
      res,
      503,
      -32000,
      `Too many open conversations (limit ${options.maxSessions}): end one (HTTP DELETE) or retry later.`,
      { 'retry-after': '5' },
    );

  const callerKeyOf = (req: IncomingMessage): string | undefined => {
    if (options.backend.kind !== 'cloud') return undefined;
    const raw = req.headers[CALLER_KEY_HEADER];
    return (Array.isArray(raw) ? raw[0] : raw)?.trim() || undefined;
  };
  /**
   * Who is calling: the authenticated caller (an OAuth subject, or the one static-token or
   * anonymous caller), told apart further by their own HopX key (cloud only). `account` names the
   * HopX account its sandboxes live in (stored with the conversation; the key never is).
   */
  const identify = (req: IncomingMessage, caller: Caller): { identity: string; callerKey?: string; account: string } => {
    const callerKey = callerKeyOf(req);
    if (!callerKey) return { identity: caller.identity, account: 'server' };
    const byKey = `key:${fingerprint(callerKey)}`;
    return { identity: caller.authInfo ? `${caller.identity}+${byKey}` : byKey, callerKey, account: byKey };
  };
  const clientFor = (callerKey: string | undefined, account: string): HopxClientApi | undefined => {
    if (!callerKey) return undefined;
    const client = options.backend.clientForKey(callerKey);
    accountClients.set(account, client);
    return client;
  };

  /**
   * The caller's conversation as every replica sees it: this replica's copy refreshed from the
   * store, or one resumed from the store (started on another replica), or a new one.
   */
  const callerConversation = async (req: IncomingMessage, who: Caller): Promise<HeldConversation | 'full'> => {
    const { identity, callerKey, account } = identify(req, who);
    for (let attempt = 0; ; attempt++) {
      const { id, created } = await state.callerConversation(identity, randomUUID());
      let caller = held.get('caller', identity);
      if (caller && caller.open.conversation.id === id) {
        if (await caller.open.conversation.refresh()) return caller;
      }
      // This replica's copy is stale (ended or replaced elsewhere): drop it, nothing to kill here.
      if (caller) await held.release(caller, 'ended by another replica');
      const record = created ? undefined : await state.loadConversation(id);
      if (!created && !record) {
        // The link outlived its conversation (ended mid-way elsewhere): make a new one.
        await state.forgetCaller(identity, id);
        if (attempt < 2) continue;
      }
      if (!held.hasRoom()) return 'full';
      const client = clientFor(callerKey, account);
      const open = openConversation(serve, {
        transport: 'http',
        era: 'modern',
        client,
        id,
        kind: 'caller',
        identity,
        account,
        resume: record ?? undefined,
      });
      await open.conversation.ready;
      caller = { kind: 'caller', key: identity, identity, open, lastSeenMs: Date.now(), active: 0 };
      held.add(caller);
      return caller;
    }
  };

  // ---- 2026-era leg: stateless per request, conversation per caller identity.
  const modern = createMcpHandler(
    (ctx) => {
      const identity = identityOf(ctx.authInfo);
      const caller = identity ? held.get('caller', identity) : undefined;
      if (!caller) throw new Error('no caller conversation for this request');
      return caller.open.newServer();
    },
    {
      legacy: 'reject',
      // subscriptions/listen streams hear events published on any replica.
      bus: state.bus,
      maxRequestBodySize: options.maxBodyBytes,
      onerror: (error) => logger.debug({ err: error }, 'modern MCP request failed'),
    },
  );
  const serveModern = toNodeHandler(modern, {
    maxRequestBodySize: options.maxBodyBytes,
    onerror: (error) => logger.warn({ err: error }, 'modern MCP handler error'),
  });

  const handleModern = async (req: IncomingMessage, res: ServerResponse, body: unknown, who: Caller): Promise<void> => {
    const caller = await callerConversation(req, who);
    if (caller === 'full') return refuseCapacity(res);
    (req as IncomingMessage & { auth?: AuthInfo }).auth = hosting.authInfoFor(who, caller.identity);
    caller.active++;
    try {
      await held.touch(caller);
      // A listen stream's resource subscriptions are watched here (the SDK serves the stream).
      if (!(await watchListenStream(caller.open.conversation, allResources, body, res, modern.notify))) return;
      await serveModern(req, res, body);
    } finally {
      caller.active--;
      await held.touch(caller).catch(() => {});
    }
  };

  // ---- 2025-era leg: one sessionful transport + conversation per Mcp-Session-Id.
  const handleLegacy = async (req: IncomingMessage, res: ServerResponse, body: unknown, who: Caller): Promise<void> => {
    const { identity, callerKey, account } = identify(req, who);
    (req as IncomingMessage & { auth?: AuthInfo }).auth = hosting.authInfoFor(who, identity);
    const header = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;

    if (sessionId !== undefined) {
      const session = held.get('session', sessionId);
      // A session of another caller is reported as unknown: its existence is not theirs to learn.
      if (!session || session.identity !== identity) {
        return sendJsonRpcError(res, 404, -32001, 'Session not found: it ended or expired. Initialize a new session.');
      }
      // Idle expiry on another replica may have ended it (e.g. this one was unreachable).
      if (!(await session.open.conversation.refresh())) {
        await held.release(session, 'ended by another replica');
        return sendJsonRpcError(res, 404, -32001, 'Session not found: it ended or expired. Initialize a new session.');
      }
      await held.touch(session);
      if (req.method === 'DELETE') {
        // Ended here rather than inside the transport, so the caller's DELETE returns only after
        // the conversation's sandboxes are gone.
        await held.end(session, 'session deleted');
        res.writeHead(200).end();
        return;
      }
      alignProtocolVersion(req, session.server?.server.getNegotiatedProtocolVersion());
      const counts = req.method === 'POST';
      if (counts) session.active++;
      try {
        await session.transport!.handleRequest(req, res, body);
      } finally {
        if (counts) session.active--;
        await held.touch(session).catch(() => {});
      }
      return;
    }

    if (req.method === 'POST' && (body as { method?: unknown } | null)?.method === 'initialize' && !isInitializeRequest(body)) {
      return sendJsonRpcError(
        res,
        400,
        -32602,
        'Invalid initialize request: params need protocolVersion, capabilities and clientInfo { name, version }.',
      );
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return sendJsonRpcError(
        res,
        400,
        -32000,
        'Bad Request: no Mcp-Session-Id header. Start with an initialize request to get a session.',
      );
    }
    if (!held.hasRoom()) return refuseCapacity(res);

    const client = clientFor(callerKey, account);
    const open = openConversation(serve, { transport: 'http', era: 'legacy', client, kind: 'session', identity, account });
    const id = open.conversation.id;
    try {
      await open.conversation.ready;
    } catch (error) {
      await open.release('state store unavailable');
      throw error;
    }
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: options.maxBodyBytes,
      // Resumable streams: a client whose SSE stream dropped reconnects with Last-Event-ID and
      // gets what it missed (from any replica, with the Redis store).
      eventStore: sessionEventStore(state.eventStore, id),
      retryInterval: SSE_RETRY_MS,
    });
    const server = open.newServer();
    const session: HeldConversation = {
      kind: 'session',
      key: id,
      identity,
      open,
      lastSeenMs: Date.now(),
      active: 1,
      transport,
      server,
    };
    held.add(session);
    try {
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    } finally {
      session.active--;
      session.lastSeenMs = Date.now();
      // No session id handed out (refused or thrown initialize): nobody can ever use or DELETE
      // this conversation, so it must not hold a slot until idle expiry.
      if (transport.sessionId === undefined) await held.end(session, 'initialize failed');
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(closing ? 503 : 200, { 'content-type': 'application/json' });
      // 'none': the server is up, but no backend can serve sandboxes (every tool says why).
      res.end(JSON.stringify({ ok: !closing, backend: options.backend.unavailable ? 'none' : options.backend.kind }));
      return;
    }
    if (path !== MCP_PATH) {
      if (checkHost(req, res) && !(await hosting.serveRoute(req, res, path))) {
        sendJsonRpcError(res, 404, -32000, `Not found: the MCP endpoint is ${MCP_PATH}.`);
      }
      return;
    }
    if (!checkHost(req, res) || !checkOrigin(req, res)) return;
    const who = await hosting.authenticate(req, res);
    if (!who || !checkCallerKey(req, res)) return;
    if (closing) return sendJsonRpcError(res, 503, -32000, 'Server is shutting down.');
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) {
      return sendJsonRpcError(res, 405, -32000, 'Method not allowed: use POST, GET or DELETE.', { allow: 'POST, GET, DELETE' });
    }
    if (req.method !== 'POST') return handleLegacy(req, res, undefined, who);

    if (!isJsonContentType(req.headers['content-type'] ?? null)) {
      return sendJsonRpcError(res, 415, -32000, 'Unsupported Media Type: send Content-Type: application/json.');
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        return sendJsonRpcError(res, 413, -32000, `Payload too large: the limit is ${options.maxBodyBytes} bytes.`, {
          connection: 'close',
        });
      }
      throw error;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendJsonRpcError(res, 400, -32700, 'Parse error: the request body is not valid JSON.');
    }
    const done = await hosting.admit(identify(req, who).identity, body, res);
    if (!done) return;
    try {
      const probe = await toWebRequest(req, body, { maxRequestBodySize: options.maxBodyBytes });
      if (await isLegacyRequest(probe, body, { maxRequestBodySize: options.maxBodyBytes })) {
        return await handleLegacy(req, res, body, who);
      }
      return await handleModern(req, res, body, who);
    } finally {
      done();
    }
  };

  const httpServer: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof StateUnavailableError) {
        logger.warn({ method: req.method, err: error.message }, 'request refused: state store unavailable');
        if (!res.headersSent) refuseStateDown(res, error);
        else res.end();
        return;
      }
      logger.error({ err: error, method: req.method }, 'HTTP request failed');
      sendJsonRpcError(res, 500, -32603, 'Internal server error.');
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(options.port, options.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await held.endAll('listen failed');
    await modern.close().catch(() => {});
    throw error;
  }
  const address = httpServer.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || address.family === (6 as unknown) ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}${MCP_PATH}`;
  hosting = createHosting(options, held, state, url);
  if (hosting.authenticator.mode === 'oauth') {
    // Not fatal: the server starts (not ready) while the authorization server is down or wrong.
    void hosting.authenticator.ready().then(({ ok, detail }) => {
      if (!ok) logger.error({ detail }, 'cannot use the OAuth issuer yet; /readyz reports it until it works');
    });
  }
  if (!loopback) logger.warn({ host: options.host, auth: hosting.authenticator.mode }, 'listening beyond loopback: every request must authenticate');

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    stats: () => held.stats(),
    close: () =>
      (closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await held.endAll('server shutdown');
        await modern.close().catch(() => {});
        httpServer.closeAllConnections();
        await stopped;
      })()),
  };
}
