/**
 * Test fixture: a real redis-server (Debian package) on a loopback port of its own, with its data
 * in a fresh temp dir (append-only file, so a restart keeps the data as a production Redis with
 * persistence would). `stop()` / `start()` restart it on the same port; `close()` stops it and
 * removes the dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForLine } from './processes.js';

export interface TestRedis {
  url: string;
  port: number;
  /** Starts it again after stop() (same port, same data). */
  start(): Promise<void>;
  /** SIGTERM and wait for exit (Redis writes its data first). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'hopx-test-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    await waitForLine(proc, /Ready to accept connections/, 'redis-server');
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
