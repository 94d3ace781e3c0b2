/** Request and execution counters behind /metrics/snapshot and /metrics/prometheus. */

interface EndpointStats {
  method: string;
  count: number;
  totalMs: number;
  /** Recent durations (ms), for p95. */
  recent: number[];
  byStatus: Map<number, number>;
  errorsByCode: Map<string, number>;
}

const RECENT = 200;

export class AgentStats {
  totalRequests = 0;
  totalErrors = 0;
  activeExecutions = 0;
  totalExecutions = 0;
  /** /files/watch watches open now, across the sandbox's sockets (each holds host inotify watches). */
  openWatches = 0;
  private readonly endpoints = new Map<string, EndpointStats>();

  record(method: string, endpoint: string, status: number, durationMs: number, errorCode: string | null): void {
    this.totalRequests++;
    if (status >= 400) this.totalErrors++;
    const key = `${method} ${endpoint}`;
    let e = this.endpoints.get(key);
    if (!e) {
      e = { method, count: 0, totalMs: 0, recent: [], byStatus: new Map(), errorsByCode: new Map() };
      this.endpoints.set(key, e);
    }
    e.count++;
    e.totalMs += durationMs;
    e.recent.push(durationMs);
    if (e.recent.length > RECENT) e.recent.shift();
    e.byStatus.set(status, (e.byStatus.get(status) ?? 0) + 1);
    if (errorCode) e.errorsByCode.set(errorCode, (e.errorsByCode.get(errorCode) ?? 0) + 1);
  }

  /** Wraps one execution so active/total counters stay right even when it throws. */
  async execution<T>(run: () => Promise<T>): Promise<T> {
    this.activeExecutions++;
    this.totalExecutions++;
    try {
      return await run();
    } finally {
      this.activeExecutions--;
    }
  }

  snapshot(): {
    requestsTotal: Record<string, number>;
    avgDurationMs: Record<string, number>;
    p95DurationMs: Record<string, number>;
  } {
    const requestsTotal: Record<string, number> = {};
    const avgDurationMs: Record<string, number> = {};
    const p95DurationMs: Record<string, number> = {};
    for (const [key, e] of this.endpoints) {
      requestsTotal[key] = e.count;
      avgDurationMs[key] = round(e.totalMs / e.count);
      const sorted = [...e.recent].sort((a, b) => a - b);
      p95DurationMs[key] = round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? 0);
    }
    return { requestsTotal, avgDurationMs, p95DurationMs };
  }

  prometheus(): string {
    const lines: string[] = [];
    const metric = (name: string, help: string, type: string, samples: string[]) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples);
    /** One call per endpoint with its labels; the samples of all endpoints, in order. */
    const perEndpoint = (samples: (labels: string, e: EndpointStats) => string[]) =>
      [...this.endpoints].flatMap(([key, e]) => samples(`endpoint="${key.slice(e.method.length + 1)}",method="${e.method}"`, e));

    metric('hopx_agent_requests_total', 'Requests served by the agent.', 'counter',
      perEndpoint((l, e) => [...e.byStatus].map(([status, n]) => `hopx_agent_requests_total{${l},status="${status}"} ${n}`)));
    metric('hopx_agent_request_duration_seconds', 'Mean request duration per endpoint.', 'summary',
      perEndpoint((l, e) => [
        `hopx_agent_request_duration_seconds_sum{${l}} ${e.totalMs / 1000}`,
        `hopx_agent_request_duration_seconds_count{${l}} ${e.count}`,
      ]));
    metric('hopx_agent_errors_total', 'Error responses by code.', 'counter',
      perEndpoint((l, e) => [...e.errorsByCode].map(([code, n]) => `hopx_agent_errors_total{${l},code="${code}"} ${n}`)));
    metric('hopx_agent_active_executions', 'Executions running now.', 'gauge', [`hopx_agent_active_executions ${this.activeExecutions}`]);
    metric('hopx_agent_total_executions', 'Executions started since the sandbox was created.', 'counter', [
      `hopx_agent_total_executions ${this.totalExecutions}`,
    ]);
    metric('hopx_agent_open_watches', 'File watches (/files/watch) open now.', 'gauge', [`hopx_agent_open_watches ${this.openWatches}`]);
    return lines.join('\n') + '\n';
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
