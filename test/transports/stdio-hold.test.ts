/**
 * tools/list over stdio does not wait for the backend: tool texts depend only on the backend's
 * kind (from the configuration). The backend here never becomes ready, and any use of it throws,
 * so an answer proves tools/list neither waited for it nor touched it; a tools/call stays held.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { deferBackend } from '../../src/transports/deferred-backend.js';
import { startStdioServer } from '../../src/transports/stdio.js';

function lines(stream: PassThrough): AsyncIterator<Record<string, any>> {
  let buffer = '';
  const queue: Record<string, any>[] = [];
  let wake: (() => void) | undefined;
  stream.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let nl; (nl = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(nl + 1)) queue.push(JSON.parse(buffer.slice(0, nl)));
    wake?.();
  });
  return {
    async next() {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return { value: queue.shift()!, done: false };
    },
  };
}

describe.each(['local', 'cloud'] as const)('stdio, %s backend not started yet', (kind) => {
  it('answers tools/list with that backend\'s texts, and holds a tools/call', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const never = deferBackend(kind, () => new Promise(() => {}));
    let asked = false;
    const server = startStdioServer(
      { backend: never.backend, logger: silentLogger() },
      { stdin, stdout, backendReady: () => ((asked = true), new Promise(() => {})) },
    );
    const replies = lines(stdout);
    const send = (message: Record<string, unknown>) => stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
    send({ id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    expect((await replies.next()).value.id).toBe(1);
    send({ method: 'notifications/initialized' });
    send({ id: 2, method: 'tools/list' });
    const list = (await replies.next()).value;
    expect(list.id).toBe(2);
    const create = list.result.tools.find((t: { name: string }) => t.name === 'sandbox_create');
    expect(create.description).toMatch(kind === 'local' ? /on this machine/ : /a separate machine behind the HopX API/);
    // A call that needs the backend is held (the backend was asked for, and never came).
    send({ id: 3, method: 'tools/call', params: { name: 'sandbox_list', arguments: {} } });
    send({ id: 4, method: 'ping' });
    await Promise.resolve();
    expect(asked).toBe(true);
    server.close('test finished').catch(() => {});
  });
});
