/**
 * WebSocket streams on the agent (docs/hopx-wire.md §5.12): /execute/stream, /files/watch, /terminal.
 * URL = public_host with http→ws / https→wss and any path dropped; the JWT goes in the
 * Authorization handshake header (a 401 handshake refreshes the token once). Empty and non-JSON
 * frames are skipped, as both SDKs do.
 */
import WebSocket from 'ws';
import type { AgentConnection } from './agent.js';
import type { ClientContext } from './context.js';
import { AbortedError, HopxError, NetworkError, ValidationError } from './errors.js';
import { errorFromResponse, errorFromTransport, type ErrorContext } from './error-table.js';
import { asRecord, type Json } from './wire.js';
import type { CallOptions } from './types.js';

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Frames buffered for a slow reader before the socket is paused (TCP then pushes back). */
export const QUEUE_HIGH_WATER = 256;

/**
 * A single-consumer async queue: producers push, one `for await` drains. With `flow`, the
 * producer is paused while `QUEUE_HIGH_WATER` items wait and resumed once half are read, so a
 * fast stream and a slow reader cannot grow memory without bound.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private failWaiting: ((error: Error) => void) | undefined;
  private done = false;
  private error: Error | undefined;
  private paused = false;

  constructor(private readonly flow?: { pause(): void; resume(): void }) {}

  push(item: T): void {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = undefined;
      resolve({ value: item, done: false });
    } else {
      this.items.push(item);
      if (this.flow && !this.paused && this.items.length >= QUEUE_HIGH_WATER) {
        this.paused = true;
        this.flow.pause();
      }
    }
  }

  private take(): T {
    const item = this.items.shift()!;
    if (this.paused && this.items.length <= QUEUE_HIGH_WATER / 2) {
      this.paused = false;
      this.flow?.resume();
    }
    return item;
  }

  end(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiting) {
      const resolve = this.waiting;
      const reject = this.failWaiting!;
      this.waiting = this.failWaiting = undefined;
      if (error !== undefined) reject(error);
      else resolve({ value: undefined, done: true });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.take(), done: false });
        if (this.done) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
    };
  }
}

export interface AgentSocket {
  send(message: unknown): void;
  /** Parsed JSON object frames; ends when the socket closes, throws AbortedError on abort. */
  readonly messages: AsyncQueue<Json>;
  close(): void;
}

function toWebSocketBase(publicHost: string): string {
  const url = new URL(publicHost);
  const scheme = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${url.host}`;
}

/** Parse one frame; undefined for frames to skip. */
function parseFrame(data: WebSocket.RawData): Json | undefined {
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? asRecord(parsed) : undefined;
  } catch {
    return undefined;
  }
}

export async function openAgentSocket(
  ctx: ClientContext,
  conn: AgentConnection,
  path: string,
  operation: string,
  call: CallOptions = {},
): Promise<AgentSocket> {
  const context: ErrorContext = { operation, plane: 'agent', sandboxId: conn.sandboxId };
  const url = toWebSocketBase(await conn.baseUrl(call)) + path;
  for (let attempt = 0; ; attempt++) {
    const token = await conn.token(call);
    try {
      return await connect(ctx, url, token, context, call);
    } catch (error) {
      if (error instanceof HopxError && error.status === 401 && attempt === 0) {
        await conn.refresh(call);
        continue;
      }
      if (error instanceof NetworkError || (error instanceof HopxError && [502, 503, 504].includes(error.status ?? 0))) {
        throw await conn.explainUnreachable(error, call);
      }
      throw error;
    }
  }
}

function connect(ctx: ClientContext, url: string, token: string, context: ErrorContext, call: CallOptions): Promise<AgentSocket> {
  const timeoutMs = call.timeoutMs ?? ctx.config.requestTimeoutMs;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    return Promise.reject(new ValidationError(`timeoutMs must be a positive number of milliseconds; got ${String(timeoutMs)}.`));
  }
  return new Promise<AgentSocket>((resolve, reject) => {
    if (call.signal?.aborted) {
      reject(new AbortedError(`Cancelled: ${context.operation} was aborted by the caller.`));
      return;
    }
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      family: 4,
      perMessageDeflate: false,
    });
    ctx.sockets.add(socket);
    const messages = new AsyncQueue<Json>({ pause: () => socket.pause(), resume: () => socket.resume() });
    let opened = false;
    // Our own handshake timer (not ws's handshakeTimeout), so a timeout is known as one, not
    // recognised afterwards from the wording of an error.
    const handshake = setTimeout(() => {
      if (opened) return;
      reject(errorFromTransport(undefined, context, { timedOut: true, timeoutMs }));
      socket.terminate();
    }, timeoutMs);
    const onAbort = () => {
      const error = new AbortedError(`Cancelled: ${context.operation} was aborted by the caller.`);
      socket.terminate();
      if (opened) messages.end(error);
      else reject(error);
    };
    call.signal?.addEventListener('abort', onAbort, { once: true });

    socket.on('unexpected-response', (_req, res) => {
      // An error body: a little is enough to explain it (the HTTP layer keeps 64 KB as well).
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        if (kept >= MAX_ERROR_BODY_BYTES) return;
        chunks.push(chunk);
        kept += chunk.length;
      });
      res.on('end', () => {
        reject(errorFromResponse(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'), res.headers, context));
        socket.terminate();
      });
      res.on('error', () => reject(errorFromResponse(res.statusCode ?? 500, '', res.headers, context)));
    });
    socket.on('open', () => {
      opened = true;
      clearTimeout(handshake);
      resolve({
        send: (message) => socket.send(JSON.stringify(message)),
        messages,
        close: () => socket.close(1000),
      });
    });
    socket.on('message', (data) => {
      const frame = parseFrame(data);
      if (frame) messages.push(frame);
    });
    socket.on('error', (cause) => {
      const error = errorFromTransport(cause, context);
      if (opened) messages.end(error);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(handshake);
      ctx.sockets.delete(socket);
      call.signal?.removeEventListener('abort', onAbort);
      messages.end();
      if (!opened) reject(new NetworkError(`The sandbox agent closed the connection before ${context.operation} could start.`, { operation: context.operation, sandboxId: context.sandboxId }));
    });
  });
}
