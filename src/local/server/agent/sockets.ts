/**
 * The agent's WebSockets (docs/hopx-wire.md §5.12): /execute/stream and /stream (streamed execution),
 * /terminal (a PTY shell), /files/watch (change events). JSON text frames; empty or non-JSON
 * frames from the client are ignored, as the SDKs do on their side.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import type { WebSocket, RawData } from 'ws';
import { ApiError } from '../errors.js';
import { nowIso, toApiError } from '../http.js';
import { type AgentContext, processEnv } from './context.js';
import { requireString, stringMap, timeoutSeconds, workdir } from './fields.js';
import { resolveSandboxPath } from './files.js';
import { resolveLanguage } from './languages.js';
import { keptOutputsWire } from './output.js';
import { type CodeOutcome, richFields, runCode } from './run-code.js';

/** Each recursive watch walks its tree; keep a socket from opening unbounded numbers of them. */
const MAX_WATCHES_PER_SOCKET = 8;
/** Across all of a sandbox's sockets: every watched directory holds a host inotify watch. */
const MAX_WATCHES_PER_SANDBOX = 32;
/** docs/hopx-wire.md §5.12: streaming execute defaults to 60 s. */
const STREAM_DEFAULT_TIMEOUT_S = 60;
/**
 * HopX documents no maximum for the stream; this agent allows what a foreground command may take
 * (sandbox_run_command runs through the stream, up to an hour).
 */
const STREAM_MAX_TIMEOUT_S = 3600;

export type SocketHandler = (ws: WebSocket, ctx: AgentContext) => void;

export const SOCKET_ROUTES: Record<string, SocketHandler> = {
  '/execute/stream': handleExecuteStream,
  '/stream': handleExecuteStream,
  '/terminal': handleTerminal,
  '/files/watch': handleWatch,
};

/**
 * Unsent bytes a socket may hold before output and change frames are dropped: a client that does
 * not read would otherwise grow the backend's memory by everything a sandbox prints.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

function send(ws: WebSocket, message: Record<string, unknown>): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

/** Sends droppable frames (output, changes) while the client keeps up, and says what it dropped. */
class BoundedSender {
  private dropped = 0;
  private unit = 'characters';

  constructor(
    private readonly ws: WebSocket,
    /** Frame that reports drops: the text goes in its `data`. */
    private readonly note: (text: string) => Record<string, unknown>,
  ) {}

  /** `size` is what a drop loses, in the unit the note reports (characters or events). */
  send(message: Record<string, unknown>, size: number, unit: string): void {
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.dropped += size;
      this.unit = unit;
      return;
    }
    this.flush();
    send(this.ws, message);
  }

  /** Report drops now (before a stream's final frames). */
  flush(): void {
    if (this.dropped === 0) return;
    send(this.ws, this.note(`\n[local backend: ${this.dropped} ${this.unit} dropped: the client read too slowly]\n`));
    this.dropped = 0;
  }
}

function parseFrame(data: RawData): Record<string, unknown> | null {
  const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8').trim();
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sendError(ws: WebSocket, err: unknown): void {
  const e = toApiError(err);
  send(ws, { type: 'error', error: e.message, message: e.message, code: e.code, timestamp: nowIso() });
}

/**
 * The `result` frame: HopX sends `exit_code` and `execution_time`; this agent adds what POST
 * /execute answers beyond the output (rich outputs, kept outputs, a kernel restart), so that a run
 * streamed for live output loses nothing. A stream that was cut is sent again, cut, with the
 * marker naming the file that keeps it whole.
 */
function resultFrame(outcome: CodeOutcome, language: string): Record<string, unknown> {
  const frame: Record<string, unknown> = {
    type: 'result',
    exit_code: outcome.exitCode,
    execution_time: outcome.durationMs / 1000,
    language,
    timestamp: nowIso(),
    ...richFields(outcome.kernel),
    ...keptOutputsWire(outcome.kept),
  };
  if (outcome.kept.stdout) frame.stdout = outcome.stdout;
  if (outcome.kept.stderr) frame.stderr = [outcome.stderr, ...outcome.notes].join('\n');
  if (outcome.kernel?.stateLost) frame.kernel_restarted = true;
  return frame;
}

function handleExecuteStream(ws: WebSocket, ctx: AgentContext): void {
  let started = false;
  const output = new BoundedSender(ws, (data) => ({ type: 'stderr', data, timestamp: nowIso() }));
  const gone = new AbortController();
  ws.once('close', () => gone.abort());
  ws.on('message', (data) => {
    const msg = parseFrame(data);
    if (!msg || started) return;
    if (msg.type !== undefined && msg.type !== 'execute') return;
    started = true;
    void (async () => {
      try {
        const language = resolveLanguage(msg.language, ctx.languages);
        const timeout = timeoutSeconds(msg, STREAM_DEFAULT_TIMEOUT_S, STREAM_MAX_TIMEOUT_S);
        const outcome = await runCode(
          ctx,
          {
            language,
            code: requireString(msg, 'code'),
            cwd: workdir(msg),
            env: processEnv(ctx, stringMap(msg, 'env')),
            timeoutSeconds: timeout,
          },
          (stream, chunk) => output.send({ type: stream, data: chunk, timestamp: nowIso() }, chunk.length, 'characters of output'),
          gone.signal,
        );
        output.flush();
        // Python tracebacks come back in the result, not through the output callback.
        if (outcome.kernel?.error) {
          const e = outcome.kernel.error;
          send(ws, { type: 'stderr', data: e.traceback || `${e.name}: ${e.value}`, timestamp: nowIso() });
        }
        for (const note of outcome.notes) send(ws, { type: 'stderr', data: `${note}\n`, timestamp: nowIso() });
        if (outcome.timedOut) {
          const lost = outcome.kernel?.stateLost ? ' The Python kernel was restarted: its variables are gone.' : '';
          send(ws, {
            type: 'error',
            error: `Execution timed out after ${timeout} s.${lost}`,
            code: 'EXECUTION_TIMEOUT',
            details: { timeout_seconds: timeout, state_lost: outcome.kernel?.stateLost ?? false },
            timestamp: nowIso(),
          });
        }
        send(ws, resultFrame(outcome, language));
        send(ws, { type: 'complete', success: outcome.exitCode === 0 && !outcome.timedOut, timestamp: nowIso() });
      } catch (err) {
        if (toApiError(err).status >= 500) ctx.logger.error({ err }, 'stream execution failed');
        sendError(ws, err);
        send(ws, { type: 'complete', success: false, timestamp: nowIso() });
      }
      ws.close(1000);
    })();
  });
}

function handleTerminal(ws: WebSocket, ctx: AgentContext): void {
  let handle;
  try {
    handle = ctx.sandbox.runtime.exec({
      argv: ['/bin/bash', '-i'],
      cwd: '/workspace',
      env: { ...processEnv(ctx), TERM: 'xterm-256color' },
      timeoutMs: 0,
      tty: { cols: 80, rows: 24 },
    });
  } catch (err) {
    ctx.logger.error({ err }, 'terminal start failed');
    sendError(ws, err);
    ws.close(1011);
    return;
  }
  const shell = handle;
  const output = new BoundedSender(ws, (data) => ({ type: 'output', data }));
  shell.onStdout((data) => output.send({ type: 'output', data }, data.length, 'characters of output'));
  shell.onStderr((data) => output.send({ type: 'output', data }, data.length, 'characters of output'));
  shell.done.then(
    (outcome) => {
      send(ws, { type: 'exit', code: outcome.exitCode ?? 128 });
      ws.close(1000);
    },
    () => ws.close(1011),
  );
  ws.on('message', (data) => {
    const msg = parseFrame(data);
    if (!msg) return;
    if (msg.type === 'input' && typeof msg.data === 'string') shell.writeStdin(msg.data);
    if (msg.type === 'resize' && Number.isInteger(msg.cols) && Number.isInteger(msg.rows)) {
      shell.resize(Math.max(1, msg.cols as number), Math.max(1, msg.rows as number));
    }
  });
  ws.on('close', () => void shell.kill().catch(() => undefined));
}

function handleWatch(ws: WebSocket, ctx: AgentContext): void {
  const watchers: FSWatcher[] = [];
  const changes = new BoundedSender(ws, (message) => ({ type: 'error', error: message.trim(), message: message.trim(), code: 'EVENTS_DROPPED', timestamp: nowIso() }));
  let watchRequests = 0;
  ws.on('message', (data) => {
    const msg = parseFrame(data);
    if (!msg || (msg.action !== 'watch' && msg.type !== 'watch')) return;
    if (++watchRequests > MAX_WATCHES_PER_SOCKET) {
      sendError(ws, new ApiError(400, 'INVALID_REQUEST', `At most ${MAX_WATCHES_PER_SOCKET} watched paths per socket`));
      return;
    }
    if (ctx.stats.openWatches >= MAX_WATCHES_PER_SANDBOX) {
      sendError(ws, new ApiError(429, 'RESOURCE_LIMIT_ERROR', `At most ${MAX_WATCHES_PER_SANDBOX} watched paths per sandbox; close other watch sockets first`));
      return;
    }
    const requested = typeof msg.path === 'string' && msg.path ? msg.path : '/workspace';
    void (async () => {
      try {
        const target = await resolveSandboxPath(ctx, requested);
        const st = await stat(target.hostPath).catch(() => null);
        if (!st?.isDirectory()) {
          throw new ApiError(404, 'DIRECTORY_NOT_FOUND', `Directory not found: ${target.sandboxPath}`, { path: target.sandboxPath });
        }
        const watcher = watch(target.hostPath, { recursive: true }, (eventType, filename) => {
          if (!filename) return;
          const sandboxPath = posix.join(target.sandboxPath, filename.toString());
          const hostPath = `${target.hostPath}/${filename.toString()}`;
          void stat(hostPath).then(
            () => eventType === 'rename' ? 'created' : 'modified',
            () => 'deleted',
          ).then((event) => changes.send({ type: 'change', path: sandboxPath, event, timestamp: nowIso() }, 1, 'change events'));
        });
        watcher.on('error', () => watcher.close());
        if (ws.readyState !== ws.OPEN) {
          watcher.close(); // the socket closed while the path was being checked
          return;
        }
        watchers.push(watcher);
        ctx.stats.openWatches++;
        send(ws, { type: 'watching', path: target.sandboxPath, timestamp: nowIso() });
      } catch (err) {
        sendError(ws, err);
      }
    })();
  });
  ws.on('close', () => {
    for (const w of watchers) w.close();
    ctx.stats.openWatches = Math.max(0, ctx.stats.openWatches - watchers.length);
    watchers.length = 0;
  });
}
