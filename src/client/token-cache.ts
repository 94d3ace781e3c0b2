/**
 * What the client remembers per sandbox: the agent JWT with its expiry, the agent base URL
 * (public_host) and a token refresh in flight. Both SDKs keep the same map (docs/hopx-wire.md §2.4). It
 * lives in the client instance, not in module state, so two clients (two API keys) never share
 * tokens. A long-running server sees sandboxes come and go (list() alone remembers every host of
 * the account), so each map keeps at most MAX_SANDBOXES entries, dropping the least recently set:
 * a dropped entry costs one GET or token refresh on next use.
 */

export const MAX_SANDBOXES = 5_000;

interface CachedToken {
  token: string;
  expiresAt: string;
  expiresAtMs: number;
  /** Lifetime seen when the token arrived; bounds the refresh threshold for short-lived tokens. */
  lifetimeMs: number;
}

function setBounded<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_SANDBOXES) map.delete(map.keys().next().value as string);
}

export class SandboxSessionCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly hosts = new Map<string, string>();
  private readonly refreshes = new Map<string, Promise<void>>();

  setToken(sandboxId: string, token: { token: string; expiresAt: string }, now = Date.now()): void {
    const parsed = Date.parse(token.expiresAt);
    // An unparseable expiry is treated as "refresh on next use" rather than "never expires".
    const expiresAtMs = Number.isNaN(parsed) ? now : parsed;
    setBounded(this.tokens, sandboxId, { ...token, expiresAtMs, lifetimeMs: Math.max(0, expiresAtMs - now) });
  }

  /** One token refresh at a time per sandbox: concurrent callers (any agent handle) share it. */
  shareRefresh(sandboxId: string, refresh: () => Promise<unknown>): Promise<void> {
    let running = this.refreshes.get(sandboxId);
    if (!running) {
      running = refresh()
        .then(() => undefined)
        .finally(() => this.refreshes.delete(sandboxId));
      this.refreshes.set(sandboxId, running);
    }
    return running;
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
    if (publicHost) setBounded(this.hosts, sandboxId, publicHost);
  }

  host(sandboxId: string): string | undefined {
    return this.hosts.get(sandboxId);
  }

  /** Number of sandboxes with a cached token or host (for tests of the bound). */
  get size(): number {
    return new Set([...this.tokens.keys(), ...this.hosts.keys()]).size;
  }

  forget(sandboxId: string): void {
    this.tokens.delete(sandboxId);
    this.hosts.delete(sandboxId);
  }
}
