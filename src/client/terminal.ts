/** Agent: interactive terminal over WebSocket /terminal (docs/hopx-wire.md §5.12). */
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import * as check from './validate.js';
import { AsyncQueue, openAgentSocket } from './ws.js';
import { num } from './wire.js';
import type { CallOptions, TerminalSession } from './types.js';

export async function openTerminal(ctx: ClientContext, conn: AgentConnection, call: CallOptions = {}): Promise<TerminalSession> {
  const socket = await openAgentSocket(ctx, conn, '/terminal', 'open a terminal', call);
  const output = new AsyncQueue<string>();
  let resolveExit!: (code: number | null) => void;
  const exited = new Promise<number | null>((resolve) => {
    resolveExit = resolve;
  });
  // One pump reads the socket; output() and `exited` both feed from it.
  void (async () => {
    try {
      for await (const frame of socket.messages) {
        if (frame.type === 'output' || frame.type === 'stdout') {
          if (typeof frame.data === 'string') output.push(frame.data);
        } else if (frame.type === 'exit') {
          resolveExit(num(frame.code) ?? num(frame.exit_code));
          break;
        }
      }
      output.end();
    } catch (error) {
      output.end(error instanceof Error ? error : new Error(String(error)));
    } finally {
      resolveExit(null);
      socket.close();
    }
  })();
  return {
    write(data: string) {
      socket.send({ type: 'input', data: String(data) });
    },
    resize(cols: number, rows: number) {
      socket.send({ type: 'resize', cols: check.positiveInteger(cols, 'cols', 1000), rows: check.positiveInteger(rows, 'rows', 1000) });
    },
    output: () => output,
    exited,
    close() {
      socket.close();
    },
  };
}
