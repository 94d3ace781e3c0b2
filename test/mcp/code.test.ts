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
    expect(sc.stdout).toMatch(/\[\d+ bytes \(\d+ lines\) of stdout cut after line \d+; whole stdout: hopx:\/\/sandboxes\/.+\/outputs\/out-[0-9a-f]+\]/);
    // The whole result (text + structured) stays within the budget plus framing.
    expect(JSON.stringify(r).length).toBeLessThan(4000 + 2500);
    const full = await s.client.readResource({ uri: sc.stdout_full_uri });
    const text = (full.contents[0] as { text: string }).text;
    expect(text.split('\n').filter(Boolean)).toHaveLength(5000);
    const listed = await s.client.listResources();
    expect(listed.resources.map((x) => x.uri)).toContain(sc.stdout_full_uri);
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
