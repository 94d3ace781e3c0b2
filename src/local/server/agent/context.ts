/**
 * What every agent endpoint works with: the sandbox (runtime handle + control-plane state), its
 * env store, background jobs, counters and the Go build cache.
 */
import type { Logger } from '../../../log.js';
import type { LocalSandbox, RuntimeLanguage, RuntimeProbe } from '../../runtime/types.js';
import type { BackgroundJobs } from './background.js';
import type { DesktopSession } from './desktop-session.js';
import type { GoBuildCache } from './go-cache.js';
import type { AgentStats } from './stats.js';

export type SandboxLifecycle = 'running' | 'paused' | 'stopped' | 'killed';

/** The control plane's view of one sandbox, read by its agent. */
export interface SandboxState {
  readonly id: string;
  readonly status: SandboxLifecycle;
  readonly templateName: string;
  readonly createdAt: Date;
  readonly runtime: LocalSandbox;
  /** Custom variables: create env_vars, then /env writes. */
  readonly env: Map<string, string>;
}

export interface KernelActivity {
  started: boolean;
  /** Cells queued or running (the kernel runs one at a time); busy while above 0. */
  cells: number;
  lastActivity: Date | null;
}

export interface AgentContext {
  readonly sandbox: SandboxState;
  readonly probe: RuntimeProbe;
  readonly languages: readonly RuntimeLanguage[];
  readonly jobs: BackgroundJobs;
  readonly stats: AgentStats;
  readonly goCache: GoBuildCache;
  readonly kernel: KernelActivity;
  readonly logger: Logger;
  /** The sandbox's X desktop; null unless it was made from the desktop template. */
  readonly desktop: DesktopSession | null;
  readonly startedAt: Date;
  /** Host port of this agent's listener. */
  port(): number;
}

/** Environment every process starts from, before sandbox and request variables. */
function baseEnv(): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    USER: 'root',
    SHELL: '/bin/bash',
  };
}

/** Precedence: base (+ DISPLAY on a desktop) < sandbox (create env_vars + /env) < request env. */
export function processEnv(ctx: AgentContext, requestEnv: Record<string, string> = {}): Record<string, string> {
  const display = ctx.desktop?.display;
  return { ...baseEnv(), ...(display ? { DISPLAY: display } : {}), ...Object.fromEntries(ctx.sandbox.env), ...requestEnv };
}
