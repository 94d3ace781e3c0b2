/**
 * Resource subscriptions of one conversation: which hopx:// URIs are watched, by whom, and the one
 * watch per URI that feeds them. Subscribers are 2025-era sessions (resources/subscribe) and
 * 2026-era listen streams (subscriptions/listen); each brings its own sink, so the notification
 * goes out the way its era expects (a session's notification, or the SDK's event bus).
 *
 * What drives a watch:
 * - a file: the agent's /files/watch WebSocket on its folder (HopX cloud and the local backend);
 * - a background process: its status and output, read from the agent's process list every second
 *   until it ends (the agent has no per-process output stream);
 * - a sandbox's info: its status and expiry, read from the control plane every 5 s.
 * The last subscriber leaving, and the conversation ending, stop the watch: nothing is left behind.
 */
import { ProtocolError, ResourceNotFoundError } from '@modelcontextprotocol/server';
import type { HopxClientApi } from '../client/types.js';
import type { Logger } from '../log.js';

/** Sends `notifications/resources/updated` for a URI, the subscriber's way. */
export type UpdateSink = (uri: string) => void;

/** What a watch needs of the conversation (kept narrow: the conversation owns the watches). */
export interface WatchOwner {
  readonly client: HopxClientApi;
  readonly logger: Logger;
  isAttached(sandboxId: string): boolean;
}

/** What one watch follows (the resource definitions map their URIs to these). */
export type WatchTarget =
  | { kind: 'file'; sandboxId: string; path: string }
  | { kind: 'process'; sandboxId: string; processId: string }
  | { kind: 'sandbox'; sandboxId: string };

export interface WatchTimings {
  /** Process status/output poll. Default 1 000 ms. */
  processPollMs?: number;
  /** Sandbox info poll. Default 5 000 ms. */
  sandboxPollMs?: number;
  /** Updates of one URI closer together than this are sent once. Default 50 ms. */
  coalesceMs?: number;
  /** How long the agent may take to confirm a file watch. Default 10 000 ms. */
  readyTimeoutMs?: number;
}

const INVALID_PARAMS = -32602;

interface Watch {
  /** Per subscriber: its sink, and the channel it sends on (one send per channel and update). */
  readonly sinks: Map<object, { sink: UpdateSink; channel: object }>;
  stop(): void;
}

export class ResourceWatches {
  private readonly watches = new Map<string, Watch>();
  private readonly starting = new Map<string, Promise<Watch>>();
  private closed = false;
  private readonly timings: Required<WatchTimings>;

  constructor(
    private readonly owner: WatchOwner,
    timings: WatchTimings = {},
  ) {
    this.timings = { processPollMs: 1000, sandboxPollMs: 5000, coalesceMs: 50, readyTimeoutMs: 10_000, ...timings };
  }

  /** Watches open now (one per subscribed URI). */
  get size(): number {
    return this.watches.size;
  }

  /**
   * Subscribes `subscriber` to `uri`, whose changes `target` follows; resolves once the watch is in
   * place (an update after that is not missed). Subscribers that share a `channel` (listen streams
   * fed by one event bus) get one send per update between them. A foreign sandbox or a missing
   * file or process is a protocol error naming the URI, and nothing is watched.
   */
  async subscribe(uri: string, target: WatchTarget, subscriber: object, sink: UpdateSink, channel: object = sink): Promise<void> {
    if (this.closed) throw new ProtocolError(INVALID_PARAMS, `${uri}: this conversation has ended; nothing is watched.`, { uri });
    if (!this.owner.isAttached(target.sandboxId)) {
      throw new ResourceNotFoundError(uri, `${uri}: sandbox ${target.sandboxId} is not attached to this conversation (attach it with sandbox_connect); nothing is watched.`);
    }
    let watch = this.watches.get(uri);
    if (!watch) {
      // Concurrent subscribers of one URI share one start.
      let pending = this.starting.get(uri);
      if (!pending) {
        pending = this.start(uri, target);
        this.starting.set(uri, pending);
      }
      try {
        watch = await pending;
      } finally {
        this.starting.delete(uri);
      }
      if (this.closed) {
        watch.stop();
        throw new ProtocolError(INVALID_PARAMS, `${uri}: this conversation has ended; nothing is watched.`, { uri });
      }
      this.watches.set(uri, watch);
    }
    watch.sinks.set(subscriber, { sink, channel });
  }

  unsubscribe(uri: string, subscriber: object): void {
    const watch = this.watches.get(uri);
    if (!watch) return;
    watch.sinks.delete(subscriber);
    if (watch.sinks.size === 0) {
      watch.stop();
      this.watches.delete(uri);
    }
  }

  /** Everything `subscriber` watches (a session closed, a listen stream ended). */
  unsubscribeAll(subscriber: object): void {
    for (const uri of [...this.watches.keys()]) this.unsubscribe(uri, subscriber);
  }

  /** The conversation ended: every watch stops, later subscribes are refused. */
  closeAll(): void {
    this.closed = true;
    for (const watch of this.watches.values()) watch.stop();
    this.watches.clear();
  }

  private async start(uri: string, target: WatchTarget): Promise<Watch> {
    const sinks = new Map<object, { sink: UpdateSink; channel: object }>();
    let timer: NodeJS.Timeout | undefined;
    // Several events from one change (created, then modified) make one notification.
    const emit = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        // Subscribers on one channel (listen streams on the event bus) get one send.
        const byChannel = new Map<object, UpdateSink>();
        for (const { sink, channel } of sinks.values()) byChannel.set(channel, sink);
        for (const sink of byChannel.values()) {
          try {
            sink(uri);
          } catch (err) {
            this.owner.logger.warn({ uri, err: String(err) }, 'resource update could not be sent');
          }
        }
      }, this.timings.coalesceMs);
    };
    const stopSource =
      target.kind === 'file'
        ? await this.watchFile(uri, target, emit)
        : target.kind === 'process'
          ? await this.watchProcess(uri, target, emit)
          : await this.watchSandbox(uri, target, emit);
    this.owner.logger.debug({ uri }, 'resource watch started');
    return {
      sinks,
      stop: () => {
        clearTimeout(timer);
        stopSource();
        this.owner.logger.debug({ uri }, 'resource watch stopped');
      },
    };
  }

  /** The agent's /files/watch on the file's folder (or on the folder itself), filtered to the path. */
  private async watchFile(uri: string, target: { sandboxId: string; path: string }, emit: () => void): Promise<() => void> {
    const agent = this.owner.client.agent(target.sandboxId);
    const slash = target.path.lastIndexOf('/');
    const parent = slash <= 0 ? '/' : target.path.slice(0, slash);
    const name = target.path.slice(slash + 1);
    const entries = await agent.files.list(parent, { timeoutMs: this.timings.readyTimeoutMs }).catch(() => null);
    const entry = entries?.find((e) => e.name === name);
    if (!entry) throw new ResourceNotFoundError(uri, `${uri}: ${target.path} does not exist in sandbox ${target.sandboxId}; nothing is watched. Create it first, or subscribe to its folder.`);
    const dir = entry.isDirectory ? target.path : parent;
    const controller = new AbortController();
    let settle!: { ok: () => void; fail: (e: Error) => void };
    const ready = new Promise<void>((ok, fail) => (settle = { ok, fail }));
    let isReady = false;
    const events = agent.files.watch(dir, { signal: controller.signal }, {
      watching: () => {
        isReady = true;
        settle.ok();
      },
      error: (message, code) => {
        if (!isReady) settle.fail(new ProtocolError(INVALID_PARAMS, `${uri}: the sandbox refused to watch ${dir} (${code ?? 'error'}: ${message}); nothing is watched.`, { uri }));
        else this.owner.logger.warn({ uri, code, message }, 'file watch reported an error');
      },
    });
    void (async () => {
      try {
        for await (const change of events) {
          if (change.path === target.path || change.path.startsWith(`${target.path}/`)) emit();
        }
        if (!isReady) settle.fail(new ProtocolError(INVALID_PARAMS, `${uri}: the sandbox closed the watch of ${dir}; nothing is watched.`, { uri }));
      } catch (err) {
        if (!isReady) settle.fail(new ProtocolError(INVALID_PARAMS, `${uri}: could not watch ${dir} (${String(err)}); nothing is watched.`, { uri }));
        else this.owner.logger.warn({ uri, err: String(err) }, 'file watch ended');
      }
    })();
    const timeout = setTimeout(
      () => settle.fail(new ProtocolError(INVALID_PARAMS, `${uri}: the sandbox did not confirm the watch within ${this.timings.readyTimeoutMs / 1000} s; nothing is watched.`, { uri })),
      this.timings.readyTimeoutMs,
    );
    try {
      await ready;
    } catch (err) {
      controller.abort();
      throw err;
    } finally {
      clearTimeout(timeout);
    }
    return () => controller.abort();
  }

  /** A background process's status and output, polled until it ends. */
  private async watchProcess(uri: string, target: { sandboxId: string; processId: string }, emit: () => void): Promise<() => void> {
    const agent = this.owner.client.agent(target.sandboxId);
    const controller = new AbortController();
    const look = async () => {
      const p = (await agent.processes.list({ signal: controller.signal })).find((x) => x.processId === target.processId);
      // Output is kept head + tail by the agent: its length stops growing, its end does not.
      return p ? `${p.status}|${p.exitCode}|${p.stdout?.length}|${p.stderr?.length}|${p.stdout?.slice(-200)}|${p.stderr?.slice(-200)}` : null;
    };
    let last = await look();
    if (last === null) throw new ResourceNotFoundError(uri, `${uri}: no background process ${target.processId} in sandbox ${target.sandboxId}; nothing is watched.`);
    const timer = setInterval(() => {
      look().then(
        (now) => {
          if (now !== last) emit();
          last = now;
          // Ended (or gone): its last state was sent; nothing more will change.
          if (now === null || !now.startsWith('running|')) clearInterval(timer);
        },
        (err: unknown) => {
          if (!controller.signal.aborted) this.owner.logger.debug({ uri, err: String(err) }, 'process poll failed');
        },
      );
    }, this.timings.processPollMs);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }

  /** A sandbox's status and expiry, polled. */
  private async watchSandbox(uri: string, target: { sandboxId: string }, emit: () => void): Promise<() => void> {
    const controller = new AbortController();
    const look = async () => {
      const info = await this.owner.client.sandboxes.get(target.sandboxId, { signal: controller.signal });
      return `${info.status}|${info.expiresAt}`;
    };
    let last = await look().catch(() => {
      throw new ResourceNotFoundError(uri, `${uri}: sandbox ${target.sandboxId} could not be read; nothing is watched.`);
    });
    const timer = setInterval(() => {
      look().then(
        (now) => {
          if (now !== last) emit();
          last = now;
        },
        () => {
          // Gone (killed, expired): say so once, then stop looking.
          if (controller.signal.aborted) return;
          if (last !== 'gone') emit();
          last = 'gone';
          clearInterval(timer);
        },
      );
    }, this.timings.sandboxPollMs);
    return () => {
      clearInterval(timer);
      controller.abort();
    };
  }
}
