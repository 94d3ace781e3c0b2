/**
 * Several replicas for real: redis-server, one shared HopX-compatible backend, two built
 * `hopx-mcp --http --state redis://…` replicas in cloud mode, and HAProxy running
 * deploy/haproxy.cfg (scripts/cluster.mjs starts them on loopback ports of their own). The SDK
 * client talks to HAProxy only.
 *
 * One story, in order (each step depends on the last): a 2026-era conversation spreads over both
 * replicas; replica A is killed (SIGKILL) and the conversation carries on, on B, with its sandbox,
 * its current sandbox and its Python state; A comes back and serves again with nothing lost; a
 * 2025-era session sticks to one replica; Redis restarts: /readyz says not ready, calls are
 * refused with a clear error, then everything recovers and every live sandbox is recorded and
 * has a lifetime; finally the conversation goes idle and exactly one replica ends it, killing
 * each sandbox once.
 */
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HopxClient } from '../../src/client/index.js';
import { silentLogger } from '../../src/log.js';
import { RedisStateStore } from '../../src/state/redis.js';
import { ensureBuilt } from '../transports/built-cli.js';
import { callTool, connectHttp, createSandbox, sandboxGone } from '../transports/helpers.js';
// @ts-expect-error plain ESM script shared with the benchmark and operators (no type declarations)
import { jsonLines, readyz, startCluster, waitUntil } from '../../scripts/cluster.mjs';

interface Replica {
  base: string;
  logs(): string[];
  stop(signal?: string): Promise<unknown>;
  start(): Promise<void>;
}
interface Cluster {
  url: string;
  proxyBase: string;
  serverStates(): Promise<Record<string, string>>;
  replicas: Replica[];
  redis: { url: string; stop(signal?: string): Promise<unknown>; start(): Promise<void> };
  backend: { url: string; apiKey: string };
  close(): Promise<void>;
}
type LogRecord = Record<string, unknown> & { msg?: string };

// Long enough that no step of the story idles out (a background ping keeps the conversation
// fresh anyway), short enough that the last step does not wait long.
const IDLE_SECONDS = 8;

let cluster: Cluster;
let hopx: HopxClient;
let client: Client;
let state: RedisStateStore;
let keepalive: NodeJS.Timeout | undefined;
/** The conversation's two sandboxes: the first holds Python state (x), the second is current. */
let first = '';
let second = '';

beforeAll(async () => {
  await ensureBuilt();
  cluster = (await startCluster({ idleSeconds: IDLE_SECONDS })) as Cluster;
  hopx = new HopxClient({ apiKey: cluster.backend.apiKey, baseUrl: cluster.backend.url, maxRetries: 0 });
  state = await RedisStateStore.open({ url: cluster.redis.url, logger: silentLogger() });
}, 120_000);

afterAll(async () => {
  clearInterval(keepalive);
  await client?.close().catch(() => {});
  await state?.close().catch(() => {});
  await hopx?.close().catch(() => {});
  await cluster?.close();
});

const records = (r: Replica): LogRecord[] => jsonLines(r.logs()) as LogRecord[];
const toolCalls = (r: Replica, tool?: string) => records(r).filter((l) => l.msg === 'tool call' && (!tool || l.tool === tool));

/** The tools a conversation's calls ran on each replica (from their logs). */
function servedBy(conversationId: string): number[] {
  return cluster.replicas.map((r) => toolCalls(r).filter((l) => l.conversation_id === conversationId).length);
}

/** The anonymous caller's conversation id, as Redis holds it. */
async function callerConversationId(): Promise<string> {
  const { id, created } = await state.callerConversation('anonymous', 'none');
  expect(created).toBe(false);
  return id;
}

it('spreads a 2026-era conversation over both replicas, and survives killing and restarting one', { timeout: 180_000 }, async () => {
  client = await connectHttp(cluster.url, 'modern');
  // A real client keeps its conversation alive; the story's pauses then never count as idle.
  keepalive = setInterval(() => void client.ping().catch(() => {}), 1000);

  const sandboxId = await createSandbox(client);
  first = sandboxId;
  const set = await callTool(client, 'sandbox_run_code', { code: 'x = 41\nprint(x)' });
  expect(set.isError, set.text).toBe(false);
  for (let i = 0; i < 7; i++) {
    const r = await callTool(client, 'sandbox_run_code', { code: 'print(x)' });
    expect(r.text).toContain('41');
  }
  const conversationId = await callerConversationId();
  const before = servedBy(conversationId);
  expect(before[0], `calls per replica ${before.join(', ')}`).toBeGreaterThan(0);
  expect(before[1], `calls per replica ${before.join(', ')}`).toBeGreaterThan(0);

  // Kill A (no shutdown code runs): the conversation carries on, on B.
  const [a, b] = cluster.replicas;
  await a.stop('SIGKILL');
  const bBefore = toolCalls(b).length;
  for (let i = 0; i < 4; i++) {
    // No sandbox_id: the current sandbox must come from Redis, Python state from the sandbox.
    const r = await callTool(client, 'sandbox_run_code', { code: 'x += 1\nprint(x)' });
    expect(r.isError, r.text).toBe(false);
    expect(r.text).toContain(String(42 + i));
    expect(r.text).toContain(sandboxId);
  }
  expect(toolCalls(b).length - bBefore).toBe(4);
  const listed = await callTool(client, 'sandbox_list');
  expect(listed.text).toContain(sandboxId);

  // A comes back: it serves the same conversation again, nothing lost.
  await a.start();
  // HAProxy sends A traffic again once its health check of /readyz passes.
  await waitUntil(async () => (await cluster.serverStates()).replica1 === 'UP L7OK', 30_000, 'HAProxy seeing replica A up');
  const aBefore = toolCalls(a).length;
  // Round robin: A serves about every other call.
  for (let i = 0; toolCalls(a).length - aBefore < 2; i++) {
    expect(i, 'replica A never served again').toBeLessThan(20);
    const r = await callTool(client, 'sandbox_run_code', { code: 'print(x)' });
    expect(r.isError, r.text).toBe(false);
    expect(r.text).toContain('45');
  }
  second = await createSandbox(client);
  const info = await callTool(client, 'sandbox_get_info', {});
  expect(info.text).toContain(second);
  const record = await state.loadConversation(conversationId);
  expect(record?.sandboxes.map((s) => s.id).sort()).toEqual([sandboxId, second].sort());
  expect(record?.current).toBe(second);
});

it('keeps a 2025-era session on one replica (HAProxy affinity by Mcp-Session-Id)', { timeout: 60_000 }, async () => {
  const legacy = await connectHttp(cluster.url, 'legacy');
  try {
    await createSandbox(legacy);
    // The per-caller sandbox limit counts every replica's conversations of the caller: the
    // 2026-era conversation's two sandboxes plus this session's one.
    expect(await state.liveSandboxes('anonymous')).toBe(3);
    for (let i = 0; i < 6; i++) {
      const r = await callTool(legacy, 'sandbox_run_code', { code: `print(${i} * 2)` });
      expect(r.isError, r.text).toBe(false);
    }
    const sessionCalls = cluster.replicas.map((r) => toolCalls(r).filter((l) => records(r).some((s) => s.msg === 'conversation started' && s.era === 'legacy' && s.conversation_id === l.conversation_id)).length);
    // 7 calls, all on one replica: without affinity about half would have met "Session not found".
    expect(sessionCalls.filter((n) => n > 0)).toHaveLength(1);
    expect(sessionCalls.reduce((x, y) => x + y, 0)).toBe(7);
  } finally {
    await legacy.close();
  }
});

it('reports not-ready while Redis is down, refuses calls clearly, and recovers with no sandbox orphaned', { timeout: 90_000 }, async () => {
  await cluster.redis.stop();
  for (const r of cluster.replicas) {
    await waitUntil(async () => (await readyz(`${r.base}/readyz`)) === 503, 10_000, 'replica not ready');
    const body = (await (await fetch(`${r.base}/readyz`)).json()) as { ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.ok).toBe(false);
    expect(body.checks.state.ok).toBe(false);
    expect(body.checks.state.detail).toMatch(/state store is unavailable/);
    expect(body.checks.backend.ok).toBe(true);
  }
  const refused = await fetch(cluster.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} } } }),
  });
  // Whether or not HAProxy has taken them out yet (it then falls back to them), a replica answers.
  expect(refused.status).toBe(503);
  expect(await refused.text()).toMatch(/state store is unavailable \(Redis redis:\/\/127\.0\.0\.1:\d+: not connected/);

  await cluster.redis.start();
  for (const r of cluster.replicas) await waitUntil(async () => (await readyz(`${r.base}/readyz`)) === 200, 30_000, 'replica ready again');
  await waitUntil(async () => Object.values(await cluster.serverStates()).every((st) => st === 'UP L7OK'), 30_000, 'HAProxy routing to both again');
  const again = await callTool(client, 'sandbox_run_code', { code: 'print(x)', sandbox_id: first });
  expect(again.isError, again.text).toBe(false);
  expect(again.text).toContain('45');
  const current = await callTool(client, 'sandbox_run_code', { code: 'print(6 * 7)' });
  expect(current.text).toContain(second);

  // Every sandbox the backend runs is recorded in a conversation in Redis (the caller's, or the
  // 2025-era session's above) and has a lifetime.
  const started = new Set(cluster.replicas.flatMap((r) => records(r)).filter((l) => l.msg === 'conversation started').map((l) => String(l.conversation_id)));
  const recorded = new Set<string>();
  for (const id of started) for (const s of (await state.loadConversation(id))?.sandboxes ?? []) recorded.add(s.id);
  const live = (await hopx.sandboxes.list({ limit: 100 })).sandboxes.filter((s) => s.status === 'running');
  expect(live.length).toBeGreaterThanOrEqual(3);
  for (const s of live) {
    expect(recorded.has(s.id), `sandbox ${s.id} is in no conversation`).toBe(true);
    expect(s.expiresAt, `sandbox ${s.id} has no lifetime`).not.toBeNull();
  }
});

it('ends the idle conversation on exactly one replica, killing each sandbox once', { timeout: 90_000 }, async () => {
  const conversationId = await callerConversationId();
  const sandboxes = (await state.loadConversation(conversationId))!.sandboxes.map((s) => s.id);
  expect(sandboxes.length).toBe(2);
  clearInterval(keepalive);
  await client.close();

  for (const id of sandboxes) await waitUntil(() => sandboxGone(hopx, id), 60_000, `sandbox ${id} killed by idle expiry`);
  await waitUntil(async () => (await state.loadConversation(conversationId)) === null, 30_000, 'conversation record deleted');

  const all = cluster.replicas.flatMap((r) => records(r));
  const expired = all.filter((l) => l.msg === 'session expired' && l.conversation_id === conversationId);
  expect(expired).toHaveLength(1);
  for (const id of sandboxes) {
    const kills = all.filter((l) => l.msg === 'sandbox killed' && l.sandbox_id === id);
    expect(kills, `kills of ${id}`).toHaveLength(1);
    expect(kills[0].reason).toBe('idle timeout');
  }
});
