/** /, /health, /info, /ping, /system (no auth), metrics, cache, /processes, /jupyter/sessions. */
import { arch, platform, release } from 'node:os';
import { type Router, nowIso, sendJson } from '../http.js';
import type { AgentContext } from './context.js';
import type { SandboxUsage } from '../../runtime/types.js';

const AGENT_NAME = 'hopx-local-agent';
const AGENT_VERSION = '3.2.8-local';

const ENDPOINTS: Record<string, string> = {
  health: 'GET /health',
  info: 'GET /info',
  execute: 'POST /execute',
  execute_background: 'POST /execute/background',
  execute_processes: 'GET /execute/processes',
  execute_kill: 'DELETE /execute/kill',
  execute_stream: 'GET /execute/stream (WebSocket)',
  commands_run: 'POST /commands/run',
  commands_background: 'POST /commands/background',
  processes: 'GET /processes',
  files_read: 'GET /files/read',
  files_write: 'POST /files/write',
  files_list: 'GET /files/list',
  files_exists: 'GET /files/exists',
  files_remove: 'DELETE /files/remove',
  files_mkdir: 'POST /files/mkdir',
  files_upload: 'POST /files/upload',
  files_download: 'GET /files/download',
  files_watch: 'GET /files/watch (WebSocket)',
  env: 'GET|PUT|PATCH|DELETE /env',
  metrics: 'GET /metrics/snapshot',
  metrics_prometheus: 'GET /metrics/prometheus',
  cache_stats: 'GET /cache/stats',
  cache_clear: 'POST /cache/clear',
  terminal: 'GET /terminal (WebSocket)',
  jupyter_sessions: 'GET /jupyter/sessions',
};

function features(ctx: AgentContext): Record<string, unknown> {
  return {
    code_execution: true,
    file_operations: true,
    terminal_access: true,
    websocket_streaming: true,
    rich_output: Boolean(ctx.probe.python?.matplotlib),
    background_jobs: true,
    ipython_kernel: Boolean(ctx.probe.python),
    system_metrics: true,
    languages: [...ctx.languages],
  };
}

function uptimeSeconds(ctx: AgentContext): number {
  return Math.round((Date.now() - ctx.startedAt.getTime()) / 1000);
}

function durationString(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}

export function registerStatusRoutes(router: Router, ctx: AgentContext): void {
  router.add('GET', '/', ({ res }) => {
    sendJson(res, 200, { agent: AGENT_NAME, version: AGENT_VERSION, vm_id: ctx.sandbox.id, endpoints: ENDPOINTS });
  });

  router.add('GET', '/health', ({ res }) => {
    const status = ctx.sandbox.status;
    const up = uptimeSeconds(ctx);
    sendJson(res, status === 'running' ? 200 : 503, {
      status: status === 'running' ? 'healthy' : status,
      agent: AGENT_NAME,
      version: AGENT_VERSION,
      uptime: durationString(up),
      uptime_seconds: up,
      vm_id: ctx.sandbox.id,
      features: features(ctx),
      active_streams: ctx.stats.activeExecutions,
      timestamp: nowIso(),
    });
  });

  router.add('GET', '/ping', ({ res }) => {
    sendJson(res, 200, { message: 'pong', status: 'ok', timestamp: nowIso() });
  });

  router.add('GET', '/info', ({ res }) => {
    const port = ctx.port();
    sendJson(res, 200, {
      agent: AGENT_NAME,
      version: AGENT_VERSION,
      agent_version: AGENT_VERSION,
      vm_id: ctx.sandbox.id,
      template: ctx.sandbox.templateName,
      ip: '127.0.0.1',
      vm_ip: '127.0.0.1',
      port,
      vm_port: port,
      platform: `${platform()}/${arch()}`,
      os: platform(),
      arch: arch(),
      go_version: null,
      start_time: ctx.startedAt.toISOString(),
      uptime: uptimeSeconds(ctx),
      uptime_seconds: uptimeSeconds(ctx),
      languages: [...ctx.languages],
      endpoints: ENDPOINTS,
      features: features(ctx),
      isolation: { isolation: ctx.probe.isolation, limits: ctx.probe.limits, pause: ctx.probe.pause },
    });
  });

  router.add('GET', '/system', async ({ res }) => {
    const usage = await ctx.sandbox.runtime.usage();
    sendJson(res, 200, {
      ...usageWire(usage),
      os: { name: platform(), kernel: release(), arch: arch(), hostname: ctx.sandbox.id },
      hardware: { cpu_cores: usage.cpu.cores, memory_mb: Math.round(usage.memory.totalBytes / 1048576) },
      timestamp: nowIso(),
    });
  });

  const snapshot = async () => {
    const usage = await ctx.sandbox.runtime.usage().catch(() => null);
    const s = ctx.stats.snapshot();
    const cache = await cacheWire(ctx);
    return {
      uptime_seconds: uptimeSeconds(ctx),
      total_requests: ctx.stats.totalRequests,
      total_errors: ctx.stats.totalErrors,
      error_count: ctx.stats.totalErrors,
      active_executions: ctx.stats.activeExecutions,
      total_executions: ctx.stats.totalExecutions,
      requests_total: s.requestsTotal,
      avg_duration_ms: s.avgDurationMs,
      p95_duration_ms: s.p95DurationMs,
      system: usage ? usageWire(usage) : null,
      process: usage ? { count: usage.processes.count, running: usage.processes.running } : null,
      cache: { size: cache.size, hits: cache.hits, misses: cache.misses, hit_rate: cache.hit_rate },
      timestamp: nowIso(),
    };
  };
  router.add('GET', '/metrics/snapshot', async ({ res }) => sendJson(res, 200, await snapshot()));
  router.add('GET', '/metrics', async ({ res }) => sendJson(res, 200, await snapshot()));
  router.add('GET', '/metrics/prometheus', ({ res }) => {
    const text = ctx.stats.prometheus();
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(text);
  });

  router.add('GET', '/cache/stats', async ({ res }) => {
    const cache = await cacheWire(ctx);
    sendJson(res, 200, { ...cache, cache, timestamp: nowIso() });
  });
  // docs.hopx.ai documents GET /cache as an agent status answer; kept for clients that call it.
  router.add('GET', '/cache', ({ res }) => {
    sendJson(res, 200, { agent: AGENT_NAME, status: 'running', version: AGENT_VERSION, vm_id: ctx.sandbox.id, message: 'success', timestamp: nowIso() });
  });
  router.add('POST', '/cache/clear', async ({ res }) => {
    const removed = await ctx.goCache.clear();
    sendJson(res, 200, { success: true, message: 'Cache cleared', entries_removed: removed, timestamp: nowIso() });
  });

  router.add('GET', '/processes', async ({ res }) => {
    const list = await ctx.sandbox.runtime.processes();
    const totalMb = (await ctx.sandbox.runtime.usage().catch(() => null))?.memory.totalBytes ?? 0;
    const processes = list.map((p) => ({
      pid: p.pid,
      name: p.name,
      command: p.command,
      user: p.user,
      status: p.status,
      cpu_percent: p.cpuPercent,
      memory_mb: p.memoryMb,
      memory_percent: totalMb ? Math.round(((p.memoryMb * 1048576) / totalMb) * 10000) / 100 : null,
    }));
    sendJson(res, 200, { processes, count: processes.length, timestamp: nowIso() });
  });

  router.add('GET', '/jupyter/sessions', ({ res }) => {
    const sessions = ctx.kernel.started
      ? [
          {
            kernel_id: `python-${ctx.sandbox.id}`,
            execution_state: ctx.kernel.cells > 0 ? 'busy' : 'idle',
            connections: 1,
            last_activity: ctx.kernel.lastActivity?.toISOString() ?? null,
          },
        ]
      : [];
    sendJson(res, 200, { sessions, count: sessions.length, timestamp: nowIso() });
  });
}

/** The 3.1.1 `/system` usage shape, also nested as `system` in the metrics snapshot. */
function usageWire(usage: SandboxUsage): Record<string, unknown> {
  return {
    cpu: { usage_percent: usage.cpu.usagePercent, cores: usage.cpu.cores },
    memory: memoryWire(usage.memory),
    disk: memoryWire(usage.disk),
    uptime: usage.uptimeSeconds,
  };
}

function memoryWire(m: { totalBytes: number; usedBytes: number; usagePercent: number }): Record<string, number> {
  return { total: m.totalBytes, used: m.usedBytes, free: Math.max(0, m.totalBytes - m.usedBytes), usage_percent: m.usagePercent };
}

/** The cache is compiled Go programs (see go-cache.ts); every shape the SDKs read. */
async function cacheWire(ctx: AgentContext): Promise<Record<string, unknown> & { size: number; hits: number; misses: number; hit_rate: number }> {
  const { entries, bytes } = await ctx.goCache.stats();
  const lookups = ctx.goCache.hits + ctx.goCache.misses;
  const hitRate = lookups ? ctx.goCache.hits / lookups : 0;
  return {
    kind: 'go-builds',
    size: entries,
    total_cached: entries,
    bytes,
    max_size: null,
    hits: ctx.goCache.hits,
    total_hits: ctx.goCache.hits,
    misses: ctx.goCache.misses,
    hit_rate: Math.round(hitRate * 1000) / 1000,
    ttl: null,
  };
}
