/**
 * Interactive terminals over streamable HTTP in both protocol eras. A 2026-era client has no
 * session: each request meets a fresh McpServer, so the terminal must live in the caller's
 * conversation, not in the server object.
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { callTool, connectHttp, createSandbox, useFileHttpServer } from './helpers.js';

const server = useFileHttpServer();

describe.each(['legacy', 'modern'] as const)('%s-era client', (era) => {
  it('drives a Python REPL across requests and closes it', async () => {
    const client: Client = await connectHttp(server().url, era);
    try {
      await createSandbox(client);
      const start = await callTool(client, 'sandbox_terminal_start', { command: 'python3 -q' });
      expect(start.isError, start.text).toBe(false);
      const id = start.structured?.terminal_id as string;
      await callTool(client, 'sandbox_terminal_send', { terminal_id: id, wait_for: '>>> ', timeout_seconds: 30 });
      await callTool(client, 'sandbox_terminal_send', { terminal_id: id, text: 'n = 2 ** 10', keys: ['Enter'], wait_for: '>>> ' });
      const r = await callTool(client, 'sandbox_terminal_send', { terminal_id: id, text: 'n', keys: ['Enter'], wait_for: '1024' });
      expect(r.isError, r.text).toBe(false);
      expect(r.structured?.screen).toMatch(/>>> n\n1024/);
      const closed = await callTool(client, 'sandbox_terminal_close', { terminal_id: id });
      expect(closed.structured).toEqual({ terminal_id: id, closed: true });
    } finally {
      await client.close();
    }
  });
});
