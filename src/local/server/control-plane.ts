/**
 * The control plane (docs/hopx-wire.md §4): one node:http listener. Auth by `X-API-Key` or
 * `Authorization: Bearer <api key>`; `GET /health` is open.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../../log.js';
import type { RuntimeProbe } from '../runtime/types.js';
import { ApiError, invalidField } from './errors.js';
import { Router, answerClientError, bearerToken, headerValue, listenerUrl, nowIso, readJsonBody, secretsEqual, sendError, sendJson, startRequest } from './http.js';
import { stringMap } from './agent/fields.js';
import type { SandboxEntry, SandboxRegistry } from './sandboxes.js';
import { type LocalTemplate, findTemplate, templateToWire } from './templates.js';

const LIST_DEFAULT_LIMIT = 100;
const LIST_MAX_LIMIT = 1000;
/** Longest lifetime a sandbox may be given (30 days). */
const MAX_TIMEOUT_SECONDS = 30 * 24 * 3600;
const LOCAL_REGION = 'local';

export interface ControlPlaneDeps {
  registry: SandboxRegistry;
  templates: LocalTemplate[];
  probe: RuntimeProbe;
  apiKey: string;
  logger: Logger;
  version: string;
}

export class ControlPlane {
  private readonly router = new Router();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly deps: ControlPlaneDeps) {
    this.routes();
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('clientError', answerClientError);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    return listenerUrl(host, address.port);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private authorized(req: IncomingMessage): boolean {
    const key = headerValue(req, 'x-api-key') ?? bearerToken(req);
    return key !== null && secretsEqual(key, this.deps.apiKey);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { requestId, url } = startRequest(req, res);
    try {
      const match = this.router.match(req.method ?? 'GET', url.pathname);
      if (match instanceof ApiError) throw match;
      if (url.pathname !== '/health' && !this.authorized(req)) {
        throw new ApiError(401, 'AUTHENTICATION_REQUIRED', 'Invalid or missing API key: send it as X-API-Key or Authorization: Bearer');
      }
      await match.handler({ req, res, requestId, url, params: match.params });
    } catch (err) {
      const apiError = sendError(res, requestId, err);
      if (apiError.status >= 500) this.deps.logger.error({ err, path: url.pathname }, 'control-plane request failed');
    }
  }

  private routes(): void {
    const { registry } = this.deps;
    const r = this.router;

    r.add('GET', '/health', ({ res }) => {
      const p = this.deps.probe;
      sendJson(res, 200, {
        status: 'ok',
        service: 'hopx-local-backend',
        version: this.deps.version,
        sandboxes: registry.list().length,
        runtime: {
          isolation: p.isolation,
          limits: p.limits,
          pause: p.pause,
          root: p.root,
          bwrap_version: p.bwrapVersion,
          python: p.python ? { matplotlib: p.python.matplotlib, pandas: p.python.pandas } : null,
          node: p.node !== null,
          go: p.go !== null,
          warnings: p.warnings,
        },
        templates: this.deps.templates.map((t) => t.name),
        timestamp: nowIso(),
      });
    });

    r.add('POST', '/v1/sandboxes', async ({ req, res, requestId }) => {
      const body = await readJsonBody(req);
      const template = this.templateFromBody(body);
      const entry = await registry.create({
        template,
        region: optionalText(body, 'region') ?? LOCAL_REGION,
        timeoutSeconds: lifetime(body.timeout_seconds, false),
        // Default off here (HopX: on): with it on, a local sandbox shares the host's network,
        // loopback services and port space. Ask for it explicitly.
        internetAccess: optionalBool(body, 'internet_access') ?? false,
        envVars: stringMap(body, 'env_vars'),
      });
      sendJson(res, 201, sandboxToWire(entry, requestId));
    });

    r.add('GET', '/v1/sandboxes', ({ res, url, requestId }) => {
      const status = url.searchParams.get('status');
      const statuses = ['running', 'stopped', 'paused', 'creating'];
      if (status && !statuses.includes(status)) throw invalidField('status', `use one of ${statuses.join(', ')}`);
      const region = url.searchParams.get('region');
      const limitText = url.searchParams.get('limit');
      const limit = limitText === null ? LIST_DEFAULT_LIMIT : Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
        throw invalidField('limit', `must be an integer from 1 to ${LIST_MAX_LIMIT}`);
      }
      const all = registry
        .list()
        .filter((e) => (!status || e.status === status) && (!region || e.region === region))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
      // The cursor is the id of the last sandbox of the previous page.
      const cursor = url.searchParams.get('cursor');
      let start = 0;
      if (cursor) {
        const at = all.findIndex((e) => e.id === cursor);
        start = at >= 0 ? at + 1 : all.findIndex((e) => e.id > cursor);
        if (start < 0) start = all.length;
      }
      const page = all.slice(start, start + limit);
      const hasMore = start + limit < all.length;
      sendJson(res, 200, {
        object: 'list',
        data: page.map((e) => sandboxToWire(e, requestId)),
        has_more: hasMore,
        next_cursor: hasMore ? page[page.length - 1].id : null,
        url: '/v1/sandboxes',
        request_id: requestId,
      });
    });

    r.add('GET', '/v1/sandboxes/:id', ({ res, params, requestId }) => {
      sendJson(res, 200, sandboxToWire(registry.get(params.id), requestId));
    });

    const killRoute = async (id: string, res: ServerResponse, requestId: string, status: string) => {
      if (!(await registry.kill(id))) {
        throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Sandbox not found', { details: { sandbox_id: id } });
      }
      sendJson(res, 200, { id, status, request_id: requestId });
    };
    r.add('DELETE', '/v1/sandboxes/:id', ({ res, params, requestId }) => killRoute(params.id, res, requestId, 'deleted'));
    r.add('POST', '/v1/sandboxes/:id/kill', ({ res, params, requestId }) => killRoute(params.id, res, requestId, 'killed'));

    for (const action of ['start', 'stop', 'pause', 'resume'] as const) {
      r.add('POST', `/v1/sandboxes/:id/${action}`, async ({ res, params, requestId }) => {
        const entry = await registry.transition(params.id, action);
        sendJson(res, 200, { ...sandboxToWire(entry, requestId), id: entry.id, status: entry.status, request_id: requestId });
      });
    }

    r.add('PUT', '/v1/sandboxes/:id/timeout', async ({ req, res, params, requestId }) => {
      const body = await readJsonBody(req);
      const entry = registry.get(params.id);
      registry.setTimeout(entry, lifetime(body.timeout_seconds, true));
      sendJson(res, 200, {
        id: entry.id,
        timeout_seconds: entry.timeoutSeconds,
        expires_at: entry.expiresAt?.toISOString() ?? null,
        request_id: requestId,
      });
    });

    r.add('POST', '/v1/sandboxes/:id/token/refresh', ({ res, params, requestId }) => {
      const entry = registry.refreshToken(params.id);
      sendJson(res, 200, {
        id: entry.id,
        auth_token: entry.token.token,
        token_expires_at: entry.token.expiresAt.toISOString(),
        request_id: requestId,
      });
    });

    r.add('POST', '/v1/sandboxes/:id/ports/:port', async ({ res, params, requestId }) => {
      const entry = registry.get(params.id);
      const port = Number(params.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalidField('port', 'must be an integer from 1 to 65535');
      if (entry.status !== 'running') {
        throw new ApiError(409, 'CONFLICT', `Sandbox ${entry.id} is ${entry.status}; ports can be opened only while it runs`);
      }
      const { hostPort } = await entry.runtime.forwardPort(port);
      sendJson(res, 200, { port, url: `http://127.0.0.1:${hostPort}/`, sandbox_id: entry.id, request_id: requestId });
    });

    r.add('GET', '/v1/templates', ({ res, url, requestId }) => {
      const category = url.searchParams.get('category');
      const language = url.searchParams.get('language');
      const data = this.deps.templates
        .filter((t) => (!category || t.category === category) && (!language || t.language === language || t.languages.includes(language as never)))
        .map(templateToWire);
      sendJson(res, 200, { object: 'list', data, has_more: false, url: '/v1/templates', request_id: requestId });
    });

    r.add('GET', '/v1/templates/:name', ({ res, params, requestId }) => {
      const template = findTemplate(this.deps.templates, params.name);
      if (!template) throw templateNotFound(params.name, this.deps.templates);
      sendJson(res, 200, { ...templateToWire(template), request_id: requestId });
    });
  }

  private templateFromBody(body: Record<string, unknown>): LocalTemplate {
    const rawId = body.template_id;
    const name = optionalText(body, 'template_name');
    if (rawId !== undefined && rawId !== null) {
      if (typeof rawId !== 'string' && typeof rawId !== 'number') throw invalidField('template_id', 'must be a numeric string');
      const template = this.deps.templates.find((t) => t.id === String(rawId)) ?? findTemplate(this.deps.templates, String(rawId));
      if (!template) throw templateNotFound(String(rawId), this.deps.templates);
      return template;
    }
    if (name) {
      const template = findTemplate(this.deps.templates, name);
      if (!template) throw templateNotFound(name, this.deps.templates);
      return template;
    }
    throw new ApiError(400, 'INVALID_REQUEST', `Either template_id or template_name must be provided (templates: ${this.deps.templates.map((t) => t.name).join(', ')})`, {
      details: { missing_field: 'template_name' },
    });
  }
}

function templateNotFound(nameOrId: string, templates: LocalTemplate[]): ApiError {
  return new ApiError(404, 'RESOURCE_NOT_FOUND', `Template not found: ${nameOrId}; available: ${templates.map((t) => `${t.name} (${t.id})`).join(', ')}`, {
    details: { template: nameOrId },
  });
}

function optionalText(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw invalidField(field, 'must be a string');
  return v;
}

function optionalBool(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidField(field, 'must be true or false');
  return v;
}

/** timeout_seconds: a positive integer; absent/null = no auto-kill (create only). */
function lifetime(value: unknown, required: boolean): number | null {
  if (value === undefined || value === null) {
    if (required) throw new ApiError(400, 'INVALID_REQUEST', 'Missing required field "timeout_seconds" (a positive number of seconds from now)', { details: { missing_field: 'timeout_seconds' } });
    return null;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ApiError(400, 'INVALID_REQUEST', 'Invalid timeout value: must be positive (field "timeout_seconds", whole seconds)', { details: { field: 'timeout_seconds' } });
  }
  if (value > MAX_TIMEOUT_SECONDS) throw invalidField('timeout_seconds', `must be at most ${MAX_TIMEOUT_SECONDS} (30 days)`);
  return value;
}

/** The sandbox object (docs/hopx-wire.md §4.2), on create, get, list and state changes. */
function sandboxToWire(e: SandboxEntry, requestId: string): Record<string, unknown> {
  const url = e.agent.url;
  return {
    id: e.id,
    object: 'sandbox',
    status: e.status,
    template_id: e.template.id,
    template_name: e.template.name,
    organization_id: 0,
    node_id: 'local',
    region: e.region,
    public_host: url,
    direct_url: url,
    preview_url: null,
    resources: { vcpu: e.template.resources.vcpu, memory_mb: e.template.resources.memoryMb, disk_mb: e.template.resources.diskGb * 1024 },
    internet_access: e.internetAccess,
    live_mode: false,
    timeout_seconds: e.timeoutSeconds,
    expires_at: e.expiresAt?.toISOString() ?? null,
    created_at: e.createdAt.toISOString(),
    updated_at: e.updatedAt.toISOString(),
    started_at: e.startedAt.toISOString(),
    auth_token: e.token.token,
    token_expires_at: e.token.expiresAt.toISOString(),
    request_id: requestId,
  };
}
