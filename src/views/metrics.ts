/** The model's view of a metrics snapshot, shared by the metrics tools and the metrics resource. */
import { z } from 'zod';
import type { MetricsSnapshot } from '../client/types.js';

const Usage = z.object({ total_bytes: z.number().nullable(), used_bytes: z.number().nullable(), usage_percent: z.number().nullable() }).nullable();

export const MetricsOut = z.object({
  sandbox_id: z.string(),
  uptime_seconds: z.number().nullable(),
  cpu: z.object({ usage_percent: z.number().nullable(), cores: z.number().nullable() }).nullable(),
  memory: Usage,
  disk: Usage,
  processes: z.object({ count: z.number().nullable(), running: z.number().nullable() }).nullable(),
  total_executions: z.number().nullable(),
  active_executions: z.number().nullable(),
  total_requests: z.number().nullable(),
  total_errors: z.number().nullable(),
});

export function metricsView(sandboxId: string, m: MetricsSnapshot): z.infer<typeof MetricsOut> {
  const usage = (u: MetricsSnapshot['memory']) => (u ? { total_bytes: u.totalBytes, used_bytes: u.usedBytes, usage_percent: u.usagePercent } : null);
  return {
    sandbox_id: sandboxId,
    uptime_seconds: m.uptimeSeconds,
    cpu: m.cpu ? { usage_percent: m.cpu.usagePercent, cores: m.cpu.cores } : null,
    memory: usage(m.memory),
    disk: usage(m.disk),
    processes: m.processes ? { count: m.processes.count, running: m.processes.running } : null,
    total_executions: m.totalExecutions,
    active_executions: m.activeExecutions,
    total_requests: m.totalRequests,
    total_errors: m.totalErrors,
  };
}
