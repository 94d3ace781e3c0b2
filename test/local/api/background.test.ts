/**
 * Background jobs of the local agent: no default cap, how each one ended (`end_reason`), the
 * `?process_id=` filter, and whole output kept in the sandbox (`kept_outputs`), end to end.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { agent, bwrapMissingReason, requireRuntime, until, wireSandbox, type WireSandbox } from './helpers.js';

describe.skipIf(bwrapMissingReason !== null)('local backend agent: background jobs', () => {
  let t: TestBackend;
  let id: string;
  let w: WireSandbox;
  const a = () => t.client.agent(id);
  /** The wire form of one job, once `check` holds for it. */
  const job = (processId: string, check: (p: Record<string, any>) => boolean = () => true) =>
    until(async () => {
      const res = await agent(w, 'GET', `/execute/processes?process_id=${processId}`);
      const p = res.body.processes[0] as Record<string, any> | undefined;
      return p && check(p) ? p : null;
    });
  const ended = (p: Record<string, any>) => p.status !== 'running';

  beforeAll(async () => {
    t = await startTestBackend();
    id = (await t.client.sandboxes.create({ template: 'base' })).id;
    w = await wireSandbox(t, id);
  });
  afterAll(async () => {
    await t?.close();
  });

  test('a job given no timeout has none; one the client starts without a timeout asks for a year', async () => {
    const bare = await agent(w, 'POST', '/commands/background', { command: 'sleep 600' });
    expect(bare.body.timeout_seconds).toBeNull();
    const viaClient = await a().commands.runBackground({ command: 'sleep 600' });
    const p = await job(viaClient.processId);
    expect(p.timeout_seconds).toBe(365 * 86_400);
    // 0 means none too; past 400 days is refused, naming the field.
    expect((await agent(w, 'POST', '/execute/background', { code: 'sleep 600', language: 'bash', timeout: 0 })).body.timeout_seconds).toBeNull();
    const tooLong = await agent(w, 'POST', '/execute/background', { code: 'true', language: 'bash', timeout: 401 * 86_400 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.message).toContain('"timeout"');
    for (const processId of [bare.body.process_id, viaClient.processId]) await a().processes.kill(processId);
  });

  test('?process_id= answers with that job only; an unknown id with none', async () => {
    const one = await a().commands.runBackground({ command: 'echo one' });
    await a().commands.runBackground({ command: 'echo two' });
    const res = await agent(w, 'GET', `/execute/processes?process_id=${one.processId}`);
    expect(res.body.processes.map((p: { process_id: string }) => p.process_id)).toEqual([one.processId]);
    expect(res.body.count).toBe(1);
    expect((await agent(w, 'GET', '/execute/processes?process_id=proc_nope')).body.processes).toEqual([]);
    expect(await a().processes.get('proc_nope')).toBeNull();
    expect((await a().processes.get(one.processId))?.processId).toBe(one.processId);
  });

  test('each job says how it ended: exited, timeout, killed, a signal', async () => {
    const ok = await a().commands.runBackground({ command: 'echo fine' });
    const bad = await a().commands.runBackground({ command: 'exit 3' });
    const slow = await a().commands.runBackground({ command: 'echo started; sleep 600', timeoutSeconds: 1 });
    const victim = await a().commands.runBackground({ command: 'sleep 600' });
    const selfKilled = await a().commands.runBackground({ command: 'kill -KILL $$' });
    await job(victim.processId);
    await a().processes.kill(victim.processId);

    expect(await job(ok.processId, ended)).toMatchObject({ status: 'completed', exit_code: 0, end_reason: 'exited', timed_out: false });
    expect(await job(bad.processId, ended)).toMatchObject({ status: 'failed', exit_code: 3, end_reason: 'exited' });
    expect(await job(slow.processId, ended)).toMatchObject({ status: 'killed', end_reason: 'timeout', timed_out: true, timeout_seconds: 1, stdout: 'started\n' });
    expect(await job(victim.processId, ended)).toMatchObject({ status: 'killed', end_reason: 'killed' });
    const killedItself = await job(selfKilled.processId, ended);
    expect(killedItself).toMatchObject({ status: 'failed', exit_code: 137 });
    expect(['signal', 'exited']).toContain(killedItself.end_reason);
    // The client reads the extension.
    const read = await a().processes.get(slow.processId);
    expect(read).toMatchObject({ status: 'killed', endReason: 'timeout', timeoutSeconds: 1 });
  });

  test('jobs killed by the sandbox stopping say so after it starts again', async () => {
    const other = (await t.client.sandboxes.create({ template: 'base' })).id;
    try {
      const b = t.client.agent(other);
      const started = await b.commands.runBackground({ command: 'sleep 600' });
      await t.client.sandboxes.stop(other);
      await t.client.sandboxes.start(other);
      expect(await b.processes.get(started.processId)).toMatchObject({ status: 'killed', endReason: 'sandbox_stopped' });
    } finally {
      await t.client.sandboxes.kill(other);
    }
  });

  test('a job the memory limit kills says out of memory', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.limits !== 'prlimit', 'cgroup memory limits');
    requireRuntime(ctx, t.backend.probe.python, 'python3');
    const bomb = await a().code.runBackground({ code: 'chunks = []\nwhile True:\n    chunks.append(bytearray(8 * 2**20))', language: 'python' });
    const p = await job(bomb.processId, ended);
    expect(p).toMatchObject({ status: 'killed', end_reason: 'oom' });
  });

  test('output past 1 MiB is kept whole in the sandbox, named while the job runs and after', async () => {
    // 3 MiB of numbered lines, then a pause (so it is seen running), then one more line.
    const code = 'for i in $(seq 1 300000); do echo "line $i ......"; done; sleep 2; echo last';
    const started = await a().commands.runBackground({ command: code });
    const running = await job(started.processId, (p) => p.kept_outputs?.stdout !== undefined);
    expect(running.kept_outputs.stdout.path).toBe(`/tmp/hopx-outputs/${started.processId}.stdout.txt`);
    expect(running.stdout.length).toBeLessThan(1.1 * 2 ** 20);
    const done = await job(started.processId, ended);
    expect(done.status).toBe('completed');
    expect(done.stdout).toMatch(/line 1 \.+\n/);
    expect(done.stdout).toMatch(/last\n$/);
    expect(done.stdout).toContain(done.kept_outputs.stdout.path);
    const whole = await a().files.read(done.kept_outputs.stdout.path);
    expect(whole.length).toBe(done.kept_outputs.stdout.bytes);
    expect(done.kept_outputs.stdout.lines).toBe(300_001);
    expect(whole.split('\n')[299_999]).toBe('line 300000 ......');
    expect(whole.endsWith('line 300000 ......\nlast\n')).toBe(true);
  });
});
