import { z } from 'zod';
import type { MetricsSnapshot } from '../client/types.js';
import { defineSandboxTool, type SandboxToolContext, type ToolDefinition } from './tool.js';
import { withoutSecretKeys } from '../text/secrets.js';
import { formatBytes } from './rich.js';
import { MetricsOut, metricsView } from '../views/metrics.js';

function metricsText(title: string, v: z.infer<typeof MetricsOut>): string {
  const pct = (n: number | null | undefined) => (n === null || n === undefined ? '?' : `${n.toFixed(1)}%`);
  // Sizes beside percentages: "0.4%" alone does not say whether 100 MB more would fit.
  const used = (d: { total_bytes: number | null; used_bytes: number | null } | null) =>
    d && d.used_bytes !== null && d.total_bytes ? ` (${formatBytes(d.used_bytes)} of ${formatBytes(d.total_bytes)})` : '';
  const parts = [
    `CPU ${pct(v.cpu?.usage_percent)}${v.cpu?.cores ? ` of ${v.cpu.cores} core${v.cpu.cores === 1 ? '' : 's'}` : ''}`,
    `memory ${pct(v.memory?.usage_percent)}${used(v.memory)}`,
    `disk ${pct(v.disk?.usage_percent)}${used(v.disk)}`,
  ];
  const n = v.processes?.count;
  if (n !== null && n !== undefined) parts.push(`${n} process${n === 1 ? '' : 'es'}`);
  if (v.uptime_seconds !== null) parts.push(`up ${Math.round(v.uptime_seconds)} s`);
  return `${title} of sandbox ${v.sandbox_id}: ${parts.join(', ')}.`;
}

/** What sandbox_get_metrics returns: the sandbox's resources. */
const SystemMetricsOut = MetricsOut.pick({ sandbox_id: true, uptime_seconds: true, cpu: true, memory: true, disk: true, processes: true });
/** What sandbox_get_agent_metrics returns: the agent's own counters. */
const AgentMetricsOut = MetricsOut.pick({ sandbox_id: true, uptime_seconds: true, total_requests: true, total_errors: true, total_executions: true, active_executions: true });

/**
 * Both metrics tools read one snapshot (/metrics/snapshot); each returns its own part of it (the
 * output schema keeps only those fields), so the two never answer the same thing.
 */
function metricsTool(spec: {
  name: string;
  title: string;
  description: string;
  output: typeof SystemMetricsOut | typeof AgentMetricsOut;
  read: (ctx: SandboxToolContext) => Promise<MetricsSnapshot>;
  text: (v: z.infer<typeof MetricsOut>) => string;
}): ToolDefinition {
  return defineSandboxTool({
    name: spec.name,
    title: spec.title,
    description: spec.description,
    toolset: 'metrics',
    kind: 'read',
    input: z.strictObject({}),
    output: spec.output,
    async handle(ctx) {
      const v = metricsView(ctx.sandboxId, await spec.read(ctx));
      return { text: spec.text(v), structured: v };
    },
  });
}

const sandboxGetMetrics = metricsTool({
  name: 'sandbox_get_metrics',
  title: 'Get sandbox metrics',
  description: 'CPU, memory, disk and process counts of the sandbox, now.',
  output: SystemMetricsOut,
  read: (ctx) => ctx.agent.metrics(ctx.call),
  text: (v) => metricsText('System metrics', v),
});

const sandboxGetAgentMetrics = metricsTool({
  name: 'sandbox_get_agent_metrics',
  title: 'Get agent metrics',
  description: "Request, error and execution counters of the sandbox's agent (which runs the tool calls in it); for CPU, memory, disk: sandbox_get_metrics.",
  output: AgentMetricsOut,
  read: (ctx) => ctx.agent.metrics(ctx.call),
  text: (v) =>
    `Agent metrics of sandbox ${v.sandbox_id}: requests ${v.total_requests ?? '?'}, errors ${v.total_errors ?? '?'}, ` +
    `executions ${v.total_executions ?? '?'} (${v.active_executions ?? '?'} active).`,
});

const sandboxGetAgentInfo = defineSandboxTool({
  name: 'sandbox_get_agent_info',
  title: 'Get agent info',
  description: "Version, OS, architecture and languages of the sandbox's agent.",
  toolset: 'metrics',
  kind: 'read',
  input: z.strictObject({}),
  output: z.object({
    sandbox_id: z.string(),
    agent: z.string().nullable(),
    version: z.string().nullable(),
    os: z.string().nullable(),
    arch: z.string().nullable(),
    uptime_seconds: z.number().nullable(),
    languages: z.array(z.string()),
    details: z.record(z.string(), z.unknown()),
  }),
  async handle(ctx) {
    const i = await ctx.agent.info(ctx.call);
    const v = {
      sandbox_id: ctx.sandboxId,
      agent: i.agent,
      version: i.version,
      os: i.os,
      arch: i.arch,
      uptime_seconds: i.uptimeSeconds,
      languages: i.languages,
      details: withoutSecretKeys(i.raw),
    };
    // One line; the raw details stay in structuredContent.
    const parts = [
      [v.agent, v.version].filter(Boolean).join(' ') || 'unknown agent',
      v.os || v.arch ? [v.os, v.arch].filter(Boolean).join('/') : null,
      v.uptime_seconds !== null ? `up ${Math.round(v.uptime_seconds)} s` : null,
      v.languages.length > 0 ? `languages: ${v.languages.join(', ')}` : null,
    ].filter(Boolean);
    return { text: `Agent of sandbox ${ctx.sandboxId}: ${parts.join(', ')}.`, structured: v };
  },
});

const tools: ToolDefinition[] = [sandboxGetMetrics, sandboxGetAgentMetrics, sandboxGetAgentInfo];
export default tools;
