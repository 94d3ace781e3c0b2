/**
 * Live progress for a tools/call that carries a progress token (docs/long-calls.md): each
 * notification's `message` names the tool, the elapsed time and the newest output lines (stdout
 * and stderr, a few, each cut short). Sent at most every `minIntervalMs` while output flows, and at
 * least every `keepaliveMs` when it does not, so clients that reset their timeout on progress keep
 * waiting. Memory is bounded whatever the output: a few short lines are kept, nothing else.
 */
import type { ServerContext } from '@modelcontextprotocol/server';
import { cutLine } from '../text/cut.js';

export type OutputStream = 'stdout' | 'stderr';

/** What a tool handler sees (ToolContext.progress). A call without a progress token gets a no-op one. */
export interface ProgressReporter {
  /**
   * The caller asked for progress: output fed here reaches it. When false, a tool may run without
   * streaming (nobody would see the output before the result).
   */
  readonly live: boolean;
  /** Feeds output as it arrives; chunks may split lines anywhere. */
  lines(stream: OutputStream, chunk: string): void;
  /** Says what the call is doing now, shown before the lines ("waiting for process p-1"). */
  status(text: string): void;
}

export interface ProgressOptions {
  /** Newest lines kept and shown. Default 5. */
  maxLines?: number;
  /** Characters per shown line. Default 200. */
  lineChars?: number;
  /** Fewest milliseconds between two notifications. Default 250. */
  minIntervalMs?: number;
  /** Most milliseconds without a notification (keepalive). Default 5 000. */
  keepaliveMs?: number;
}

interface Line {
  stream: OutputStream;
  text: string;
}

/** The partial (unterminated) line of one stream, bounded: only what can still be shown is kept. */
interface Partial {
  text: string;
}

const DEFAULTS = { maxLines: 5, lineChars: 200, minIntervalMs: 250, keepaliveMs: 5_000 } satisfies Required<ProgressOptions>;

/** The text a terminal would show for one line: what follows its last carriage return. */
function visible(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const cr = text.lastIndexOf('\r');
  return cr >= 0 ? text.slice(cr + 1) : text;
}

export class ProgressFeed implements ProgressReporter {
  readonly live = true;
  private readonly opts: Required<ProgressOptions>;
  private readonly recent: Line[] = [];
  private readonly partial: Record<OutputStream, Partial> = { stdout: { text: '' }, stderr: { text: '' } };
  /** Order in which the streams last wrote a partial line, so both show in arrival order. */
  private partialOrder: OutputStream[] = [];
  private statusText = '';
  private readonly started = Date.now();
  /** When the last notification went out (0: none yet, so the first output goes at once). */
  private lastSent = 0;
  private sent = 0;
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires. */
  private dueAt = 0;
  private stopped = false;

  constructor(
    private readonly label: string,
    private readonly send: (progress: number, message: string) => Promise<void>,
    options: ProgressOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
    this.arm(this.opts.keepaliveMs);
  }

  lines(stream: OutputStream, chunk: string): void {
    if (this.stopped || !chunk) return;
    const parts = chunk.split('\n');
    const partial = this.partial[stream];
    // Only the head of an over-long line can be shown; the rest is dropped as it arrives.
    const cap = this.opts.lineChars * 4;
    const grow = (piece: string) => {
      partial.text = visible(partial.text + piece);
      if (partial.text.length > cap) partial.text = partial.text.slice(0, cap);
    };
    grow(parts[0]);
    for (let i = 1; i < parts.length; i++) {
      this.push({ stream, text: partial.text });
      partial.text = '';
      grow(parts[i]);
    }
    this.partialOrder = this.partialOrder.filter((s) => s !== stream);
    if (partial.text !== '') this.partialOrder.push(stream);
    this.changed();
  }

  status(text: string): void {
    if (this.stopped || text === this.statusText) return;
    this.statusText = text;
    this.changed();
  }

  /** No further notifications (the call ended). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The message the next notification carries. */
  message(): string {
    const elapsed = (Date.now() - this.started) / 1000;
    const head = `${this.label} running (${elapsed < 10 ? elapsed.toFixed(1) : Math.round(elapsed)} s)${this.statusText ? `: ${this.statusText}` : ''}`;
    const shown = [...this.recent, ...this.partialOrder.map((stream) => ({ stream, text: this.partial[stream].text }))].slice(-this.opts.maxLines);
    if (shown.length === 0) return head;
    const body = shown.map((l) => `${l.stream === 'stderr' ? '[stderr] ' : ''}${cutLine(l.text, this.opts.lineChars)}`);
    return `${head}\n${body.join('\n')}`;
  }

  private push(line: Line): void {
    this.recent.push(line);
    if (this.recent.length > this.opts.maxLines) this.recent.shift();
  }

  private changed(): void {
    const wait = Math.max(0, this.lastSent + this.opts.minIntervalMs - Date.now());
    // Already armed to fire no later than needed: leave it.
    if (this.timer !== undefined && this.dueAt <= Date.now() + wait) return;
    this.arm(wait);
  }

  private arm(ms: number): void {
    clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => this.flush(), ms);
    this.timer.unref();
  }

  private flush(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.lastSent = Date.now();
    this.sent += 1;
    this.send(this.sent, this.message()).catch(() => this.stop());
    this.arm(this.opts.keepaliveMs);
  }
}

const NO_PROGRESS: ProgressReporter = { live: false, lines() {}, status() {} };

/**
 * The reporter for one MCP request: live when the caller sent a progress token, a no-op otherwise.
 * `stop` must be called when the call ends.
 */
export function startProgress(label: string, mcp: ServerContext, options: ProgressOptions = {}): { reporter: ProgressReporter; stop(): void } {
  const token = mcp.mcpReq._meta?.progressToken;
  if (token === undefined) return { reporter: NO_PROGRESS, stop() {} };
  const feed = new ProgressFeed(
    label,
    (progress, message) => mcp.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, message } }),
    options,
  );
  return { reporter: feed, stop: () => feed.stop() };
}
