/**
 * Helpers for tests that run real programs (redis-server, haproxy, replicas): a free loopback
 * port, and waiting for the line a program prints when it is ready (an event, not a stopwatch).
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves with the first line of stdout or stderr matching `pattern`; rejects when the process
 * exits first (with what it printed) or after `timeoutMs` (a safety net for a hung program).
 */
export function waitForLine(child: ChildProcess, pattern: RegExp, name: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    let pending = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (pattern.test(line)) {
          done();
          resolve(line);
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${name} printed no ${pattern} within ${timeoutMs} ms:\n${output.slice(-2000)}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
