/** Code, commands, background jobs, streams, env and the Go build cache, end to end. */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { agent, bwrapMissingReason, requireRuntime, expectHopxError, until, wireSandbox, type WireSandbox } from './helpers.js';

describe.skipIf(bwrapMissingReason !== null)('local backend agent: execution', () => {
  let t: TestBackend;
  let id: string;
  let w: WireSandbox;
  const a = () => t.client.agent(id);

  beforeAll(async () => {
    t = await startTestBackend();
    const template = t.backend.probe.python?.matplotlib ? 'code-interpreter' : 'base';
    id = (await t.client.sandboxes.create({ template, envVars: { FROM_CREATE: 'create', SHARED: 'create' } })).id;
    w = await wireSandbox(t, id);
  });
  afterAll(async () => {
    await t?.close();
  });

  test('python keeps state across calls and returns the last expression', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.python, 'python3');
    await a().code.run({ code: 'x = 20\nimport os' });
    const r = await a().code.run({ code: 'print(os.getcwd())\nx * 2 + 2' });
    expect(r.success).toBe(true);
    expect(r.stdout.trim()).toBe('/workspace');
    expect(r.result).toBe('42');
    const err = await a().code.run({ code: '1/0' });
    expect(err.success).toBe(false);
    expect(err.stderr).toContain('ZeroDivisionError');
    expect((await a().code.run({ code: 'x' })).result).toBe('20');
    // A kernel that exits says so once, and the next run starts a fresh one.
    const died = await a().code.run({ code: 'import os\nos._exit(3)' });
    expect(died.success).toBe(false);
    expect(died.stderr.match(/variables from earlier/g)).toHaveLength(1);
    expect((await a().code.run({ code: '"x" in globals()' })).result).toBe('False');
  });

  test('a matplotlib chart comes back as a PNG rich output', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.python?.matplotlib, 'python3 with matplotlib');
    const r = await a().code.run({
      code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title("t")\nplt.show()',
    });
    expect(r.success).toBe(true);
    // The client gets the figure as one bundle, unsplit.
    expect(r.outputs).toHaveLength(1);
    const png = r.outputs[0].data['image/png'];
    expect(Buffer.from(png, 'base64').subarray(1, 4).toString()).toBe('PNG');
  });

  test('serves the HopX wire form of rich outputs beside the bundles (png, html, result, rich_outputs)', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.python?.pandas, 'python3 with pandas');
    const r = await agent(w, 'POST', '/execute', { code: 'import pandas as pd\ndisplay(pd.DataFrame({"a": [1]}))\n6 * 7', language: 'python' });
    const body = r.body as Record<string, any>;
    expect(body.html).toMatch(/<table/);
    expect(body.result).toBe('42');
    expect(body.rich_outputs).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'text/html', format: 'text' }), { type: 'text/plain', format: 'text', data: '42' }]));
    expect(body.mime_bundles).toEqual([
      { kind: 'display', data: { 'text/html': expect.stringMatching(/<table/), 'text/plain': expect.stringMatching(/a\n0\s+1/) } },
      { kind: 'result', data: { 'text/plain': '42' } },
    ]);
  });

  test('each installed language runs, with aliases', async () => {
    const js = await agent(w, 'POST', '/execute', { code: 'console.log(6 * 7)', language: 'nodejs' });
    if (t.backend.probe.node) expect(js.body).toMatchObject({ success: true, stdout: '42\n', exit_code: 0 });
    else expect(js.status).toBe(400);
    const sh = await a().code.run({ code: 'echo "$((6*7))" && exit 3', language: 'bash' });
    expect(sh).toMatchObject({ stdout: '42\n', exitCode: 3, success: false });
    const shell = await agent(w, 'POST', '/execute', { code: 'pwd', language: 'shell', working_dir: '/tmp' });
    expect(shell.body.stdout).toBe('/tmp\n');
    const bad = await agent(w, 'POST', '/execute', { code: 'x', language: 'cobol' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/language/);
    const missing = await agent(w, 'POST', '/execute', { language: 'bash' });
    expect(missing.status).toBe(400);
    expectHopxError(missing.body, 'MISSING_PARAMETER');
  });

  test('go runs, and the second run of the same source is a cache hit', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.go, 'go');
    await a().clearCache();
    const code = 'package main\nimport "fmt"\nfunc main() { fmt.Println("go", 6*7) }\n';
    const first = await a().code.run({ code, language: 'go' });
    expect(first).toMatchObject({ success: true, stdout: 'go 42\n' });
    const second = await a().code.run({ code, language: 'go' });
    expect(second.stdout).toBe('go 42\n');
    const stats = await a().cacheStats();
    expect(stats).toMatchObject({ size: 1, hits: 1, misses: 1 });
    const broken = await a().code.run({ code: 'package main\nfunc main() { undefined() }', language: 'go' });
    expect(broken.success).toBe(false);
    expect(broken.stderr).toContain('undefined');
    expect((await a().clearCache()).entriesRemoved).toBe(1);
  });

  test('timeouts answer 408 EXECUTION_TIMEOUT with the output so far; the kernel keeps its state', async () => {
    const cmd = await agent(w, 'POST', '/commands/run', { command: 'bash', args: ['-c', 'echo before; sleep 30'], timeout: 1 });
    expect(cmd.status).toBe(408);
    expectHopxError(cmd.body, 'EXECUTION_TIMEOUT');
    expect(cmd.body.stdout).toBe('before\n');
    if (t.backend.probe.python) {
      await a().code.run({ code: 'kept = "yes"' });
      const py = await agent(w, 'POST', '/execute', { code: 'import time\nprint("start", flush=True)\ntime.sleep(30)', timeout: 1 });
      expect(py.status).toBe(408);
      expect(py.body.stdout).toContain('start');
      await expect(a().code.run({ code: 'import time; time.sleep(30)', timeoutSeconds: 1 })).rejects.toMatchObject({ code: 'EXECUTION_TIMEOUT' });
      expect((await a().code.run({ code: 'kept' })).result).toBe("'yes'");
    }
  });

  test('a command whose caller disconnects is killed', async () => {
    const controller = new AbortController();
    const pending = fetch(`${w.public_host}/commands/run`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${w.auth_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: 'echo $$ > /tmp/abandoned.pid; exec sleep 30', timeout: 60 }),
      signal: controller.signal,
    }).catch(() => null);
    await until(() => a().files.exists('/tmp/abandoned.pid'));
    controller.abort();
    await pending;
    await until(async () => (await a().commands.run({ command: 'kill -0 $(cat /tmp/abandoned.pid) 2>/dev/null || echo gone' })).stdout === 'gone\n');
  });

  test('commands: shell string, argv form, workdir, env precedence create < /env < request', async () => {
    const plain = await agent(w, 'POST', '/commands/run', { command: 'echo $FROM_CREATE-$SHARED | tr a-z A-Z', working_dir: '/tmp' });
    expect(plain.body).toMatchObject({ success: true, stdout: 'CREATE-CREATE\n', exit_code: 0 });
    const argv = await agent(w, 'POST', '/commands/run', { command: 'printf', args: ['%s|%s', 'a b', 'c'] });
    expect(argv.body.stdout).toBe('a b|c');
    await a().env.merge({ SHARED: 'env', API_TOKEN: 's3cret' });
    const viaClient = await a().commands.run({ command: 'echo $FROM_CREATE $SHARED $API_TOKEN $REQ', env: { REQ: 'req' } });
    expect(viaClient.stdout).toBe('create env s3cret req\n');
    const override = await a().commands.run({ command: 'echo $SHARED', env: { SHARED: 'request' } });
    expect(override.stdout).toBe('request\n');
    const failing = await a().commands.run({ command: 'echo oops >&2; exit 7' });
    expect(failing).toMatchObject({ success: false, exitCode: 7, stderr: 'oops\n' });
  });

  test('env: GET masks secret-looking names unless reveal=true; writes of the mask keep the value; 204s', async () => {
    await a().env.replace({ PLAIN: 'v', DB_PASSWORD: 'pw' });
    const masked = await agent(w, 'GET', '/env');
    expect(masked.body.env_vars).toEqual({ PLAIN: 'v', DB_PASSWORD: '***MASKED***' });
    expect((await agent(w, 'GET', '/env?reveal=true')).body.env_vars.DB_PASSWORD).toBe('pw');
    const put = await agent(w, 'PUT', '/env', { env_vars: { DB_PASSWORD: '***MASKED***', NEW: 'n' } });
    expect(put.status).toBe(204);
    expect((await a().commands.run({ command: 'echo $DB_PASSWORD $PLAIN $NEW' })).stdout).toBe('pw n\n');
    expect((await agent(w, 'DELETE', '/env/NEW')).status).toBe(204);
    expect((await agent(w, 'GET', '/env')).body.env_vars).toEqual({ DB_PASSWORD: '***MASKED***' });
    await a().env.clear();
    expect((await agent(w, 'GET', '/env')).body.count).toBe(0);
  });

  test('background jobs: listed with output, killed by every kill form, 404 for unknown ids', async () => {
    const started: Array<{ processId: string }> = [];
    for (let i = 0; i < 4; i++) started.push(await a().commands.runBackground({ command: `echo job${i}; sleep 60`, name: `j${i}` }));
    const code = await agent(w, 'POST', '/execute/background', { code: 'echo bg-code; sleep 60', language: 'bash', name: 'c' });
    expect(code.body.process_id).toMatch(/^proc_/);
    await until(async () => (await a().processes.list()).filter((p) => p.stdout?.startsWith('job')).length === 4);
    const listed = await agent(w, 'GET', '/execute/processes');
    const p0 = listed.body.processes.find((p: { process_id: string }) => p.process_id === started[0].processId);
    expect(p0).toMatchObject({ status: 'running', name: 'j0', start_time: expect.any(String), started_at: expect.any(String) });

    const [j0, j1, j2, j3] = started.map((s) => s.processId);
    expect((await agent(w, 'DELETE', `/execute/kill?process_id=${j0}`)).body.status).toBe('killed');
    expect((await agent(w, 'DELETE', '/execute/kill', { process_id: j1 })).body.status).toBe('killed');
    expect((await agent(w, 'POST', `/execute/kill/${j2}`)).body.status).toBe('killed');
    expect((await agent(w, 'POST', `/processes/${j3}/kill`)).body.status).toBe('killed');
    expect((await a().processes.kill(code.body.process_id)).status).toBe('killed');
    const after = await a().processes.list();
    for (const id of [j0, j1, j2, j3]) expect(after.find((p) => p.processId === id)?.status).toBe('killed');
    const unknown = await agent(w, 'POST', '/execute/kill/proc_nope');
    expect(unknown.status).toBe(404);
    expectHopxError(unknown.body, 'PROCESS_NOT_FOUND');
    const ps = await a().processes.listSystem();
    expect(ps.some((p) => p.command?.includes('sleep 60'))).toBe(false);
  });

  test('a NUL byte in anything that reaches a process is a 400 naming the field', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['/commands/run', { command: 'echo a\u0000b' }, 'command'],
      ['/commands/run', { command: 'echo', args: ['a\u0000b'] }, 'args'],
      ['/commands/run', { command: 'pwd', workdir: '/tmp/\u0000' }, 'workdir'],
      ['/execute', { code: 'echo a\u0000b', language: 'bash' }, 'code'],
      ['/execute', { code: 'print(1)', language: 'python', env: { A: 'x\u0000y' } }, 'env.A'],
      ['/execute/background', { code: 'echo', language: 'bash', env: { A: 'x\u0000y' } }, 'env.A'],
    ];
    for (const [path, body, field] of cases) {
      const res = await agent(w, 'POST', path, body);
      expect(res.status, path).toBe(400);
      expectHopxError(res.body, 'INVALID_REQUEST');
      expect(res.body.message).toContain(`"${field}"`);
    }
    expect((await agent(w, 'PUT', '/env', { env_vars: { A: 'x\u0000y' } })).status).toBe(400);
    expect((await a().commands.run({ command: 'echo still-fine' })).stdout).toBe('still-fine\n');
  });

  test('a request that reaches the runtime after a pause is a 409 SANDBOX_PAUSED, not a 500', async () => {
    const url = new URL('/commands/run', w.public_host);
    const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { Authorization: `Bearer ${w.auth_token}`, 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      // The gate lets the request in on its headers; the body arrives after the pause.
      req.write('{"command": ');
      void (async () => {
        await new Promise((r) => setTimeout(r, 100));
        await t.client.sandboxes.pause(id);
        req.end('"echo late"}');
      })().catch(reject);
    });
    try {
      const res = await answer;
      expect(res.status).toBe(409);
      expectHopxError(res.body, 'SANDBOX_PAUSED');
    } finally {
      await t.client.sandboxes.resume(id);
    }
  });

  test('a sandbox runs at most 64 background jobs at once; the next is refused with 429', async () => {
    const other = await t.client.sandboxes.create({ template: 'base' });
    try {
      const wo = await wireSandbox(t, other.id);
      for (let i = 0; i < 64; i++) {
        const started = await agent(wo, 'POST', '/commands/background', { command: 'sleep 60' });
        expect(started.status).toBe(200);
      }
      const refused = await agent(wo, 'POST', '/execute/background', { code: 'sleep 60', language: 'bash' });
      expect(refused.status).toBe(429);
      expectHopxError(refused.body, 'RESOURCE_LIMIT_ERROR');
      expect(refused.body.details).toMatchObject({ limit: 64, current: 64 });
    } finally {
      await t.client.sandboxes.kill(other.id);
    }
  });

  test('/execute/stream sends stdout chunks, result and complete', async () => {
    const events = [];
    for await (const e of a().code.stream({ code: 'for i in 1 2 3; do echo line$i; done; echo err >&2', language: 'bash' })) events.push(e);
    const stdout = events.filter((e) => e.type === 'stdout').map((e) => (e as { data: string }).data).join('');
    expect(stdout).toBe('line1\nline2\nline3\n');
    expect(events.some((e) => e.type === 'stderr')).toBe(true);
    expect(events.at(-2)).toMatchObject({ type: 'result', exitCode: 0 });
    expect(events.at(-1)).toEqual({ type: 'complete', success: true });
  });

  test('a streaming client that does not read gets a drop note instead of growing the backend', async () => {
    const ws = new WebSocket(`${w.public_host.replace('http', 'ws')}/execute/stream`, { headers: { Authorization: `Bearer ${w.auth_token}` } });
    let stdoutChars = 0;
    let stderr = '';
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.type === 'stdout') stdoutChars += msg.data.length;
        if (msg.type === 'stderr') stderr += msg.data;
        if (msg.type === 'complete') resolve();
      }),
    );
    await new Promise((r) => ws.once('open', r));
    ws.pause(); // stop reading: the backend's send buffer fills
    ws.send(JSON.stringify({ code: 'rm -f /tmp/flood-done; head -c 64000000 /dev/zero | tr "\\0" x; touch /tmp/flood-done', language: 'bash' }));
    await until(async () => (await a().commands.run({ command: 'test -e /tmp/flood-done && echo yes || true' })).stdout.trim() === 'yes');
    ws.resume();
    await done;
    expect(stderr).toMatch(/\d+ characters of output dropped: the client read too slowly/);
    expect(stdoutChars).toBeLessThan(64_000_000);
    ws.close();
  });

  test('the older /stream socket takes {code, language}; python streams from the kernel', async () => {
    const ws = new WebSocket(`${w.public_host.replace('http', 'ws')}/stream`, { headers: { Authorization: `Bearer ${w.auth_token}` } });
    const messages: Array<Record<string, unknown>> = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        messages.push(msg);
        if (msg.type === 'complete') resolve();
      }),
    );
    await new Promise((r) => ws.once('open', r));
    ws.send('');
    ws.send('not json');
    ws.send(JSON.stringify({ code: 'echo old-stream', language: 'sh' }));
    await done;
    expect(messages.filter((m) => m.type === 'stdout').map((m) => m.data).join('')).toBe('old-stream\n');
    ws.close();
    if (t.backend.probe.python) {
      const events = [];
      for await (const e of a().code.stream({ code: 'print("py-1")\nraise ValueError("boom")' })) events.push(e);
      expect(events.filter((e) => e.type === 'stdout').map((e) => (e as { data: string }).data).join('')).toBe('py-1\n');
      expect(events.filter((e) => e.type === 'stderr').map((e) => (e as { data: string }).data).join('')).toContain('ValueError: boom');
      expect(events.at(-1)).toEqual({ type: 'complete', success: false });
    }
  });

  test('open endpoints: /, /ping, /system; legacy /metrics', async () => {
    expect((await agent(w, 'GET', '/', undefined, null)).body.endpoints.execute).toBe('POST /execute');
    expect((await agent(w, 'GET', '/ping', undefined, null)).body.message).toBe('pong');
    const system = await agent(w, 'GET', '/system', undefined, null);
    expect(system.body.cpu.cores).toBeGreaterThan(0);
    expect(system.body.memory.total).toBeGreaterThan(0);
    const legacy = await agent(w, 'GET', '/metrics');
    expect(legacy.body.total_requests).toBeGreaterThan(0);
    const unknown = await agent(w, 'GET', '/no/such/endpoint');
    expect(unknown.status).toBe(404);
    expect((await agent(w, 'PUT', '/execute', {})).status).toBe(405);
  });

  test('/terminal runs an interactive shell', async () => {
    const ws = new WebSocket(`${w.public_host.replace('http', 'ws')}/terminal`, { headers: { Authorization: `Bearer ${w.auth_token}` } });
    let output = '';
    const exit = new Promise<number>((resolve) =>
      ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.type === 'output') output += msg.data;
        if (msg.type === 'exit') resolve(msg.code);
      }),
    );
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
    ws.send(JSON.stringify({ type: 'input', data: 'echo $((40+2)); tput cols\nexit 5\n' }));
    expect(await exit).toBe(5);
    expect(output).toContain('42');
    expect(output).toContain('100');
    ws.close();
  });

  test('metrics, info, processes, jupyter sessions, prometheus', async () => {
    const m = await a().metrics();
    expect(m.totalRequests).toBeGreaterThan(5);
    expect(m.totalExecutions).toBeGreaterThan(0);
    const snap = await agent(w, 'GET', '/metrics/snapshot');
    expect(snap.body.requests_total['POST /execute']).toBeGreaterThan(0);
    expect(snap.body.system.memory.total).toBeGreaterThan(0);
    const prom = await agent(w, 'GET', '/metrics/prometheus');
    expect(prom.body).toContain('hopx_agent_requests_total{endpoint="/execute",method="POST",status="200"}');
    const info = await a().info();
    expect(info.vmId).toBe(id);
    if (t.backend.probe.python) {
      const sessions = await agent(w, 'GET', '/jupyter/sessions');
      expect(sessions.body.sessions[0]).toMatchObject({ execution_state: 'idle' });
      // Busy while any cell is queued or running, not only until the first one returns.
      // The second cell holds the kernel until the test has looked (a file it waits for).
      const quick = a().code.run({ code: '1' });
      const slow = a().code.run({ code: 'import os, time\nwhile not os.path.exists("/tmp/release"): time.sleep(0.01)' });
      await quick;
      expect((await agent(w, 'GET', '/jupyter/sessions')).body.sessions[0]).toMatchObject({ execution_state: 'busy' });
      await a().files.write('/tmp/release', '');
      await slow;
      expect((await agent(w, 'GET', '/jupyter/sessions')).body.sessions[0]).toMatchObject({ execution_state: 'idle' });
    }
    // A JSON body over the 64 MiB limit is refused from its Content-Length, before it is read.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${w.public_host}/execute`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${w.auth_token}`, 'Content-Type': 'application/json', 'Content-Length': 65 * 1024 * 1024 },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"code":"');
    });
    expect(status).toBe(413);
  });
});
