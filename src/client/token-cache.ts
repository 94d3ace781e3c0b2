/**
 * What the client remembers per sandbox: the agent JWT with its expiry, and the agent base URL
 * (public_host). Both SDKs keep the same map (hopx-api.md §2.4). It lives in the client instance,
 * not in module state, so two clients (two API keys) never share tokens.
 */

interface CachedToken {
  token: string;
  expiresAt: string;
  expiresAtMs: number;
  /** Lifetime seen when the token arrived; bounds the refresh threshold for short-lived tokens. */
  lifetimeMs: number;
}

export class SandboxSessionCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly hosts = new Map<string, string>();

  setToken(sandboxId: string, token: { token: string; expiresAt: string }, now = Date.now()): void {
    const parsed = Date.parse(token.expiresAt);
    // An unparseable expiry is treated as "refresh on next use" rather than "never expires".
    const expiresAtMs = Number.isNaN(parsed) ? now : parsed;
    this.tokens.set(sandboxId, { ...token, expiresAtMs, lifetimeMs: Math.max(0, expiresAtMs - now) });
  }

  token(sandboxId: string): string | undefined {
    return this.tokens.get(sandboxId)?.token;
  }

  tokenExpiresAt(sandboxId: string): string | null {
    return this.tokens.get(sandboxId)?.expiresAt ?? null;
  }

  /**
   * True when there is no token or it is about to expire. The SDKs refresh below 1 h left; a token
   * that lives less than 2 h (a local backend's, say) would then be refreshed on every call, so
   * the threshold is capped at half the token's lifetime.
   */
  needsRefresh(sandboxId: string, thresholdMs: number, now = Date.now()): boolean {
    const cached = this.tokens.get(sandboxId);
    if (!cached) return true;
    const threshold = Math.min(thresholdMs, cached.lifetimeMs / 2);
    return cached.expiresAtMs - now <= threshold;
  }

  setHost(sandboxId: string, publicHost: string): void {
    if (publicHost) this.hosts.set(sandboxId, publicHost);
  }

  host(sandboxId: string): string | undefined {
    return this.hosts.get(sandboxId);
  }

  forget(sandboxId: string): void {
    this.tokens.delete(sandboxId);
    this.hosts.delete(sandboxId);
  }
}
