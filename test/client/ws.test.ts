/** WebSocket streams: /execute/stream, /files/watch, /terminal — real sockets against the wire server. */
import { describe, expect, it } from 'vitest';
import { AbortedError, NetworkError, type StreamEvent } from '../../src/client/index.js';
import { flatError } from '../support/wire-server.js';
import { primeAgent, primeAgentWithRotation, SANDBOX_ID, TOKEN_1, TOKEN_2, useWireServer } from './helpers.js';
import { AsyncQueue, QUEUE_HIGH_WATER } from '../../src/client/ws.js';

const h = useWireServer();
const agent = () => h.client.agent(SANDBOX_ID);

describe('code.stream', () => {
  it('sends the execute message, skips junk frames, yields events and stops at complete', async () => {
    primeAgent(h.wire);
    let firstMessage: unknown;
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', (data) => {
        firstMessage = JSON.parse(String(data));
        socket.send('');
        socket.send('   ');
        socket.send('not json');
        socket.send(JSON.stringify({ type: 'stdout', data: 'one\n', timestamp: 't' }));
        socket.send(Buffer.from(JSON.stringify({ type: 'stderr', data: 'warn\n' }))); // a bytes frame
        socket.send(JSON.stringify({ type: 'mystery' }));
        socket.send(JSON.stringify({ type: 'result', exit_code: 0, execution_time: 0.2 }));
        socket.send(JSON.stringify({ type: 'complete', success: true }));
        socket.send(JSON.stringify({ type: 'stdout', data: 'after complete' }));
      });
    });
    const events: StreamEvent[] = [];
    for await (const event of agent().code.stream({ code: 'print("one")', env: { A: '1' } })) events.push(event);
    expect(firstMessage).toEqual({ type: 'execute', code: 'print("one")', language: 'python', timeout: 60, workdir: '/workspace', env: { A: '1' } });
    expect(events).toEqual([
      { type: 'stdout', data: 'one\n' },
      { type: 'stderr', data: 'warn\n' },
      { type: 'result', exitCode: 0, executionTimeSeconds: 0.2 },
      { type: 'complete', success: true },
    ]);
    const [handshake] = h.wire.calls('/execute/stream');
    expect(handshake.upgrade).toBe(true);
    expect(handshake.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
  });

  it('a slow reader gets every frame of a fast stream, in order (the socket pauses, then resumes)', async () => {
    primeAgent(h.wire);
    const count = QUEUE_HIGH_WATER * 4;
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        for (let i = 0; i < count; i++) socket.send(JSON.stringify({ type: 'stdout', data: `${i}\n` }));
        socket.send(JSON.stringify({ type: 'complete', success: true }));
      });
    });
    const seen: string[] = [];
    for await (const event of agent().code.stream({ code: 'x' })) {
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 100)); // let the frames pile up
      if (event.type === 'stdout') seen.push(event.data);
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => `${i}\n`));
  });

  it('passes error events through and fails if the socket closes before complete', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => {
        socket.send(JSON.stringify({ type: 'error', error: 'kernel died', code: 'EXECUTION_FAILED' }));
        socket.close();
      });
    });
    const events: StreamEvent[] = [];
    const error = await (async () => {
      for await (const event of agent().code.stream({ code: 'x' })) events.push(event);
    })().catch((e: unknown) => e);
    expect(events).toEqual([{ type: 'error', error: 'kernel died', code: 'EXECUTION_FAILED' }]);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toMatch(/closed before the run completed/);
  });

  it('a 401 handshake refreshes the token once and reconnects', async () => {
    primeAgentWithRotation(h.wire);
    h.wire.onWebSocket(
      '/execute/stream',
      (socket) => socket.once('message', () => socket.send(JSON.stringify({ type: 'complete', success: true }))),
      { status: 401, json: flatError('Invalid or expired token', 'UNAUTHORIZED') },
    );
    const events: StreamEvent[] = [];
    for await (const event of agent().code.stream({ code: 'x' })) events.push(event);
    expect(events).toEqual([{ type: 'complete', success: true }]);
    expect(h.wire.calls('/execute/stream').map((c) => c.headers.authorization)).toEqual([`Bearer ${TOKEN_1}`, `Bearer ${TOKEN_2}`]);
  });

  it('aborting the signal closes the stream with AbortedError', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/execute/stream', (socket) => {
      socket.once('message', () => socket.send(JSON.stringify({ type: 'stdout', data: 'tick' })));
    });
    const controller = new AbortController();
    const error = await (async () => {
      for await (const event of agent().code.stream({ code: 'loop()' }, { signal: controller.signal })) {
        if (event.type === 'stdout') controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
  });
});

describe('files.watch', () => {
  it('sends the watch action, yields change events and ends when the signal aborts', async () => {
    primeAgent(h.wire);
    let request: unknown;
    h.wire.onWebSocket('/files/watch', (socket) => {
      socket.once('message', (data) => {
        request = JSON.parse(String(data));
        socket.send(JSON.stringify({ type: 'change', path: '/workspace/a.txt', event: 'created', timestamp: 't1' }));
        socket.send('{bad');
        socket.send(JSON.stringify({ type: 'change', path: '/workspace/a.txt', event: 'modified', timestamp: 't2' }));
      });
    });
    const controller = new AbortController();
    const seen: unknown[] = [];
    for await (const change of agent().files.watch('/workspace', { signal: controller.signal })) {
      seen.push(change);
      if (seen.length === 2) controller.abort();
    }
    expect(request).toEqual({ action: 'watch', path: '/workspace' });
    expect(seen).toEqual([
      { path: '/workspace/a.txt', event: 'created', timestamp: 't1' },
      { path: '/workspace/a.txt', event: 'modified', timestamp: 't2' },
    ]);
  });
});

describe('terminal', () => {
  it('writes input and resize messages, streams output and resolves the exit code', async () => {
    primeAgent(h.wire);
    const received: unknown[] = [];
    h.wire.onWebSocket('/terminal', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; data?: string };
        received.push(message);
        if (message.type === 'input' && message.data === 'echo hi\n') {
          socket.send(JSON.stringify({ type: 'output', data: 'hi\r\n' }));
        }
        if (message.type === 'input' && message.data === 'exit 3\n') {
          socket.send(JSON.stringify({ type: 'output', data: 'bye\r\n' }));
          socket.send(JSON.stringify({ type: 'exit', code: 3 }));
        }
      });
    });
    const terminal = await agent().terminal();
    terminal.resize(120, 40);
    terminal.write('echo hi\n');
    terminal.write('exit 3\n');
    let output = '';
    for await (const chunk of terminal.output()) output += chunk;
    expect(output).toBe('hi\r\nbye\r\n');
    expect(await terminal.exited).toBe(3);
    expect(received).toEqual([
      { type: 'resize', cols: 120, rows: 40 },
      { type: 'input', data: 'echo hi\n' },
      { type: 'input', data: 'exit 3\n' },
    ]);
  });

  it('close() before exit resolves exited with null', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/terminal', () => {});
    const terminal = await agent().terminal();
    terminal.close();
    expect(await terminal.exited).toBeNull();
  });
});

describe('client.close', () => {
  it('terminates open sockets', async () => {
    primeAgent(h.wire);
    h.wire.onWebSocket('/files/watch', () => {});
    const iterator = agent().files.watch('/workspace')[Symbol.asyncIterator]();
    const pending = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.client.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});

describe('AsyncQueue', () => {
  it('pauses its producer at the high-water mark and resumes it once half is read', async () => {
    const calls: string[] = [];
    const queue = new AsyncQueue<number>({ pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    for (let i = 0; i < QUEUE_HIGH_WATER + 10; i++) queue.push(i);
    expect(calls).toEqual(['pause']);
    const it = queue[Symbol.asyncIterator]();
    for (let i = 0; i < QUEUE_HIGH_WATER / 2 + 9; i++) expect((await it.next()).value).toBe(i);
    expect(calls).toEqual(['pause']);
    await it.next();
    expect(calls).toEqual(['pause', 'resume']);
  });
});
