/**
 * The interactive terminals of one conversation. They belong to it: another conversation cannot
 * name them, and they close when it ends or when their sandbox is killed.
 *
 * A terminal is a live WebSocket held by this server process, so unlike the rest of a
 * conversation it cannot move to another replica.
 */
import { randomBytes } from 'node:crypto';
import type { CallOptions, SandboxAgent } from '../client/types.js';
import { LiveTerminal } from './terminal-session.js';

/** Open terminals per conversation; each holds a socket and a screen buffer. */
const MAX_TERMINALS = 8;

export class TerminalLimitError extends Error {
  constructor(readonly open: string[]) {
    super(`This conversation already has ${MAX_TERMINALS} open terminals (${open.join(', ')}).`);
    this.name = 'TerminalLimitError';
  }
}

export class UnknownTerminalError extends Error {
  constructor(
    readonly terminalId: string,
    readonly open: string[],
  ) {
    super(`No terminal "${terminalId}" in this conversation.`);
    this.name = 'UnknownTerminalError';
  }
}

export class Terminals {
  private readonly open = new Map<string, LiveTerminal>();
  /** Ids closed in this conversation (bounded), so a late call says "closed", not "unknown". */
  private readonly closed = new Set<string>();

  async start(agent: SandboxAgent, size: { cols: number; rows: number }, command: string | undefined, call: CallOptions): Promise<LiveTerminal> {
    this.prune();
    if (this.open.size >= MAX_TERMINALS) throw new TerminalLimitError(this.ids());
    const id = `term_${randomBytes(4).toString('hex')}`;
    const terminal = await LiveTerminal.open(id, agent, size, command, call);
    this.open.set(id, terminal);
    return terminal;
  }

  get(terminalId: string): LiveTerminal {
    const terminal = this.open.get(terminalId);
    if (!terminal) throw new UnknownTerminalError(terminalId, this.ids());
    return terminal;
  }

  wasClosed(terminalId: string): boolean {
    return this.closed.has(terminalId);
  }

  /** Closes one terminal; false when it was not open. */
  close(terminalId: string): LiveTerminal | undefined {
    const terminal = this.open.get(terminalId);
    if (!terminal) return undefined;
    terminal.close();
    this.forget(terminalId);
    return terminal;
  }

  closeForSandbox(sandboxId: string): void {
    for (const [id, terminal] of this.open) if (terminal.sandboxId === sandboxId) this.close(id);
  }

  closeAll(): void {
    for (const id of [...this.open.keys()]) this.close(id);
  }

  ids(): string[] {
    return [...this.open.keys()];
  }

  /** Terminals whose program ended stay readable until closed, but do not count against the limit. */
  private prune(): void {
    for (const [id, terminal] of this.open) if (terminal.exited && this.open.size >= MAX_TERMINALS) this.close(id);
  }

  private forget(terminalId: string): void {
    this.open.delete(terminalId);
    this.closed.add(terminalId);
    if (this.closed.size > 100) this.closed.delete(this.closed.values().next().value as string);
  }
}
