/**
 * Code, commands and processes through a real MCP client against real local sandboxes:
 * stateful Python, other languages, matplotlib charts as image content, DataFrames as text
 * tables, the output budget and the full output read back as a resource.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

let backend: TestBackend;
let s: Connected;
let sandboxId: string;

beforeAll(async () => {
  backend = await startTestBackend();
  // A small budget so truncation is cheap to provoke: 4000 chars → 2000 per copy.
  s = await connect(makeConversation(backend.client), { outputBudgetChars: 4000, imageBudgetChars: 400_000 });
  sandboxId = (await callOk(s.client, 'sandbox_create', {})).structuredContent.sandbox_id;
});
afterAll(async () => {
  await s?.close();
  await backend?.close();
});

async function waitFor<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('renderRichOutputs', () => {
  it('inlines images within the budget, keeps the rest in the sandbox, summarizes text kinds', async () => {
    const { renderRichOutputs } = await import('../../src/tools/rich.js');
    const ctx = { sandboxId, agent: backend.client.agent(sandboxId), call: {}, logger: s.conversation.logger } as unknown as import('../../src/tools/tool.js').SandboxToolContext;
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const wrapped = png.replace(/(.{20})/g, '$1\n');
    const r = await renderRichOutputs(
      ctx,
      [
        { kind: 'display', data: { 'image/png': wrapped, 'text/plain': '<Figure>' } }, // one representation shown: the image
        { kind: 'display', data: { 'image/png': png } },
        { kind: 'display', data: { 'application/json': '{"a":[1,2]}', 'text/plain': "{'a': [1, 2]}" } },
        { kind: 'display', data: { 'image/svg+xml': '<svg/>' } },
        { kind: 'display', data: { 'application/x-custom': 'AAAA' } },
        { kind: 'result', data: { 'text/plain': '42' } }, // the run's `result`: not repeated here
      ],
      png.length + 10,
    );
    expect(r.content[0]).toEqual({ type: 'image', data: png, mimeType: 'image/png' });
    expect(r.summaries.map((x) => [x.mime_type, x.inline])).toEqual([
      ['image/png', true],
      ['image/png', false],
      ['application/json', true],
      ['image/svg+xml', false],
      ['application/x-custom', false],
    ]);
    expect(r.summaries[2].summary).toContain('"a"');
    const links = r.content.filter((c) => c.type === 'resource_link') as { uri: string }[];
    expect(links).toHaveLength(3);
    expect(links.every((l) => l.uri.startsWith(`hopx://sandboxes/${sandboxId}/outputs/out-`))).toBe(true);
    // The image kept aside is the image's bytes, in a file named for its type.
    const image = r.summaries[1];
    expect(image.full_path).toMatch(/^\/tmp\/hopx-outputs\/out-[0-9a-f]+\.image\.png$/);
    const read = await s.client.readResource({ uri: image.resource_uri! });
    expect(read.contents[0]).toMatchObject({ mimeType: 'image/png', blob: png });
  });
});

describe('sandbox_run_code', () => {
  it('runs python, keeps state between runs, and reports the last expression', async () => {
    await callOk(s.client, 'sandbox_run_code', { code: 'x = 20' });
    const r = await callOk(s.client, 'sandbox_run_code', { code: 'print("x is", x)\nx + 22' });
    expect(r.structuredContent).toMatchObject({ sandbox_id: sandboxId, success: true, exit_code: 0, stdout: 'x is 20\n', result: '42', truncated: false });
    expect(textOf(r)).toContain('--- stdout ---\nx is 20');
    // The last expression is shown once, as the result, not again as a text/plain rich output.
    expect(textOf(r).match(/^42$/gm)).toHaveLength(1);
    expect(r.structuredContent.rich_outputs).toEqual([]);
  });

  it('reports a python error with its traceback and success false', async () => {
    const r = await callOk(s.client, 'sandbox_run_code', { code: '1/0' });
    expect(r.structuredContent.success).toBe(false);
    expect(r.structuredContent.stderr + r.structuredContent.stdout).toMatch(/ZeroDivisionError/);
  });

  it.each([
    ['javascript', 'console.log([1,2,3].map(x => x * 2).join(","))', '2,4,6\n'],
    ['bash', 'echo "$((6 * 7))"', '42\n'],
    ['go', 'package main\nimport "fmt"\nfunc main() { fmt.Println("go", 7*6) }', 'go 42\n'],
  ])('runs %s', async (language, code, stdout) => {
    const r = await callOk(s.client, 'sandbox_run_code', { code, language, timeout_seconds: 120 });
    expect(r.structuredContent).toMatchObject({ success: true, stdout });
  });

  it('caches Go builds: the stats count a hit, and clearing empties the cache', async () => {
    const go = `package main\nimport "fmt"\n// ${Date.now()}\nfunc main() { fmt.Println("cached") }`;
    for (let i = 0; i < 2; i++) {
      expect((await callOk(s.client, 'sandbox_run_code', { code: go, language: 'go', timeout_seconds: 120 })).structuredContent.stdout).toBe('cached\n');
    }
    const stats = await callOk(s.client, 'sandbox_cache_stats', {});
    expect(stats.structuredContent.sandbox_id).toBe(sandboxId);
    expect(stats.structuredContent.size).toBeGreaterThanOrEqual(1);
    expect(stats.structuredContent.hits).toBeGreaterThanOrEqual(1);
    const cleared = await callOk(s.client, 'sandbox_cache_clear', {});
    expect(cleared.structuredContent.entries_removed).toBeGreaterThanOrEqual(1);
    expect((await callOk(s.client, 'sandbox_cache_stats', {})).structuredContent.size).toBe(0);
  });

  it('returns a matplotlib chart as MCP image content', async () => {
    const code = [
      'import matplotlib.pyplot as plt',
      'plt.figure(figsize=(3, 2))',
      'plt.plot([1, 2, 3], [3, 1, 2])',
      'plt.title("chart")',
      'plt.show()',
    ].join('\n');
    const r = await callOk(s.client, 'sandbox_run_code', { code, timeout_seconds: 120 });
    const images = (r.content as { type: string; data?: string; mimeType?: string }[]).filter((c) => c.type === 'image');
    expect(images).toHaveLength(1);
    expect(images[0].mimeType).toBe('image/png');
    expect(Buffer.from(images[0].data!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(r.structuredContent.rich_outputs).toEqual([expect.objectContaining({ mime_type: 'image/png', inline: true, resource_uri: null })]);
    // The base64 never lands in the text block.
    expect(textOf(r).length).toBeLessThan(2000);
  });

  it('puts an image over the image budget behind a resource link, readable in full', async () => {
    const tight = await connect(s.conversation, { imageBudgetChars: 100 });
    try {
      const r = await callOk(tight.client, 'sandbox_run_code', { code: 'import matplotlib.pyplot as plt\nplt.plot([1,2])\nplt.show()', timeout_seconds: 120 });
      expect((r.content as { type: string }[]).some((c) => c.type === 'image')).toBe(false);
      const link = (r.content as { type: string; uri?: string }[]).find((c) => c.type === 'resource_link');
      expect(link?.uri).toMatch(new RegExp(`^hopx://sandboxes/${sandboxId}/outputs/out-`));
      const read = await tight.client.readResource({ uri: link!.uri! });
      const content = read.contents[0] as { blob?: string; mimeType?: string };
      expect(content.mimeType).toBe('image/png');
      expect(Buffer.from(content.blob!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await tight.client.close();
    }
  });

  it('renders a displayed pandas DataFrame as a text table', async () => {
    const r = await callOk(s.client, 'sandbox_run_code', {
      code: 'import pandas as pd\ndisplay(pd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3, 19]}))',
      timeout_seconds: 120,
    });
    const html = r.structuredContent.rich_outputs.find((o: { mime_type: string }) => o.mime_type === 'text/html');
    expect(html, JSON.stringify(r.structuredContent)).toBeDefined();
    expect(html.summary).toMatch(/city\ttemp/);
    expect(html.summary).toMatch(/Oslo\t3/);
    expect(html.summary).not.toMatch(/<td>/);
  });

  it('shows a DataFrame that is the last expression once (as the result), not again as HTML', async () => {
    const r = await callOk(s.client, 'sandbox_run_code', { code: 'import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "temp": [3, 19]})' });
    expect(r.structuredContent.result).toMatch(/city\s+temp\n0\s+Oslo\s+3/);
    expect(textOf(r).match(/Oslo/g)).toHaveLength(1);
    const html = r.structuredContent.rich_outputs.find((o: { mime_type: string }) => o.mime_type === 'text/html');
    expect(html).toMatchObject({ summary: 'HTML rendering of the result above', inline: false });
    const whole = await s.client.readResource({ uri: html.resource_uri });
    expect((whole.contents[0] as { text: string }).text).toMatch(/<td>Oslo<\/td>/);
    expect(r.content.filter((c) => c.type === 'resource_link')).toHaveLength(0);
  });

  it('cuts long output to the budget, keeping head and tail, and serves the whole as a resource', async () => {
    const r = await callOk(s.client, 'sandbox_run_code', { code: 'for i in range(5000): print(f"line {i:05d}")' });
    const sc = r.structuredContent;
    expect(sc.truncated).toBe(true);
    expect(sc.stdout.length).toBeLessThanOrEqual(2000);
    expect(sc.stdout).toMatch(/^line 00000\n/);
    expect(sc.stdout).toMatch(/line 04999\n$/);
    // The marker names the whole, kept in the sandbox's own filesystem.
    expect(sc.stdout_full_path).toMatch(/^\/tmp\/hopx-outputs\/out-[0-9a-f]+\.stdout\.txt$/);
    expect(sc.stdout).toContain(`of stdout cut after line `);
    expect(sc.stdout).toContain(`; whole stdout: ${sc.stdout_full_path} (read it in pages with sandbox_read_file start_line)] …`);
    // The whole result (text + structured) stays within the budget plus framing.
    expect(JSON.stringify(r).length).toBeLessThan(4000 + 2500);
    const whole = Array.from({ length: 5000 }, (_, i) => `line ${String(i).padStart(5, '0')}\n`).join('');
    const onDisk = await callOk(s.client, 'sandbox_run_command', { command: `sha256sum < ${sc.stdout_full_path}` });
    const { createHash } = await import('node:crypto');
    expect(onDisk.structuredContent.stdout.split(' ')[0]).toBe(createHash('sha256').update(whole).digest('hex'));
    // For clients that read resources: the output resource serves the same file, and lists it.
    const link = r.content.find((c) => c.type === 'resource_link') as { uri: string };
    expect(link.uri).toBe(`hopx://sandboxes/${sandboxId}/outputs/${sc.stdout_full_path.split('/').pop()}`);
    const full = await s.client.readResource({ uri: link.uri });
    expect((full.contents[0] as { text: string }).text).toBe(whole);
    const listed = await s.client.listResources();
    expect(listed.resources.map((x) => x.uri)).toContain(link.uri);
  });

  it('keeps rich outputs and long output together within the budget', async () => {
    const r = await callOk(s.client, 'sandbox_run_code', {
      code: 'import pandas as pd\npd.set_option("display.max_rows", 500)\nfor i in range(6): display(pd.DataFrame({"n": range(i, i + 300)}))\nprint("y" * 10000)',
      timeout_seconds: 120,
    });
    const sc = r.structuredContent;
    expect(sc.rich_outputs.filter((o: { mime_type: string }) => o.mime_type === 'text/html')).toHaveLength(6);
    expect(sc.truncated).toBe(true);
    // Six 300-row tables and 10 000 characters of stdout: the budget, plus framing and a resource
    // link per table (~300 characters each). Before the summaries shared the budget: 37 500.
    expect(JSON.stringify(r).length).toBeLessThan(4000 + 2500 + 6 * 300);
  });

  it('times out with a message that offers the background route', async () => {
    const r = await call(s.client, 'sandbox_run_code', { code: 'sleep 30', language: 'bash', timeout_seconds: 1 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/timed out inside the sandbox after 1 s\. Raise timeout_seconds, or run it in the background \(sandbox_run_code_background/);
  });
});

describe('background runs and processes', () => {
  it('starts code in the background, shows its output, and kills it', async () => {
    const started = await callOk(s.client, 'sandbox_run_code_background', {
      code: 'import time\nprint("started", flush=True)\ntime.sleep(60)',
      name: 'sleeper',
    });
    const pid = started.structuredContent.process_id as string;
    expect(pid).toBeTruthy();
    const seen = await waitFor(
      () => callOk(s.client, 'sandbox_list_processes', { process_id: pid }),
      (r) => (r.structuredContent.processes[0]?.stdout ?? '').includes('started'),
      'background output',
    );
    expect(seen.structuredContent.processes[0]).toMatchObject({ process_id: pid, name: 'sleeper', status: 'running' });

    const killed = await callOk(s.client, 'sandbox_kill_process', { process_id: pid });
    expect(killed.structuredContent.process_id).toBe(pid);
    await waitFor(
      () => callOk(s.client, 'sandbox_list_processes', { process_id: pid }),
      (r) => r.structuredContent.processes[0]?.status !== 'running',
      'process to stop',
    );
    const unknown = await call(s.client, 'sandbox_list_processes', { process_id: 'no-such-process' });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/No background process "no-such-process"/);
  });

  it('lists OS processes', async () => {
    const r = await callOk(s.client, 'sandbox_list_processes', { kind: 'system' });
    expect(r.structuredContent.system_processes.length).toBeGreaterThan(0);
    expect(textOf(r)).toMatch(new RegExp(`^${r.structuredContent.system_processes.length} OS process(es)? in sandbox \\S+:\\n\\d+\\t`));
    expect(r.structuredContent.processes).toEqual([]);
  });
});

describe('sandbox_run_command', () => {
  it('runs a command with env and working dir, and reports a failing exit code', async () => {
    await callOk(s.client, 'sandbox_make_dir', { path: '/workspace/cmd' });
    const r = await callOk(s.client, 'sandbox_run_command', { command: 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3', env: { GREETING: 'hi' }, working_dir: '/workspace/cmd' });
    expect(r.structuredContent).toMatchObject({ background: false, exit_code: 3, success: false, stdout: 'hi from /workspace/cmd\n', stderr: 'oops\n' });
    // No blank line from the streams' final newlines between the sections.
    expect(textOf(r)).toMatch(/^Exit 3 in <?[\d.]+ s, sandbox \S+\.\n--- stdout ---\nhi from \/workspace\/cmd\n--- stderr ---\noops$/);
  });

  it('runs a command in the background and its output shows in the process list', async () => {
    const r = await callOk(s.client, 'sandbox_run_command', { command: 'echo bg-done', background: true });
    const pid = r.structuredContent.process_id as string;
    expect(r.structuredContent.background).toBe(true);
    const done = await waitFor(
      () => callOk(s.client, 'sandbox_list_processes', { process_id: pid }),
      (x) => x.structuredContent.processes[0]?.status !== 'running' && (x.structuredContent.processes[0]?.stdout ?? '').includes('bg-done'),
      'background command',
    );
    expect(done.structuredContent.processes[0].exit_code).toBe(0);
    expect(textOf(done)).toBe(`Background processes in sandbox ${sandboxId}:\n${pid}: completed, exit 0\n--- stdout ---\nbg-done`);
  });
});

describe('whole outputs', () => {
  it('keeps a 1 MB output whole in the sandbox and pages it back exactly through sandbox_read_file', async () => {
    // A budget large enough that a page holds thousands of lines (the default one would too, in more pages).
    const big = await connect(makeConversation(backend.client), { outputBudgetChars: 400_000 });
    try {
      await callOk(big.client, 'sandbox_create', {});
      const rows = 40_000;
      const expected = Array.from({ length: rows }, (_, i) => `row ${String(i + 1).padStart(7, '0')} of the big output\n`).join('');
      expect(expected.length).toBeGreaterThan(1024 * 1024);
      const r = await callOk(big.client, 'sandbox_run_command', { command: `seq -f "row %07g of the big output" 1 ${rows}` });
      const sc = r.structuredContent;
      expect(sc.truncated).toBe(true);
      expect(sc.stdout.length).toBeLessThanOrEqual(200_000);
      // Over the agent's own limit: the sandbox's agent kept it (no copy went through the server).
      expect(sc.stdout_full_path).toMatch(/^\/tmp\/hopx-outputs\/exec_[0-9a-f]+\.stdout\.txt$/);
      const marker = /\n… \[(\d+) bytes \((\d+) lines\) of stdout cut after line (\d+); whole stdout: (\S+) /.exec(sc.stdout);
      expect(marker).not.toBeNull();
      const afterLine = Number(marker![3]);
      expect(marker![4]).toBe(sc.stdout_full_path);
      // The counts are the whole's: bytes and lines of the output minus what the result shows.
      const [head, tail] = sc.stdout.split(/\n… \[.*\] …\n/);
      expect(Number(marker![1])).toBe(Buffer.byteLength(expected) - Buffer.byteLength(head) - Buffer.byteLength(tail));
      expect(expected.startsWith(`${head}\n`)).toBe(true);
      expect(expected.endsWith(tail)).toBe(true);

      let collected = '';
      let pages = 0;
      for (let start: number | null = 1; start !== null; pages++) {
        const page = await callOk(big.client, 'sandbox_read_file', { path: sc.stdout_full_path, start_line: start, line_count: 10_000 });
        expect(page.structuredContent.start_line).toBe(start);
        collected += page.structuredContent.content;
        start = page.structuredContent.next_start_line;
      }
      expect(collected).toBe(expected);
      expect(pages).toBeGreaterThan(4); // each page stopped at the budget or the line count
      // Reading on from the marker's line continues right after the shown head.
      const next = await callOk(big.client, 'sandbox_read_file', { path: sc.stdout_full_path, start_line: afterLine + 1, line_count: 1 });
      expect(next.structuredContent.content).toBe(`row ${String(afterLine + 1).padStart(7, '0')} of the big output\n`);
      expect(textOf(next)).toContain(`lines ${afterLine + 1}–${afterLine + 1}; next page: start_line ${afterLine + 2}`);
      // Past the end: no lines, said plainly.
      const past = await callOk(big.client, 'sandbox_read_file', { path: sc.stdout_full_path, start_line: rows + 1 });
      expect(past.structuredContent).toMatchObject({ content: '', start_line: null, next_start_line: null });
      expect(textOf(past)).toContain(`no line ${rows + 1}: the file has fewer lines`);
    } finally {
      await big.close();
    }
  });

  it('a writer faster than the kept file opens loses nothing: 50 MB from a command, 20 MB in one Python print', async () => {
    const fresh = await connect(makeConversation(backend.client));
    try {
      await callOk(fresh.client, 'sandbox_create', {});
      const line = 'x'.repeat(99);
      const size = async (path: string) => Number((await callOk(fresh.client, 'sandbox_run_command', { command: `wc -c < ${path}` })).structuredContent.stdout.trim());
      // The first cell of a new kernel, one 20 MB write: the kept file opens while it arrives.
      const py = (await callOk(fresh.client, 'sandbox_run_code', { code: 'print("y" * 20_000_000)' })).structuredContent;
      expect(py.stdout_full_path).toMatch(/^\/tmp\/hopx-outputs\/exec_[0-9a-f]+\.stdout\.txt$/);
      expect(await size(py.stdout_full_path)).toBe(20_000_001);
      // yes | head writes 50 MB in a fraction of a second: it is held at its pipe while the file opens.
      const cmd = (await callOk(fresh.client, 'sandbox_run_command', { command: `yes ${line} | head -n 500000` })).structuredContent;
      expect(cmd.stdout_full_path).toMatch(/^\/tmp\/hopx-outputs\/exec_[0-9a-f]+\.stdout\.txt$/);
      expect(await size(cmd.stdout_full_path)).toBe(50_000_000);
    } finally {
      await fresh.close();
    }
  });

  it('an output that could not be kept whole says so: no path, and the marker counts the whole output', async () => {
    const fresh = await connect(makeConversation(backend.client));
    try {
      await callOk(fresh.client, 'sandbox_create', {});
      // A real fault: a file where the kept-outputs folder should be, so no whole can be written.
      await callOk(fresh.client, 'sandbox_run_command', { command: 'rm -rf /tmp/hopx-outputs && touch /tmp/hopx-outputs' });
      const rows = 40_000;
      const whole = rows * 26; // "row 0000001 of the output\n" is 26 bytes
      const sc = (await callOk(fresh.client, 'sandbox_run_command', { command: `seq -f "row %07g of the output" 1 ${rows}` })).structuredContent;
      expect(sc.truncated).toBe(true);
      expect(sc.stdout_full_path).toBeNull();
      const marker = /\n… \[(\d+) bytes \((\d+) lines\) of stdout cut after line \d+; the whole stdout was not kept\] …\n/.exec(sc.stdout);
      expect(marker, sc.stdout.slice(0, 300)).not.toBeNull();
      // Counted against the whole output, not against the copy the sandbox's agent had already cut.
      const [head, tail] = sc.stdout.split(/\n… \[.*\] …\n/);
      expect(Number(marker![1])).toBe(whole - Buffer.byteLength(head) - Buffer.byteLength(tail));
      expect((await callOk(fresh.client, 'sandbox_run_command', { command: 'test -f /tmp/hopx-outputs && echo still-a-file' })).structuredContent.stdout).toBe('still-a-file\n');
    } finally {
      await fresh.close();
    }
  });

  it('refuses a line range with base64, naming the field', async () => {
    const r = await call(s.client, 'sandbox_read_file', { path: '/etc/hostname', start_line: 1, encoding: 'base64' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/encoding/);
  });
});
