/**
 * The registration seam end to end: logs on stderr without secrets, cancellation reaching the
 * client call, and state that lives in the Conversation (so a transport may build a fresh
 * McpServer per request).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/log.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { callOk, connect, makeConversation, textOf } from './harness.js';

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => backend?.close());

function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: pino({ level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream) };
}

describe('registration seam', () => {
  it('logs every call with timing and lifecycle events, never argument values or env secrets', async () => {
    const { lines, logger } = memoryLogger();
    const s = await connect(makeConversation(backend.client, { logger }));
    try {
      await callOk(s.client, 'sandbox_create', { env_vars: { SERVICE_TOKEN: 'tok-sekrit-1' } });
      await callOk(s.client, 'sandbox_set_env', { variables: { DB_PASSWORD: 'pw-sekrit-2' } });
      await callOk(s.client, 'sandbox_run_code', { code: 'print("code-body-sekrit-3")' });
    } finally {
      await s.close();
    }
    const log = lines.join('');
    for (const secret of ['tok-sekrit-1', 'pw-sekrit-2', 'code-body-sekrit-3']) expect(log).not.toContain(secret);
    const events = lines.map((l) => JSON.parse(l) as { msg: string; tool?: string; ms?: number });
    expect(events.filter((e) => e.msg === 'tool call').map((e) => e.tool)).toEqual(['sandbox_create', 'sandbox_set_env', 'sandbox_run_code']);
    expect(events.every((e) => e.msg !== 'tool call' || typeof e.ms === 'number')).toBe(true);
    expect(events.map((e) => e.msg)).toEqual(expect.arrayContaining(['sandbox attached', 'conversation ending', 'sandbox killed', 'conversation cleanup done']));
  });

  it('cancelling a call aborts the HopX request on the server side too', async () => {
    const { lines, logger } = memoryLogger();
    const s = await connect(makeConversation(backend.client, { logger }));
    try {
      await callOk(s.client, 'sandbox_create', {});
      const controller = new AbortController();
      const pending = s.client.callTool({ name: 'sandbox_run_code', arguments: { code: 'sleep 20', language: 'bash', timeout_seconds: 60 } }, { signal: controller.signal });
      setTimeout(() => controller.abort('user cancelled'), 300);
      await expect(pending).rejects.toThrow();
      // The handler itself ends (its client call was aborted), long before the 20 s sleep.
      let ended: { ms: number } | undefined;
      for (let i = 0; i < 50 && !ended; i++) {
        ended = lines.map((l) => JSON.parse(l)).find((e) => e.tool === 'sandbox_run_code' && e.msg.startsWith('tool call'));
        if (!ended) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ended, 'the run_code handler never finished').toBeDefined();
      expect(ended!.ms).toBeLessThan(5000);
      const r = await callOk(s.client, 'sandbox_run_command', { command: 'echo alive' });
      expect(r.structuredContent.stdout).toBe('alive\n');
    } finally {
      await s.close();
    }
  });

  it('sends keepalive progress while a long call runs, when the caller asked for progress', async () => {
    const s = await connect(makeConversation(backend.client), { progressIntervalMs: 150 });
    try {
      await callOk(s.client, 'sandbox_create', {});
      const progress: { progress: number; message?: string }[] = [];
      const r = await s.client.callTool(
        { name: 'sandbox_run_command', arguments: { command: 'sleep 1; echo done' } },
        { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true },
      );
      expect(r.isError).toBeFalsy();
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));
      expect(progress[0].message).toMatch(/^sandbox_run_command running \([\d.]+ s\)$/);
    } finally {
      await s.close();
    }
  });

  it('keeps state in the Conversation: a second server bound to it sees the same current sandbox', async () => {
    const conversation = makeConversation(backend.client);
    const first = await connect(conversation);
    const id = (await callOk(first.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
    await first.client.close();
    // As a stateless HTTP request would: a fresh McpServer over the same conversation.
    const second = await connect(conversation);
    try {
      const info = await callOk(second.client, 'sandbox_get_info', {});
      expect(info.structuredContent.sandbox_id).toBe(id);
      expect(textOf(info)).toContain(id);
    } finally {
      await second.close();
    }
    expect((await backend.client.sandboxes.list()).sandboxes.map((x) => x.id)).not.toContain(id);
  });
});
