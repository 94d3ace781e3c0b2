/** Agent contract, the less common endpoints: rich/IPython/async execution, Jupyter sessions, ping, system, /, metrics, /cache. */
import { describe, expect, it } from 'vitest';
import {
  ExecutionTimeoutError,
  NetworkError,
  ServerError,
  ValidationError,
} from '../../src/client/index.js';
import { flatError, nestedError } from '../support/wire-server.js';
import { primeAgent, SANDBOX_ID, TOKEN_1, useWireServer } from './helpers.js';

const h = useWireServer();
const agent = () => h.client.agent(SANDBOX_ID);

describe('code.runRich', () => {
  it('POSTs /execute/rich with workdir and working_dir, capture_rich, and maps rich_outputs[]', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/rich', {
      json: {
        success: true,
        stdout: '',
        stderr: '',
        exit_code: 0,
        execution_time: 1.2,
        rich_outputs: [
          { type: 'image/png', format: 'base64', data: 'iVBORw0KGgo=', metadata: { source: 'matplotlib' } },
          { type: 'application/vnd.dataframe+json', format: 'json', data: { columns: ['x'], data: [[1]] } },
          { type: 'image', path: '/workspace/plot.png' },
        ],
      },
    });
    const result = await agent().code.runRich({ code: 'plot()', workingDir: '/tmp' });
    const [req] = h.wire.calls('/execute/rich');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
    expect(req!.body).toEqual({ code: 'plot()', language: 'python', timeout: 120, workdir: '/tmp', working_dir: '/tmp', capture_rich: true });
    expect(result.outputs).toEqual([
      { kind: 'display', data: { 'image/png': 'iVBORw0KGgo=' } },
      { kind: 'display', data: { 'application/vnd.dataframe+json': '{"columns":["x"],"data":[[1]]}' } },
    ]);
    expect(result.richFiles).toEqual([{ mimeType: 'image/png', path: '/workspace/plot.png' }]);
    expect(result).toMatchObject({ success: true, exitCode: 0, executionTimeSeconds: 1.2 });
  });

  it('a plain ExecuteResponse (no rich_outputs) still maps; captureRich false is sent; 408 → ExecutionTimeoutError', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/rich', { json: { success: true, stdout: '1\n', stderr: '', exit_code: 0, png: 'AAA=' } });
    const result = await agent().code.runRich({ code: 'x', captureRich: false });
    expect(result.outputs).toEqual([{ kind: 'display', data: { 'image/png': 'AAA=' } }]);
    expect(result.richFiles).toEqual([]);
    expect((h.wire.calls('/execute/rich')[0].body as Record<string, unknown>).capture_rich).toBe(false);
    h.wire.on('POST', '/execute/rich', { status: 408, json: flatError('Execution timed out', 'EXECUTION_TIMEOUT', { details: { timeout_seconds: 5 } }) });
    await expect(agent().code.runRich({ code: 'loop()', timeoutSeconds: 5 })).rejects.toBeInstanceOf(ExecutionTimeoutError);
    await expect(agent().code.runRich({ code: 'x', captureRich: 'yes' as never })).rejects.toThrow(/captureRich must be true or false/);
  });
});

describe('code.runIpython', () => {
  it('POSTs /execute/ipython with {code, timeout: 60, env} only', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/ipython', { json: { success: true, stdout: '', stderr: '', exit_code: 0, result: '2', language: 'python' } });
    const result = await agent().code.runIpython({ code: '1 + 1', env: { A: '1' } });
    expect(h.wire.calls('/execute/ipython')[0]!.body).toEqual({ code: '1 + 1', timeout: 60, env: { A: '1' } });
    expect(result).toMatchObject({ success: true, result: '2', outputs: [{ kind: 'result', data: { 'text/plain': '2' } }] });
  });

  it('is not retried on a reset, and validates before sending', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/ipython', { destroy: true });
    await expect(agent().code.runIpython({ code: 'x', timeoutSeconds: 5 })).rejects.toBeInstanceOf(NetworkError);
    expect(h.wire.calls('/execute/ipython')).toHaveLength(1);
    await expect(agent().code.runIpython({ code: '' })).rejects.toBeInstanceOf(ValidationError);
    expect(h.wire.calls('/execute/ipython')).toHaveLength(1);
  });
});

describe('code.runAsync', () => {
  const callback = { callbackUrl: 'https://hooks.example/hopx', callbackHeaders: { 'X-Hook': 'h1' }, callbackSignatureSecret: 's3cret-value' };

  it.each([200, 202])('POSTs /execute/async with the callback fields and reads the %i answer', async (status) => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/async', {
      status,
      json: { execution_id: 'exec_9', status: 'queued', callback_url: callback.callbackUrl, message: 'queued', timestamp: '2030-01-01T00:00:00Z' },
    });
    const handle = await agent().code.runAsync({ code: 'train()', ...callback });
    expect(handle).toEqual({
      executionId: 'exec_9',
      status: 'queued',
      callbackUrl: 'https://hooks.example/hopx',
      message: 'queued',
      timestamp: '2030-01-01T00:00:00Z',
    });
    expect(h.wire.calls('/execute/async')[0].body).toEqual({
      code: 'train()',
      language: 'python',
      timeout: 1800,
      workdir: '/workspace',
      callback_url: 'https://hooks.example/hopx',
      callback_headers: { 'X-Hook': 'h1' },
      callback_signature_secret: 's3cret-value',
    });
    expect(JSON.stringify(h.logs)).not.toContain('s3cret-value');
  });

  it('is never retried (a 503 without Retry-After, a reset), and a body without execution_id fails clearly', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/async', { status: 503, json: nestedError('busy', 'SERVICE_UNAVAILABLE') });
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: callback.callbackUrl })).rejects.toBeInstanceOf(ServerError);
    h.wire.on('POST', '/execute/async', { destroy: true });
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: callback.callbackUrl })).rejects.toThrow();
    expect(h.wire.calls('/execute/async')).toHaveLength(2);
    h.wire.on('POST', '/execute/async', { status: 202, json: { status: 'queued' } });
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: callback.callbackUrl })).rejects.toThrow(/no execution_id/);
  });

  it('refuses a missing or non-http callback URL and non-string headers before sending', async () => {
    await expect(agent().code.runAsync({ code: 'x' } as never)).rejects.toThrow(/callbackUrl must be a non-empty string/);
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: 'ftp://h/x' })).rejects.toThrow(/http or https/);
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: 'not a url' })).rejects.toThrow(/absolute http\(s\) URL/);
    await expect(agent().code.runAsync({ code: 'x', callbackUrl: callback.callbackUrl, callbackHeaders: { A: 1 } as never })).rejects.toThrow(
      /callbackHeaders\.A must be a string/,
    );
    expect(h.wire.requests).toHaveLength(0);
  });
});

describe('processes.jupyterSessions', () => {
  it('GETs /jupyter/sessions and maps {sessions: [...]} and a bare array', async () => {
    primeAgent(h.wire);
    h.wire.on(
      'GET',
      '/jupyter/sessions',
      { json: { sessions: [{ kernel_id: 'k1', execution_state: 'busy', connections: 1, last_activity: '2030-01-01T00:00:00Z' }] } },
      { json: [{ id: 'k2', state: 'idle' }] },
    );
    expect(await agent().processes.jupyterSessions()).toEqual([
      { kernelId: 'k1', executionState: 'busy', connections: 1, lastActivity: '2030-01-01T00:00:00Z' },
    ]);
    expect(await agent().processes.jupyterSessions()).toEqual([{ kernelId: 'k2', executionState: 'idle', connections: null, lastActivity: null }]);
    expect(h.wire.calls('/jupyter/sessions')[0]).toMatchObject({ method: 'GET', query: {} });
  });

  it('a 500 is retried (GET), then maps to ServerError', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/jupyter/sessions', { status: 500, json: flatError('kernel gateway down', 'INTERNAL_ERROR') });
    await expect(agent().processes.jupyterSessions()).rejects.toBeInstanceOf(ServerError);
    expect(h.wire.calls('/jupyter/sessions')).toHaveLength(3);
  });
});

describe('agent ping, system, apiInfo', () => {
  it('ping reads the 3.1.1 text "pong" and the 3.2.x JSON object', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/ping', { text: 'pong' }, { json: { message: 'pong', status: 'ok' } });
    expect(await agent().ping()).toEqual({ reply: 'pong', raw: null });
    expect(await agent().ping()).toEqual({ reply: 'pong', raw: { message: 'pong', status: 'ok' } });
    const [req] = h.wire.calls('/ping');
    expect(req.method).toBe('GET');
    expect(req.headers.accept).toBe('application/json, text/plain');
  });

  it('system maps the 3.1.1 usage shape', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/system', {
      json: {
        cpu: { usage_percent: 12.5, cores: 2 },
        memory: { total: 4096, used: 1024, free: 3072, usage_percent: 25 },
        disk: { total: 10, used: 5, free: 5, usage_percent: 50 },
        uptime: 300,
      },
    });
    const info = await agent().system();
    expect(info).toMatchObject({
      os: null,
      cpuCores: 2,
      cpuUsagePercent: 12.5,
      memory: { totalBytes: 4096, usedBytes: 1024, freeBytes: 3072, usagePercent: 25 },
      disk: { totalBytes: 10, usedBytes: 5, freeBytes: 5, usagePercent: 50 },
      uptimeSeconds: 300,
      capabilities: [],
    });
    expect(info.raw.uptime).toBe(300);
  });

  it('system maps the 3.2.x host-description shape and keeps it raw', async () => {
    primeAgent(h.wire);
    const body = {
      os: { name: 'Ubuntu', version: '22.04', kernel: '6.1.0', arch: 'x86_64', hostname: 'sbx', timezone: 'UTC' },
      hardware: { cpu_cores: 4, cpu_model: 'EPYC', memory_mb: 2048, disk_mb: 10240 },
      network: { interfaces: [{ name: 'eth0', ip: '10.0.0.2', mac: 'aa' }], hostname: 'sbx' },
      environment: { shell: '/bin/bash', path: '/usr/bin', user: 'root', home: '/root', working_dir: '/workspace', environment: {} },
      capabilities: ['python3', 'node', 'git'],
    };
    h.wire.on('GET', '/system', { json: body });
    expect(await agent().system()).toEqual({
      os: { name: 'Ubuntu', version: '22.04', kernel: '6.1.0', arch: 'x86_64' },
      hostname: 'sbx',
      cpuCores: 4,
      cpuModel: 'EPYC',
      cpuUsagePercent: null,
      memory: { totalBytes: 2048 * 1024 * 1024, usedBytes: null, freeBytes: null, usagePercent: null },
      disk: { totalBytes: 10240 * 1024 * 1024, usedBytes: null, freeBytes: null, usagePercent: null },
      uptimeSeconds: null,
      capabilities: ['python3', 'node', 'git'],
      raw: body,
    });
  });

  it('apiInfo GETs / and reads endpoints as a map or a list', async () => {
    primeAgent(h.wire);
    h.wire.on(
      'GET',
      '/',
      { json: { name: 'HopX VM Agent', version: '3.2.8', endpoints: { execute: 'POST /execute', health: 'GET /health' } } },
      { json: { agent: 'HOPX VM Agent (Go)', endpoints: ['GET /ping', { method: 'GET', path: '/info' }] } },
    );
    expect(await agent().apiInfo()).toMatchObject({ name: 'HopX VM Agent', version: '3.2.8', endpoints: ['POST /execute', 'GET /health'] });
    expect(await agent().apiInfo()).toMatchObject({ name: 'HOPX VM Agent (Go)', version: null, endpoints: ['GET /ping', 'GET /info'] });
    expect(h.wire.calls('/')).toHaveLength(2);
  });

  it('errors map through the table (flat 500 → ServerError after retries)', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/system', { status: 500, json: flatError('oops', 'INTERNAL_ERROR') });
    await expect(agent().system()).rejects.toBeInstanceOf(ServerError);
  });
});

describe('agent metrics and cache status', () => {
  it('prometheusMetrics returns the text exposition as is', async () => {
    primeAgent(h.wire);
    const text =
      '# TYPE hopx_agent_total_executions counter\nhopx_agent_total_executions 4\n' +
      'hopx_agent_requests_total{endpoint="/execute",method="POST",status="200"} 4\n';
    h.wire.on('GET', '/metrics/prometheus', { text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
    expect(await agent().prometheusMetrics()).toBe(text);
    const [req] = h.wire.calls('/metrics/prometheus');
    expect(req.headers.accept).toBe('text/plain');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
  });

  it('legacyMetrics GETs /metrics and maps it like a snapshot', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/metrics', { json: { uptime_seconds: 50, total_requests: 9, error_count: 1, requests_total: { '/execute': 9 } } });
    expect(await agent().legacyMetrics()).toMatchObject({ uptimeSeconds: 50, totalRequests: 9, totalErrors: 1 });
    h.wire.on('GET', '/metrics', { json: { requests_total: { '/execute': 3, '/files/read': 2 } } });
    expect((await agent().legacyMetrics()).totalRequests).toBe(5);
  });

  it('cacheStatus GETs /cache and reads the documented agent-status body', async () => {
    primeAgent(h.wire);
    const body = { agent: 'HopX VM Agent (Go)', status: 'running', version: '3.2.8', vm_id: 'vm-1', message: 'success', timestamp: '2030-01-01T00:00:00Z' };
    h.wire.on('GET', '/cache', { json: body });
    expect(await agent().cacheStatus()).toEqual({
      agent: 'HopX VM Agent (Go)',
      status: 'running',
      version: '3.2.8',
      vmId: 'vm-1',
      message: 'success',
      timestamp: '2030-01-01T00:00:00Z',
      raw: body,
    });
    h.wire.on('GET', '/cache', { json: {} });
    expect(await agent().cacheStatus()).toMatchObject({ agent: null, status: null, raw: {} });
  });

  it('a slow /metrics/prometheus past timeoutMs is a RequestTimeoutError', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/metrics/prometheus', { text: 'x 1\n', delayMs: 300 });
    await expect(agent().prometheusMetrics({ timeoutMs: 50 })).rejects.toMatchObject({ name: 'RequestTimeoutError' });
  });
});
