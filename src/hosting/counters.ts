/**
 * Counters behind the per-caller limits. One small interface so that several replicas can share
 * them: this in-memory version serves one process; a Redis version (INCR/DECR with a cap, and a
 * token bucket in one Lua script) serves several (design.md decision 11). Keys are opaque strings
 * chosen by CallerLimits; implementations need not understand them.
 */
export interface LimitCounters {
  /** Adds one to `key` unless the count would pass `max`; true when it did. */
  tryAcquire(key: string, max: number): Promise<boolean>;
  /** Takes back one successful tryAcquire of `key`. */
  release(key: string): Promise<void>;
  /**
   * Token bucket at `key` (full at first use): takes one token and answers 0, or takes none and
   * answers the milliseconds until one is there.
   */
  takeToken(key: string, bucket: { capacity: number; refillPerSecond: number }): Promise<number>;
}

export class MemoryLimitCounters implements LimitCounters {
  private readonly counts = new Map<string, number>();
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  tryAcquire(key: string, max: number): Promise<boolean> {
    const count = this.counts.get(key) ?? 0;
    if (count + 1 > max) return Promise.resolve(false);
    this.counts.set(key, count + 1);
    return Promise.resolve(true);
  }

  release(key: string): Promise<void> {
    const count = (this.counts.get(key) ?? 0) - 1;
    // Deleted at zero: callers come and go, the map must not grow with every one ever seen.
    if (count <= 0) this.counts.delete(key);
    else this.counts.set(key, count);
    return Promise.resolve();
  }

  takeToken(key: string, bucket: { capacity: number; refillPerSecond: number }): Promise<number> {
    const now = this.now();
    const state = this.buckets.get(key) ?? { tokens: bucket.capacity, atMs: now };
    state.tokens = Math.min(bucket.capacity, state.tokens + ((now - state.atMs) / 1000) * bucket.refillPerSecond);
    state.atMs = now;
    this.buckets.set(key, state);
    if (state.tokens >= 1) {
      state.tokens -= 1;
      // A full bucket is the state of a caller never seen: forget it rather than keep it forever.
      if (this.buckets.size > 10_000) this.sweepFull(bucket);
      return Promise.resolve(0);
    }
    return Promise.resolve(Math.ceil(((1 - state.tokens) / bucket.refillPerSecond) * 1000));
  }

  private sweepFull(bucket: { capacity: number; refillPerSecond: number }): void {
    const now = this.now();
    for (const [key, state] of this.buckets) {
      if (state.tokens + ((now - state.atMs) / 1000) * bucket.refillPerSecond >= bucket.capacity) this.buckets.delete(key);
    }
  }
}
