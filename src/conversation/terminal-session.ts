/**
 * One interactive terminal in a sandbox: the agent's /terminal WebSocket on one side, a headless
 * xterm.js emulator on the other. The emulator applies cursor movement, clears and redraws, so a
 * reader sees the screen a person would (a REPL, `top`, an installer's prompt), not raw bytes.
 */
import type xterm from '@xterm/headless';
import type { CallOptions, SandboxAgent, TerminalSession } from '../client/types.js';
import { keySequence } from './terminal-keys.js';

type EmulatorClass = (typeof xterm)['Terminal'];
type Emulator = InstanceType<EmulatorClass>;

/** Output that no read has returned yet: the first part and the latest part are kept. */
const PENDING_HEAD_CHARS = 64 * 1024;
const PENDING_TAIL_CHARS = 512 * 1024;
/** Lines the emulator keeps above the screen (not shown; bounded memory). */
const SCROLLBACK_LINES = 200;
/** "Quiet" = no output for this long. */
const QUIET_MS = 400;
/** Longest wait for a new shell's prompt before typing a command anyway. */
const SHELL_READY_MS = 5000;

export type WaitOutcome = 'quiet' | 'text' | 'exit' | 'timeout' | 'cancelled';

export interface TerminalView {
  terminalId: string;
  sandboxId: string;
  /** The rendered screen, one line per row, trailing blanks trimmed. */
  screen: string;
  cursor: { row: number; col: number };
  cols: number;
  rows: number;
  /** Output since the previous read, escape sequences removed. */
  output: string;
  /** Characters of that output not kept (a flood between two reads). */
  outputDroppedChars: number;
  exited: boolean;
  exitCode: number | null;
  waited: WaitOutcome;
}

export interface WaitOptions {
  /** Stop as soon as this text appears in new output. */
  waitFor?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Nothing was sent by this call: `waitFor` may also match the current screen. */
  readOnly?: boolean;
}

export class LiveTerminal {
  private readonly emulator: Emulator;
  private pendingHead = '';
  private pendingTail = '';
  private droppedChars = 0;
  /** New output since the current wait started, for `waitFor` (escape sequences removed). */
  private sinceWait = '';
  private lastOutputAt = Date.now();
  private exitCode: number | null = null;
  private hasExited = false;
  private readonly listeners = new Set<() => void>();
  private received = false;
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly id: string,
    readonly sandboxId: string,
    private readonly session: TerminalSession,
    cols: number,
    rows: number,
    Terminal: EmulatorClass,
  ) {
    this.emulator = new Terminal({ cols, rows, scrollback: SCROLLBACK_LINES, allowProposedApi: true });
    // Answers to terminal queries (cursor position, device attributes) go back to the program,
    // as a real terminal's would; some programs wait for them.
    this.emulator.onData((reply) => this.session.write(reply));
    void this.pump();
  }

  static async open(
    id: string,
    agent: SandboxAgent,
    size: { cols: number; rows: number },
    command: string | undefined,
    call: CallOptions,
  ): Promise<LiveTerminal> {
    // The emulator is loaded with the first terminal, not at start-up: most conversations never
    // open one, and it is a sixth of what the server would otherwise load before its first answer.
    const { default: emulator } = await import('@xterm/headless');
    // No signal: the socket must outlive the request that opened it.
    const session = await agent.terminal({ timeoutMs: call.timeoutMs });
    const terminal = new LiveTerminal(id, agent.sandboxId, session, size.cols, size.rows, emulator.Terminal);
    session.resize(size.cols, size.rows);
    if (command !== undefined) {
      // Typed before the shell's first prompt, the line would be echoed twice (once by the
      // terminal, once by readline). `exec` ends the terminal when the command ends.
      await terminal.firstOutput(SHELL_READY_MS);
      session.write(`exec ${command}\r`);
    }
    return terminal;
  }

  get exited(): boolean {
    return this.hasExited;
  }

  get applicationCursor(): boolean {
    return this.emulator.modes.applicationCursorKeysMode;
  }

  /** Resolves at the first output (or exit), or after `maxMs`. */
  private firstOutput(maxMs: number): Promise<void> {
    if (this.received || this.hasExited) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (!this.received && !this.hasExited) return;
        clearTimeout(timer);
        this.listeners.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(done);
        resolve();
      }, maxMs);
      this.listeners.add(done);
    });
  }

  /** Types text, then the named keys; throws on an unknown key name before sending anything. */
  send(text: string | undefined, keys: readonly string[] | undefined): void {
    const sequences = (keys ?? []).map((name) => {
      const seq = keySequence(name, this.applicationCursor);
      if (seq === null) throw new UnknownKeyError(name);
      return seq;
    });
    if (this.hasExited) return;
    const data = (text ?? '') + sequences.join('');
    if (data !== '') this.session.write(data);
  }

  /**
   * Waits until the output has been quiet for a moment (or `waitFor` appears, the program exits,
   * the timeout passes or the signal aborts), then returns the screen and the new output.
   */
  async waitAndRead(options: WaitOptions): Promise<TerminalView> {
    const started = Date.now();
    this.sinceWait = '';
    if (options.waitFor !== undefined && options.readOnly) {
      // Nothing was typed, so text already on the screen is what the caller waits for.
      await this.writes;
      if (this.screenLines().join('\n').includes(options.waitFor)) return this.view('text');
    }
    const waited = await new Promise<WaitOutcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: WaitOutcome) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = () => finish('cancelled');
      const check = () => {
        if (options.waitFor !== undefined && this.sinceWait.includes(options.waitFor)) return finish('text');
        if (this.hasExited) return finish('exit');
        const now = Date.now();
        if (now - started >= options.timeoutMs) return finish('timeout');
        const quietFor = now - Math.max(this.lastOutputAt, started);
        if (options.waitFor === undefined && quietFor >= QUIET_MS) return finish('quiet');
        clearTimeout(timer);
        const untilQuiet = options.waitFor === undefined ? QUIET_MS - quietFor : Infinity;
        timer = setTimeout(check, Math.max(10, Math.min(untilQuiet, started + options.timeoutMs - now)));
      };
      if (options.signal?.aborted) return finish('cancelled');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.listeners.add(check);
      check();
    });
    await this.writes;
    return this.view(waited);
  }

  resize(cols: number, rows: number): void {
    this.emulator.resize(cols, rows);
    if (!this.hasExited) this.session.resize(cols, rows);
  }

  close(): void {
    this.session.close();
    this.markExited(this.exitCode);
  }

  /** The program's exit code once it ended (null: unknown, e.g. the connection dropped). */
  get code(): number | null {
    return this.exitCode;
  }

  private screenLines(): string[] {
    const buffer = this.emulator.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < this.emulator.rows; row++) lines.push(buffer.getLine(buffer.baseY + row)?.translateToString(true) ?? '');
    return lines;
  }

  private view(waited: WaitOutcome): TerminalView {
    const buffer = this.emulator.buffer.active;
    const lines = this.screenLines();
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const output = plainText(this.pendingHead + this.pendingTail);
    const view: TerminalView = {
      terminalId: this.id,
      sandboxId: this.sandboxId,
      screen: lines.join('\n'),
      cursor: { row: buffer.cursorY, col: buffer.cursorX },
      cols: this.emulator.cols,
      rows: this.emulator.rows,
      output,
      outputDroppedChars: this.droppedChars,
      exited: this.hasExited,
      exitCode: this.exitCode,
      waited,
    };
    this.pendingHead = this.pendingTail = '';
    this.droppedChars = 0;
    return view;
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.session.output()) this.receive(chunk);
      this.markExited(await this.session.exited);
    } catch {
      // The connection broke (sandbox gone, agent restarted): the terminal is over.
      this.markExited(null);
    }
  }

  private receive(chunk: string): void {
    this.writes = this.writes.then(() => new Promise<void>((resolve) => this.emulator.write(chunk, resolve)));
    this.lastOutputAt = Date.now();
    this.received = true;
    this.keep(chunk);
    this.sinceWait = (this.sinceWait + plainText(chunk)).slice(-PENDING_HEAD_CHARS);
    this.notify();
  }

  private keep(chunk: string): void {
    if (this.pendingHead.length < PENDING_HEAD_CHARS) {
      const room = PENDING_HEAD_CHARS - this.pendingHead.length;
      this.pendingHead += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    this.pendingTail += chunk;
    if (this.pendingTail.length > 2 * PENDING_TAIL_CHARS) {
      const drop = this.pendingTail.length - PENDING_TAIL_CHARS;
      this.pendingTail = this.pendingTail.slice(drop);
      this.droppedChars += drop;
    }
  }

  private markExited(code: number | null): void {
    if (this.hasExited) return;
    this.hasExited = true;
    this.exitCode = code;
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export class UnknownKeyError extends Error {
  constructor(readonly key: string) {
    super(`Unknown key "${key}".`);
    this.name = 'UnknownKeyError';
  }
}

/**
 * Terminal output as plain text: escape sequences removed, carriage returns made into line
 * breaks (a progress bar's redraws become lines), other control characters dropped.
 */
export function plainText(raw: string): string {
  return (
    raw
      // OSC (window titles, hyperlinks): ESC ] ... BEL or ESC \
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?/g, '')
      // CSI: ESC [ params intermediates final
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
      // Character-set selection and other two- or three-byte escapes
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b[()*+][0-9A-Za-z]|\x1b[@-Z\\-_=>78]/g, '')
      .replace(/\r+\n/g, '\n')
      .replace(/\r/g, '\n')
      // eslint-disable-next-line no-control-regex
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
  );
}
