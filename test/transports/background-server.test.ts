/**
 * The recipe the server's own instructions give — a web server started with
 * `sandbox_run_command {background: true}`, then `sandbox_get_preview_url` — used the way an agent
 * does, over the built CLI on stdio (as Claude Desktop runs it) and over streamable HTTP with a
 * 2025-era session. The server must still answer through its preview URL after 90 s: background
 * processes have no default cap (the old default, 60 s, killed it with "exit 143").
 *
 * The two runs go side by side (`it.concurrent`), so the file costs about 95 s of wall time once.
 */
import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { callTool, connectHttp, createSandbox, useBuiltStdio, useFileHttpServer, waitFor } from './helpers.js';

/** How long the server must live: well past the 60 s default cap background commands used to get. */
const LIVE_FOR_MS = 90_000;

const server = useFileHttpServer();
const connectStdio = useBuiltStdio('bg-server');

/** The page's body, or '' while nothing answers yet. */
async function page(url: string): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? await res.text() : '';
  } catch {
    return '';
  }
}

async function serverOutlivesTheOldCap(client: Client): Promise<void> {
  await createSandbox(client);
  const marker = `served from the sandbox ${Math.random().toString(36).slice(2)}`;
  expect((await callTool(client, 'sandbox_write_file', { path: '/workspace/site/index.html', content: marker })).isError).toBe(false);
  const started = await callTool(client, 'sandbox_run_command', { command: 'cd /workspace/site && exec python3 -m http.server 8000 --bind 0.0.0.0', background: true });
  expect(started.isError, started.text).toBe(false);
  const processId = started.structured?.process_id as string;
  const startedAt = Date.now();

  let url = '';
  await waitFor(
    async () => {
      const preview = await callTool(client, 'sandbox_get_preview_url', { port: 8000 });
      url = `${String(preview.structured?.url ?? '').replace(/\/$/, '')}/index.html`;
      return preview.structured?.listening !== 'not_listening' && (await page(url)) === marker;
    },
    30_000,
    'the web server to answer through its preview URL',
  );

  // The scenario itself is "still there after 90 s": wait that long, asking it now and then.
  while (Date.now() - startedAt < LIVE_FOR_MS) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(20_000, LIVE_FOR_MS - (Date.now() - startedAt))));
    expect(await page(url), `after ${Math.round((Date.now() - startedAt) / 1000)} s`).toBe(marker);
  }
  const listed = await callTool(client, 'sandbox_list_processes', { process_id: processId });
  expect((listed.structured?.processes as Array<Record<string, unknown>>)[0]).toMatchObject({ process_id: processId, status: 'running', end_reason: null });

  // Ending it is the agent's call, and the record says who ended it.
  expect((await callTool(client, 'sandbox_kill_process', { process_id: processId })).isError).toBe(false);
  const waited = await callTool(client, 'sandbox_wait_process', { process_id: processId, timeout_seconds: 30 });
  expect(waited.structured).toMatchObject({ ended: true, process: { status: 'killed', end_reason: 'killed by sandbox_kill_process' } });
  expect(await page(url)).toBe('');
}

describe('a background web server', () => {
  it.concurrent('over stdio (the built CLI, local backend): still answers through its preview URL after 90 s', async () => {
    const client = await connectStdio();
    try {
      await serverOutlivesTheOldCap(client);
    } finally {
      await client.close();
    }
  }, 180_000);

  it.concurrent('over streamable HTTP, a 2025-era session: still answers through its preview URL after 90 s', async () => {
    const client = await connectHttp(server().url, 'legacy');
    try {
      expect(client.getProtocolEra()).toBe('legacy');
      await serverOutlivesTheOldCap(client);
    } finally {
      await client.close();
    }
  }, 180_000);
});
