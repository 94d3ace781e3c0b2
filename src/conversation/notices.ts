/**
 * Events of a conversation that its client cares about, sent as MCP log messages
 * (`notifications/message`, 2025-era protocol; the server declares `logging`): a sandbox created,
 * connected, killed, expiring soon or expired; the HopX backend lost and back.
 *
 * The conversation emits them here; each 2025-era session (stdio, or a sessionful HTTP session)
 * listens while it is open and sends them at or above the level its client set with
 * `logging/setLevel` (src/server.ts). 2026-era requests have no session to send on, and the
 * 2026-07-28 protocol deprecates logging: they get none.
 *
 * The watches behind the time-driven events (expiry, the backend coming back) run only while
 * someone listens, so a conversation nobody listens to costs no timers.
 */
import { HopxError, NetworkError, StreamInterruptedError } from '../client/errors.js';
import type { HopxClientApi } from '../client/types.js';
import type { Logger } from '../log.js';

/** MCP log levels used here (RFC 5424 severities, as MCP names them). */
type NoticeLevel = 'info' | 'notice' | 'warning' | 'error';

type NoticeEvent =
  | 'sandbox_created'
  | 'sandbox_connected'
  | 'sandbox_killed'
  | 'sandbox_expiring'
  | 'sandbox_expired'
  | 'backend_lost'
  | 'backend_back';

export interface Notice {
  level: NoticeLevel;
  /** MCP `logger`: `hopx-mcp/sandboxes` or `hopx-mcp/backend`. */
  logger: string;
  /** What goes out as `data`: the event, a sentence for people, and the ids it concerns. */
  data: { event: NoticeEvent; message: string; sandbox_id?: string; expires_at?: string };
}

type NoticeSink = (notice: Notice) => void;

export interface NoticeTimings {
  /** How long before a sandbox's expiry "expiring soon" is said. Default 300 000 ms (5 min). */
  expiryWarningMs?: number;
  /** While the backend is lost, how often it is asked whether it is back. Default 10 000 ms. */
  backendProbeMs?: number;
}

/** What the notices need of the conversation (kept narrow: the conversation owns them). */
export interface NoticeOwner {
  readonly client: HopxClientApi;
  readonly logger: Logger;
  /** The sandboxes attached now, with what is known of their expiry. */
  expiries(): Array<{ id: string; expiresAtMs: number | null }>;
  isAttached(sandboxId: string): boolean;
}

/** Node fires a longer setTimeout at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** After its expiry, a sandbox is looked up once this much later, to say it expired. */
const EXPIRED_CHECK_DELAY_MS = 2_000;

const SANDBOXES = 'hopx-mcp/sandboxes';
const BACKEND = 'hopx-mcp/backend';

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m >= 1 ? `about ${m} min` : `${Math.max(1, Math.round(ms / 1000))} s`;
}

export class Notices {
  private readonly sinks = new Set<NoticeSink>();
  private readonly timings: Required<NoticeTimings>;
  /** Per sandbox: its expiry timer and the expiry it was armed for. */
  private readonly expiryTimers = new Map<string, { timer: NodeJS.Timeout; forMs: number; phase: 'warn' | 'check' }>();
  /** Expiries already warned about (a warning is said once per expiry time). */
  private readonly warned = new Map<string, number>();
  private backendLost = false;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly owner: NoticeOwner,
    timings: NoticeTimings = {},
  ) {
    this.timings = { expiryWarningMs: 300_000, backendProbeMs: 10_000, ...timings };
  }

  /** Starts sending to `sink`; returns what stops it. */
  listen(sink: NoticeSink): () => void {
    this.sinks.add(sink);
    if (this.sinks.size === 1) this.rearmAll();
    return () => {
      if (!this.sinks.delete(sink) || this.sinks.size > 0) return;
      this.stopTimers();
    };
  }

  get listening(): boolean {
    return this.sinks.size > 0 && !this.closed;
  }

  /** The conversation ended: nothing more is said, every timer stops. */
  close(): void {
    this.closed = true;
    this.sinks.clear();
    this.stopTimers();
  }

  private emit(level: NoticeLevel, logger: string, data: Notice['data']): void {
    if (!this.listening) return;
    for (const sink of [...this.sinks]) {
      try {
        sink({ level, logger, data });
      } catch (err) {
        this.owner.logger.debug({ event: data.event, err: String(err) }, 'notice not delivered');
      }
    }
  }

  sandboxAttached(sandboxId: string, origin: 'created' | 'connected', expiresAtMs: number | null): void {
    const until = expiresAtMs === null ? '' : `; it expires at ${new Date(expiresAtMs).toISOString()} unless used`;
    this.emit('info', SANDBOXES, {
      event: origin === 'created' ? 'sandbox_created' : 'sandbox_connected',
      message: `Sandbox ${sandboxId} ${origin === 'created' ? 'created' : 'connected'}${until}.`,
      sandbox_id: sandboxId,
    });
    this.expiryChanged(sandboxId, expiresAtMs);
  }

  sandboxKilled(sandboxId: string): void {
    this.clearExpiry(sandboxId);
    this.emit('notice', SANDBOXES, { event: 'sandbox_killed', message: `Sandbox ${sandboxId} killed.`, sandbox_id: sandboxId });
  }

  /** A sandbox's known expiry changed (created, extended, set): its timer follows. */
  expiryChanged(sandboxId: string, expiresAtMs: number | null): void {
    if (!this.listening) return;
    this.arm(sandboxId, expiresAtMs);
  }

  /**
   * What a tool call's outcome says about the backend: a network failure may mean it is gone
   * (confirmed by asking its health endpoint, since one sandbox's agent can be unreachable on its
   * own); any answer from HopX means it is there.
   */
  callOutcome(error: unknown): void {
    if (!this.listening) return;
    if (error instanceof NetworkError && !(error instanceof StreamInterruptedError)) {
      if (!this.backendLost) void this.confirmLost(error);
      return;
    }
    // A result, or an error HopX itself answered with: it is reachable.
    if (this.backendLost && (error === undefined || isHopxAnswer(error))) this.markBack();
  }

  private async confirmLost(error: NetworkError): Promise<void> {
    if (await this.backendAnswers()) return;
    if (this.backendLost || !this.listening) return;
    this.backendLost = true;
    this.emit('error', BACKEND, {
      event: 'backend_lost',
      message: `The HopX backend cannot be reached (${error.message}). Tools fail until it is back; this conversation will say when it is.`,
    });
    this.armProbe();
  }

  private markBack(): void {
    if (!this.backendLost) return;
    this.backendLost = false;
    clearTimeout(this.probe);
    this.probe = undefined;
    this.emit('notice', BACKEND, { event: 'backend_back', message: 'The HopX backend can be reached again.' });
  }

  private async backendAnswers(): Promise<boolean> {
    try {
      await this.owner.client.health({ timeoutMs: 5_000 });
      return true;
    } catch (err) {
      return isHopxAnswer(err);
    }
  }

  private armProbe(): void {
    clearTimeout(this.probe);
    if (!this.backendLost || !this.listening) return;
    this.probe = setTimeout(() => {
      void this.backendAnswers().then((ok) => (ok ? this.markBack() : this.armProbe()));
    }, this.timings.backendProbeMs);
    this.probe.unref();
  }

  private rearmAll(): void {
    for (const s of this.owner.expiries()) this.arm(s.id, s.expiresAtMs);
    if (this.backendLost) this.armProbe();
  }

  private stopTimers(): void {
    for (const { timer } of this.expiryTimers.values()) clearTimeout(timer);
    this.expiryTimers.clear();
    clearTimeout(this.probe);
    this.probe = undefined;
  }

  private clearExpiry(sandboxId: string): void {
    const armed = this.expiryTimers.get(sandboxId);
    if (armed) clearTimeout(armed.timer);
    this.expiryTimers.delete(sandboxId);
    this.warned.delete(sandboxId);
  }

  /**
   * Arms a sandbox's timer: first the warning, `expiryWarningMs` before its expiry (or at once
   * when less is left, unless already warned for this expiry), then a look just after it.
   */
  private arm(sandboxId: string, expiresAtMs: number | null): void {
    const armed = this.expiryTimers.get(sandboxId);
    if (armed) clearTimeout(armed.timer);
    this.expiryTimers.delete(sandboxId);
    if (expiresAtMs === null || !this.owner.isAttached(sandboxId)) return;
    const now = Date.now();
    const warned = this.warned.get(sandboxId) === expiresAtMs;
    const phase = warned || expiresAtMs <= now ? 'check' : 'warn';
    const at = phase === 'warn' ? expiresAtMs - this.timings.expiryWarningMs : expiresAtMs + EXPIRED_CHECK_DELAY_MS;
    const timer = setTimeout(() => this.fire(sandboxId, expiresAtMs, phase), Math.max(0, Math.min(at - now, MAX_TIMER_MS)));
    timer.unref();
    this.expiryTimers.set(sandboxId, { timer, forMs: expiresAtMs, phase });
  }

  private fire(sandboxId: string, expiresAtMs: number, phase: 'warn' | 'check'): void {
    this.expiryTimers.delete(sandboxId);
    if (!this.listening || !this.owner.isAttached(sandboxId)) return;
    const current = this.owner.expiries().find((s) => s.id === sandboxId)?.expiresAtMs ?? null;
    // Extended (or changed) meanwhile: follow the new expiry.
    if (current !== expiresAtMs) return this.arm(sandboxId, current);
    const left = expiresAtMs - Date.now();
    if (phase === 'warn' && left > this.timings.expiryWarningMs) return this.arm(sandboxId, expiresAtMs); // re-armed past the timer limit
    if (phase === 'warn') {
      this.warned.set(sandboxId, expiresAtMs);
      this.emit('warning', SANDBOXES, {
        event: 'sandbox_expiring',
        message: `Sandbox ${sandboxId} expires in ${minutes(Math.max(0, left))} (at ${new Date(expiresAtMs).toISOString()}) and will then be killed. Any tool call on it, or sandbox_set_timeout, extends it.`,
        sandbox_id: sandboxId,
        expires_at: new Date(expiresAtMs).toISOString(),
      });
      return this.arm(sandboxId, expiresAtMs);
    }
    void this.checkExpired(sandboxId, expiresAtMs);
  }

  /** Just after its expiry: gone, or no longer running, means it expired. */
  private async checkExpired(sandboxId: string, expiresAtMs: number): Promise<void> {
    try {
      const info = await this.owner.client.sandboxes.get(sandboxId, { timeoutMs: 10_000 });
      // Still there (its expiry was extended elsewhere): nothing to say.
      if (info.status === 'running' || info.status === 'paused') return;
    } catch (err) {
      if (!isHopxAnswer(err)) return; // backend unreachable: that is said on its own
    }
    if (!this.listening || !this.owner.isAttached(sandboxId)) return;
    this.warned.delete(sandboxId);
    this.emit('warning', SANDBOXES, {
      event: 'sandbox_expired',
      message: `Sandbox ${sandboxId} reached its timeout (${new Date(expiresAtMs).toISOString()}) and was killed; create a new one with sandbox_create.`,
      sandbox_id: sandboxId,
      expires_at: new Date(expiresAtMs).toISOString(),
    });
  }
}

/** An error HopX answered with (an HTTP status other than a gateway's 502-504): the backend is there. */
function isHopxAnswer(error: unknown): boolean {
  const status = error instanceof HopxError ? error.status : undefined;
  return status !== undefined && status > 0 && (status < 502 || status > 504);
}
