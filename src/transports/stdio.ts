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
import type { Readable, Writable } from 'node:stream';
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
  const wire = new StdioServerTransport(io.stdin, io.stdout);
  const handle = serveStdio(() => open.newServer(), {
    transport: wire,
    onerror: (error) => serve.logger.warn({ err: error }, 'stdio transport error'),
  });
  const stopHolding = io.backendReady ? holdUntilBackendReady(wire, io.backendReady, serve) : () => {};

  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let finishing: Promise<string> | undefined;
  const finish = (reason: string): Promise<string> =>
    (finishing ??= (async () => {
      stopHolding();
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

/** Returns a function that stops it (on close: a backend not asked for yet never starts). */
function holdUntilBackendReady(wire: StdioServerTransport, backendReady: () => Promise<void>, serve: ServeOptions): () => void {
  // serveStdio installed its handlers synchronously and reads stdin only from the next tick on,
  // so wrapping them here sees every message.
  const deliver = wire.onmessage!.bind(wire);
  const sdkSend = wire.send.bind(wire);
  let ready = false;
  const held: Array<Parameters<typeof deliver>> = [];
  let asked: Promise<void> | undefined;
  let stopped = false;
  const idleTimer = setTimeout(() => void ask(), IDLE_START_MS);
  const ask = (): Promise<void> => {
    clearTimeout(idleTimer);
    if (stopped) return Promise.resolve();
    return (asked ??= backendReady().then(
      () => {
        ready = true;
        for (const args of held.splice(0)) deliver(...args);
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
    // The first reply (normally to initialize) is out: now the backend may have the CPU.
    if (!asked) setImmediate(() => void ask());
  };
  return () => {
    stopped = true;
    clearTimeout(idleTimer);
  };
}
