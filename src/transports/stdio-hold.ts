/**
 * The stdio cold-start hold: the MCP handshake and tools/list pass at once, every other message waits (in
 * order) until the backend is ready. See stdio.ts for when it is used.
 */
import type { StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import type { ServeOptions } from './conversations.js';

type Message = Parameters<NonNullable<StdioServerTransport['onmessage']>>[0];

/**
 * What the handshake needs, and tools/list: none of it touches HopX. Tool texts depend only on
 * the backend's kind, known from the configuration (docs/decisions.md decision 10), so a client sees its
 * tools without waiting for the backend to start.
 */
const HANDSHAKE_METHODS = new Set(['initialize', 'notifications/initialized', 'ping', 'server/discover', 'tools/list']);
/** With no held message and no reply yet, the backend is started anyway after this long. */
const IDLE_START_MS = 150;
/** At stdin EOF, how long requests that were held for the backend may take to be answered. */
const DRAIN_TIMEOUT_MS = 30_000;

export interface Hold {
  /**
   * Delivers what is held (waiting for the backend if needed) and resolves once those requests
   * are answered, or after timeoutMs: a client that pipes requests and then closes stdin still
   * gets its answers, as it would with no hold.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops holding: a backend not asked for yet never starts, held messages are dropped. */
  stop(): void;
}

export function holdUntilBackendReady(wire: StdioServerTransport, backendReady: () => Promise<void>, serve: ServeOptions): Hold {
  // serveStdio installed its handlers synchronously and reads stdin only from the next tick on,
  // so wrapping them here sees every message.
  const deliver = wire.onmessage!.bind(wire);
  const sdkSend = wire.send.bind(wire);
  let ready = false;
  const held: Array<Parameters<typeof deliver>> = [];
  /** Ids of requests delivered from the hold and not answered yet (what drain waits for). */
  const unanswered = new Set<string | number>();
  let allAnswered: (() => void) | undefined;
  let asked: Promise<void> | undefined;
  let stopped = false;
  const idleTimer = setTimeout(() => void ask(), IDLE_START_MS);
  const ask = (): Promise<void> => {
    clearTimeout(idleTimer);
    if (stopped) return Promise.resolve();
    return (asked ??= backendReady().then(
      () => {
        ready = true;
        for (const args of held.splice(0)) {
          const message: Message = args[0];
          if ('method' in message && 'id' in message) unanswered.add(message.id);
          deliver(...args);
        }
      },
      // The CLI exits with a message when its backend cannot start; a library caller sees it here.
      (error: unknown) => serve.logger.error({ err: error }, 'backend failed to start; held requests stay unanswered'),
    ));
  };

  wire.onmessage = (...args) => {
    const message: Message = args[0];
    const method = 'method' in message ? message.method : undefined;
    if (ready || (held.length === 0 && method !== undefined && HANDSHAKE_METHODS.has(method))) return deliver(...args);
    held.push(args);
    void ask();
  };
  wire.send = async (...args) => {
    await sdkSend(...args);
    const message: Message = args[0];
    if (!('method' in message) && 'id' in message && message.id !== undefined && unanswered.delete(message.id) && unanswered.size === 0) {
      allAnswered?.();
    }
    // The first reply (normally to initialize) is out: now the backend may have the CPU.
    if (!asked) setImmediate(() => void ask());
  };
  return {
    async drain(timeoutMs = DRAIN_TIMEOUT_MS) {
      if (held.length === 0 && unanswered.size === 0) return;
      await ask();
      if (unanswered.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        allAnswered = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    },
    stop() {
      stopped = true;
      clearTimeout(idleTimer);
    },
  };
}
