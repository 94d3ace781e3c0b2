/** Control plane contract, the less common calls: template delete and building, force-kill, the SSE metrics stream. */
import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConflictError,
  NetworkError,
  PermissionDeniedError,
  SandboxNotFoundError,
  TemplateNotFoundError,
  ValidationError,
} from '../../src/client/index.js';
import type { MetricsSnapshot } from '../../src/client/index.js';
import { sseData } from '../../src/client/sse.js';
import { flatError, nestedError, TEST_API_KEY } from '../support/wire-server.js';
import { SANDBOX_ID, useWireServer } from './helpers.js';

const h = useWireServer();
const HASH = 'a'.repeat(64);

describe('templates.delete', () => {
  it('DELETEs /v1/templates/{id} with the API key and reads the object', async () => {
    h.wire.on('DELETE', '/v1/templates/291', { json: { id: '291', status: 'deleted', message: 'Template deleted', request_id: 'r' } });
    expect(await h.client.templates.delete('291')).toEqual({ id: '291', status: 'deleted', message: 'Template deleted' });
    const [req] = h.wire.requests;
    expect(req).toMatchObject({ method: 'DELETE', path: '/v1/templates/291', query: {}, body: undefined });
    expect(req.headers['x-api-key']).toBe(TEST_API_KEY);
  });

  it('accepts a bare 200 {} (and numeric template_id) as deleted', async () => {
    h.wire.on('DELETE', '/v1/templates/291', { json: {} });
    expect(await h.client.templates.delete('291')).toEqual({ id: '291', status: null, message: null });
    h.wire.on('DELETE', '/v1/templates/292', { json: { template_id: 292 } });
    expect((await h.client.templates.delete('292')).id).toBe('292');
  });

  it('403 on a public template → PermissionDeniedError; 404 (nested envelope) → TemplateNotFoundError', async () => {
    h.wire.on('DELETE', '/v1/templates/73', { status: 403, json: flatError('Cannot delete public template', 'FORBIDDEN') });
    await expect(h.client.templates.delete('73')).rejects.toBeInstanceOf(PermissionDeniedError);
    h.wire.on('DELETE', '/v1/templates/999', { status: 404, json: nestedError('Template not found', 'RESOURCE_NOT_FOUND') });
    await expect(h.client.templates.delete('999')).rejects.toBeInstanceOf(TemplateNotFoundError);
    await expect(h.client.templates.delete('')).rejects.toThrow(/templateId must be a non-empty string/);
  });
});

describe('templates.getUploadLink', () => {
  it('POSTs files_hash + content_length and maps both answers (present / upload needed)', async () => {
    h.wire.on(
      'POST',
      '/v1/templates/files/upload-link',
      { json: { present: false, upload_url: 'https://s3.example/put?sig=x', expires_at: '2030-01-01T01:00:00Z', files_hash: HASH, request_id: 'r' } },
      { json: { present: true, files_hash: HASH } },
    );
    expect(await h.client.templates.getUploadLink({ filesHash: HASH, contentLength: 2048 })).toEqual({
      present: false,
      uploadUrl: 'https://s3.example/put?sig=x',
      expiresAt: '2030-01-01T01:00:00Z',
      filesHash: HASH,
    });
    expect(await h.client.templates.getUploadLink({ filesHash: HASH, contentLength: 2048 })).toEqual({
      present: true,
      uploadUrl: null,
      expiresAt: null,
      filesHash: HASH,
    });
    const [req] = h.wire.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/templates/files/upload-link', body: { files_hash: HASH, content_length: 2048 } });
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-api-key']).toBe(TEST_API_KEY);
  });

  it('is retried on a 500 (asking for a link creates nothing) and validates its input', async () => {
    h.wire.on('POST', '/v1/templates/files/upload-link', { status: 500, json: flatError('boom', 'INTERNAL_ERROR') }, { json: { present: true } });
    expect((await h.client.templates.getUploadLink({ filesHash: HASH, contentLength: 1 })).present).toBe(true);
    expect(h.wire.requests).toHaveLength(2);
    await expect(h.client.templates.getUploadLink({ filesHash: 'abc', contentLength: 1 })).rejects.toThrow(/filesHash must be the SHA-256/);
    await expect(h.client.templates.getUploadLink({ filesHash: HASH, contentLength: 0 })).rejects.toThrow(/contentLength/);
    expect(h.wire.requests).toHaveLength(2);
  });
});

describe('templates.build', () => {
  it('POSTs the documented body with SDK defaults and reads the 201', async () => {
    h.wire.on('POST', '/v1/templates/build', {
      status: 201,
      json: { build_id: 'build_1', template_id: '300', status: 'building', logs_url: '/v1/templates/build/build_1/logs', request_id: 'r' },
    });
    const build = await h.client.templates.build({
      name: 'my-py',
      fromImage: 'python:3.12-slim',
      steps: [
        { type: 'RUN', args: ['pip install pandas'] },
        { type: 'env', key: 'A', value: '1' },
      ],
    });
    expect(build).toEqual({ buildId: 'build_1', templateId: '300', status: 'building', logsUrl: '/v1/templates/build/build_1/logs' });
    expect(h.wire.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/templates/build',
      body: {
        name: 'my-py',
        from_image: 'python:3.12-slim',
        cpu: 2,
        memory: 2048,
        diskGB: 10,
        steps: [
          { type: 'RUN', args: ['pip install pandas'] },
          { type: 'env', key: 'A', value: '1' },
        ],
      },
    });
  });

  it('sends every optional field in its wire spelling', async () => {
    h.wire.on('POST', '/v1/templates/build', { status: 201, json: { build_id: 7, status: 'queued' } });
    const build = await h.client.templates.build({
      name: 'web',
      fromImage: 'node:22',
      cpu: 4,
      memoryMb: 4096,
      diskGb: 20,
      skipCache: true,
      update: true,
      startCmd: 'node server.js',
      readyCmd: { type: 'port', port: 3000 },
      registryCredentials: { type: 'basic', username: 'u', password: 'p' },
      agentVersion: '3.2.8',
    });
    expect(build).toEqual({ buildId: '7', templateId: null, status: 'queued', logsUrl: null });
    expect(h.wire.requests[0].body).toEqual({
      name: 'web',
      from_image: 'node:22',
      cpu: 4,
      memory: 4096,
      diskGB: 20,
      steps: [],
      skipCache: true,
      update: true,
      startCmd: 'node server.js',
      readyCmd: { type: 'port', port: 3000 },
      registry_credentials: { type: 'basic', username: 'u', password: 'p' },
      agent_version: '3.2.8',
    });
  });

  it('is never retried: a reset and a 503 without Retry-After each reach the server once', async () => {
    h.wire.on('POST', '/v1/templates/build', { destroy: true });
    await expect(h.client.templates.build({ name: 'x', fromImage: 'debian' })).rejects.toBeInstanceOf(NetworkError);
    expect(h.wire.requests).toHaveLength(1);
    h.wire.on('POST', '/v1/templates/build', { status: 503, json: flatError('No builders', 'SERVICE_UNAVAILABLE') });
    await expect(h.client.templates.build({ name: 'x', fromImage: 'debian' })).rejects.toThrow();
    expect(h.wire.requests).toHaveLength(2);
  });

  it('409 (name exists) → ConflictError; a 201 without build_id fails clearly; bad input is refused before sending', async () => {
    h.wire.on('POST', '/v1/templates/build', { status: 409, json: nestedError('Template my-py already exists', 'CONFLICT') });
    await expect(h.client.templates.build({ name: 'my-py', fromImage: 'debian' })).rejects.toBeInstanceOf(ConflictError);
    h.wire.on('POST', '/v1/templates/build', { status: 201, json: { status: 'building' } });
    await expect(h.client.templates.build({ name: 'my-py', fromImage: 'debian' })).rejects.toThrow(/no build_id/);
    const sent = h.wire.requests.length;
    await expect(h.client.templates.build({ name: 'x' } as never)).rejects.toThrow(/fromImage must be a non-empty string/);
    await expect(h.client.templates.build({ name: 'x', fromImage: 'd', steps: [{ args: [] }] as never })).rejects.toThrow(/steps\[0\]/);
    await expect(h.client.templates.build({ name: 'x', fromImage: 'd', cpu: 0 })).rejects.toBeInstanceOf(ValidationError);
    expect(h.wire.requests).toHaveLength(sent);
  });
});

describe('templates.buildStatus and buildLogs', () => {
  it('GETs the build status and maps every field', async () => {
    h.wire.on('GET', '/v1/templates/build/build_1/status', {
      json: {
        build_id: 'build_1',
        template_id: 300,
        status: 'building',
        progress: 40,
        current_step: 'RUN pip install pandas',
        started_at: '2030-01-01T00:00:00Z',
        completed_at: null,
        error_message: null,
        build_duration_ms: 12000,
        estimated_completion: '2030-01-01T00:05:00Z',
        request_id: 'r',
      },
    });
    expect(await h.client.templates.buildStatus('build_1')).toEqual({
      buildId: 'build_1',
      templateId: '300',
      status: 'building',
      progress: 40,
      currentStep: 'RUN pip install pandas',
      startedAt: '2030-01-01T00:00:00Z',
      completedAt: null,
      errorMessage: null,
      buildDurationMs: 12000,
      estimatedCompletion: '2030-01-01T00:05:00Z',
    });
    expect(h.wire.requests[0]).toMatchObject({ method: 'GET', path: '/v1/templates/build/build_1/status', query: {} });
  });

  it('a failed build keeps its error message; a reset GET is retried', async () => {
    h.wire.on('GET', '/v1/templates/build/b2/status', { destroy: true }, { json: { status: 'failed', error_message: 'apt failed' } });
    expect(await h.client.templates.buildStatus('b2')).toMatchObject({ buildId: 'b2', status: 'failed', errorMessage: 'apt failed', progress: null });
    expect(h.wire.requests).toHaveLength(2);
  });

  it('polls logs by template id with offset and reads the JSON form', async () => {
    h.wire.on(
      'GET',
      '/v1/templates/build/300/logs',
      { json: { logs: 'Step 1/2\n', offset: 9, status: 'building', complete: false, request_id: 'r' } },
      { json: { logs: 'Step 2/2\ndone\n', offset: 23, status: 'active', complete: true } },
    );
    expect(await h.client.templates.buildLogs('300')).toEqual({ logs: 'Step 1/2\n', offset: 9, status: 'building', complete: false });
    expect(await h.client.templates.buildLogs('300', { offset: 9 })).toEqual({ logs: 'Step 2/2\ndone\n', offset: 23, status: 'active', complete: true });
    expect(h.wire.requests.map((r) => r.query)).toEqual([{ offset: '0' }, { offset: '9' }]);
  });

  it('empty logs keep the offset; 404 → TemplateNotFoundError; a negative offset is refused', async () => {
    h.wire.on('GET', '/v1/templates/build/300/logs', { json: {} });
    expect(await h.client.templates.buildLogs('300', { offset: 5 })).toEqual({ logs: '', offset: 5, status: null, complete: false });
    h.wire.on('GET', '/v1/templates/build/404/logs', { status: 404, json: flatError('Template not found', 'RESOURCE_NOT_FOUND') });
    await expect(h.client.templates.buildLogs('404')).rejects.toBeInstanceOf(TemplateNotFoundError);
    await expect(h.client.templates.buildLogs('300', { offset: -1 })).rejects.toThrow(/offset must be a whole number/);
  });
});

describe('sandboxes.forceKill', () => {
  it('POSTs /v1/sandboxes/{id}/kill with no body and reads {id, status: killed}', async () => {
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/kill`, { json: { id: SANDBOX_ID, status: 'killed', request_id: 'r' } });
    expect(await h.client.sandboxes.forceKill(SANDBOX_ID)).toEqual({ id: SANDBOX_ID, status: 'killed' });
    expect(h.wire.requests[0]).toMatchObject({ method: 'POST', path: `/v1/sandboxes/${SANDBOX_ID}/kill`, body: undefined });
    expect(h.wire.requests[0].headers['x-api-key']).toBe(TEST_API_KEY);
  });

  it('an empty 200 means killed; 404 → SandboxNotFoundError', async () => {
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/kill`, { status: 200, text: '' });
    expect(await h.client.sandboxes.forceKill(SANDBOX_ID)).toEqual({ id: SANDBOX_ID, status: 'killed' });
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/kill`, { status: 404, json: flatError('Sandbox not found', 'RESOURCE_NOT_FOUND') });
    await expect(h.client.sandboxes.forceKill(SANDBOX_ID)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });
});

describe('sandboxes.metricsStream (SSE)', () => {
  const path = `/v1/sandboxes/${SANDBOX_ID}/metrics/stream`;

  it('asks for text/event-stream and yields one snapshot per data event, across split chunks, skipping the rest', async () => {
    h.wire.on('GET', path, {
      chunks: {
        parts: [
          ': keep-alive\n\n',
          'event: metrics\ndata: {"uptime_seconds": 10, "cpu": {"usage_pe',
          'rcent": 5.5, "cores": 2}}\n\n',
          'data: not json\n\n',
          'data: {"total_executions": 3,\r\ndata: "memory": {"total": 100, "used": 40, "usage_percent": 40}}\r\n\r\n',
        ],
      },
    });
    const seen: MetricsSnapshot[] = [];
    for await (const snapshot of h.client.sandboxes.metricsStream(SANDBOX_ID)) seen.push(snapshot);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ uptimeSeconds: 10, cpu: { usagePercent: 5.5, cores: 2 } });
    expect(seen[1]).toMatchObject({ totalExecutions: 3, memory: { totalBytes: 100, usedBytes: 40, usagePercent: 40 } });
    const [req] = h.wire.requests;
    expect(req.headers.accept).toBe('text/event-stream');
    expect(req.headers['x-api-key']).toBe(TEST_API_KEY);
  });

  it('runs until the caller aborts, then ends without an error', async () => {
    h.wire.on('GET', path, { chunks: { parts: ['data: {"uptime_seconds": 1}\n\n', 'data: {"uptime_seconds": 2}\n\n'], keepOpen: true } });
    const controller = new AbortController();
    const seen: Array<number | null> = [];
    for await (const snapshot of h.client.sandboxes.metricsStream(SANDBOX_ID, { signal: controller.signal })) {
      seen.push(snapshot.uptimeSeconds);
      if (seen.length === 2) controller.abort();
    }
    expect(seen).toEqual([1, 2]);
  });

  it('a stream cut mid-way is a NetworkError; a 401 maps through the error table', async () => {
    h.wire.on('GET', path, { status: 200, headers: { 'content-type': 'text/event-stream' }, text: 'data: {"uptime_seconds": 1}\n\ndata: {"uptime_seconds": 2}\n\n', partial: { bytes: 29, then: 'destroy' } });
    const seen: unknown[] = [];
    const error = await (async () => {
      for await (const s of h.client.sandboxes.metricsStream(SANDBOX_ID)) seen.push(s);
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(error).toBeInstanceOf(NetworkError);
    h.wire.on('GET', path, { status: 401, json: flatError('Invalid API key', 'UNAUTHORIZED') });
    const iterate = async () => {
      for await (const _ of h.client.sandboxes.metricsStream(SANDBOX_ID)) void _;
    };
    await expect(iterate()).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe('sseData', () => {
  async function collect(parts: string[]): Promise<string[]> {
    async function* chunks() {
      for (const part of parts) yield Buffer.from(part);
    }
    const out: string[] = [];
    for await (const data of sseData(chunks())) out.push(data);
    return out;
  }

  it('handles \r\n split across chunks, multi-line data, comments and a final event without a blank line', async () => {
    expect(await collect(['data: a\r', '\n\r', '\nid: 1\n: c\ndata: b\ndata: c\n\n', 'data: last\r'])).toEqual(['a', 'b\nc', 'last']);
    expect(await collect(['data:x\n\n', '\n\n'])).toEqual(['x']);
  });
});
