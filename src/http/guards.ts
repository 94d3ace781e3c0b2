/**
 * HTTP plumbing shared by the layers that serve HTTP (transports/, hosting/, auth/): JSON-RPC error
 * replies, and request guards that answer the request themselves when they refuse — Host/Origin
 * checks (DNS rebinding), bearer token (constant-time), body reading with a size cap. A leaf: it
 * imports nothing else of src/, so any of them may use it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/** Writes a JSON-RPC error body with an HTTP status (the shape MCP clients expect). */
export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code, message } });
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

function hostnameOf(value: string): string | null {
  try {
    return new URL(`http://${value}`).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Host header check. Loopback binds accept only loopback names (plus --allowed-hosts), which
 * stops DNS-rebinding pages from reaching the server. A non-loopback bind is protected by the
 * bearer token; there the Host list applies only when --allowed-hosts names it.
 */
export function hostGuard(bindHost: string, allowedHosts: string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const loopback = isLoopbackHost(bindHost);
  const wildcard = bindHost === '0.0.0.0' || bindHost === '::';
  const allowed = new Set([...LOOPBACK_NAMES, ...allowedHosts.map((h) => h.toLowerCase())]);
  if (!wildcard) allowed.add(isIP(bindHost) === 6 ? `[${bindHost.toLowerCase()}]` : bindHost.toLowerCase());
  const enforce = loopback || allowedHosts.length > 0;
  return (req, res) => {
    if (!enforce) return true;
    const hostname = req.headers.host ? hostnameOf(req.headers.host) : null;
    if (hostname && allowed.has(hostname)) return true;
    sendJsonRpcError(res, 403, -32000, `Forbidden: Host header "${req.headers.host ?? ''}" is not allowed (see --allowed-hosts).`);
    return false;
  };
}

/** Origin check: absent Origin passes (non-browser clients); a browser origin must be listed. */
export function originGuard(allowedOrigins: string[]): (req: IncomingMessage, res: ServerResponse) => boolean {
  const allowed = new Set([...LOOPBACK_NAMES, ...allowedOrigins.map((h) => h.toLowerCase())]);
  return (req, res) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    let hostname: string | null;
    try {
      hostname = new URL(origin).hostname.toLowerCase();
    } catch {
      hostname = null;
    }
    if (hostname && allowed.has(hostname)) return true;
    sendJsonRpcError(res, 403, -32000, `Forbidden: Origin "${origin}" is not allowed (see --allowed-origins).`);
    return false;
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether a request carries `Authorization: Bearer <token>`, compared in constant time (as below). */
export function bearerMatcher(token: string): (req: IncomingMessage) => boolean {
  const expected = digest(token);
  return (req) => {
    const match = /^Bearer\s+(.+)$/i.exec((req.headers.authorization ?? '').trim());
    return match !== null && timingSafeEqual(digest(match[1]), expected);
  };
}

/**
 * Bearer token check in constant time: both sides are hashed to equal-length digests first, so
 * neither the content nor the length of the token leaks through timing.
 */
export function bearerGuard(token: string | undefined): (req: IncomingMessage, res: ServerResponse) => boolean {
  if (!token) return () => true;
  const matches = bearerMatcher(token);
  return (req, res) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (matches(req)) return true;
    sendJsonRpcError(
      res,
      401,
      -32001,
      match ? 'Unauthorized: wrong bearer token.' : 'Unauthorized: send "Authorization: Bearer <HOPX_MCP_AUTH_TOKEN>".',
      { 'www-authenticate': `Bearer realm="hopx-mcp"${match ? ', error="invalid_token"' : ''}` },
    );
    return false;
  };
}

export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

/** Reads the whole body, refusing more than maxBytes (checked on Content-Length and while reading). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new BodyTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new BodyTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Stable, non-secret id for a secret (a caller's key or token), for maps and logs. */
export function fingerprint(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 16);
}
