/**
 * One agent per sandbox, on its own loopback port (its `public_host`), served at the root so the
 * SDKs' WebSocket URLs (which drop any path) work. Auth: the sandbox's JWT as a bearer token
 * (the API key is also accepted, as the JS SDK sends it when it has no JWT); `/`, `/health`,
 * `/info`, `/ping`, `/system` need none. While the sandbox is paused or stopped every other
 * endpoint answers 409 (SANDBOX_PAUSED / SANDBOX_STOPPED).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../../log.js';
import type { RuntimeLanguage, RuntimeProbe } from '../../runtime/types.js';
import { ApiError } from '../errors.js';
import {
  Router,
  answerClientError,
  bearerToken,
  headerValue,
  listenerUrl,
  rawErrorResponse,
  secretsEqual,
  sendError,
  startRequest,
  toApiError,
} from '../http.js';
import { newRequestId } from '../ids.js';
import type { TokenSigner } from '../jwt.js';
import { BackgroundJobs } from './background.js';
import { registerCommandRoutes } from './commands.js';
import type { AgentContext, KernelActivity, SandboxState } from './context.js';
import { registerDesktopRoutes } from './desktop.js';
import { DesktopSession, type DesktopSize } from './desktop-session.js';
import { registerEnvRoutes } from './env.js';
import { registerExecuteRoutes } from './execute.js';
import { keptOutputFile } from './output.js';
import { registerFileRoutes } from './files.js';
import { GoBuildCache } from './go-cache.js';
import { SOCKET_ROUTES } from './sockets.js';
import { AgentStats } from './stats.js';
import { registerStatusRoutes } from './status.js';

const PUBLIC_PATHS = new Set(['/', '/health', '/info', '/ping', '/system']);

export interface AgentDeps {
  sandbox: SandboxState;
  probe: RuntimeProbe;
  languages: readonly RuntimeLanguage[];
  signer: TokenSigner;
  apiKey: string;
  logger: Logger;
  host: string;
  /** Screen size when the sandbox comes from the desktop template; absent otherwise. */
  desktop?: DesktopSize;
}

export class AgentServer {
  readonly ctx: AgentContext;
  private readonly router = new Router();
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  private readonly sockets = new Set<Socket>();

  constructor(private readonly deps: AgentDeps) {
    const kernel: KernelActivity = { started: false, cells: 0, lastActivity: null };
    this.ctx = {
      sandbox: deps.sandbox,
      probe: deps.probe,
      languages: deps.languages,
      jobs: new BackgroundJobs((id, stream) => keptOutputFile(this.ctx, id, stream)),
      stats: new AgentStats(),
      goCache: new GoBuildCache(() => deps.sandbox.runtime),
      kernel,
      logger: deps.logger,
      desktop: deps.desktop ? new DesktopSession(() => deps.sandbox.runtime, deps.desktop) : null,
      startedAt: new Date(),
      port: () => this.port,
    };
    registerStatusRoutes(this.router, this.ctx);
    registerExecuteRoutes(this.router, this.ctx);
    registerCommandRoutes(this.router, this.ctx);
    registerFileRoutes(this.router, this.ctx);
    registerEnvRoutes(this.router, this.ctx);
    registerDesktopRoutes(this.router, this.ctx);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
    this.server.on('clientError', answerClientError);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  get url(): string {
    return listenerUrl(this.deps.host, this.port);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.deps.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Close the listener, every connection and socket, and kill the background jobs. */
  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await this.ctx.jobs.killAll().catch(() => undefined);
    await this.ctx.desktop?.close().catch(() => undefined);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    this.wss.close();
    await closed;
  }

  /** `?token=` only for WebSocket upgrades (browsers cannot set headers there); never on plain HTTP. */
  private authorized(req: IncomingMessage, url: URL, allowQueryToken: boolean): boolean {
    const token = bearerToken(req) ?? (allowQueryToken ? url.searchParams.get('token') : null);
    if (token) {
      if (this.deps.signer.verify(token, this.deps.sandbox.id)) return true;
      if (secretsEqual(token, this.deps.apiKey)) return true;
      return false;
    }
    const apiKey = headerValue(req, 'x-api-key');
    return apiKey !== null && secretsEqual(apiKey, this.deps.apiKey);
  }

  /** Auth and lifecycle gate shared by HTTP and WebSocket requests. Throws the answer. */
  private gate(req: IncomingMessage, url: URL, websocket = false): void {
    if (!this.authorized(req, url, websocket)) {
      throw new ApiError(401, 'TOKEN_INVALID', 'Invalid or expired token');
    }
    const status = this.deps.sandbox.status;
    if (status === 'paused') {
      throw new ApiError(409, 'SANDBOX_PAUSED', `Sandbox ${this.deps.sandbox.id} is paused; resume it (POST /v1/sandboxes/${this.deps.sandbox.id}/resume) first`);
    }
    if (status === 'stopped') {
      throw new ApiError(409, 'SANDBOX_STOPPED', `Sandbox ${this.deps.sandbox.id} is stopped; start it (POST /v1/sandboxes/${this.deps.sandbox.id}/start) first`);
    }
    if (status === 'killed') throw new ApiError(410, 'SANDBOX_EXPIRED', `Sandbox ${this.deps.sandbox.id} has been killed`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const { requestId, url } = startRequest(req, res);
    // Unmatched paths are counted together, so scanning cannot grow the metrics without bound.
    let endpoint = '(unmatched)';
    let errorCode: string | null = null;
    try {
      const match = this.router.match(req.method ?? 'GET', url.pathname);
      if (match instanceof ApiError) throw match;
      endpoint = match.pattern;
      if (!PUBLIC_PATHS.has(url.pathname)) this.gate(req, url);
      await match.handler({ req, res, requestId, url, params: match.params });
    } catch (err) {
      const apiError = sendError(res, requestId, err);
      errorCode = apiError.code;
      // 503 DESKTOP_NOT_AVAILABLE is an answer, not a fault.
      if (apiError.status >= 500 && apiError.code !== 'DESKTOP_NOT_AVAILABLE') this.deps.logger.error({ err, endpoint, sandbox_id: this.deps.sandbox.id }, 'agent request failed');
    } finally {
      this.ctx.stats.record(req.method ?? 'GET', endpoint, res.statusCode, Date.now() - started, errorCode);
    }
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handler = SOCKET_ROUTES[url.pathname];
    try {
      if (!handler) throw new ApiError(404, 'NOT_FOUND', `No WebSocket endpoint ${url.pathname}`);
      this.gate(req, url, true);
    } catch (err) {
      socket.end(rawErrorResponse(toApiError(err), newRequestId()));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      handler(ws, this.ctx);
    });
  }
}
