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
import { holdUntilBackendReady } from './stdio-hold.js';

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
