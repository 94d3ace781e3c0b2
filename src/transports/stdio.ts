/**
 * MCP over stdio: one process, one connection, one conversation. `serveStdio` picks the protocol
 * era from the opening message and may build a throw-away instance for a `server/discover`
 * probe; every instance is bound to the same conversation, so that costs nothing.
 *
 * When the client closes stdin (or the pipe breaks) the conversation ends and its sandboxes are
 * killed; `done` resolves so the caller can close the backend and exit.
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

export function startStdioServer(serve: ServeOptions, io: { stdin?: Readable; stdout?: Writable } = {}): StdioServer {
  const open = openConversation(serve, { transport: 'stdio' });
  const wire = new StdioServerTransport(io.stdin, io.stdout);
  const handle = serveStdio(() => open.newServer(), {
    transport: wire,
    onerror: (error) => serve.logger.warn({ err: error }, 'stdio transport error'),
  });

  let resolveDone!: (reason: string) => void;
  const done = new Promise<string>((resolve) => (resolveDone = resolve));
  let finishing: Promise<string> | undefined;
  const finish = (reason: string): Promise<string> =>
    (finishing ??= (async () => {
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
