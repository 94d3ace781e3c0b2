/**
 * Opt-in live suite: a few real calls against HopX (or any HopX-compatible backend given by
 * HOPX_BASE_URL, such as this project's local backend). Runs only when HOPX_API_KEY is set;
 * otherwise it is skipped and says why. It creates one sandbox and always kills it.
 *
 *   HOPX_API_KEY=hopx_live_... npm run test:live
 *   HOPX_LIVE_TEMPLATE=code-interpreter (default)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileNotFoundError, HopxClient, type SandboxInfo } from '../../src/client/index.js';

const apiKey = process.env.HOPX_API_KEY;
const template = process.env.HOPX_LIVE_TEMPLATE ?? 'code-interpreter';

if (!apiKey) {
  console.warn('client live suite skipped: HOPX_API_KEY is not set (set it, and optionally HOPX_BASE_URL, to run real HopX calls)');
}

describe.skipIf(!apiKey)('HopX client, live', () => {
  let client: HopxClient;
  let sandbox: SandboxInfo | undefined;

  beforeAll(async () => {
    client = new HopxClient({ apiKey });
    sandbox = await client.sandboxes.create({ template, timeoutSeconds: 600 });
    console.warn(`live sandbox ${sandbox.id} (${sandbox.publicHost})`);
  }, 300_000);

  afterAll(async () => {
    try {
      if (sandbox) console.warn(`killing live sandbox ${sandbox.id}: ${await client.sandboxes.kill(sandbox.id)}`);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('gets the sandbox back and sees it running', async () => {
    const info = await client.sandboxes.get(sandbox!.id);
    expect(info.id).toBe(sandbox!.id);
    expect(info.status).toBe('running');
  });

  it('runs code', async () => {
    const result = await client.agent(sandbox!.id).code.run({ code: 'print(6 * 7)' });
    expect(result.stdout.trim()).toBe('42');
    expect(result.exitCode).toBe(0);
  });

  it('runs a command', async () => {
    const result = await client.agent(sandbox!.id).commands.run({ command: 'echo hi && exit 3' });
    expect(result.stdout.trim()).toBe('hi');
    expect(result.exitCode).toBe(3);
  });

  it('writes, reads, lists and removes a file', async () => {
    const files = client.agent(sandbox!.id).files;
    await files.write('/workspace/live.txt', 'live test\n');
    expect(await files.read('/workspace/live.txt')).toBe('live test\n');
    expect((await files.list('/workspace')).map((f) => f.name)).toContain('live.txt');
    await files.remove('/workspace/live.txt');
    expect(await files.exists('/workspace/live.txt')).toBe(false);
    await expect(files.read('/workspace/live.txt')).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('starts a background process and kills it', async () => {
    const agent = client.agent(sandbox!.id);
    const handle = await agent.commands.runBackground({ command: 'sleep 300', name: 'live-sleep' });
    const listed = await agent.processes.list();
    expect(listed.map((p) => p.processId)).toContain(handle.processId);
    const killed = await agent.processes.kill(handle.processId);
    expect(killed.processId).toBe(handle.processId);
  });
});
