/**
 * The conversation: the unit of state (docs/decisions.md decisions 3 and 4).
 *
 * stdio: the connection. HTTP 2025-era: the Mcp-Session-Id session. HTTP 2026-era: whatever the
 * transport binds requests to. The McpServer holds no state of its own, so a fresh server per
 * request bound to a longer-lived Conversation behaves the same as one long-lived server.
 *
 * It records the sandboxes this conversation created or connected and the current sandbox, and
 * extends the lifetime of its sandboxes on activity (a lease): abandoned sandboxes die at their
 * HopX timeout, busy ones do not. (Outputs that results cut are kept in the sandboxes themselves.)
 *
 * Sandboxes and the current sandbox live in the state store (src/state/), so that with Redis
 * another replica can carry the conversation on. This object is a cache of that record: the
 * transport calls refresh() before serving a request, attach() writes through before it returns
 * (a created sandbox that cannot be recorded is killed, never orphaned), and the other changes
 * are written behind and awaited by flush() before a tool's result goes out.
 */
import type { HopxClientApi, SandboxInfo } from '../client/types.js';
import type { Logger } from '../log.js';
import { ResourceWatches, type WatchTimings } from './watches.js';
import { Notices, type NoticeTimings } from './notices.js';
import { BackendUnavailableError, ConversationEndedError, NoCurrentSandboxError, SandboxNotInConversationError } from '../errors.js';
import { MemoryStateStore } from '../state/memory.js';
import { MAX_KILLED_IDS, type AttachedSandbox, type ConversationMeta, type ConversationRecord, type SandboxOrigin, type StateStore } from '../state/types.js';
import { Terminals } from './terminals.js';

/**
 * The backend serving the conversation (docs/decisions.md decision 10: say only what is true of
 * it). Known from the configuration before the backend itself loads, so tools/list never waits.
 */
export type BackendKind = 'cloud' | 'local';

export interface ConversationOptions {
  id: string;
  client: HopxClientApi;
  backend: BackendKind;
  /** Why no backend can serve this conversation, if none can (asked on each use: stdio opens it late). */
  backendUnavailable?: () => string | undefined;
  /** What this backend's sandboxes lack, from its probe (asked on each use: stdio opens it late). */
  backendCaveats?: () => readonly string[] | undefined;
  /** Leave the sandboxes this conversation created running when it ends (they die at their timeout). */
  keepSandboxes?: boolean;
  /** Lifetime given to sandboxes created without `timeout_seconds`, and the lease length. Default 3600. */
  defaultSandboxTimeoutSeconds?: number;
  logger: Logger;
  /** Poll intervals of resource watches (tests shorten them). */
  watchTimings?: WatchTimings;
  /** When expiry warnings are said and the lost backend is probed (tests shorten them). */
  noticeTimings?: NoticeTimings;
  /** Where the conversation's record lives; default a private in-memory store. */
  state?: StateStore;
  /** Who it belongs to (stored with the record). Default: a stdio conversation of "local". */
  kind?: ConversationMeta['kind'];
  identity?: string;
  /** "server", or "key:<fingerprint>" when the caller brought its own HopX key. */
  account?: string;
  /** Carry on an existing record (another replica's, or this one's before a restart) instead of creating one. */
  resume?: ConversationRecord;
}

export type { AttachedSandbox, SandboxOrigin };

const DEFAULT_SANDBOX_TIMEOUT_SECONDS = 3600;

/** Kill calls during end() give up after this long; the sandbox then dies at its timeout. */
const KILL_TIMEOUT_MS = 15_000;
/** end() waits this long for creates in flight, so it can kill what they make. */
const CREATE_WAIT_MS = 60_000;

export class Conversation {
  readonly id: string;
  readonly client: HopxClientApi;
  readonly backend: BackendKind;
  readonly logger: Logger;
  /** Resource subscriptions (2025 sessions and 2026 listen streams) and the watches behind them. */
  readonly watches: ResourceWatches;
  readonly keepSandboxes: boolean;
  readonly defaultSandboxTimeoutSeconds: number;
  /** Interactive terminals opened in this conversation (live sockets held by this process). */
  readonly terminals = new Terminals();
  /** Events for the client's log (sandbox created, killed, expiring; backend lost and back). */
  readonly notices: Notices;

  private readonly sandboxes = new Map<string, AttachedSandbox>();
  private current: string | null = null;
  /** Ids this conversation killed (bounded), so a later call on one says so instead of "connect it". */
  private readonly killedIds = new Set<string>();
  private readonly extending = new Set<string>();
  private readonly creating = new Set<Promise<unknown>>();
  private ending: Promise<void> | null = null;
  private readonly backendUnavailable: () => string | undefined;
  private readonly backendCaveats: () => readonly string[] | undefined;
  readonly state: StateStore;
  readonly meta: ConversationMeta;
  /** The record exists in the store (created, or resumed). Every store write waits for it. */
  readonly ready: Promise<void>;
  /**
   * Change notifications for `subscriptions/listen` streams on every replica: published on the
   * store's ServerEventBus (Redis pub/sub with several replicas), which createMcpHandler's listen
   * router filters by each stream's subscriptions.
   */
  readonly notify = {
    resourceUpdated: (uri: string): void => this.state.bus.publish({ kind: 'resource_updated', uri }),
    resourcesChanged: (): void => this.state.bus.publish({ kind: 'resources_list_changed' }),
  };
  /** Store writes not yet awaited (detach, select, expiry updates). */
  private readonly writes = new Set<Promise<unknown>>();
  private failedWrite: Error | null = null;

  constructor(o: ConversationOptions) {
    this.id = o.id;
    this.client = o.client;
    this.backend = o.backend;
    this.backendUnavailable = o.backendUnavailable ?? (() => undefined);
    this.backendCaveats = o.backendCaveats ?? (() => undefined);
    this.keepSandboxes = o.keepSandboxes ?? o.resume?.meta.keepSandboxes ?? false;
    this.defaultSandboxTimeoutSeconds = o.defaultSandboxTimeoutSeconds ?? DEFAULT_SANDBOX_TIMEOUT_SECONDS;
    this.logger = o.logger.child({ conversation_id: o.id });
    this.watches = new ResourceWatches(this, o.watchTimings);
    this.notices = new Notices(this, o.noticeTimings);
    this.state = o.state ?? new MemoryStateStore();
    this.meta = o.resume?.meta ?? {
      id: o.id,
      kind: o.kind ?? 'stdio',
      identity: o.identity ?? 'local',
      account: o.account ?? 'server',
      keepSandboxes: this.keepSandboxes,
      createdAt: new Date().toISOString(),
    };
    if (o.resume) {
      this.load(o.resume);
      this.ready = Promise.resolve();
    } else {
      this.ready = this.state.createConversation(this.meta);
      // Awaited by whoever needs it; an unobserved failure must not crash the process.
      this.ready.catch(() => {});
    }
    this.logger.debug({ backend: o.backend, resumed: o.resume !== undefined }, 'conversation created');
  }

  private load(record: ConversationRecord): void {
    this.sandboxes.clear();
    for (const s of record.sandboxes) this.sandboxes.set(s.id, { ...s });
    this.current = record.current;
    this.killedIds.clear();
    for (const id of record.killed) this.killedIds.add(id);
  }

  /**
   * Reloads the record from the store (another replica may have attached, detached or selected).
   * Returns false when the conversation no longer exists there: it was ended elsewhere (idle
   * expiry on another replica); the caller then drops this copy with abandon().
   */
  async refresh(): Promise<boolean> {
    await this.ready;
    await this.flush();
    const record = await this.state.loadConversation(this.id);
    if (!record) return false;
    this.load(record);
    return true;
  }

  /** Waits for the changes written behind; rethrows the first failure (store unreachable). */
  async flush(): Promise<void> {
    while (this.writes.size > 0) await Promise.allSettled([...this.writes]);
    const failed = this.failedWrite;
    this.failedWrite = null;
    if (failed) throw failed;
  }

  private writeBehind(write: () => Promise<unknown>): void {
    const running = this.ready.then(write).catch((error: unknown) => {
      this.failedWrite ??= error instanceof Error ? error : new Error(String(error));
      this.logger.warn({ err: String(error) }, 'conversation change not saved to the state store');
    });
    this.writes.add(running);
    void running.finally(() => this.writes.delete(running));
  }

  /**
   * Drops this copy without touching its sandboxes: the conversation was ended elsewhere (its
   * sandboxes dealt with there), or this replica is handing it over.
   */
  abandon(): void {
    this.ending ??= Promise.resolve();
    this.watches.closeAll();
    this.notices.close();
    this.terminals.closeAll();
    this.sandboxes.clear();
    this.current = null;
  }

  get ended(): boolean {
    return this.ending !== null;
  }

  /** Throws when the conversation has ended, or when there is no backend to act on (saying why). */
  assertActive(): void {
    if (this.ending) throw new ConversationEndedError(this.id);
    const unavailable = this.backendUnavailable();
    if (unavailable !== undefined) throw new BackendUnavailableError(unavailable);
  }

  /**
   * What the sandboxes of this backend lack (no isolation, no go, no matplotlib, ...), in a few words
   * each; empty where nothing is known to be missing. Tool texts are fixed before the backend
   * starts, so results say this where it matters (sandbox_create).
   */
  get caveats(): readonly string[] {
    return this.backendCaveats() ?? [];
  }

  get currentSandboxId(): string | null {
    return this.current;
  }

  /**
   * Records a sandbox as this conversation's and makes it current. A sandbox created after the
   * conversation ended (a create that was in flight) is killed at once, unless sandboxes are kept.
   */
  async attach(info: SandboxInfo, origin: SandboxOrigin, leaseSeconds: number | null): Promise<AttachedSandbox> {
    if (this.ending) {
      if (origin === 'created' && !this.keepSandboxes) await this.killQuietly(info.id, 'conversation ended during create');
      throw new ConversationEndedError(this.id);
    }
    const existing = this.sandboxes.get(info.id);
    const attached: AttachedSandbox = {
      id: info.id,
      // Connecting to a sandbox we created must not downgrade it: we still own its cleanup.
      origin: existing?.origin === 'created' ? 'created' : origin,
      leaseSeconds: existing?.leaseSeconds ?? leaseSeconds,
      expiresAtMs: parseTime(info.expiresAt),
      attachedAt: existing?.attachedAt ?? new Date().toISOString(),
    };
    // Recorded before anyone is told about it: a sandbox we created but could not record would
    // be nobody's (no replica would ever kill it), so it is killed instead.
    let recorded: boolean;
    try {
      await this.ready;
      recorded = await this.state.putSandbox(this.id, attached, true);
    } catch (error) {
      if (origin === 'created' && !existing) await this.killQuietly(info.id, 'could not be recorded in the state store');
      throw error;
    }
    if (!recorded) {
      // Ended on another replica while this create ran.
      if (origin === 'created' && !existing && !this.keepSandboxes) await this.killQuietly(info.id, 'conversation ended during create');
      this.abandon();
      throw new ConversationEndedError(this.id);
    }
    this.sandboxes.set(info.id, attached);
    this.killedIds.delete(info.id);
    this.current = info.id;
    this.logger.info({ sandbox_id: info.id, origin: attached.origin }, 'sandbox attached');
    if (!existing) this.notices.sandboxAttached(info.id, origin, attached.expiresAtMs);
    else this.notices.expiryChanged(info.id, attached.expiresAtMs);
    return attached;
  }

  /**
   * Runs a sandbox create (with its attach) so that end() waits for it. Without this, end()
   * would resolve while the create is in flight; the transport then closes the client, and the
   * sandbox the create makes could not be killed (it would run, and bill, until its timeout).
   */
  async trackCreate<T>(create: () => Promise<T>): Promise<T> {
    this.assertActive();
    const running = create();
    this.creating.add(running);
    try {
      return await running;
    } finally {
      this.creating.delete(running);
    }
  }

  /** Forgets a sandbox (after it was killed); the current sandbox falls back to the latest other one. */
  detach(sandboxId: string): void {
    if (this.sandboxes.delete(sandboxId)) {
      this.notices.sandboxKilled(sandboxId);
      this.killedIds.add(sandboxId);
      if (this.killedIds.size > MAX_KILLED_IDS) this.killedIds.delete(this.killedIds.values().next().value as string);
    }
    this.terminals.closeForSandbox(sandboxId);
    if (this.current === sandboxId) {
      const rest = [...this.sandboxes.values()].sort((a, b) => a.attachedAt.localeCompare(b.attachedAt));
      this.current = rest.length > 0 ? rest[rest.length - 1].id : null;
    }
    this.writeBehind(() => this.state.removeSandbox(this.id, sandboxId));
  }

  isAttached(sandboxId: string): boolean {
    return this.sandboxes.has(sandboxId);
  }

  attachment(sandboxId: string): AttachedSandbox | undefined {
    return this.sandboxes.get(sandboxId);
  }

  attachedSandboxes(): AttachedSandbox[] {
    return [...this.sandboxes.values()];
  }

  /** The attached sandboxes and their known expiry (for the notices' expiry watch). */
  expiries(): Array<{ id: string; expiresAtMs: number | null }> {
    return [...this.sandboxes.values()].map((s) => ({ id: s.id, expiresAtMs: s.expiresAtMs }));
  }

  /** Makes an attached sandbox the current one. */
  select(sandboxId: string): void {
    if (!this.sandboxes.has(sandboxId)) throw this.notAttached(sandboxId);
    this.current = sandboxId;
    this.writeBehind(() => this.state.setCurrent(this.id, sandboxId));
  }

  /**
   * The sandbox a tool acts on: the explicit id (which must be attached), else the current one.
   * Throws a clear error naming the fix when neither works.
   */
  resolveSandbox(explicit: string | undefined): string {
    this.assertActive();
    if (explicit !== undefined && explicit !== '') {
      if (!this.sandboxes.has(explicit)) throw this.notAttached(explicit);
      return explicit;
    }
    if (this.current === null) throw new NoCurrentSandboxError();
    return this.current;
  }

  private notAttached(sandboxId: string): SandboxNotInConversationError {
    return new SandboxNotInConversationError(sandboxId, this.killedIds.has(sandboxId));
  }

  /** Updates what we know of a sandbox's expiry (from get_info, set_timeout, ...). */
  noteExpiry(sandboxId: string, expiresAt: string | null, leaseSeconds?: number): void {
    const s = this.sandboxes.get(sandboxId);
    if (!s) return;
    s.expiresAtMs = parseTime(expiresAt);
    if (leaseSeconds !== undefined) s.leaseSeconds = leaseSeconds;
    this.notices.expiryChanged(sandboxId, s.expiresAtMs);
    this.saveSandbox(s);
  }

  private saveSandbox(s: AttachedSandbox): void {
    const copy = { ...s };
    this.writeBehind(() => this.state.putSandbox(this.id, copy, false));
  }

  /**
   * Called after each successful tool call on a sandbox. When less than half the lease remains,
   * pushes the expiry out by a full lease (one PUT per half-lease at most, never awaited by the
   * tool, never shortening a lifetime). Sandboxes without a known expiry are left alone.
   */
  noteActivity(sandboxId: string): void {
    const s = this.sandboxes.get(sandboxId);
    if (!s || s.leaseSeconds === null || s.expiresAtMs === null || this.ending) return;
    const remainingMs = s.expiresAtMs - Date.now();
    if (remainingMs > (s.leaseSeconds * 1000) / 2 || this.extending.has(sandboxId)) return;
    this.extending.add(sandboxId);
    const lease = s.leaseSeconds;
    this.client.sandboxes
      .setTimeout(sandboxId, lease, { timeoutMs: 10_000 })
      .then((t) => {
        s.expiresAtMs = parseTime(t.expiresAt) ?? Date.now() + lease * 1000;
        if (this.sandboxes.get(sandboxId) === s && !this.ending) {
          this.saveSandbox(s);
          this.notices.expiryChanged(sandboxId, s.expiresAtMs);
        }
        this.logger.debug({ sandbox_id: sandboxId, expires_at: t.expiresAt }, 'sandbox lease extended');
      })
      .catch((err: unknown) => {
        this.logger.warn({ sandbox_id: sandboxId, err: String(err) }, 'sandbox lease extension failed');
      })
      .finally(() => this.extending.delete(sandboxId));
  }

  /**
   * Kill the sandboxes it created (unless keepSandboxes), then delete its record; idempotent.
   * With several replicas the transport makes sure only one replica ends a conversation (a lease).
   */
  end(reason: string): Promise<void> {
    if (!this.ending) this.ending = this.shutdown(reason);
    return this.ending;
  }

  private async shutdown(reason: string): Promise<void> {
    this.watches.closeAll();
    this.notices.close();
    this.terminals.closeAll();
    if (this.creating.size > 0) {
      // A create that finishes now meets `ending` in attach(), which kills its sandbox.
      this.logger.info({ reason, creates: this.creating.size }, 'conversation ending: waiting for sandbox creates in flight');
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CREATE_WAIT_MS)));
      const outcome = await Promise.race([Promise.allSettled([...this.creating]), gaveUp]);
      clearTimeout(timer);
      if (outcome === 'timeout') this.logger.warn({ reason }, 'sandbox create still in flight; its sandbox will expire at its timeout');
    }
    // Sandboxes another replica attached are ours to kill too.
    try {
      await this.ready;
      await this.flush().catch(() => {});
      const record = await this.state.loadConversation(this.id);
      if (record) this.load(record);
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'state store unreachable at conversation end: killing the sandboxes this replica knows of');
    }
    const created = [...this.sandboxes.values()].filter((s) => s.origin === 'created').map((s) => s.id);
    this.logger.info({ reason, created: created.length, keep: this.keepSandboxes }, 'conversation ending');
    if (this.keepSandboxes) {
      for (const id of created) this.logger.info({ sandbox_id: id }, 'sandbox kept');
    } else {
      await Promise.all(created.map((id) => this.killQuietly(id, reason)));
    }
    this.sandboxes.clear();
    this.current = null;
    await this.state.deleteConversation(this.id).catch((error: unknown) => {
      this.logger.warn({ err: String(error) }, 'conversation record not deleted (state store unreachable); idle expiry will retry');
    });
    this.logger.info({ reason }, 'conversation cleanup done');
  }

  private async killQuietly(sandboxId: string, reason: string): Promise<void> {
    try {
      const existed = await this.client.sandboxes.kill(sandboxId, { timeoutMs: KILL_TIMEOUT_MS });
      this.logger.info({ sandbox_id: sandboxId, reason, existed }, 'sandbox killed');
    } catch (err) {
      // It still dies at its HopX timeout; say so rather than fail the shutdown.
      this.logger.warn({ sandbox_id: sandboxId, reason, err: String(err) }, 'sandbox kill failed; it will expire at its timeout');
    }
  }
}

function parseTime(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}
