/**
 * A 50 MB file through /files/upload and /files/download, with the backend in its own process
 * (`hopx-mcp local-backend`, from dist/: run `npm run build` first) so its memory can be measured
 * exactly: the kernel's peak-RSS mark (VmHWM) is reset before each transfer and read after it.
 * Buffering the file anywhere in the backend would raise the peak by at least the file's size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HopxClient } from '../../../src/client/index.js';
import { bwrapMissingReason } from './helpers.js';

const CLI = join(import.meta.dirname, '../../../dist/cli.js');
const FILE_MB = 50;

async function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
}

/** Peak RSS growth of `pid` (MB) while `run` executes. */
async function peakGrowthMb(pid: number, run: () => Promise<void>): Promise<number> {
  const before = await statusKb(pid, 'VmRSS');
  await writeFile(`/proc/${pid}/clear_refs`, '5'); // reset VmHWM to the current RSS
  await run();
  return ((await statusKb(pid, 'VmHWM')) - before) / 1024;
}

describe.skipIf(bwrapMissingReason !== null)('local backend: large files stream with bounded memory', () => {
  let dir: string;
  let stateDir: string;
  let child: ChildProcess;
  let client: HopxClient;
  let stderr = '';

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before this test`);
    dir = await mkdtemp(join(tmpdir(), 'hopx-large-'));
    stateDir = await mkdtemp(join(tmpdir(), 'hopx-large-state-'));
    const apiKey = `hopx_live_testtesttest.${randomBytes(16).toString('base64url')}`;
    child = spawn(process.execPath, [CLI, 'local-backend', '--port', '0', '--state-dir', stateDir], {
      env: { ...process.env, HOPX_LOCAL_API_KEY: apiKey, HOPX_MCP_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`local-backend exited ${code}: ${stderr}`)));
    });
    expect(stderr).toContain(`HOPX_API_KEY=${apiKey}`);
    client = new HopxClient({ apiKey, baseUrl: url });
  });

  afterAll(async () => {
    await client?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test(`a ${FILE_MB} MB file uploads and downloads intact; the backend's peak memory grows by less than the file size`, async () => {
    const local = join(dir, 'big.bin');
    const hash = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(local);
      out.on('error', reject);
      for (let i = 0; i < FILE_MB; i++) {
        const chunk = randomBytes(1024 * 1024);
        hash.update(chunk);
        out.write(chunk);
      }
      out.end(resolve);
    });
    const expected = hash.digest('hex');
    const id = (await client.sandboxes.create({ template: 'base' })).id;
    const a = client.agent(id);

    const upload = await peakGrowthMb(child.pid!, () => a.files.upload('/workspace/big.bin', { localPath: local }));
    expect((await a.commands.run({ command: 'sha256sum /workspace/big.bin | cut -c1-64' })).stdout.trim()).toBe(expected);

    const down = createHash('sha256');
    let size = 0;
    const download = await peakGrowthMb(child.pid!, async () => {
      for await (const chunk of await a.files.download('/workspace/big.bin')) {
        down.update(chunk);
        size += chunk.length;
      }
    });
    expect(size).toBe(FILE_MB * 1024 * 1024);
    expect(down.digest('hex')).toBe(expected);
    console.info(`[large files] backend peak RSS growth: upload ${upload.toFixed(1)} MB, download ${download.toFixed(1)} MB`);
    // Holding the file in memory needs at least FILE_MB more. Node's HTTP stack alone peaks about
    // 30 MB above baseline while receiving 50 MB (measured with a bare server that drains the
    // request), so the bound is the file size itself, not something tighter.
    expect(upload).toBeLessThan(FILE_MB);
    expect(download).toBeLessThan(FILE_MB);
  });

  test('SIGTERM shuts the standalone backend down and removes its sandboxes', async () => {
    const id = (await client.sandboxes.create({ template: 'base' })).id;
    await client.agent(id).commands.runBackground({ command: 'sleep 300' });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('received SIGTERM');
    expect(existsSync(join(stateDir, 'sandboxes', id))).toBe(false);
  });
});
