/** Shared helpers for the local backend's API tests: raw wire access next to the real client. */
import { spawnSync } from 'node:child_process';
import type { TestBackend } from '../../support/local-backend.js';

/** bubblewrap is what isolates sandboxes; without it the backend refuses to start (by design). */
export const bwrapMissingReason = (() => {
  const probe = spawnSync('bwrap', ['--unshare-user', '--unshare-net', '--ro-bind', '/', '/', '/bin/true'], { stdio: 'ignore' });
  return probe.status === 0 ? null : 'bubblewrap is missing or cannot create namespaces here (apt-get install bubblewrap)';
})();
if (bwrapMissingReason) console.warn(`[local api tests] skipped: ${bwrapMissingReason}`);

export interface WireSandbox {
  id: string;
  public_host: string;
  auth_token: string;
  [key: string]: unknown;
}

/** Control-plane request with the backend's API key, parsed JSON body. */
export async function control(
  t: TestBackend,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${t.backend.url}${path}`, {
    method,
    headers: { 'X-API-Key': t.backend.apiKey, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

export async function wireSandbox(t: TestBackend, id: string): Promise<WireSandbox> {
  const res = await control(t, 'GET', `/v1/sandboxes/${id}`);
  if (res.status !== 200) throw new Error(`GET sandbox ${id}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as WireSandbox;
}

/** Agent request with the sandbox's JWT (or the given token). */
export async function agent(
  sandbox: WireSandbox,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = sandbox.auth_token,
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${sandbox.public_host}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // text bodies (prometheus) stay text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** Poll until `check` returns a truthy value (no timed assertions: the test timeout bounds it). */
export async function until<T>(check: () => Promise<T | null | undefined | false>, intervalMs = 100): Promise<T> {
  for (;;) {
    const value = await check();
    if (value) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function expectHopxError(body: any, code: string): void {
  if (!body || body.code !== code || typeof body.error !== 'string' || body.message !== body.error || !body.request_id || !body.timestamp) {
    throw new Error(`expected a HopX error body with code ${code}, got ${JSON.stringify(body)}`);
  }
}

/** Skip a test whose runtime is not installed here, saying so (never a silent skip). */
export function requireRuntime(ctx: { skip: () => void; task: { name: string } }, present: unknown, what: string): void {
  if (present) return;
  console.warn(`[local api tests] skipped "${ctx.task.name}": ${what} is not available on this machine (see GET /health runtime probe)`);
  ctx.skip();
}
