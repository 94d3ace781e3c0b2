/** Agent: health, info, ping, system, metrics, cache, preview URLs (docs/hopx-wire.md §5.1, §5.3, §5.10, §5.11). */
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import { HopxError } from './errors.js';
import * as check from './validate.js';
import {
  asRecord,
  str,
  toAgentApiInfo,
  toAgentCacheStatus,
  toAgentHealth,
  toAgentInfo,
  toAgentPing,
  toAgentSystemInfo,
  toCacheClearResult,
  toCacheStats,
  toMetricsSnapshot,
  type Json,
} from './wire.js';
import type {
  AgentApiInfo,
  AgentCacheStatus,
  AgentHealth,
  AgentInfo,
  AgentPing,
  AgentSystemInfo,
  CacheClearResult,
  CacheStats,
  CallOptions,
  MetricsSnapshot,
} from './types.js';

/** `<digits>-`? `<sandbox label>` `.` `<domain ending in .vms.hopx.dev>` (both SDKs' rule). */
const HOPX_AGENT_HOST = /^(?:\d+-)?([^.]+)\.(.+\.vms\.hopx\.dev)$/;

/** The HopX cloud preview URL for a port, or null when public_host is not a HopX VM host. */
export function cloudPreviewUrl(publicHost: string, port: number): string | null {
  const host = publicHost.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/.*$/, '');
  const match = HOPX_AGENT_HOST.exec(host);
  return match ? `https://${port}-${match[1]}.${match[2]}/` : null;
}

export class AgentMetrics {
  constructor(
    private readonly ctx: ClientContext,
    private readonly conn: AgentConnection,
  ) {}

  async health(call?: CallOptions): Promise<AgentHealth> {
    return toAgentHealth(await this.get('/health', 'check agent health', call));
  }

  async info(call?: CallOptions): Promise<AgentInfo> {
    return toAgentInfo(await this.get('/info', 'read agent info', call));
  }

  async metrics(call?: CallOptions): Promise<MetricsSnapshot> {
    return toMetricsSnapshot(await this.get('/metrics/snapshot', 'read sandbox metrics', call));
  }

  /** Text `pong` (3.1.1) or JSON (3.2.x): read as text, then parsed if it is JSON. */
  async ping(call: CallOptions = {}): Promise<AgentPing> {
    const res = await this.conn.request<string>(
      { method: 'GET', path: '/ping', accept: 'application/json, text/plain', response: 'text', context: { operation: 'ping the agent' } },
      call,
    );
    return toAgentPing(res.data);
  }

  async system(call?: CallOptions): Promise<AgentSystemInfo> {
    return toAgentSystemInfo(await this.get('/system', 'read system info', call));
  }

  async apiInfo(call?: CallOptions): Promise<AgentApiInfo> {
    return toAgentApiInfo(await this.get('/', 'read agent API info', call));
  }

  async legacyMetrics(call?: CallOptions): Promise<MetricsSnapshot> {
    return toMetricsSnapshot(await this.get('/metrics', 'read legacy metrics', call));
  }

  async prometheusMetrics(call: CallOptions = {}): Promise<string> {
    const res = await this.conn.request<string>(
      { method: 'GET', path: '/metrics/prometheus', accept: 'text/plain', response: 'text', context: { operation: 'read Prometheus metrics' } },
      call,
    );
    return res.data;
  }

  async cacheStatus(call?: CallOptions): Promise<AgentCacheStatus> {
    return toAgentCacheStatus(await this.get('/cache', 'read cache status', call));
  }

  async cacheStats(call?: CallOptions): Promise<CacheStats> {
    return toCacheStats(await this.get('/cache/stats', 'read cache stats', call));
  }

  async clearCache(call: CallOptions = {}): Promise<CacheClearResult> {
    const res = await this.conn.request<Json>(
      { method: 'POST', path: '/cache/clear', response: 'json', idempotent: true, context: { operation: 'clear the cache' } },
      call,
    );
    return toCacheClearResult(res.data);
  }

  async previewUrl(port: number, call: CallOptions = {}): Promise<string> {
    const p = check.port(port);
    const fromHost = cloudPreviewUrl(await this.conn.baseUrl(call), p);
    if (fromHost) return fromHost;
    // Not a HopX cloud host (the local backend): ask the control plane to open a forward.
    const id = this.conn.sandboxId;
    const res = await this.ctx.control<Json>(
      {
        method: 'POST',
        path: `/v1/sandboxes/${encodeURIComponent(id)}/ports/${p}`,
        // Opening the same forward twice returns the same URL.
        idempotent: true,
        response: 'json',
        context: { operation: `expose port ${p}`, resource: 'sandbox', sandboxId: id },
      },
      call,
    );
    const url = str(asRecord(res.data).url);
    if (!url) throw new HopxError(`The backend opened port ${p} of sandbox ${id} but returned no url.`);
    return url;
  }

  private async get(path: string, operation: string, call: CallOptions = {}): Promise<Json> {
    const res = await this.conn.request<Json>({ method: 'GET', path, response: 'json', context: { operation } }, call);
    return asRecord(res.data);
  }
}
