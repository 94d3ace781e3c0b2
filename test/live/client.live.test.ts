/**
 * Opt-in live suite: a few real calls against HopX (or any HopX-compatible backend given by
 * HOPX_BASE_URL). Runs only when HOPX_API_KEY is set, or with HOPX_LIVE_LOCAL=1, which starts
 * this project's local backend in-process and runs the same calls against it; otherwise it is
 * skipped and says why. It creates one sandbox and always kills it.
 *
 *   HOPX_API_KEY=hopx_live_... npm run test:live
 *   HOPX_LIVE_LOCAL=1 npm run test:live
 *   HOPX_LIVE_TEMPLATE=code-interpreter (default)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileNotFoundError, HopxClient, type SandboxInfo } from '../../src/client/index.js';

const cloudKey = process.env.HOPX_API_KEY;
const useLocal = !cloudKey && process.env.HOPX_LIVE_LOCAL === '1';
const template = process.env.HOPX_LIVE_TEMPLATE ?? 'code-interpreter';

if (!cloudKey && !useLocal) {
  console.warn(
    'client live suite skipped: HOPX_API_KEY is not set (set it, and optionally HOPX_BASE_URL, to run real HopX calls; ' +
      'or set HOPX_LIVE_LOCAL=1 to run them against the local backend)',
  );
}

describe.skipIf(!cloudKey && !useLocal)('HopX client, live', () => {
  let client: HopxClient;
  let sandbox: SandboxInfo | undefined;
  let closeLocal: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (useLocal) {
      const { startLocalBackend } = await import('../../src/local/index.js');
      const local = await startLocalBackend();
      closeLocal = () => local.close();
      client = new HopxClient({ apiKey: local.apiKey, baseUrl: local.url });
    } else {
      client = new HopxClient({ apiKey: cloudKey });
    }
    sandbox = await client.sandboxes.create({ template, timeoutSeconds: 600 });
    console.warn(`live sandbox ${sandbox.id} (${sandbox.publicHost})`);
  }, 300_000);

  afterAll(async () => {
    try {
      if (sandbox) console.warn(`killing live sandbox ${sandbox.id}: ${await client.sandboxes.kill(sandbox.id)}`);
    } finally {
      await client.close();
      await closeLocal?.();
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

  it('sets, reads and deletes env vars', async () => {
    const env = client.agent(sandbox!.id).env;
    await env.merge({ LIVE_A: '1', LIVE_B: '2' });
    expect(await env.getAll()).toMatchObject({ LIVE_A: '1', LIVE_B: '2' });
    await env.delete('LIVE_A');
    const after = await env.getAll();
    expect(after.LIVE_A).toBeUndefined();
    expect(after.LIVE_B).toBe('2');
  });

  it('uploads a stream and downloads the same bytes', async () => {
    const files = client.agent(sandbox!.id).files;
    const payload = Buffer.alloc(256 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    async function* source() {
      yield payload.subarray(0, 1000);
      yield payload.subarray(1000);
    }
    await files.upload('/workspace/live.bin', { stream: source(), filename: 'live.bin', size: payload.length });
    const chunks: Buffer[] = [];
    for await (const chunk of await files.download('/workspace/live.bin')) chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
  });

  it('streams execution events until complete', async () => {
    const types: string[] = [];
    let stdout = '';
    for await (const event of client.agent(sandbox!.id).code.stream({ code: 'print("a"); print("b")' })) {
      types.push(event.type);
      if (event.type === 'stdout') stdout += event.data;
    }
    expect(stdout).toContain('a\nb\n');
    expect(types.at(-1)).toBe('complete');
  });

  it('gives a preview URL for a port', async () => {
    const url = await client.agent(sandbox!.id).previewUrl(8080);
    expect(url).toMatch(/^https?:\/\//);
  });
});
