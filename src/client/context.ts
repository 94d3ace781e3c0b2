/**
 * What every part of the client shares: resolved config, the HTTP pool, the per-sandbox cache,
 * open WebSockets (closed by HopxClient.close) and the control-plane request helper.
 */
import type WebSocket from 'ws';
import type { ClientConfig } from './config.js';
import { AuthenticationError } from './errors.js';
import type { HttpClient, HttpRequest, HttpResponse } from './http.js';
import { SandboxSessionCache } from './token-cache.js';
import type { CallOptions } from './types.js';

export type ControlRequest = Omit<HttpRequest, 'baseUrl' | 'timeoutMs' | 'signal' | 'headers' | 'context'> & {
  context: Omit<HttpRequest['context'], 'plane'>;
  /** Default: the client's requestTimeoutMs. */
  defaultTimeoutMs?: number;
  /** `GET /health` is the only call without the API key. */
  anonymous?: boolean;
};

export class ClientContext {
  readonly sessions = new SandboxSessionCache();
  readonly sockets = new Set<WebSocket>();

  constructor(
    readonly config: ClientConfig,
    readonly http: HttpClient,
  ) {}

  async control<T>(req: ControlRequest, call: CallOptions = {}): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = {};
    if (!req.anonymous) {
      if (!this.config.apiKey) {
        throw new AuthenticationError(
          `No HopX API key is configured, so the client cannot ${req.context.operation}. ` +
            'Set HOPX_API_KEY (get a key at https://console.hopx.dev) or pass apiKey to HopxClient.',
        );
      }
      headers['x-api-key'] = this.config.apiKey;
    }
    const { defaultTimeoutMs, anonymous: _anonymous, context, ...rest } = req;
    return this.http.send<T>({
      ...rest,
      baseUrl: this.config.baseUrl,
      headers,
      timeoutMs: call.timeoutMs ?? defaultTimeoutMs ?? this.config.requestTimeoutMs,
      signal: call.signal,
      context: { ...context, plane: 'control' },
    });
  }
}
