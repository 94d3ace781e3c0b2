/**
 * A scripted HopX look-alike for contract tests: a node:http (+ ws) server on 127.0.0.1:0 that
 * records every request (method, path, query, headers, parsed body) and answers with replies the
 * test scripts, in the wire format of docs/hopx-wire.md. It plays both planes: sandboxes
 * it describes carry `public_host` = this server, so agent calls land here too.
 *
 * Faults that cannot be caused for real against a real server (a 503, a reset connection, an
 * expired token) are scripted here — that is its whole reason to exist. It holds no state besides
 * the script and the log.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON when the body is JSON, the text for other small bodies, undefined when empty. */
  body: unknown;
  /** The raw bytes, kept only for bodies up to 4 MB. */
  rawBody: Buffer | undefined;
  bodyBytes: number;
  bodySha256: string;
  /** True for a WebSocket handshake. */
  upgrade: boolean;
}

export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  bytes?: Buffer;
  headers?: Record<string, string>;
  /** Wait before answering (for timeout tests). */
  delayMs?: number;
  /** Destroy the socket instead of answering (connection reset). */
  destroy?: boolean;
  /**
   * Send headers (with the full Content-Length) and only the first `bytes` of the body, then
   * reset the connection (`destroy`) or go silent until the client gives up (`stall`).
   */
  partial?: { bytes: number; then: 'destroy' | 'stall' };
  /**
   * Send headers, then each chunk as its own write (~10 ms apart, so the client sees them split),
   * then end the response, or keep it open (an endless event stream) when `keepOpen`.
   */
  chunks?: { parts: string[]; keepOpen?: boolean };
}

type ReplySource = Reply | ((req: RecordedRequest) => Reply);

interface Route {
  method: string;
  path: string | RegExp;
  replies: ReplySource[];
  served: number;
}

type WsHandler = (socket: WebSocket, req: RecordedRequest) => void;

interface WsRoute {
  path: string;
  handler?: WsHandler;
  /** Refuse the handshake with this HTTP reply instead (consumed once each, last one sticks). */
  rejections: Reply[];
  served: number;
}

const KEEP_RAW_BYTES = 4 * 1024 * 1024;

export class WireServer {
  readonly requests: RecordedRequest[] = [];
  private routes: Route[] = [];
  private wsRoutes: WsRoute[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({ noServer: true });

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<WireServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const wire = new WireServer(server, `http://127.0.0.1:${port}`);
    server.on('connection', (socket) => {
      wire.sockets.add(socket);
      socket.on('close', () => wire.sockets.delete(socket));
    });
    server.on('request', (req, res) => void wire.handle(req, res));
    server.on('upgrade', (req, socket, head) => void wire.upgrade(req, socket as Socket, head));
    return wire;
  }

  /**
   * Script a route. Replies are served in order; the last one repeats. A later `on` for the same
   * method and path takes precedence.
   */
  on(method: string, path: string | RegExp, ...replies: ReplySource[]): this {
    this.routes.unshift({ method: method.toUpperCase(), path, replies, served: 0 });
    return this;
  }

  /** Script a WebSocket endpoint. */
  onWebSocket(path: string, handler: WsHandler, ...rejections: Reply[]): this {
    this.wsRoutes.unshift({ path, handler, rejections, served: 0 });
    return this;
  }

  /** Requests that hit `path` (optionally one method), in arrival order. */
  calls(path: string | RegExp, method?: string): RecordedRequest[] {
    return this.requests.filter(
      (r) => (typeof path === 'string' ? r.path === path : path.test(r.path)) && (!method || r.method === method.toUpperCase()),
    );
  }

  reset(): void {
    this.requests.length = 0;
    this.routes = [];
    this.wsRoutes = [];
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async record(req: IncomingMessage, upgrade: boolean): Promise<RecordedRequest> {
    const url = new URL(req.url ?? '/', this.url);
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    if (!upgrade) {
      // Stream the body: big uploads are hashed and counted, never held whole.
      for await (const chunk of req) {
        const buf = chunk as Buffer;
        hash.update(buf);
        bytes += buf.length;
        if (bytes <= KEEP_RAW_BYTES) kept.push(buf);
        else kept.length = 0; // too big to keep: let it go as it streams
      }
    }
    const rawBody = bytes > 0 && bytes <= KEEP_RAW_BYTES ? Buffer.concat(kept) : undefined;
    let body: unknown;
    if (rawBody) {
      const text = rawBody.toString('utf8');
      const isJson = (req.headers['content-type'] ?? '').includes('json');
      try {
        body = isJson ? JSON.parse(text) : text;
      } catch {
        body = text;
      }
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
      rawBody,
      bodyBytes: bytes,
      bodySha256: hash.digest('hex'),
      upgrade,
    };
    this.requests.push(recorded);
    return recorded;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let recorded: RecordedRequest;
    try {
      recorded = await this.record(req, false);
    } catch {
      return; // the client went away mid-body (an aborted upload)
    }
    const route = this.routes.find((r) => r.method === recorded.method && matches(r.path, recorded.path));
    if (!route) {
      send(res, {
        status: 404,
        json: { error: `no route scripted for ${recorded.method} ${recorded.path}`, code: 'NOT_SCRIPTED' },
      });
      return;
    }
    const source = route.replies[Math.min(route.served, route.replies.length - 1)];
    route.served++;
    const reply = typeof source === 'function' ? source(recorded) : source;
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (reply.destroy) {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    if (reply.partial) {
      sendPartial(res, reply, reply.partial);
      return;
    }
    if (reply.chunks) {
      await sendChunks(res, reply, reply.chunks);
      return;
    }
    send(res, reply);
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const recorded = await this.record(req, true);
    const route = this.wsRoutes.find((r) => r.path === recorded.path);
    if (!route) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const rejection = route.served < route.rejections.length ? route.rejections[route.served] : undefined;
    route.served++;
    if (rejection) {
      const body = rejection.json === undefined ? '' : JSON.stringify(rejection.json);
      socket.end(
        `HTTP/1.1 ${rejection.status ?? 401} Rejected\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => route.handler?.(ws, recorded));
  }
}

function matches(pattern: string | RegExp, path: string): boolean {
  return typeof pattern === 'string' ? pattern === path : pattern.test(path);
}

function sendPartial(res: ServerResponse, reply: Reply, partial: NonNullable<Reply['partial']>): void {
  const payload = reply.bytes ?? Buffer.from(reply.text ?? JSON.stringify(reply.json ?? null));
  res.writeHead(reply.status ?? 200, { 'content-type': 'application/octet-stream', ...reply.headers, 'content-length': String(payload.length) });
  res.write(payload.subarray(0, partial.bytes), () => {
    if (partial.then === 'destroy') setTimeout(() => res.socket?.destroy(), 20);
  });
}

async function sendChunks(res: ServerResponse, reply: Reply, chunks: NonNullable<Reply['chunks']>): Promise<void> {
  res.writeHead(reply.status ?? 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...reply.headers });
  res.flushHeaders();
  for (const part of chunks.parts) {
    if (res.destroyed) return;
    res.write(part);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!chunks.keepOpen) res.end();
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let payload: Buffer | undefined;
  if (reply.json !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.json));
    headers['content-type'] ??= 'application/json';
  } else if (reply.text !== undefined) {
    payload = Buffer.from(reply.text);
    headers['content-type'] ??= 'text/plain';
  } else if (reply.bytes !== undefined) {
    payload = reply.bytes;
    headers['content-type'] ??= 'application/octet-stream';
  }
  res.writeHead(reply.status ?? 200, headers);
  res.end(payload);
}

// ------------------------------------------------------------------------------ wire-format bodies

export const TEST_API_KEY = 'hopx_live_AbCdEf123456.c2VjcmV0LXNlY3JldC1zZWNyZXQ';

/** A JWT-shaped token (header.payload.signature); tests check it never leaks. */
export function fakeJwt(label: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: label })}.${Buffer.from(`sig-${label}`).toString('base64url')}`;
}

export function inOneDay(): string {
  return new Date(Date.now() + 24 * 3600_000).toISOString();
}

/** A sandbox object as §4.2 describes it, agent on `publicHost`. */
export function sandboxBody(id: string, publicHost: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    object: 'sandbox',
    status: 'running',
    template_id: '73',
    template_name: 'code-interpreter',
    organization_id: 1,
    node_id: 'node-1',
    region: 'us-east',
    public_host: publicHost,
    direct_url: publicHost,
    preview_url: null,
    resources: { vcpu: 2, memory_mb: 2048, disk_mb: 10240 },
    internet_access: true,
    live_mode: false,
    timeout_seconds: 600,
    expires_at: '2030-01-01T00:10:00Z',
    created_at: '2030-01-01T00:00:00Z',
    request_id: 'req_sandbox',
    ...overrides,
  };
}

/** Flat envelope (docs / agent), with `message` too as the local backend sends it. */
export function flatError(message: string, code: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { error: message, message, code, request_id: 'req_flat', timestamp: '2030-01-01T00:00:00Z', ...extra };
}

/** Nested envelope (the Python SDK's reading of the control plane). */
export function nestedError(message: string, code: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  return { error: { message, code, request_id: 'req_nested', details } };
}
