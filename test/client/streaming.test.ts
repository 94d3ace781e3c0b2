/**
 * Streamed foreground runs (code.runStreaming, commands.runStreaming) on the cloud wire: the
 * /execute/stream socket of docs/hopx-wire.md §5.12 as a HopX agent speaks it, against the
 * recording wire server. What is checked: the execute frame sent, output handed over live and in
 * order, the result assembled from frames alone (HopX) or with the local agent's extension fields,
 * error frames mapped like POST /execute errors, and a cancel closing the socket.
 */
import { describe, expect, it } from 'vitest';
import { AbortedError, ExecutionTimeoutError, StreamInterruptedError } from '../../src/client/index.js';
import { primeAgent, SANDBOX_ID, useWireServer } from './helpers.js';

const h = useWireServer();
const agent = () => h.client.agent(SANDBOX_ID);
const frame = (o: Record<string, unknown>) => JSON.stringify({ timestamp: '2026-12-03T00:00:00Z', ...o });

describe('code.runStreaming', () => {
  it('sends one execute frame, hands each output chunk over as it arrives, and answers like POST /execute', async () => {
    primeAgent(h.wire);
    let sent: unknown;
    // The agent sends the rest only once the first line reached the callback: output is live.
    let firstSeen!: () => void;
    const firstLineHandedOver = new Promise<void>((resolve) => (firstSeen = resolve));
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', (data) => {
        sent = JSON.parse(String(data));
        socket.send(frame({ type: 'stdout', data: 'line 1\n' }));
        void firstLineHandedOver.then(() => {
          socket.send(frame({ type: 'stderr', data: 'warn\n' }));
          socket.send(frame({ type: 'stdout', data: 'line 2\n' }));
          socket.send(frame({ type: 'result', exit_code: 0, execution_time: 0.25 }));
          socket.send(frame({ type: 'complete', success: true }));
        });
      });
    });
    const chunks: Array<[string, string]> = [];
    const r = await agent().code.runStreaming({ code: 'print(1)', language: 'python', timeoutSeconds: 30, env: { A: '1' } }, (stream, chunk) => {
      chunks.push([stream, chunk]);
      firstSeen();
    });
    expect(sent).toEqual({ type: 'execute', code: 'print(1)', language: 'python', timeout: 30, workdir: '/workspace', env: { A: '1' } });
    expect(chunks).toEqual([
      ['stdout', 'line 1\n'],
      ['stderr', 'warn\n'],
      ['stdout', 'line 2\n'],
    ]);
    expect(r).toMatchObject({ success: true, exitCode: 0, stdout: 'line 1\nline 2\n', stderr: 'warn\n', executionTimeSeconds: 0.25, outputs: [] });
    expect(r.keptOutputs).toEqual({});
  });

  it("reads the local agent's result-frame fields: rich outputs, kept outputs, the agent's own cut copy", async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        socket.send(frame({ type: 'stdout', data: 'x'.repeat(10) }));
        socket.send(
          frame({
            type: 'result',
            exit_code: 0,
            execution_time: 1,
            result: '42',
            mime_bundles: [{ kind: 'result', data: { 'text/plain': '42' } }],
            kept_outputs: { stdout: { path: '/tmp/hopx-outputs/e1.stdout.txt', bytes: 3_000_000, lines: 1 } },
            stdout: 'xxx…[cut; whole stdout: /tmp/hopx-outputs/e1.stdout.txt]…xxx',
          }),
        );
        socket.send(frame({ type: 'complete', success: true }));
      });
    });
    const r = await agent().code.runStreaming({ code: '42' }, () => {});
    expect(r.result).toBe('42');
    expect(r.stdout).toContain('whole stdout: /tmp/hopx-outputs/e1.stdout.txt');
    expect(r.keptOutputs.stdout).toEqual({ path: '/tmp/hopx-outputs/e1.stdout.txt', bytes: 3_000_000, lines: 1 });
  });

  it('a failing program is a result, not an error', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        socket.send(frame({ type: 'stderr', data: 'boom\n' }));
        socket.send(frame({ type: 'result', exit_code: 3, execution_time: 0.1 }));
        socket.send(frame({ type: 'complete', success: false }));
      });
    });
    const r = await agent().code.runStreaming({ code: 'exit 3', language: 'bash' }, () => {});
    expect(r).toMatchObject({ success: false, exitCode: 3, stderr: 'boom\n' });
  });

  it('an EXECUTION_TIMEOUT error frame is the ExecutionTimeoutError POST /execute would raise', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        socket.send(frame({ type: 'stdout', data: 'started\n' }));
        socket.send(frame({ type: 'error', error: 'Execution timed out after 5 s', code: 'EXECUTION_TIMEOUT', details: { timeout_seconds: 5 } }));
        socket.send(frame({ type: 'result', exit_code: 1, execution_time: 5 }));
        socket.send(frame({ type: 'complete', success: false }));
      });
    });
    const error = await agent().code.runStreaming({ code: 'while True: pass', timeoutSeconds: 5 }, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionTimeoutError);
    expect((error as ExecutionTimeoutError).timeoutSeconds).toBe(5);
    expect((error as Error).message).toMatch(/The code timed out inside the sandbox after 5 s/);
  });

  it('a socket that closes before complete is a StreamInterruptedError', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        socket.send(frame({ type: 'stdout', data: 'partial\n' }));
        socket.close();
      });
    });
    const error = await agent().code.runStreaming({ code: 'x' }, () => {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamInterruptedError);
  });

  it('aborting the call closes the socket at the agent (how a cancel reaches it) and rejects with AbortedError', async () => {
    primeAgent(h.wire);
    let closedAtAgent!: () => void;
    const agentSawClose = new Promise<void>((resolve) => (closedAtAgent = resolve));
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('close', () => closedAtAgent());
      socket.once('message', () => socket.send(frame({ type: 'stdout', data: 'tick\n' })));
    });
    const controller = new AbortController();
    const run = agent().code.runStreaming({ code: 'loop()' }, () => controller.abort('cancelled'), { signal: controller.signal });
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    await agentSawClose;
  });
});

describe('commands.runStreaming', () => {
  it('sends the command line as bash code on /execute/stream and answers like POST /commands/run', async () => {
    primeAgent(h.wire);
    let sent: unknown;
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', (data) => {
        sent = JSON.parse(String(data));
        socket.send(frame({ type: 'stdout', data: 'a\nb\n' }));
        socket.send(frame({ type: 'result', exit_code: 0, execution_time: 0.01 }));
        socket.send(frame({ type: 'complete', success: true }));
      });
    });
    const chunks: string[] = [];
    const r = await agent().commands.runStreaming({ command: 'ls -1', timeoutSeconds: 900, workingDir: '/tmp', env: { B: '2' } }, (_s, c) => chunks.push(c));
    expect(sent).toEqual({ type: 'execute', code: 'ls -1', language: 'bash', timeout: 900, workdir: '/tmp', env: { B: '2' } });
    expect(chunks).toEqual(['a\nb\n']);
    expect(r).toMatchObject({ success: true, exitCode: 0, stdout: 'a\nb\n', stderr: '', executionTimeSeconds: 0.01 });
  });
});
