/**
 * MCP over stdio: one process, one connection, one conversation. `serveStdio` picks the protocol
 * era from the opening message and may build a throw-away instance for a `server/discover`
 * probe; every instance is bound to the same conversation, so that costs nothing.
 *
 * When the client closes stdin (or the pipe breaks) the conversation ends and its sandboxes are
 * killed; `done` resolves so the caller can close the backend and exit.
 *
 * Cold start: with `backendReady`, the handshake is answered before the backend exists. Messages
 * that could reach HopX are held, in order, until the backend is ready; the backend is asked for
 * once the first reply is out (so its loading does not compete with the handshake), or at once
 * when a held message arrives, or after a short idle delay.
 */
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { openConversation, type ServeOptions } from './conversations.js';

export interface StdioServer {
  /** Resolves with the reason once the conversation has ended and its sandboxes are gone. */
  done: Promise<string>;
  /** Ends the conversation (e.g. on SIGTERM) and closes the connection. */
  close(reason?: string): Promise<string>;
}

export interface StdioIo {
  stdin?: Readable;
  stdout?: Writable;
  /** Starts the backend (called once) and resolves when calls can reach it. */
  backendReady?: () => Promise<void>;
}

export function startStdioServer(serve: ServeOptions, io: StdioIo = {}): StdioServer {
  const open = openConversation(serve, { transport: 'stdio' });
  const stdin = io.stdin ?? process.stdin;
  // With a hold, the transport reads through a pass-through whose end waits until the held
  // requests are answered: after EOF the SDK transport is closed and could not reply any more.
  const input = io.backendReady ? new PassThrough() : undefined;
  const wire = new StdioServerTransport(input ?? stdin, io.stdout);
  const handle = serveStdio(() => open.newServer(), {
    transport: wire,
    onerror: (error) => serve.logger.warn({ err: error }, 'stdio transport error'),
  });
  const hold = io.backendReady ? holdUntilBackendReady(wire, io.backendReady, serve) : undefined;
  if (hold && input) {
    stdin.pipe(input, { end: false });
    let ended = false;
    const endInput = (): void => {
      if (ended) return;
      ended = true;
      void hold.drain().then(() => input.end());
    };
    stdin.once('end', endInput);
    stdin.once('close', endInput); // a destroyed stdin may close without 'end'
    stdin.once('error', (error) => input.destroy(error));
  }

  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let finishing: Promise<string> | undefined;
  const finish = (reason: string): Promise<string> =>
    (finishing ??= (async () => {
      hold?.stop();
      await open.end(reason);
      await handle.close().catch(() => {});
      resolveDone(reason);
      return reason;
    })());

  // serveStdio installs its own onclose; chain ours after it (stdin EOF lands here).
  const sdkOnClose = wire.onclose;
  wire.onclose = () => {
    sdkOnClose?.();
    void finish('stdin closed');
  };

  return { done, close: (reason = 'server shutdown') => finish(reason) };
}

type Message = Parameters<NonNullable<StdioServerTransport['onmessage']>>[0];

/** What the handshake needs; none of it touches HopX. */
const HANDSHAKE_METHODS = new Set(['initialize', 'notifications/initialized', 'ping', 'server/discover']);
/** With no held message and no reply yet, the backend is started anyway after this long. */
const IDLE_START_MS = 150;
/** At stdin EOF, how long requests that were held for the backend may take to be answered. */
const DRAIN_TIMEOUT_MS = 30_000;

interface Hold {
  /**
   * Delivers what is held (waiting for the backend if needed) and resolves once those requests
   * are answered, or after timeoutMs: a client that pipes requests and then closes stdin still
   * gets its answers, as it would with no hold.
   */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops holding: a backend not asked for yet never starts, held messages are dropped. */
  stop(): void;
}

function holdUntilBackendReady(wire: StdioServerTransport, backendReady: () => Promise<void>, serve: ServeOptions): Hold {
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
