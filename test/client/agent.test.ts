/** Agent contract: code, commands, processes, env, metrics, preview URLs. */
import { describe, expect, it } from 'vitest';
import {
  ExecutionTimeoutError,
  HopxError,
  ProcessNotFoundError,
  ValidationError,
} from '../../src/client/index.js';
import { flatError, sandboxBody } from '../support/wire-server.js';
import { primeAgent, SANDBOX_ID, TOKEN_1, useWireServer } from './helpers.js';

const h = useWireServer();
const agent = () => h.client.agent(SANDBOX_ID);

describe('code.run', () => {
  it('POSTs /execute with workdir (not working_dir), defaults and the bearer token', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', {
      json: { success: true, stdout: '2\n', stderr: '', exit_code: 0, execution_time: 0.05, language: 'python', timestamp: 't' },
    });
    const result = await agent().code.run({ code: 'print(1+1)' });
    const [req] = h.wire.calls('/execute');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
    expect(req.headers['x-api-key']).toBeUndefined();
    expect(req.body).toEqual({ code: 'print(1+1)', language: 'python', timeout: 120, workdir: '/workspace' });
    expect(result).toEqual({
      success: true,
      stdout: '2\n',
      stderr: '',
      exitCode: 0,
      executionTimeSeconds: 0.05,
      language: 'python',
      result: null,
      outputs: [],
      keptOutputs: {},
    });
  });

  it('reads kept_outputs (the local backend names whole outputs it kept in the sandbox)', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', {
      json: { success: true, stdout: 'x', stderr: '', exit_code: 0, kept_outputs: { stdout: { path: '/tmp/hopx-outputs/e.stdout.txt', bytes: 5, lines: 2 }, stderr: { path: 'relative' } } },
    });
    const result = await agent().code.run({ code: "print(1)" });
    expect(result.keptOutputs).toEqual({ stdout: { path: '/tmp/hopx-outputs/e.stdout.txt', bytes: 5, lines: 2 } });
  });

  it('reads a kept_outputs entry with path null as "cut, and not kept whole"', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', {
      json: { success: true, stdout: 'x', stderr: '', exit_code: 0, kept_outputs: { stdout: { path: null, bytes: 20_000_001, lines: 1 }, stderr: { bytes: 4 } } },
    });
    const result = await agent().code.run({ code: 'print(1)' });
    expect(result.keptOutputs).toEqual({ stdout: { path: null, bytes: 20_000_001, lines: 1 } });
  });

  it('sends language, timeout, workdir and env as given', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { json: { success: false, stdout: '', stderr: 'boom', exit_code: 3 } });
    const result = await agent().code.run({ code: 'exit 3', language: 'bash', timeoutSeconds: 5, workingDir: '/tmp', env: { A: '1' } });
    expect(h.wire.calls('/execute')[0].body).toEqual({ code: 'exit 3', language: 'bash', timeout: 5, workdir: '/tmp', env: { A: '1' } });
    expect(result).toMatchObject({ success: false, exitCode: 3, stderr: 'boom' });
  });

  it('maps every rich output field, `result` only when it differs from stdout, and rich_outputs[]', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', {
      json: {
        success: true,
        stdout: 'printed\n',
        stderr: '',
        exit_code: 0,
        png: 'iVBORw0KGgo=',
        svg: '<svg/>',
        html: '<table></table>',
        markdown: '# hi',
        json: { a: 1 },
        result: '42',
        rich_outputs: [
          { type: 'image/png', format: 'base64', data: 'iVBORw0KGgo=' }, // duplicate of png: dropped
          { type: 'application/vnd.dataframe+json', data: { 'application/vnd.dataframe+json': { columns: ['x'] } } },
          { type: 'text/html', data: { 'text/html': '<b>x</b>' } },
        ],
      },
    });
    const result = await agent().code.run({ code: 'plot()' });
    expect(result.result).toBe('42');
    // One bundle per output; the png that rich_outputs repeats is there once; the result last.
    expect(result.outputs).toEqual([
      { kind: 'display', data: { 'image/svg+xml': '<svg/>' } },
      { kind: 'display', data: { 'text/html': '<table></table>' } },
      { kind: 'display', data: { 'text/markdown': '# hi' } },
      { kind: 'display', data: { 'application/json': '{"a":1}' } },
      { kind: 'display', data: { 'image/png': 'iVBORw0KGgo=' } },
      { kind: 'display', data: { 'application/vnd.dataframe+json': '{"columns":["x"]}' } },
      { kind: 'display', data: { 'text/html': '<b>x</b>' } },
      { kind: 'result', data: { 'text/plain': '42' } },
    ]);
  });

  it('takes mime_bundles (the local backend) as they are, over the flattened fields', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', {
      json: {
        success: true,
        stdout: '',
        stderr: '',
        exit_code: 0,
        html: '<table/>',
        result: 'df',
        rich_outputs: [{ type: 'text/html', format: 'text', data: '<table/>' }],
        mime_bundles: [
          { kind: 'display', data: { 'image/png': 'AAA=', 'text/plain': '<Figure>' } },
          { kind: 'result', data: { 'text/plain': 'df', 'text/html': '<table/>', 'x/bad': 3 } },
        ],
      },
    });
    expect((await agent().code.run({ code: 'x' })).outputs).toEqual([
      { kind: 'display', data: { 'image/png': 'AAA=', 'text/plain': '<Figure>' } },
      { kind: 'result', data: { 'text/plain': 'df', 'text/html': '<table/>' } },
    ]);
  });

  it('does not repeat stdout as a text/plain result', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { json: { success: true, stdout: 'same\n', stderr: '', exit_code: 0, result: 'same' } });
    expect((await agent().code.run({ code: 'x' })).outputs).toEqual([]);
  });

  it('408 EXECUTION_TIMEOUT becomes ExecutionTimeoutError saying what timed out after how long', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute', { status: 408, json: flatError('Execution timed out', 'EXECUTION_TIMEOUT', { details: { timeout_seconds: 2 } }) });
    const error = await agent().code.run({ code: 'while True: pass', timeoutSeconds: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionTimeoutError);
    expect(error).toMatchObject({ timeoutSeconds: 2, operation: 'run code' });
    expect((error as Error).message).toBe('The code timed out inside the sandbox after 2 s.');
  });

  it('validates code, language, timeout and workdir before sending', async () => {
    await expect(agent().code.run({ code: '' })).rejects.toThrow(/code must be a non-empty string/);
    await expect(agent().code.run({ code: 'x', language: 'cobol' as 'python' })).rejects.toThrow(/python, javascript, bash, go/);
    await expect(agent().code.run({ code: 'x', timeoutSeconds: 1.5 })).rejects.toThrow(/timeoutSeconds/);
    await expect(agent().code.run({ code: 'x', workingDir: 'rel' })).rejects.toThrow(/workingDir must be an absolute path/);
    expect(h.wire.requests).toHaveLength(0);
  });

  it('runBackground POSTs /execute/background with name and, given no timeout, a year (agents default to 300 s)', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/execute/background', {
      json: { process_id: 'proc_1', execution_id: 'exec_1', status: 'running', start_time: 't', message: 'ok', name: 'srv' },
    });
    const handle = await agent().code.runBackground({ code: 'serve()', name: 'srv' });
    expect(h.wire.calls('/execute/background')[0].body).toEqual({
      code: 'serve()',
      language: 'python',
      timeout: 365 * 86_400,
      workdir: '/workspace',
      name: 'srv',
    });
    expect(handle).toEqual({ processId: 'proc_1', executionId: 'exec_1', status: 'running', name: 'srv' });
  });
});

describe('commands', () => {
  it('run sends bash -c with timeout 30 and maps the result', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/commands/run', {
      json: { success: true, stdout: 'hi\n', stderr: '', exit_code: 0, execution_time: 0.01, command: 'bash', pid: 77, timestamp: 't' },
    });
    const result = await agent().commands.run({ command: 'echo hi | cat' });
    expect(h.wire.calls('/commands/run')[0].body).toEqual({ command: 'bash', args: ['-c', 'echo hi | cat'], timeout: 30, workdir: '/workspace' });
    expect(result).toEqual({ success: true, stdout: 'hi\n', stderr: '', exitCode: 0, executionTimeSeconds: 0.01, pid: 77, keptOutputs: {} });
  });

  it('a failing command is a result, not an error', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/commands/run', { json: { stdout: '', stderr: 'nope', exit_code: 2 } });
    expect(await agent().commands.run({ command: 'false', workingDir: '/tmp', env: { X: 'y' }, timeoutSeconds: 9 })).toMatchObject({
      success: false,
      exitCode: 2,
    });
    expect(h.wire.calls('/commands/run')[0].body).toMatchObject({ workdir: '/tmp', env: { X: 'y' }, timeout: 9 });
  });

  it('runBackground POSTs /commands/background and returns the handle', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/commands/background', { json: { process_id: 'cmd_17000abc', status: 'running' } });
    const handle = await agent().commands.runBackground({ command: 'python -m http.server 8000', name: 'web' });
    expect(h.wire.calls('/commands/background')[0].body).toEqual({
      command: 'bash',
      args: ['-c', 'python -m http.server 8000'],
      timeout: 365 * 86_400,
      workdir: '/workspace',
      name: 'web',
    });
    expect(handle).toEqual({ processId: 'cmd_17000abc', executionId: null, status: 'running', name: null });
  });
});

describe('processes', () => {
  it('lists background processes in both field spellings', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/execute/processes', {
      json: {
        processes: [
          { process_id: 'p1', execution_id: 'e1', name: 'a', status: 'completed', language: 'python', start_time: 's1', end_time: 'e1t', exit_code: 0, duration: 1.5, pid: 10 },
          { process_id: 'p2', status: 'running', started_at: 's2', completed_at: null, execution_time: 2, stdout: 'o', stderr: '' },
          null,
        ],
        count: 2,
      },
    });
    const list = await agent().processes.list();
    const absent = { endReason: null, signal: null, timeoutSeconds: null, keptOutputs: {} };
    expect(list).toEqual([
      { processId: 'p1', executionId: 'e1', name: 'a', status: 'completed', language: 'python', pid: 10, exitCode: 0, startedAt: 's1', endedAt: 'e1t', durationSeconds: 1.5, stdout: null, stderr: null, ...absent },
      { processId: 'p2', executionId: null, name: null, status: 'running', language: null, pid: null, exitCode: null, startedAt: 's2', endedAt: null, durationSeconds: 2, stdout: 'o', stderr: '', ...absent },
    ]);
  });

  it('reads the end_reason, signal, timeout_seconds and kept_outputs extensions, and timed_out alone', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/execute/processes', {
      json: {
        processes: [
          {
            process_id: 'p1',
            status: 'killed',
            exit_code: 143,
            end_reason: 'timeout',
            signal: 'SIGTERM',
            timeout_seconds: 600,
            stdout: 'head…tail',
            kept_outputs: { stdout: { path: '/tmp/hopx-outputs/p1.stdout.txt', bytes: 3_000_000, lines: 9 } },
          },
          { process_id: 'p2', status: 'failed', exit_code: 143, timed_out: true },
          { process_id: 'p3', status: 'killed', end_reason: 'an-unknown-reason' },
        ],
      },
    });
    const [p1, p2, p3] = await agent().processes.list();
    expect(p1).toMatchObject({
      endReason: 'timeout',
      signal: 'SIGTERM',
      timeoutSeconds: 600,
      keptOutputs: { stdout: { path: '/tmp/hopx-outputs/p1.stdout.txt', bytes: 3_000_000, lines: 9 } },
    });
    expect(p2.endReason).toBe('timeout');
    expect(p3.endReason).toBeNull();
  });

  it('get sends GET /execute/processes?process_id= and picks the process, whether or not the agent filtered', async () => {
    primeAgent(h.wire);
    // A HopX cloud agent documents no filter: it may answer with every process.
    h.wire.on('GET', '/execute/processes', {
      json: { processes: [{ process_id: 'other', status: 'running' }, { process_id: 'p1', status: 'completed', exit_code: 0 }], count: 2 },
    });
    expect(await agent().processes.get('p1')).toMatchObject({ processId: 'p1', status: 'completed', exitCode: 0 });
    expect(await agent().processes.get('p9')).toBeNull();
    const calls = h.wire.calls('/execute/processes');
    expect(calls.map((r) => [r.method, r.query])).toEqual([
      ['GET', { process_id: 'p1' }],
      ['GET', { process_id: 'p9' }],
    ]);
    await expect(agent().processes.get('')).rejects.toThrow(/processId/);
  });

  it('kill uses DELETE /execute/kill?process_id= first', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/execute/kill', { json: { process_id: 'p1', status: 'killed', message: 'ok' } });
    expect(await agent().processes.kill('p1')).toEqual({ processId: 'p1', status: 'killed' });
    const agentCalls = h.wire.requests.filter((r) => !r.path.startsWith('/v1/'));
    expect(agentCalls.map((r) => [r.method, r.path, r.query])).toEqual([['DELETE', '/execute/kill', { process_id: 'p1' }]]);
  });

  it('kill falls through the four forms on 405 / bare 404, in order', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/execute/kill', (req) =>
      req.body ? { json: { process_id: 'p1', status: 'killed' } } : { status: 405, text: 'method not allowed' },
    );
    h.wire.on('POST', '/execute/kill/p1', { status: 404, text: '404 page not found' });
    h.wire.on('POST', '/processes/p1/kill', { status: 404, json: { error: 'no route' } });
    expect(await agent().processes.kill('p1')).toEqual({ processId: 'p1', status: 'killed' });
    const agentCalls = h.wire.requests.filter((r) => !r.path.startsWith('/v1/'));
    expect(agentCalls.map((r) => `${r.method} ${r.path}`)).toEqual([
      'DELETE /execute/kill',
      'POST /execute/kill/p1',
      'POST /processes/p1/kill',
      'DELETE /execute/kill',
    ]);
    expect(agentCalls[3].body).toEqual({ process_id: 'p1' });
    expect(agentCalls[0].query).toEqual({ process_id: 'p1' });
  });

  it('kill stops at PROCESS_NOT_FOUND: the process does not exist', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/execute/kill', { status: 404, json: flatError('Process not found', 'PROCESS_NOT_FOUND', { details: { process_id: 'p9' } }) });
    const error = await agent().processes.kill('p9').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessNotFoundError);
    expect(error).toMatchObject({ processId: 'p9' });
    expect(h.wire.requests.filter((r) => !r.path.startsWith('/v1/'))).toHaveLength(1);
  });

  it('lists OS processes', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/processes', {
      json: { processes: [{ pid: 1, name: 'init', command: '/sbin/init', user: 'root', status: 'S', cpu_percent: 0.1, memory_percent: 0.2, memory_mb: 3 }] },
    });
    expect(await agent().processes.listSystem()).toEqual([
      { pid: 1, name: 'init', command: '/sbin/init', user: 'root', status: 'S', cpuPercent: 0.1, memoryMb: 3 },
    ]);
  });
});

describe('env', () => {
  it('getAll reads env_vars', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/env', { json: { env_vars: { A: '1', API_KEY: '***MASKED***' }, count: 2, timestamp: 't' } });
    expect(await agent().env.getAll()).toEqual({ A: '1', API_KEY: '***MASKED***' });
  });

  it('replace PUTs, merge PATCHes with merge:true; 204 and 200 both succeed', async () => {
    primeAgent(h.wire);
    h.wire.on('PUT', '/env', { status: 204 });
    h.wire.on('PATCH', '/env', { json: { env_vars: { B: '2' } } });
    await agent().env.replace({ A: '1' });
    await agent().env.merge({ B: '2' });
    expect(h.wire.calls('/env', 'PUT')[0].body).toEqual({ env_vars: { A: '1' } });
    expect(h.wire.calls('/env', 'PATCH')[0].body).toEqual({ env_vars: { B: '2' }, merge: true });
  });

  it('delete uses DELETE /env/{key} when the agent has it', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/env/A', { status: 204 });
    await agent().env.delete('A');
    expect(h.wire.requests.filter((r) => r.path.startsWith('/env')).map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /env/A']);
  });

  it('delete falls back to GET + PUT when the route is missing', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/env/A', { status: 404, text: '404 page not found' });
    h.wire.on('GET', '/env', { json: { env_vars: { A: '1', B: '2' } } });
    h.wire.on('PUT', '/env', { status: 204 });
    await agent().env.delete('A');
    expect(h.wire.calls('/env', 'PUT')[0].body).toEqual({ env_vars: { B: '2' } });
  });

  it('delete refuses the fallback rather than overwrite masked secrets', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/env/A', { status: 405, text: 'method not allowed' });
    h.wire.on('GET', '/env', { json: { env_vars: { A: '1', DB_PASSWORD: '***MASKED***' } } });
    const error = await agent().env.delete('A').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HopxError);
    expect((error as Error).message).toMatch(/DB_PASSWORD.*MASKED/);
    expect(h.wire.calls('/env', 'PUT')).toHaveLength(0);
  });

  it('clear DELETEs /env; bad names are rejected without echoing values', async () => {
    primeAgent(h.wire);
    h.wire.on('DELETE', '/env', { status: 204 });
    await agent().env.clear();
    expect(h.wire.calls('/env', 'DELETE')).toHaveLength(1);
    const error = await agent().env.merge({ GOOD: 'x', SECRET: 42 as unknown as string }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/SECRET must be a string/);
    expect((error as Error).message).not.toContain('42');
  });
});

describe('health, info, metrics, cache', () => {
  it('maps /health, /info (both field sets), /metrics/snapshot and cache endpoints', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/health', { json: { status: 'healthy', agent: 'hopx-vm-agent', version: '3.2.8', uptime: '1m' } });
    h.wire.on('GET', '/info', {
      json: { vm_id: 'vm1', agent: 'HopX VM Agent (Go)', agent_version: '3.2.8', os: 'linux', arch: 'amd64', uptime: 61, features: { languages: ['python', 'go'] } },
    });
    h.wire.on('GET', '/metrics/snapshot', {
      json: {
        uptime_seconds: 60,
        total_requests: 10,
        error_count: 1,
        active_executions: 0,
        total_executions: 4,
        system: { cpu: { usage_percent: 5, cores: 2 }, memory: { total: 100, used: 40, usage_percent: 40 }, disk: { total: 1000, used: 10, usage_percent: 1 } },
        process: { count: 3, running: 1 },
      },
    });
    h.wire.on('GET', '/cache/stats', { json: { cache: { size: 2, max_size: 100, total_hits: 5, ttl: 60 }, timestamp: 't' } });
    h.wire.on('POST', '/cache/clear', { json: { message: 'cleared', entries_removed: 2 } });
    const a = agent();
    expect(await a.health()).toMatchObject({ healthy: true, status: 'healthy', version: '3.2.8' });
    expect(await a.info()).toMatchObject({ agent: 'HopX VM Agent (Go)', version: '3.2.8', vmId: 'vm1', os: 'linux', arch: 'amd64', uptimeSeconds: 61, languages: ['python', 'go'] });
    const metrics = await a.metrics();
    expect(metrics).toMatchObject({
      uptimeSeconds: 60,
      cpu: { usagePercent: 5, cores: 2 },
      memory: { totalBytes: 100, usedBytes: 40, usagePercent: 40 },
      disk: { totalBytes: 1000, usedBytes: 10, usagePercent: 1 },
      processes: { count: 3, running: 1 },
      totalExecutions: 4,
      activeExecutions: 0,
      totalRequests: 10,
      totalErrors: 1,
    });
    expect((await a.metrics()).totalRequests).toBe(10);
    expect(await a.cacheStats()).toMatchObject({ size: 2, hits: 5, misses: null });
    expect(await a.clearCache()).toEqual({ message: 'cleared', entriesRemoved: 2 });
  });

  it('accepts the other info shape and per-endpoint request maps', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/info', { json: { agent: 'a', version: '3.2.8', vm_id: 'v', platform: 'linux', start_time: 't' } });
    h.wire.on('GET', '/metrics/snapshot', { json: { requests_total: { '/execute': 3, '/files/read': 2 }, total_errors: 0 } });
    expect(await agent().info()).toMatchObject({ version: '3.2.8', os: 'linux', languages: [] });
    expect(await agent().metrics()).toMatchObject({ totalRequests: 5, totalErrors: 0, cpu: null });
  });
});

describe('previewUrl', () => {
  it('derives the URL from a HopX cloud public_host without any request', async () => {
    const host = 'https://7777-176329715051artmzu.eu-1001.vms.hopx.dev';
    primeAgent(h.wire, SANDBOX_ID, TOKEN_1, host);
    expect(await agent().previewUrl(8080)).toBe('https://8080-176329715051artmzu.eu-1001.vms.hopx.dev/');
    expect(h.wire.requests.filter((r) => r.path.includes('/ports/'))).toHaveLength(0);
  });

  it('asks the control plane (local-backend extension) for other hosts', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', `/v1/sandboxes/${SANDBOX_ID}/ports/3000`, { json: { url: 'http://127.0.0.1:45678/', port: 3000 } });
    expect(await agent().previewUrl(3000)).toBe('http://127.0.0.1:45678/');
    expect(h.wire.calls(`/v1/sandboxes/${SANDBOX_ID}/ports/3000`)[0].headers['x-api-key']).toBeDefined();
  });

  it('rejects an invalid port', async () => {
    await expect(agent().previewUrl(70000)).rejects.toThrow(/port must be a whole number greater than 0 and at most 65535/);
  });
});

describe('agent base URL', () => {
  it('uses direct_url (adding https://) when public_host is missing', async () => {
    h.wire.on('GET', `/v1/sandboxes/${SANDBOX_ID}`, {
      json: sandboxBody(SANDBOX_ID, '', { public_host: undefined, direct_url: '7777-abc.eu-1001.vms.hopx.dev' }),
    });
    const info = await h.client.sandboxes.get(SANDBOX_ID);
    expect(info.publicHost).toBe('https://7777-abc.eu-1001.vms.hopx.dev');
  });
});
