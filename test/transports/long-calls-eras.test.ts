/**
 * Long calls over real transports, both protocol eras (docs/long-calls.md): over streamable HTTP
 * and over stdio (the built CLI, local backend in process), a cancelled run stops and the next
 * call starts at once; progress carries the printed lines; a client that disconnects mid-call
 * stops the run as a cancel does.
 */
import { describe, expect, it } from 'vitest';
import { cancelCommandThenNext, cancelPythonThenNext, cancelWithoutProgressThenNext, progressCarriesLines, startCounting, TWO_READS } from '../support/long-calls.js';
import { callTool, connectHttp, createSandbox, useBuiltStdio, useFileHttpServer, type Era } from './helpers.js';

const server = useFileHttpServer();
const connectStdio = useBuiltStdio('long-calls');

const transports = {
  http: (era: Era) => connectHttp(server().url, era),
  stdio: connectStdio,
};

describe.each(['http', 'stdio'] as const)('over %s', (transport) => {
  describe.each(['legacy', 'modern'] as const)('%s-era client', (era) => {
    it('cancel stops python (variables kept) and a command; the next call starts at once; progress carries lines', async () => {
      const client = await transports[transport](era);
      try {
        expect(client.getProtocolEra()).toBe(era);
        await createSandbox(client);
        await cancelPythonThenNext(client);
        await cancelCommandThenNext(client);
        await cancelWithoutProgressThenNext(client);
        await progressCarriesLines(client);
      } finally {
        await client.close();
      }
    });
  });
});

describe.each<Era>(['modern'])('%s-era client over HTTP that disconnects mid-call', (era) => {
  it('the run stops as if cancelled', async () => {
    const first = await connectHttp(server().url, era);
    const id = await createSandbox(first);
    await startCounting(first, 'sandbox_run_command', { command: "i=0; while true; do i=$((i+1)); echo $i > /workspace/counter; echo \"count $i\"; sleep 0.1; done", timeout_seconds: 120 });
    // Drop the connection without ending the conversation (a 2025 session is not DELETEd: it
    // lives on, the client may come back); the run must not live on.
    await first.close();
    const again = await connectHttp(server().url, era);
    try {
      if (era === 'legacy') await callTool(again, 'sandbox_connect', { sandbox_id: id });
      const r = await callTool(again, 'sandbox_run_command', { sandbox_id: id, command: TWO_READS });
      expect(r.isError, r.text).toBe(false);
      const [a, b] = String(r.structured?.stdout).trim().split(' ');
      expect(b).toBe(a);
    } finally {
      await again.close();
    }
  });
});
