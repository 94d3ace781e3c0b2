/**
 * The per-sandbox base for agent calls: resolves the agent URL (public_host) and the JWT,
 * refreshes the token before it runs out and once on a 401, and explains an unreachable agent
 * (paused / stopped sandbox) instead of reporting a bare connection error.
 */
import type { ClientContext } from './context.js';
import { HopxError, NetworkError, SandboxExpiredError, SandboxNotFoundError, SandboxNotRunningError, ServerError, TokenExpiredError } from './errors.js';
import type { HttpRequest, HttpResponse } from './http.js';
import type { Sandboxes } from './sandboxes.js';
import type { CallOptions } from './types.js';

export type AgentRequest = Omit<HttpRequest, 'baseUrl' | 'timeoutMs' | 'signal' | 'headers' | 'context' | 'body'> & {
  context: Omit<HttpRequest['context'], 'plane' | 'sandboxId'>;
  /** Default: the client's requestTimeoutMs. */
  defaultTimeoutMs?: number;
  /** Builds a streamed body; called again if the request must be resent after a token refresh. */
  body?: () => HttpRequest['body'];
  /** False when the body cannot be produced twice (a caller's one-shot stream). */
  replayable?: boolean;
};

const AGENT_RUNNING = new Set(['running']);

function isGatewayError(error: unknown): error is ServerError {
  return error instanceof ServerError && (error.status === 502 || error.status === 503 || error.status === 504);
}

export class AgentConnection {
  constructor(
    private readonly ctx: ClientContext,
    readonly sandboxId: string,
    private readonly sandboxes: Sandboxes,
  ) {}

  /** Agent base URL, from the cache (create/get/connect) or a GET of the sandbox. */
  async baseUrl(call: CallOptions = {}): Promise<string> {
    const cached = this.ctx.sessions.host(this.sandboxId);
    if (cached) return cached;
    const info = await this.sandboxes.get(this.sandboxId, call);
    if (!info.publicHost) {
      throw new SandboxNotRunningError(
        `Sandbox ${this.sandboxId} has no agent address yet (status ${info.status}).`,
        { sandboxId: this.sandboxId, state: info.status },
      );
    }
    return info.publicHost;
  }

  /** A valid JWT: cached, or refreshed when missing or close to expiry. Never leaves the client. */
  async token(call: CallOptions = {}): Promise<string> {
    const { sessions, config } = this.ctx;
    if (sessions.needsRefresh(this.sandboxId, config.tokenRefreshThresholdMs)) await this.refresh(call);
    const token = sessions.token(this.sandboxId);
    if (!token) {
      throw new TokenExpiredError(`HopX issued no agent token for sandbox ${this.sandboxId}.`, { sandboxId: this.sandboxId });
    }
    return token;
  }

  /** One refresh at a time per sandbox; concurrent callers share it. */
  refresh(call: CallOptions = {}): Promise<void> {
    return this.ctx.sessions.shareRefresh(this.sandboxId, () => this.sandboxes.refreshToken(this.sandboxId, call));
  }

  async request<T>(req: AgentRequest, call: CallOptions = {}): Promise<HttpResponse<T>> {
    const baseUrl = await this.baseUrl(call);
    let token = await this.token(call);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send<T>(req, baseUrl, token, call);
      } catch (error) {
        const canResend = req.replayable !== false || !req.body;
        if (error instanceof HopxError && error.status === 401 && attempt === 0) {
          // The token may have been revoked or rotated: refresh once and resend (as both SDKs do).
          await this.refresh(call);
          if (!canResend) {
            throw new HopxError(
              `The sandbox agent rejected the token during ${req.context.operation}; the token is now refreshed, but the ` +
                'data stream was already consumed and cannot be resent. Retry the upload.',
              { status: 401, ...(error.requestId ? { requestId: error.requestId } : {}), cause: error },
            );
          }
          token = await this.token(call);
          continue;
        }
        if (error instanceof NetworkError || isGatewayError(error)) throw await this.explainUnreachable(error, call);
        throw error;
      }
    }
  }

  private send<T>(req: AgentRequest, baseUrl: string, token: string, call: CallOptions): Promise<HttpResponse<T>> {
    const { defaultTimeoutMs, body, replayable: _replayable, context, ...rest } = req;
    const built = body?.();
    return this.ctx.http.send<T>({
      ...rest,
      ...(built ? { body: built } : {}),
      baseUrl,
      headers: { authorization: `Bearer ${token}` },
      timeoutMs: call.timeoutMs ?? defaultTimeoutMs ?? this.ctx.config.requestTimeoutMs,
      signal: call.signal,
      context: { ...context, plane: 'agent', sandboxId: this.sandboxId },
    });
  }

  /**
   * An agent that refuses connections (local) or whose edge proxy answers 502/503/504 (cloud)
   * usually belongs to a paused or stopped sandbox: look, and say so.
   */
  async explainUnreachable(error: HopxError, call: CallOptions): Promise<HopxError> {
    if (call.signal?.aborted) return error;
    try {
      const info = await this.sandboxes.get(this.sandboxId, { ...(call.signal ? { signal: call.signal } : {}), timeoutMs: 10_000 });
      if (AGENT_RUNNING.has(info.status)) return error;
      return new SandboxNotRunningError(`Sandbox ${this.sandboxId} is ${info.status}, so its agent is unreachable.`, {
        sandboxId: this.sandboxId,
        state: info.status,
        cause: error,
      });
    } catch (lookup) {
      if (lookup instanceof SandboxNotFoundError || lookup instanceof SandboxExpiredError) return lookup;
      return error;
    }
  }
}
