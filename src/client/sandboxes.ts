/** Control plane: sandbox lifecycle (docs/hopx-wire.md §4.2–§4.9). */
import type { ClientContext } from './context.js';
import { HopxError, SandboxExpiredError, SandboxNotFoundError, SandboxNotRunningError, ValidationError } from './errors.js';
import { errorFromTransport } from './error-table.js';
import type { Json } from './wire.js';
import { sseData } from './sse.js';
import { asRecord, idString, num, str, toMetricsSnapshot, toSandboxInfo, toSandboxPage, toToken } from './wire.js';
import * as check from './validate.js';
import type {
  AgentTokenInfo,
  CallOptions,
  CreateSandboxOptions,
  ListSandboxesOptions,
  MetricsSnapshot,
  SandboxInfo,
  SandboxPage,
  SandboxesApi,
  SandboxStateChange,
  SandboxTimeout,
} from './types.js';

/** Create can take minutes on HopX (image pull, VM boot); the JS SDK waits 300 s. */
const CREATE_TIMEOUT_MS = 300_000;
const LIST_STATUSES = ['running', 'stopped', 'paused', 'creating'];

/** Runs after create when envVars were given; set by the client facade (agent env merge). */
export type EnvSetter = (sandboxId: string, vars: Record<string, string>, call: CallOptions) => Promise<void>;

export class Sandboxes implements SandboxesApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly setEnv: EnvSetter,
  ) {}

  async create(options: CreateSandboxOptions, call: CallOptions = {}): Promise<SandboxInfo> {
    const body = createBody(options);
    const operation = 'create a sandbox';
    const template = options.templateId ?? options.template;
    const res = await this.ctx.control<Json>(
      {
        method: 'POST',
        path: '/v1/sandboxes',
        json: body,
        idempotent: false,
        response: 'json',
        defaultTimeoutMs: CREATE_TIMEOUT_MS,
        // A 404 on create means the template does not exist.
        context: { operation, resource: 'template', ...(template ? { template } : {}) },
      },
      call,
    );
    let info = this.remember(res.data);
    if (!info.publicHost) info = await this.get(info.id, call);
    if (options.envVars && Object.keys(options.envVars).length > 0) {
      // HopX does not apply env_vars inside the VM by itself; both SDKs PATCH them to the agent.
      try {
        await this.setEnv(info.id, options.envVars, call);
      } catch (cause) {
        // Don't leave a half-configured sandbox running and billing: remove it, then report.
        await this.kill(info.id, { timeoutMs: 30_000 }).catch(() => false);
        const reason = cause instanceof Error ? cause.message : String(cause);
        throw new HopxError(
          `Sandbox ${info.id} was created but its environment variables could not be set, so it was killed. ${reason}`,
          { cause },
        );
      }
    }
    return info;
  }

  async get(sandboxId: string, call: CallOptions = {}): Promise<SandboxInfo> {
    const id = check.sandboxId(sandboxId);
    try {
      const res = await this.ctx.control<Json>(
        { method: 'GET', path: `/v1/sandboxes/${encodeURIComponent(id)}`, response: 'json', context: sandboxContext('get sandbox', id) },
        call,
      );
      return this.remember(res.data);
    } catch (error) {
      // Gone (expired, or killed elsewhere): its token and host are of no further use.
      if (error instanceof SandboxNotFoundError || error instanceof SandboxExpiredError) this.ctx.sessions.forget(id);
      throw error;
    }
  }

  async connect(sandboxId: string, call: CallOptions = {}): Promise<SandboxInfo> {
    let info = await this.get(sandboxId, call);
    if (info.status === 'stopped') {
      throw new SandboxNotRunningError(
        `Sandbox ${info.id} is stopped; its processes are gone.`,
        { operation: 'connect to sandbox', sandboxId: info.id, state: info.status },
      );
    }
    if (info.status === 'paused') {
      await this.resume(info.id, call);
      info = await this.get(info.id, call);
    }
    if (info.status !== 'running' && info.status !== 'creating') {
      throw new SandboxNotRunningError(
        `Sandbox ${info.id} is ${info.status} and cannot be connected to.`,
        { operation: 'connect to sandbox', sandboxId: info.id, state: info.status },
      );
    }
    await this.refreshToken(info.id, call);
    return info;
  }

  async list(options: ListSandboxesOptions = {}, call: CallOptions = {}): Promise<SandboxPage> {
    if (options.status !== undefined && !LIST_STATUSES.includes(options.status)) {
      throw new ValidationError(`status must be one of ${LIST_STATUSES.join(', ')}; got "${String(options.status)}".`);
    }
    if (options.limit !== undefined) check.positiveInteger(options.limit, 'limit', 1000);
    const res = await this.ctx.control<Json>(
      {
        method: 'GET',
        path: '/v1/sandboxes',
        query: { limit: options.limit, status: options.status, region: options.region, cursor: options.cursor },
        response: 'json',
        context: { operation: 'list sandboxes', resource: 'other' },
      },
      call,
    );
    const page = toSandboxPage(res.data);
    for (const sandbox of page.sandboxes) this.ctx.sessions.setHost(sandbox.id, sandbox.publicHost);
    return page;
  }

  async *listAll(options: Omit<ListSandboxesOptions, 'cursor'> = {}, call: CallOptions = {}): AsyncIterable<SandboxInfo> {
    let cursor: string | undefined;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.list({ ...options, ...(cursor ? { cursor } : {}) }, call);
      yield* page.sandboxes;
      if (!page.hasMore || !page.nextCursor) return;
      // A server that repeats a cursor would loop forever; stop instead.
      if (seen.has(page.nextCursor)) return;
      seen.add(page.nextCursor);
      cursor = page.nextCursor;
    }
  }

  start(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange> {
    return this.transition(sandboxId, 'start', 'running', call);
  }

  stop(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange> {
    return this.transition(sandboxId, 'stop', 'stopped', call);
  }

  pause(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange> {
    return this.transition(sandboxId, 'pause', 'paused', call);
  }

  resume(sandboxId: string, call?: CallOptions): Promise<SandboxStateChange> {
    return this.transition(sandboxId, 'resume', 'running', call);
  }

  async kill(sandboxId: string, call: CallOptions = {}): Promise<boolean> {
    const id = check.sandboxId(sandboxId);
    try {
      await this.ctx.control(
        { method: 'DELETE', path: `/v1/sandboxes/${encodeURIComponent(id)}`, response: 'none', context: sandboxContext('kill sandbox', id) },
        call,
      );
      return true;
    } catch (error) {
      if (error instanceof SandboxNotFoundError || error instanceof SandboxExpiredError) return false;
      throw error;
    } finally {
      this.ctx.sessions.forget(id);
    }
  }

  /**
   * POST /v1/sandboxes/{id}/kill, the documented force-kill (not in the OpenAPI file, unused by the
   * SDKs). Killing twice ends in the same state, so it is retried like DELETE.
   */
  async forceKill(sandboxId: string, call: CallOptions = {}): Promise<SandboxStateChange> {
    const id = check.sandboxId(sandboxId);
    try {
      const res = await this.ctx.control<Json>(
        {
          method: 'POST',
          path: `/v1/sandboxes/${encodeURIComponent(id)}/kill`,
          idempotent: true,
          response: 'json',
          context: sandboxContext('force-kill sandbox', id),
        },
        call,
      );
      const body = asRecord(res.data);
      return { id: idString(body.id) ?? id, status: str(body.status) ?? 'killed' };
    } finally {
      this.ctx.sessions.forget(id);
    }
  }

  /**
   * SSE GET /v1/sandboxes/{id}/metrics/stream (docs only): one snapshot per `data: {json}` event.
   * The call's timeout bounds the wait for the response headers; the stream then runs until the
   * server ends it or `call.signal` aborts, which ends the iteration quietly.
   */
  async *metricsStream(sandboxId: string, call: CallOptions = {}): AsyncIterable<MetricsSnapshot> {
    const id = check.sandboxId(sandboxId);
    const res = await this.ctx.control<AsyncIterable<Uint8Array> & { destroy(): void }>(
      {
        method: 'GET',
        path: `/v1/sandboxes/${encodeURIComponent(id)}/metrics/stream`,
        accept: 'text/event-stream',
        response: 'stream',
        context: sandboxContext('stream sandbox metrics', id),
      },
      call,
    );
    try {
      for await (const data of sseData(res.data)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          continue; // keep-alives and non-JSON events carry no metrics
        }
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) yield toMetricsSnapshot(parsed);
      }
    } catch (error) {
      if (call.signal?.aborted) return;
      throw errorFromTransport(error, { ...sandboxContext('stream sandbox metrics', id), plane: 'control' });
    } finally {
      res.data.destroy();
    }
  }

  async setTimeout(sandboxId: string, timeoutSeconds: number, call: CallOptions = {}): Promise<SandboxTimeout> {
    const id = check.sandboxId(sandboxId);
    check.positiveInteger(timeoutSeconds, 'timeoutSeconds');
    const res = await this.ctx.control<Json>(
      {
        method: 'PUT',
        path: `/v1/sandboxes/${encodeURIComponent(id)}/timeout`,
        json: { timeout_seconds: timeoutSeconds },
        response: 'json',
        context: sandboxContext('set the timeout', id),
      },
      call,
    );
    const body = asRecord(res.data);
    return {
      id: idString(body.id) ?? id,
      timeoutSeconds: num(body.timeout_seconds) ?? timeoutSeconds,
      expiresAt: str(body.expires_at),
    };
  }

  async refreshToken(sandboxId: string, call: CallOptions = {}): Promise<AgentTokenInfo> {
    const id = check.sandboxId(sandboxId);
    const res = await this.ctx.control<Json>(
      {
        method: 'POST',
        path: `/v1/sandboxes/${encodeURIComponent(id)}/token/refresh`,
        // Refreshing twice is harmless, so it is retried like a GET.
        idempotent: true,
        response: 'json',
        context: sandboxContext('refresh the agent token', id),
      },
      call,
    );
    const token = toToken(res.data);
    if (!token) {
      throw new HopxError(
        `HopX answered the token refresh for sandbox ${id} without auth_token/token_expires_at; the agent cannot be used.`,
        { operation: 'refresh the agent token', sandboxId: id },
      );
    }
    this.ctx.sessions.setToken(id, token);
    return { expiresAt: token.expiresAt };
  }

  private async transition(
    sandboxId: string,
    action: 'start' | 'stop' | 'pause' | 'resume',
    expected: string,
    call: CallOptions = {},
  ): Promise<SandboxStateChange> {
    const id = check.sandboxId(sandboxId);
    const res = await this.ctx.control<Json>(
      {
        method: 'POST',
        path: `/v1/sandboxes/${encodeURIComponent(id)}/${action}`,
        response: 'json',
        context: sandboxContext(`${action} sandbox`, id),
      },
      call,
    );
    const body = asRecord(res.data);
    return { id: idString(body.id) ?? id, status: str(body.status) ?? expected };
  }

  /** Map a sandbox body and remember its agent URL and token (the token stays in the cache). */
  private remember(body: unknown): SandboxInfo {
    const info = toSandboxInfo(body);
    this.ctx.sessions.setHost(info.id, info.publicHost);
    const token = toToken(body);
    if (token) this.ctx.sessions.setToken(info.id, token);
    return info;
  }
}

function sandboxContext(operation: string, sandboxId: string) {
  return { operation, resource: 'sandbox' as const, sandboxId };
}

function createBody(options: CreateSandboxOptions): Json {
  if (typeof options !== 'object' || options === null) {
    throw new ValidationError('create needs options, e.g. { template: "code-interpreter" }.');
  }
  const body: Json = {};
  if (options.templateId !== undefined) {
    body.template_id = String(check.nonEmptyString(String(options.templateId), 'templateId', '"73"'));
  } else if (options.template !== undefined) {
    body.template_name = check.nonEmptyString(options.template, 'template', '"code-interpreter"');
  } else {
    throw new ValidationError('Give template (e.g. "code-interpreter") or templateId to create a sandbox.', { field: 'template' });
  }
  if (options.region !== undefined) body.region = check.nonEmptyString(options.region, 'region', '"us-east"');
  if (options.timeoutSeconds !== undefined) body.timeout_seconds = check.positiveInteger(options.timeoutSeconds, 'timeoutSeconds');
  if (options.internetAccess !== undefined) {
    if (typeof options.internetAccess !== 'boolean') throw new ValidationError('internetAccess must be true or false.');
    body.internet_access = options.internetAccess;
  }
  if (options.envVars !== undefined) body.env_vars = check.envVars(options.envVars, 'envVars');
  return body;
}
