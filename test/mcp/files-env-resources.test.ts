/**
 * Files, env, preview and metrics tools, and every resource (templates, lists, completion),
 * through a real MCP client against real local sandboxes. (The cache tools are tested with Go
 * runs in code.test.ts.)
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
let sandboxId: string;

beforeAll(async () => {
  backend = await startTestBackend();
  s = await connect(makeConversation(backend.client), { outputBudgetChars: 4000 });
  sandboxId = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id;
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describe('file tools', () => {
  it('writes, reads, lists, checks and removes files; binary through base64', async () => {
    const w = await callOk(s.client, 'sandbox_write_file', { path: '/workspace/dir/hello.txt', content: 'héllo\nworld\n' });
    expect(w.structuredContent).toMatchObject({ path: '/workspace/dir/hello.txt', bytes_written: 13, resource_uri: `hopx://sandboxes/${sandboxId}/files/workspace/dir/hello.txt` });
    const r = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/dir/hello.txt' });
    expect(r.structuredContent).toMatchObject({ content: 'héllo\nworld\n', size_bytes: 13, truncated: false, encoding: 'text' });

    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/dir/pixel.png', content: PNG_1PX, encoding: 'base64' });
    const bin = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/dir/pixel.png', encoding: 'base64' });
    expect(bin.structuredContent.content).toBe(PNG_1PX);
    const embedded = (bin.content as { type: string; resource?: { blob?: string; mimeType?: string } }[]).find((c) => c.type === 'resource');
    expect(embedded?.resource).toMatchObject({ blob: PNG_1PX, mimeType: 'image/png' });
    // Read without an encoding, an image is shown (image content), not refused as binary.
    const seen = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/dir/pixel.png' });
    expect(seen.content).toContainEqual({ type: 'image', data: PNG_1PX, mimeType: 'image/png' });
    expect(textOf(seen)).toBe(`/workspace/dir/pixel.png (${Buffer.from(PNG_1PX, 'base64').length} B, image/png) in sandbox ${sandboxId}, shown as image content.`);
    expect(seen.structuredContent).toMatchObject({ encoding: 'base64', content: null, truncated: false, mime_type: 'image/png' });
    // A file named like an image that is not one is not passed off as one.
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/dir/fake.png', content: 'not a png' });
    const fake = await call(s.client, 'sandbox_read_file', { path: '/workspace/dir/fake.png' });
    expect(fake.isError).toBe(true);
    expect(textOf(fake)).toMatch(/named like image\/png but is not one; read it with "encoding": "base64"/);
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/dir/blob.bin', content: Buffer.from([0, 1, 2, 255, 254]).toString('base64'), encoding: 'base64' });
    const asText = await call(s.client, 'sandbox_read_file', { path: '/workspace/dir/blob.bin' });
    expect(asText.isError).toBe(true);
    expect(textOf(asText)).toMatch(/binary file.*"encoding": "base64"/);
    for (const extra of ['fake.png', 'blob.bin']) await callOk(s.client, 'sandbox_remove_file', { path: `/workspace/dir/${extra}` });

    const ls = await callOk(s.client, 'sandbox_list_files', { path: '/workspace/dir' });
    expect(ls.structuredContent.entries.map((e: { name: string }) => e.name).sort()).toEqual(['hello.txt', 'pixel.png']);
    expect(textOf(ls)).toContain('hello.txt');

    expect((await callOk(s.client, 'sandbox_file_exists', { path: '/workspace/dir/hello.txt' })).structuredContent.exists).toBe(true);
    expect((await callOk(s.client, 'sandbox_remove_file', { path: '/workspace/dir/hello.txt' })).structuredContent.removed).toBe(true);
    expect((await callOk(s.client, 'sandbox_file_exists', { path: '/workspace/dir/hello.txt' })).structuredContent.exists).toBe(false);
    expect((await callOk(s.client, 'sandbox_remove_file', { path: '/workspace/dir/hello.txt' })).structuredContent.removed).toBe(false);
  });

  it('lists a big directory within the output budget, saying how many entries were left out', async () => {
    await callOk(s.client, 'sandbox_run_command', { command: 'mkdir -p /workspace/many && cd /workspace/many && for i in $(seq 1 200); do : > "file-$i.txt"; done' });
    const r = await callOk(s.client, 'sandbox_list_files', { path: '/workspace/many' });
    expect(r.structuredContent).toMatchObject({ total: 200, truncated: true });
    expect(r.structuredContent.entries.length).toBeGreaterThan(5);
    expect(JSON.stringify(r.structuredContent).length).toBeLessThan(2100);
    expect(textOf(r)).toContain(`(${200 - r.structuredContent.entries.length} more entries not shown)`);
  });

  it('removes a directory with its contents', async () => {
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/tree/a/b.txt', content: 'b' });
    expect((await callOk(s.client, 'sandbox_remove_file', { path: '/workspace/tree' })).structuredContent.removed).toBe(true);
    expect((await callOk(s.client, 'sandbox_file_exists', { path: '/workspace/tree' })).structuredContent.exists).toBe(false);
  });

  it('refuses to replace a file when overwrite is false, naming the field that allows it', async () => {
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/keep.txt', content: 'first' });
    const r = await call(s.client, 'sandbox_write_file', { path: '/workspace/keep.txt', content: 'second', overwrite: false });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/\/workspace\/keep\.txt already exists.*Pass "overwrite": true/);
    expect((await callOk(s.client, 'sandbox_read_file', { path: '/workspace/keep.txt' })).structuredContent.content).toBe('first');
  });

  it('rejects invalid base64 naming the field', async () => {
    const r = await call(s.client, 'sandbox_write_file', { path: '/workspace/x.bin', content: 'not base64!!', encoding: 'base64' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/"content" is not valid base64/);
  });

  it('removing a sandbox root folder is refused with advice that fits', async () => {
    const r = await call(s.client, 'sandbox_remove_file', { path: '/workspace' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^The sandbox does not allow access to \/workspace\. That is a sandbox root folder: act on paths inside it instead\./);
  });

  it('a directory given to a file tool is named as one', async () => {
    await callOk(s.client, 'sandbox_make_dir', { path: '/workspace/a-dir' });
    for (const [tool, args] of [['sandbox_read_file', {}], ['sandbox_write_file', { content: 'x' }]] as const) {
      const r = await call(s.client, tool, { path: '/workspace/a-dir', ...args });
      expect(r.isError).toBe(true);
      expect(textOf(r), tool).toMatch(/^\/workspace\/a-dir is a directory, not a file\. List it with sandbox_list_files, or use a file path inside it\./);
    }
  });

  it('a missing file names the path and the next step', async () => {
    const r = await call(s.client, 'sandbox_read_file', { path: '/workspace/nope.txt' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/\/workspace\/nope\.txt/);
    expect(textOf(r)).toMatch(/sandbox_list_files/);
  });

  it('cuts a large file and serves the whole through the file resource', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => `row ${i}`).join('\n');
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/big.txt', content: big });
    const r = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/big.txt' });
    expect(r.structuredContent.truncated).toBe(true);
    expect(r.structuredContent.content.length).toBeLessThanOrEqual(2000);
    expect(r.structuredContent.content).toMatch(/^row 0\n/);
    expect(r.structuredContent.content).toMatch(/row 2999$/);
    // Cut at line ends: only whole rows beside the marker.
    const rows = new Set(big.split('\n'));
    const kept = (r.structuredContent.content as string).split('\n').filter((l) => !l.includes('… ['));
    for (const line of kept) expect(rows.has(line), line).toBe(true);
    const whole = await s.client.readResource({ uri: r.structuredContent.resource_uri });
    expect((whole.contents[0] as { text: string }).text).toBe(big);
  });
});

describe('large files', () => {
  it('reads the head and tail of a 30 MB file without loading it whole, and refuses it as a resource', async () => {
    await callOk(s.client, 'sandbox_run_command', { command: '{ echo FIRST-LINE; head -c 30000000 /dev/zero | tr "\\0" x; echo; echo LAST-LINE; } > /workspace/huge.txt' });
    const r = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/huge.txt' });
    expect(r.structuredContent).toMatchObject({ truncated: true, size_bytes: 30_000_022 });
    expect(r.structuredContent.content.length).toBeLessThanOrEqual(2000);
    expect(r.structuredContent.content).toMatch(/^FIRST-LINE\nxxx/);
    expect(r.structuredContent.content).toMatch(/xxx\nLAST-LINE\n$/);
    expect(r.structuredContent.content).toMatch(/\[\d+ bytes \(\d+ lines\) of file cut after line \d+; whole file: hopx:\/\/sandboxes\/.+\/files\/workspace\/huge\.txt\]/);
    const b64 = await callOk(s.client, 'sandbox_read_file', { path: '/workspace/huge.txt', encoding: 'base64' });
    expect(b64.structuredContent).toMatchObject({ content: null, truncated: true });
    await expect(s.client.readResource({ uri: r.structuredContent.resource_uri })).rejects.toThrow(/larger than the 20 MiB resource limit/);
    await callOk(s.client, 'sandbox_remove_file', { path: '/workspace/huge.txt' });
  });
});

describe('env tools', () => {
  it('sets (merge and replace), masks secrets unless asked, and deletes', async () => {
    await callOk(s.client, 'sandbox_set_env', { variables: { APP_MODE: 'test', DB_PASSWORD: 'hunter2' } });
    const set = await callOk(s.client, 'sandbox_set_env', { variables: { EXTRA: '1' }, mode: 'merge' });
    expect(JSON.stringify(set)).not.toContain('hunter2');
    const got = await callOk(s.client, 'sandbox_get_env', {});
    expect(got.structuredContent.variables).toMatchObject({ APP_MODE: 'test', EXTRA: '1' });
    expect(got.structuredContent.variables.DB_PASSWORD).not.toContain('hunter2');
    expect(got.structuredContent.masked).toContain('DB_PASSWORD');
    expect(JSON.stringify(got)).not.toContain('hunter2');
    const revealed = await callOk(s.client, 'sandbox_get_env', { reveal_secrets: true });
    expect(revealed.structuredContent.variables.DB_PASSWORD).toBe('hunter2');

    const run = await callOk(s.client, 'sandbox_run_command', { command: 'echo "$APP_MODE-$EXTRA"' });
    expect(run.structuredContent.stdout).toBe('test-1\n');

    expect(textOf(await callOk(s.client, 'sandbox_delete_env', { name: 'EXTRA' }))).toBe(`EXTRA is no longer set in the environment of sandbox ${sandboxId}.`);
    expect((await callOk(s.client, 'sandbox_get_env', {})).structuredContent.variables.EXTRA).toBeUndefined();

    // Long values share the output budget (4000 here) in the text and in structuredContent alike.
    await callOk(s.client, 'sandbox_set_env', { variables: { BIG_A: `A${'a'.repeat(50_000)}Z`, BIG_B: 'b'.repeat(50_000) } });
    const big = await callOk(s.client, 'sandbox_get_env', {});
    expect(JSON.stringify(big.structuredContent).length).toBeLessThan(4000);
    expect(big.structuredContent.variables.BIG_A).toMatch(/^Aaaa[\s\S]*bytes \(0 lines\) of BIG_A cut[\s\S]*aaaZ$/);
    expect(big.structuredContent.variables.APP_MODE).toBe('test');

    await callOk(s.client, 'sandbox_set_env', { variables: { ONLY: 'me' }, mode: 'replace' });
    const after = await callOk(s.client, 'sandbox_get_env', {});
    expect(after.structuredContent.variables.ONLY).toBe('me');
    expect(after.structuredContent.variables.APP_MODE).toBeUndefined();
  });
});

describe('preview, metrics, agent info', () => {
  it('gives a preview URL that reaches a server in the sandbox, whatever address it binds', async () => {
    const early = await callOk(s.client, 'sandbox_get_preview_url', { port: 8765 });
    expect(early.structuredContent.listening).toBe('not_listening');
    expect(textOf(early)).toMatch(/Nothing listens on that port yet: start the server \(in the background\) first\./);
    // The local backend forwards to 127.0.0.1 inside the sandbox, so a loopback-only server is
    // reachable too, and the tool must not warn that it is not (HopX cloud would).
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/site/index.html', content: 'hello from the sandbox' });
    await callOk(s.client, 'sandbox_run_command', { command: 'cd /workspace/site && python3 -m http.server 8766 --bind 127.0.0.1', background: true });
    await callOk(s.client, 'sandbox_run_command', { command: 'cd /workspace/site && python3 -m http.server 8765 --bind 0.0.0.0', background: true });
    for (const [port, listening] of [
      [8766, 'localhost_only'],
      [8765, 'all_interfaces'],
    ] as const) {
      let r = await callOk(s.client, 'sandbox_get_preview_url', { port });
      for (let i = 0; i < 50 && r.structuredContent.listening !== listening; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await callOk(s.client, 'sandbox_get_preview_url', { port });
      }
      expect(r.structuredContent).toMatchObject({ sandbox_id: sandboxId, port, listening });
      expect(textOf(r)).not.toMatch(/Warning/);
      let body = '';
      for (let i = 0; i < 50 && !body.includes('hello from the sandbox'); i++) {
        body = await get(`${r.structuredContent.url.replace(/\/$/, '')}/index.html`).catch(() => '');
        if (!body.includes('hello')) await new Promise((res) => setTimeout(res, 100));
      }
      expect(body, `port ${port}`).toContain('hello from the sandbox');
    }
  });

  it('says what the URL is, not what the configuration assumes: a cloud-mode conversation over a local backend', async () => {
    // HOPX_API_KEY pointing at a local backend: the URL is a loopback forward, so a loopback-only
    // server is reachable and the URL is not public; the text says so.
    const cloud = await connect(makeConversation(backend.client, { backend: 'cloud' }));
    try {
      await callOk(cloud.client, 'sandbox_connect', { sandbox_id: sandboxId });
      const r = await callOk(cloud.client, 'sandbox_get_preview_url', { port: 8766 });
      expect(r.structuredContent.listening).toBe('localhost_only');
      expect(textOf(r)).toMatch(/\(reachable from this machine only\)\.$/);
    } finally {
      await cloud.close();
    }
  });

  it('reports system metrics, agent metrics and agent info without tokens', async () => {
    const m = await callOk(s.client, 'sandbox_get_metrics', {});
    expect(m.structuredContent.sandbox_id).toBe(sandboxId);
    expect(m.structuredContent.memory).not.toBeNull();
    expect(textOf(m)).toMatch(/^System metrics of sandbox \S+: CPU [\d.]+% of \d+ cores?, memory [\d.]+% \([\d.]+ [KMG]?B of [\d.]+ [KMG]?B\), disk [\d.]+% \([\d.]+ [KMG]?B of [\d.]+ [KMG]?B\), \d+ process(es)?/);
    const am = await callOk(s.client, 'sandbox_get_agent_metrics', {});
    // Earlier tests in this file made many agent requests; the counter must show them.
    expect(am.structuredContent.total_requests).toBeGreaterThan(10);
    expect(textOf(am)).toContain(`requests ${am.structuredContent.total_requests}`);
    const info = await callOk(s.client, 'sandbox_get_agent_info', {});
    expect(info.structuredContent.languages).toEqual(expect.arrayContaining(['python', 'bash']));
    expect(textOf(info)).toMatch(/^Agent of sandbox \S+: \S+ \S+, linux\/\w+, up \d+ s, languages: python, [a-z, ]+\.$/);
    expect(JSON.stringify(info)).not.toMatch(/eyJ[A-Za-z0-9_-]+\./);
  });

});

describe('resources', () => {
  it('lists this conversation\'s sandboxes and their metrics, and reads them', async () => {
    const list = await s.client.listResources();
    const uris = list.resources.map((r) => r.uri);
    expect(uris).toEqual(expect.arrayContaining([`hopx://sandboxes/${sandboxId}`, `hopx://sandboxes/${sandboxId}/metrics`]));
    const info = JSON.parse(((await s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}` })).contents[0] as { text: string }).text);
    expect(info).toMatchObject({ sandbox_id: sandboxId, status: 'running' });
    const metrics = JSON.parse(((await s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/metrics` })).contents[0] as { text: string }).text);
    expect(metrics.sandbox_id).toBe(sandboxId);
    const templates = JSON.parse(((await s.client.readResource({ uri: 'hopx://templates' })).contents[0] as { text: string }).text);
    expect(templates.map((t: { name: string }) => t.name)).toContain('code-interpreter');
    const tpl = await s.client.listResourceTemplates();
    expect(tpl.resourceTemplates.map((t) => t.uriTemplate)).toEqual(
      expect.arrayContaining(['hopx://sandboxes/{sandbox_id}/files/{+path}', 'hopx://sandboxes/{sandbox_id}/outputs/{output_id}']),
    );
  });

  it('serves files as text or blob with a MIME type', async () => {
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/res/data.csv', content: 'a,b\n1,2\n' });
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/res/pixel.png', content: PNG_1PX, encoding: 'base64' });
    const csv = (await s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/files/workspace/res/data.csv` })).contents[0] as { text: string; mimeType: string };
    expect(csv).toMatchObject({ text: 'a,b\n1,2\n', mimeType: 'text/csv' });
    const png = (await s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/files/workspace/res/pixel.png` })).contents[0] as { blob: string; mimeType: string };
    expect(png).toMatchObject({ blob: PNG_1PX, mimeType: 'image/png' });
  });

  it('refuses a sandbox of another conversation and a missing file, saying what to do', async () => {
    const other = await connect(makeConversation(backend.client));
    try {
      const otherId = (await callOk(other.client, 'sandbox_create', {})).structuredContent.sandbox_id as string;
      await expect(s.client.readResource({ uri: `hopx://sandboxes/${otherId}/files/workspace/x` })).rejects.toThrow(/not attached to this conversation.*sandbox_connect/);
      expect((await s.client.listResources()).resources.map((r) => r.uri).join(' ')).not.toContain(otherId);
    } finally {
      await other.close();
    }
    // The protocol's "resource not found" (-32602 with data.uri, per the 2026-07-28 spec), not an
    // internal error (-32603), with the message kept.
    const notFound = (message: RegExp) => expect.objectContaining({ code: -32602, message: expect.stringMatching(message) });
    await expect(s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/files/workspace/missing.txt` })).rejects.toEqual(notFound(/missing\.txt.*sandbox_list_files/));
    await expect(s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/outputs/out-000000000000` })).rejects.toEqual(notFound(/\/tmp\/hopx-outputs\/out-000000000000/));
    await expect(s.client.readResource({ uri: `hopx://sandboxes/${sandboxId}/outputs/..%2Fetc` })).rejects.toThrow(/not an output id/);
    await expect(s.client.readResource({ uri: 'hopx://sandboxes/sbx-nobody/metrics' })).rejects.toEqual(notFound(/not attached to this conversation/));
  });

  it('completes sandbox ids and file paths', async () => {
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/complete/alpha.txt', content: 'a' });
    await callOk(s.client, 'sandbox_make_dir', { path: '/workspace/complete/beta' });
    const ids = await s.client.complete({
      ref: { type: 'ref/resource', uri: 'hopx://sandboxes/{sandbox_id}/files/{+path}' },
      argument: { name: 'sandbox_id', value: sandboxId.slice(0, 3) },
    });
    expect(ids.completion.values).toContain(sandboxId);
    const paths = await s.client.complete({
      ref: { type: 'ref/resource', uri: 'hopx://sandboxes/{sandbox_id}/files/{+path}' },
      argument: { name: 'path', value: 'workspace/complete/' },
      context: { arguments: { sandbox_id: sandboxId } },
    });
    expect(paths.completion.values.sort()).toEqual(['workspace/complete/alpha.txt', 'workspace/complete/beta/']);
    const prefixed = await s.client.complete({
      ref: { type: 'ref/resource', uri: 'hopx://sandboxes/{sandbox_id}/files/{+path}' },
      argument: { name: 'path', value: 'workspace/complete/al' },
      context: { arguments: { sandbox_id: sandboxId } },
    });
    expect(prefixed.completion.values).toEqual(['workspace/complete/alpha.txt']);
  });
});

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}
