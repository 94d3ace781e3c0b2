/**
 * /readyz: can this replica serve now? Every check runs on each probe (a load balancer takes the
 * replica out while one fails); /healthz stays "the process is up".
 */
export interface ReadinessCheck {
  /** Short name shown in the answer: backend, auth, state. */
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export async function probeReadiness(checks: readonly ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (c) => {
      try {
        return [c.name, await c.check()] as const;
      } catch (error) {
        return [c.name, { ok: false, detail: error instanceof Error ? error.message : String(error) }] as const;
      }
    }),
  );
  return { ok: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}
