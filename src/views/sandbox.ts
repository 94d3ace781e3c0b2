/** The model's view of a sandbox, shared by the sandbox tools and the sandbox resource. */
import { z } from 'zod';
import type { SandboxInfo } from '../client/types.js';
import type { Conversation } from '../conversation/conversation.js';

export const SandboxSummary = z.object({
  sandbox_id: z.string(),
  status: z.string(),
  template: z.string().nullable(),
  region: z.string().nullable(),
  created_at: z.string().nullable(),
  expires_at: z.string().nullable(),
  timeout_seconds: z.number().nullable(),
  internet_access: z.boolean().nullable(),
  resources: z.object({ vcpu: z.number(), memory_mb: z.number(), disk_mb: z.number() }).nullable(),
  attached: z.enum(['created', 'connected', 'no']),
  current: z.boolean(),
});
export type SandboxSummary = z.infer<typeof SandboxSummary>;

/** The model's view of a sandbox: no agent host, no token. */
export function summarize(info: SandboxInfo, conversation: Conversation): SandboxSummary {
  const attachment = conversation.attachment(info.id);
  return {
    sandbox_id: info.id,
    status: info.status,
    template: info.templateName ?? info.templateId,
    region: info.region,
    created_at: info.createdAt,
    expires_at: info.expiresAt,
    timeout_seconds: info.timeoutSeconds,
    internet_access: info.internetAccess,
    resources: info.resources ? { vcpu: info.resources.vcpu, memory_mb: info.resources.memoryMb, disk_mb: info.resources.diskMb } : null,
    attached: attachment?.origin ?? 'no',
    current: conversation.currentSandboxId === info.id,
  };
}

export function summaryLine(s: SandboxSummary): string {
  const parts = [`${s.sandbox_id}: ${s.status}`];
  if (s.template) parts.push(`template ${s.template}`);
  if (s.region) parts.push(`region ${s.region}`);
  if (s.expires_at) parts.push(`expires ${expiresIn(s.expires_at)}`);
  if (s.current) parts.push('the current sandbox');
  return parts.join(', ');
}

/**
 * "in 59 min (2026-...Z)": a model rarely knows the current time, so the absolute time alone
 * does not tell it whether the sandbox is about to die.
 */
export function expiresIn(expiresAt: string, nowMs = Date.now()): string {
  const ms = Date.parse(expiresAt) - nowMs;
  if (!Number.isFinite(ms)) return expiresAt;
  if (ms <= 0) return `${expiresAt} (already passed)`;
  const min = Math.round(ms / 60_000);
  const rel = ms < 90_000 ? `${Math.round(ms / 1000)} s` : min < 120 ? `${min} min` : `${(ms / 3_600_000).toFixed(1)} h`;
  return `in ${rel} (${expiresAt})`;
}
