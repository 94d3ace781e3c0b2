/**
 * HopxClient: the typed HopX client (control plane + per-sandbox agent).
 *
 *   const client = new HopxClient();                       // HOPX_API_KEY, HOPX_BASE_URL
 *   const sandbox = await client.sandboxes.create({ template: 'code-interpreter' });
 *   const result = await client.agent(sandbox.id).code.run({ code: 'print(1 + 1)' });
 *   await client.sandboxes.kill(sandbox.id);
 *   await client.close();
 */
import { AgentConnection } from './agent.js';
import { Code } from './code.js';
import { Commands } from './commands.js';
import { resolveClientConfig } from './config.js';
import { ClientContext } from './context.js';
import { Desktop } from './desktop.js';
import { Env } from './env.js';
import { Files } from './files.js';
import { HttpClient } from './http.js';
import { AgentMetrics } from './metrics.js';
import { Processes } from './processes.js';
import { Sandboxes } from './sandboxes.js';
import { Templates } from './templates.js';
import { openTerminal } from './terminal.js';
import * as check from './validate.js';
import { toControlPlaneHealth } from './wire.js';
import type { CallOptions, ControlPlaneHealth, HopxClientApi, HopxClientOptions, SandboxAgent } from './types.js';

export * from './types.js';
export * from './errors.js';
export { resolveClientConfig, DEFAULT_BASE_URL, type ClientConfig } from './config.js';
export { createConnectionPool } from './http.js';
export { cloudPreviewUrl } from './metrics.js';
export { MASKED_VALUE } from './env.js';

export class HopxClient implements HopxClientApi {
  readonly sandboxes: Sandboxes;
  readonly templates: Templates;
  private readonly ctx: ClientContext;
  private closing: Promise<void> | undefined;

  constructor(options: HopxClientOptions = {}) {
    const config = resolveClientConfig(options);
    this.ctx = new ClientContext(config, new HttpClient(config, options.pool));
    this.sandboxes = new Sandboxes(this.ctx, (id, vars, call) => this.agent(id).env.merge(vars, call));
    this.templates = new Templates(this.ctx);
  }

  async health(call: CallOptions = {}): Promise<ControlPlaneHealth> {
    const res = await this.ctx.control<unknown>(
      {
        method: 'GET',
        path: '/health',
        anonymous: true,
        response: 'json',
        defaultTimeoutMs: 10_000,
        context: { operation: 'check HopX health' },
      },
      call,
    );
    return toControlPlaneHealth(res.data);
  }

  /**
   * A fresh handle each time: handles hold no state (token, host and refreshes in flight live in
   * the per-client session cache), so nothing accumulates per sandbox ever touched.
   */
  agent(sandboxId: string): SandboxAgent {
    return createSandboxAgent(this.ctx, new AgentConnection(this.ctx, check.sandboxId(sandboxId), this.sandboxes));
  }

  /** Terminates open sockets and the HTTP pool. Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const socket of this.ctx.sockets) socket.terminate();
      this.ctx.sockets.clear();
      await this.ctx.http.close();
    })();
    return this.closing;
  }
}

function createSandboxAgent(ctx: ClientContext, conn: AgentConnection): SandboxAgent {
  const metrics = new AgentMetrics(ctx, conn);
  return {
    sandboxId: conn.sandboxId,
    code: new Code(ctx, conn),
    processes: new Processes(conn),
    commands: new Commands(ctx, conn),
    files: new Files(ctx, conn),
    env: new Env(conn),
    desktop: new Desktop(conn),
    health: (call) => metrics.health(call),
    info: (call) => metrics.info(call),
    metrics: (call) => metrics.metrics(call),
    cacheStats: (call) => metrics.cacheStats(call),
    clearCache: (call) => metrics.clearCache(call),
    previewUrl: (port, call) => metrics.previewUrl(port, call),
    terminal: (call) => openTerminal(ctx, conn, call),
    ping: (call) => metrics.ping(call),
    system: (call) => metrics.system(call),
    apiInfo: (call) => metrics.apiInfo(call),
    prometheusMetrics: (call) => metrics.prometheusMetrics(call),
    legacyMetrics: (call) => metrics.legacyMetrics(call),
    cacheStatus: (call) => metrics.cacheStatus(call),
  };
}
