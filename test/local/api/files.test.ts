/** /files/* end to end: text and binary, errors, multipart, watch, previews, cleanup on close. */
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { agent, bwrapMissingReason, requireRuntime, expectHopxError, until, wireSandbox, type WireSandbox } from './helpers.js';

describe.skipIf(bwrapMissingReason !== null)('local backend agent: files and previews', () => {
  let t: TestBackend;
  let id: string;
  let w: WireSandbox;
  const a = () => t.client.agent(id);

  beforeAll(async () => {
    t = await startTestBackend();
    id = (await t.client.sandboxes.create({ template: 'base' })).id;
    w = await wireSandbox(t, id);
  });
  afterAll(async () => {
    await t?.close();
  });

  test('text and binary files round-trip; the sandbox sees them and can change them', async () => {
    await a().files.write('/workspace/dir/a.txt', 'héllo\n');
    expect(await a().files.read('/workspace/dir/a.txt')).toBe('héllo\n');
    const bytes = randomBytes(4096);
    await a().files.writeBytes('/workspace/bin.dat', bytes);
    expect(Buffer.compare(await a().files.readBytes('/workspace/bin.dat'), bytes)).toBe(0);
    const inside = await a().commands.run({ command: 'sha256sum /workspace/bin.dat | cut -c1-64; echo more >> /workspace/dir/a.txt && id -u' });
    expect(inside.stdout.split('\n')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(inside.exitCode).toBe(0);
    expect(await a().files.read('/workspace/dir/a.txt')).toBe('héllo\nmore\n');
    const raw = await agent(w, 'GET', '/files/read?path=/workspace/bin.dat&encoding=base64');
    expect(Buffer.from(raw.body.content, 'base64').equals(bytes)).toBe(true);
  });

  test('list (both FileInfo spellings), exists, mkdir, remove', async () => {
    await a().files.mkdir('/workspace/m/n');
    await a().files.write('/workspace/m/f.txt', 'x');
    const listing = await agent(w, 'GET', '/files/list?path=/workspace/m');
    expect(listing.body.count).toBe(2);
    const n = listing.body.files.find((f: { name: string }) => f.name === 'n');
    expect(n).toMatchObject({ path: '/workspace/m/n', is_directory: true, is_dir: true });
    const f = listing.body.files.find((x: { name: string }) => x.name === 'f.txt');
    expect(f).toMatchObject({ size: 1, is_directory: false, is_dir: false, permissions: '-rw-r--r--' });
    expect(f.modified_time).toBe(f.modified);
    expect((await a().files.list('/workspace/m')).map((e) => e.name)).toEqual(['f.txt', 'n']);
    expect(await a().files.exists('/workspace/m/f.txt')).toBe(true);
    await a().files.remove('/workspace/m');
    expect(await a().files.exists('/workspace/m')).toBe(false);
  });

  test('errors: 403 PATH_NOT_ALLOWED, 404 FILE_NOT_FOUND / DIRECTORY_NOT_FOUND with path, 409 on overwrite:false', async () => {
    const denied = await agent(w, 'GET', '/files/read?path=/etc/shadow');
    expect(denied.status).toBe(403);
    expectHopxError(denied.body, 'PATH_NOT_ALLOWED');
    const escape = await agent(w, 'POST', '/files/write', { path: '/workspace/../../etc/x', content: 'x' });
    expect([400, 403]).toContain(escape.status);
    const missing = await agent(w, 'GET', '/files/read?path=/workspace/nope.txt');
    expect(missing.status).toBe(404);
    expectHopxError(missing.body, 'FILE_NOT_FOUND');
    expect(missing.body.path).toBe('/workspace/nope.txt');
    const noDir = await agent(w, 'GET', '/files/list?path=/workspace/nodir');
    expect(noDir.status).toBe(404);
    expectHopxError(noDir.body, 'DIRECTORY_NOT_FOUND');
    await a().files.write('/workspace/once.txt', '1');
    const again = await agent(w, 'POST', '/files/write', { path: '/workspace/once.txt', content: '2', overwrite: false });
    expect(again.status).toBe(409);
    expect((await agent(w, 'POST', '/files/write', { content: 'x' })).body.error).toMatch(/"path"/);
    await expect(a().files.read('/workspace/nope.txt')).rejects.toMatchObject({ name: 'FileNotFoundError' });
  });

  test('multipart upload with the path part after the file part, and ?path=', async () => {
    const form = new FormData();
    form.append('file', new Blob(['first']), 'x.txt');
    form.append('path', '/workspace/up/after.txt');
    const res = await fetch(`${w.public_host}/files/upload`, { method: 'POST', headers: { Authorization: `Bearer ${w.auth_token}` }, body: form });
    expect(res.status).toBe(200);
    expect(await a().files.read('/workspace/up/after.txt')).toBe('first');
    const form2 = new FormData();
    form2.append('file', new Blob(['\r\n--not-a-boundary\r\n']), 'y.txt');
    const res2 = await fetch(`${w.public_host}/files/upload`, { method: 'POST', headers: { Authorization: `Bearer ${w.auth_token}` }, body: form2 });
    expect(((await res2.json()) as { path: string }).path).toBe('/workspace/y.txt');
    expect(await a().files.read('/workspace/y.txt')).toBe('\r\n--not-a-boundary\r\n');
  });

  test('/files/watch reports changes with sandbox paths', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const e of a().files.watch('/workspace', { signal: controller.signal })) {
        seen.push(`${e.event}:${e.path}`);
      }
    })().catch(() => undefined);
    await until(async () => {
      await a().files.write('/workspace/watched.txt', String(Date.now()));
      return seen.some((s) => s.endsWith(':/workspace/watched.txt'));
    }, 200);
    controller.abort();
    await watching;
  });

  test('a preview URL reaches python3 -m http.server in the sandbox', async (ctx) => {
    requireRuntime(ctx, t.backend.probe.python, 'python3');
    await a().files.write('/workspace/site/index.html', '<h1>from the sandbox</h1>');
    await a().commands.runBackground({ command: 'cd /workspace/site && exec python3 -m http.server 8000 --bind 127.0.0.1' });
    const url = await a().previewUrl(8000);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const body = await until(async () => {
      const res = await fetch(url).catch(() => null);
      return res?.ok ? res.text() : null;
    }, 200);
    expect(body).toContain('from the sandbox');
  });

  test('close() leaves no sandbox processes or sandbox directories', async () => {
    const extra = await startTestBackend();
    const s = await extra.client.sandboxes.create({ template: 'base' });
    await extra.client.agent(s.id).commands.runBackground({ command: 'sleep 300' });
    const sandboxesDir = join(extra.stateDir, 'sandboxes');
    expect(await readdir(sandboxesDir)).toContain(s.id);
    await extra.backend.close();
    const left = await readdir(sandboxesDir).catch(() => [] as string[]);
    expect(left).toEqual([]);
    const procs = await readdir('/proc');
    const { readFile } = await import('node:fs/promises');
    const holders: string[] = [];
    for (const pid of procs.filter((p) => /^\d+$/.test(p))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(extra.stateDir)) holders.push(`${pid}: ${cmdline.replace(/\0/g, ' ')}`);
    }
    expect(holders).toEqual([]);
    await extra.close();
  });
});
