/**
 * The desktop of one desktop-template sandbox: desktop.py running inside the sandbox (Xvfb, the
 * window manager, screenshots, xdotool, x11vnc), spoken to in JSON lines over its stdin/stdout.
 * Started with the sandbox; started again on the next request when it died (a stop/start of the
 * sandbox kills it with every other process).
 */
import type { ExecHandle, LocalSandbox } from '../../runtime/types.js';
import { ApiError } from '../errors.js';

export interface DesktopSize {
  width: number;
  height: number;
}

/** What a reply line carries besides id/ok. */
type HelperReply = Record<string, unknown>;

const START_TIMEOUT_MS = 30_000;
/**
 * Longest reply line held: a full-screen PNG in base64 is a few MB. Code in the sandbox could
 * take over the helper's stdout (same uid), so an endless line must not grow the backend's memory.
 */
const MAX_LINE_CHARS = 64 * 1024 * 1024;
const LOG_LINES = 200;

interface Pending {
  resolve(reply: HelperReply): void;
  reject(err: Error): void;
}

interface Running {
  handle: ExecHandle;
  display: string;
  pending: Map<number, Pending>;
}

export class DesktopSession {
  private running: Running | null = null;
  private starting: Promise<Running> | null = null;
  private nextId = 1;
  /** The helper's stderr, newest last: /desktop/debug/logs. */
  readonly logs: string[] = [];
  /** Texts put on the clipboard through the API, newest last: /desktop/clipboard/history. */
  readonly clipboardHistory: string[] = [];
  /** Whether the running VNC server was started with a password. */
  vncPassword = false;

  constructor(
    private readonly sandbox: () => LocalSandbox,
    readonly size: DesktopSize,
  ) {}

  /** The X display (":0") once the desktop has run; processes get it as DISPLAY. */
  get display(): string | null {
    return this.running?.display ?? this.lastDisplay;
  }

  private lastDisplay: string | null = null;

  /** Start the helper unless it runs; resolves when the display and window manager are up. */
  ensure(): Promise<Running> {
    if (this.running) return Promise.resolve(this.running);
    this.starting ??= this.start().finally(() => (this.starting = null));
    return this.starting;
  }

  async request(op: string, fields: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<HelperReply> {
    const running = await this.ensure();
    const id = this.nextId++;
    const reply = await new Promise<HelperReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        running.pending.delete(id);
        reject(new ApiError(504, 'DESKTOP_TIMEOUT', `The desktop did not answer "${op}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      running.pending.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      running.handle.writeStdin(`${JSON.stringify({ id, op, ...fields })}\n`);
    });
    if (reply.ok !== true) {
      const message = typeof reply.error === 'string' ? reply.error : 'unknown error';
      throw reply.invalid === true
        ? new ApiError(400, 'INVALID_REQUEST', message)
        : new ApiError(500, 'DESKTOP_ERROR', `The desktop failed at "${op}": ${message}`);
    }
    const { id: _id, ok: _ok, ...fieldsOnly } = reply;
    return fieldsOnly;
  }

  /** Stop the helper (and with it Xvfb, the window manager and x11vnc). */
  async close(): Promise<void> {
    const running = this.running;
    this.running = null;
    if (running) await running.handle.kill();
  }

  private async start(): Promise<Running> {
    const handle = this.sandbox().startDesktop(this.size);
    const pending = new Map<number, Pending>();
    let buffer = '';
    let stderrTail = '';
    const ready = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the desktop did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      handle.onStdout((chunk) => {
        buffer += chunk;
        if (buffer.length > MAX_LINE_CHARS && !buffer.includes('\n')) {
          buffer = '';
          stderrTail += `\n(a reply line passed ${MAX_LINE_CHARS} characters; the desktop helper was stopped)`;
          void handle.kill();
          return;
        }
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          let msg: HelperReply;
          try {
            msg = JSON.parse(line) as HelperReply;
          } catch {
            continue;
          }
          if ('ready' in msg) {
            clearTimeout(timer);
            if (msg.ready === true && typeof msg.display === 'string') resolve(msg.display);
            else reject(new Error(`${typeof msg.error === 'string' ? msg.error : 'the desktop failed to start'}; its log: ${stderrTail.trim().slice(-600)}`));
            continue;
          }
          const waiter = pending.get(Number(msg.id));
          pending.delete(Number(msg.id));
          waiter?.resolve(msg);
        }
      });
      void handle.done.then((outcome) => {
        clearTimeout(timer);
        reject(new Error(`the desktop helper exited (${outcome.signal ?? `code ${outcome.exitCode}`}): ${stderrTail.trim().slice(-300)}`));
      });
    });
    handle.onStderr((chunk) => {
      stderrTail = (stderrTail + chunk).slice(-2000);
      for (const line of chunk.split('\n')) if (line.trim()) this.logs.push(line);
      if (this.logs.length > LOG_LINES) this.logs.splice(0, this.logs.length - LOG_LINES);
    });
    let display: string;
    try {
      display = await ready;
    } catch (err) {
      await handle.kill();
      throw new ApiError(500, 'DESKTOP_ERROR', `Could not start the desktop: ${(err as Error).message}`);
    }
    const running: Running = { handle, display, pending };
    this.running = running;
    this.lastDisplay = display;
    void handle.done.then(() => {
      if (this.running === running) this.running = null;
      for (const waiter of pending.values()) waiter.reject(new ApiError(500, 'DESKTOP_ERROR', 'The desktop stopped while answering'));
      pending.clear();
    });
    return running;
  }
}
