/**
 * The sandboxes of one backend: create (runtime sandbox + its agent), lifecycle transitions
 * (docs/hopx-wire.md §4.7), auto-kill at expires_at, kill. The control plane's routes call into this.
 */
import type { Logger } from '../../log.js';
import type { LocalSandbox, RuntimeLanguage, RuntimeProbe, SandboxRuntime } from '../runtime/types.js';
import { AgentServer } from './agent/server.js';
import type { SandboxLifecycle, SandboxState } from './agent/context.js';
import { ApiError, conflict } from './errors.js';
import { newSandboxId } from './ids.js';
import type { IssuedToken, TokenSigner } from './jwt.js';
import type { LocalTemplate } from './templates.js';

/** setTimeout's ceiling; longer lifetimes re-arm the timer. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Cap on live sandboxes per backend: each one is real processes on this machine. */
const MAX_SANDBOXES = 64;
/** Screen of a desktop-template sandbox (the size the computer-use bench measures). */
const DESKTOP_SIZE = { width: 1280, height: 800 };

export interface SandboxEntry extends SandboxState {
  status: SandboxLifecycle;
  readonly template: LocalTemplate;
  readonly region: string;
  readonly internetAccess: boolean;
  updatedAt: Date;
  startedAt: Date;
  timeoutSeconds: number | null;
  expiresAt: Date | null;
  token: IssuedToken;
  agent: AgentServer;
  expiryTimer: NodeJS.Timeout | null;
  /** Serialises lifecycle operations on this sandbox. */
  busy: Promise<unknown>;
}

export interface CreateRequest {
  template: LocalTemplate;
  region: string;
  timeoutSeconds: number | null;
  internetAccess: boolean;
  envVars: Record<string, string>;
}

export class SandboxRegistry {
  private readonly entries = new Map<string, SandboxEntry>();
  /** Creates in flight: they count toward MAX_SANDBOXES, and closeAll waits for them. */
  private readonly creating = new Set<Promise<unknown>>();
  private closing = false;

  constructor(
    private readonly deps: {
      runtime: SandboxRuntime;
      probe: RuntimeProbe;
      languages: readonly RuntimeLanguage[];
      signer: TokenSigner;
      apiKey: string;
      host: string;
      logger: Logger;
    },
  ) {}

  list(): SandboxEntry[] {
    return [...this.entries.values()];
  }

  get(id: string): SandboxEntry {
    const entry = this.entries.get(id);
    if (!entry) throw new ApiError(404, 'RESOURCE_NOT_FOUND', 'Sandbox not found', { details: { sandbox_id: id } });
    return entry;
  }

  async create(request: CreateRequest): Promise<SandboxEntry> {
    if (this.closing) throw shuttingDown();
    const current = this.entries.size + this.creating.size;
    if (current >= MAX_SANDBOXES) {
      throw new ApiError(429, 'RESOURCE_LIMIT_ERROR', `At most ${MAX_SANDBOXES} sandboxes may run at once on this local backend; kill some first`, {
        details: { limit: MAX_SANDBOXES, current },
      });
    }
    const created = this.createNow(request);
    const tracked = created.catch(() => undefined);
    this.creating.add(tracked);
    void tracked.then(() => this.creating.delete(tracked));
    return created;
  }

  private async createNow(request: CreateRequest): Promise<SandboxEntry> {
    let id = newSandboxId();
    while (this.entries.has(id)) id = newSandboxId();
    const runtimeSandbox: LocalSandbox = await this.deps.runtime.create({
      id,
      internetAccess: request.internetAccess,
      hostname: id,
      limits: { memoryMb: request.template.resources.memoryMb, vcpu: request.template.resources.vcpu, maxProcesses: 256 },
    });
    try {
      if (runtimeSandbox.state !== 'running') await runtimeSandbox.start();
      const now = new Date();
      const state = {
        id,
        status: 'running' as SandboxLifecycle,
        templateName: request.template.name,
        createdAt: now,
        runtime: runtimeSandbox,
        env: new Map(Object.entries(request.envVars)),
      };
      const desktop = request.template.features.includes('desktop') ? DESKTOP_SIZE : undefined;
      const agent = new AgentServer({ ...this.deps, sandbox: state, logger: this.deps.logger.child({ sandbox_id: id }), ...(desktop ? { desktop } : {}) });
      await agent.listen();
      // The display is up before create returns: apps started next find DISPLAY ready.
      await agent.ctx.desktop?.ensure();
      if (this.closing) {
        // close() began while this sandbox was starting and will not see it: undo it here.
        await agent.close();
        throw shuttingDown();
      }
      const entry: SandboxEntry = Object.assign(state, {
        template: request.template,
        region: request.region,
        internetAccess: request.internetAccess,
        updatedAt: now,
        startedAt: now,
        timeoutSeconds: null,
        expiresAt: null,
        token: this.deps.signer.issue(id),
        agent,
        expiryTimer: null,
        busy: Promise.resolve(),
      });
      this.entries.set(id, entry);
      runtimeSandbox.onAnchorExit((reason) => this.anchorExited(entry, reason));
      this.setTimeout(entry, request.timeoutSeconds);
      this.deps.logger.info({ sandbox_id: id, template: request.template.name }, 'sandbox created');
      return entry;
    } catch (err) {
      await runtimeSandbox.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** pause | resume | stop | start, with the allowed source states of docs/hopx-wire.md §4.7. */
  async transition(id: string, action: 'pause' | 'resume' | 'stop' | 'start'): Promise<SandboxEntry> {
    const entry = this.get(id);
    return this.serialise(entry, async () => {
      const from = entry.status;
      const allowed: Record<typeof action, SandboxLifecycle[]> = {
        pause: ['running'],
        resume: ['paused'],
        stop: ['running', 'paused'],
        start: ['stopped'],
      };
      if (!allowed[action].includes(from)) {
        const hint = from === 'paused' ? 'resume it first' : from === 'stopped' ? 'start it first' : 'it is already running';
        throw conflict(`Cannot ${action} sandbox ${id}: it is ${from} (${hint})`, { status: from, action });
      }
      switch (action) {
        case 'pause':
          await entry.runtime.pause();
          entry.status = 'paused';
          break;
        case 'resume':
          await entry.runtime.resume();
          entry.status = 'running';
          break;
        case 'stop':
          entry.status = 'stopped'; // before killing, so the anchor-exit callback sees an intended stop
          await entry.agent.ctx.jobs.killAll();
          await entry.runtime.stop();
          entry.agent.ctx.kernel.started = false;
          break;
        case 'start':
          await entry.runtime.start();
          entry.status = 'running';
          entry.startedAt = new Date();
          // The stop took the display down with every process; bring it back (errors surface on its next request).
          await entry.agent.ctx.desktop?.ensure().catch((err: Error) => this.deps.logger.warn({ sandbox_id: id, err: err.message }, 'desktop restart failed'));
          break;
      }
      entry.updatedAt = new Date();
      this.deps.logger.info({ sandbox_id: id, from, to: entry.status }, `sandbox ${action}`);
      return entry;
    });
  }

  /** New lifetime counted from now; null clears the auto-kill. */
  setTimeout(entry: SandboxEntry, timeoutSeconds: number | null): void {
    if (entry.expiryTimer) clearTimeout(entry.expiryTimer);
    entry.expiryTimer = null;
    entry.timeoutSeconds = timeoutSeconds;
    entry.expiresAt = timeoutSeconds === null ? null : new Date(Date.now() + timeoutSeconds * 1000);
    entry.updatedAt = new Date();
    this.armExpiry(entry);
  }

  refreshToken(id: string): SandboxEntry {
    const entry = this.get(id);
    entry.token = this.deps.signer.issue(id);
    return entry;
  }

  /** Kill and forget. Returns false if the id was unknown. */
  async kill(id: string, reason = 'killed'): Promise<boolean> {
    const entry = this.entries.get(id);
    if (!entry) return false;
    this.entries.delete(id);
    if (entry.expiryTimer) clearTimeout(entry.expiryTimer);
    entry.status = 'killed';
    await entry.busy.catch(() => undefined);
    await entry.agent.close().catch((err) => this.deps.logger.warn({ err, sandbox_id: id }, 'agent close failed'));
    await entry.runtime.destroy().catch((err) => this.deps.logger.warn({ err, sandbox_id: id }, 'sandbox destroy failed'));
    this.deps.logger.info({ sandbox_id: id, reason }, 'sandbox killed');
    return true;
  }

  async closeAll(): Promise<void> {
    this.closing = true;
    await Promise.all(this.creating);
    await Promise.all(this.list().map((e) => this.kill(e.id, 'backend closing')));
  }

  private armExpiry(entry: SandboxEntry): void {
    if (!entry.expiresAt) return;
    const delay = entry.expiresAt.getTime() - Date.now();
    entry.expiryTimer = setTimeout(
      () => {
        if (entry.expiresAt && entry.expiresAt.getTime() <= Date.now()) void this.kill(entry.id, 'expired');
        else this.armExpiry(entry);
      },
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    entry.expiryTimer.unref();
  }

  private anchorExited(entry: SandboxEntry, reason: string): void {
    if (entry.status !== 'running' && entry.status !== 'paused') return;
    entry.status = 'stopped';
    entry.updatedAt = new Date();
    void entry.agent.ctx.jobs.killAll();
    entry.agent.ctx.kernel.started = false;
    this.deps.logger.warn({ sandbox_id: entry.id, reason }, 'sandbox stopped on its own (its init process exited)');
  }

  private serialise<T>(entry: SandboxEntry, run: () => Promise<T>): Promise<T> {
    const next = entry.busy.catch(() => undefined).then(run);
    entry.busy = next.catch(() => undefined);
    return next;
  }
}

function shuttingDown(): ApiError {
  return new ApiError(503, 'SERVICE_UNAVAILABLE', 'The local backend is shutting down');
}
