/**
 * Every example a backend's tools/list shows must work there (issue 8 §2). An example in a
 * parameter description is written "e.g. <value>"; this test finds each one in tools/list, runs
 * the tool with it through a real MCP client against the real local backend, and fails on an
 * example it has no recipe for, so a new example cannot ship untried.
 *
 * The local backend's text is checked where it is true. HopX cloud's text is checked against the
 * same local backend (a cloud-mode conversation over it): that proves its examples are valid calls
 * that work on a HopX-compatible sandbox, not that HopX cloud itself accepts them (no account here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOLSETS, type BackendKind } from '../../src/tools/tool.js';
import { startTestBackend, type TestBackend } from '../support/local-backend.js';
import { call, callOk, connect, makeConversation, textOf, type Connected } from './harness.js';

type Client = Connected['client'];
type Result = Awaited<ReturnType<typeof callOk>>;

interface Example {
  tool: string;
  param: string;
  /** The value as written after "e.g.". */
  raw: string;
  value: unknown;
}

/**
 * "e.g. <value>" in a parameter description: a JSON string or object, or a bare token up to the
 * next space (a final period or comma is the sentence's, not the value's).
 */
function examplesIn(tools: Awaited<ReturnType<Client['listTools']>>['tools']): Example[] {
  const out: Example[] = [];
  for (const tool of tools) {
    for (const [param, prop] of Object.entries<Record<string, any>>((tool.inputSchema as any).properties ?? {})) {
      const at = (prop.description ?? '').indexOf('e.g. ');
      if (at < 0) continue;
      const raw = exampleAt(prop.description.slice(at + 5));
      out.push({ tool: tool.name, param, raw, value: prop.type === 'string' && !raw.startsWith('"') ? raw : JSON.parse(raw) });
    }
  }
  return out;
}

function exampleAt(text: string): string {
  if (text.startsWith('"')) return text.slice(0, text.indexOf('"', 1) + 1);
  if (text.startsWith('{')) return text.slice(0, text.indexOf('}') + 1);
  return text.split(' ')[0].replace(/[.,;]$/, '');
}

/** Waits for a background process to end (it prints and exits), reading its status. */
async function ended(client: Client, processId: string): Promise<Result> {
  for (;;) {
    const r = await callOk(client, 'sandbox_list_processes', { process_id: processId });
    const status = r.structuredContent.processes[0].status;
    if (status !== 'running' && status !== 'queued') return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/**
 * How to try each example: the call (with whatever else it needs) and what "works" means.
 * Keyed by tool.param. A recipe returns the result that shows it worked.
 */
const RECIPES: Record<string, (client: Client, value: any) => Promise<void>> = {
  'sandbox_create.env_vars': async (client, value) => {
    const r = await callOk(client, 'sandbox_create', { env_vars: value });
    const echo = await callOk(client, 'sandbox_run_command', { command: 'echo "$DEBUG"', sandbox_id: r.structuredContent.sandbox_id });
    expect(echo.structuredContent.stdout.trim()).toBe(value.DEBUG);
  },
  'sandbox_create.region': async (client, value) => {
    const r = await callOk(client, 'sandbox_create', { region: value });
    expect(r.structuredContent.region).toBe(value);
  },
  'sandbox_set_timeout.timeout_seconds': async (client, value) => {
    const r = await callOk(client, 'sandbox_set_timeout', { timeout_seconds: value });
    expect(r.structuredContent.timeout_seconds).toBe(value);
  },
  'sandbox_list_templates.language': async (client, value) => {
    const r = await callOk(client, 'sandbox_list_templates', { language: value });
    expect(r.structuredContent.templates.length).toBeGreaterThan(0);
  },
  'sandbox_get_template.name': async (client, value) => {
    const r = await callOk(client, 'sandbox_get_template', { name: value });
    expect(r.structuredContent.name).toBe(value);
  },
  'sandbox_run_code.code': async (client, value) => {
    const r = await callOk(client, 'sandbox_run_code', { code: value });
    expect(r.structuredContent).toMatchObject({ success: true, stdout: '45\n' });
  },
  'sandbox_run_code.env': async (client, value) => {
    const r = await callOk(client, 'sandbox_run_code', { code: 'import os\nprint(os.environ["DEBUG"])', env: value });
    expect(r.structuredContent.stdout).toBe(`${value.DEBUG}\n`);
  },
  'sandbox_run_code_background.code': async (client, value) => {
    const started = await callOk(client, 'sandbox_run_code_background', { code: value });
    const done = await ended(client, started.structuredContent.process_id);
    expect(done.structuredContent.processes[0]).toMatchObject({ status: 'completed', stdout: '45\n' });
  },
  'sandbox_run_code_background.env': async (client, value) => {
    const started = await callOk(client, 'sandbox_run_code_background', { code: 'import os\nprint(os.environ["DEBUG"])', env: value });
    const done = await ended(client, started.structuredContent.process_id);
    expect(done.structuredContent.processes[0].stdout).toBe(`${value.DEBUG}\n`);
  },
  'sandbox_run_code_background.name': async (client, value) => {
    const started = await callOk(client, 'sandbox_run_code_background', { code: 'print(1)', name: value });
    const done = await ended(client, started.structuredContent.process_id);
    expect(done.structuredContent.processes[0].name).toBe(value);
  },
  'sandbox_run_command.command': async (client, value) => {
    const r = await callOk(client, 'sandbox_run_command', { command: value });
    expect(r.structuredContent).toMatchObject({ success: true, exit_code: 0 });
  },
  'sandbox_run_command.env': async (client, value) => {
    const r = await callOk(client, 'sandbox_run_command', { command: 'echo "$DEBUG"', env: value });
    expect(r.structuredContent.stdout).toBe(`${value.DEBUG}\n`);
  },
  'sandbox_write_file.path': async (client, value) => {
    await callOk(client, 'sandbox_write_file', { path: value, content: 'a,b\n1,2\n' });
  },
  'sandbox_write_file.mode': async (client, value) => {
    await callOk(client, 'sandbox_write_file', { path: '/workspace/run.sh', content: 'echo hi\n', mode: value });
    const r = await callOk(client, 'sandbox_run_command', { command: '/workspace/run.sh' });
    expect(r.structuredContent.stdout).toBe('hi\n');
  },
  'sandbox_read_file.path': async (client, value) => {
    await callOk(client, 'sandbox_write_file', { path: value, content: 'a,b\n1,2\n' });
    const r = await callOk(client, 'sandbox_read_file', { path: value });
    expect(r.structuredContent.content).toBe('a,b\n1,2\n');
  },
  'sandbox_list_files.path': async (client, value) => {
    const r = await callOk(client, 'sandbox_list_files', { path: value });
    expect(r.structuredContent.path).toBe(value);
  },
  'sandbox_file_exists.path': async (client, value) => {
    await callOk(client, 'sandbox_write_file', { path: value, content: 'x' });
    expect((await callOk(client, 'sandbox_file_exists', { path: value })).structuredContent.exists).toBe(true);
  },
  'sandbox_remove_file.path': async (client, value) => {
    await callOk(client, 'sandbox_write_file', { path: value, content: 'x' });
    expect((await callOk(client, 'sandbox_remove_file', { path: value })).structuredContent.removed).toBe(true);
  },
  'sandbox_make_dir.path': async (client, value) => {
    await callOk(client, 'sandbox_remove_file', { path: value });
    await callOk(client, 'sandbox_make_dir', { path: value });
    expect((await callOk(client, 'sandbox_file_exists', { path: value })).structuredContent.exists).toBe(true);
    await callOk(client, 'sandbox_remove_file', { path: value });
  },
  'sandbox_set_env.variables': async (client, value) => {
    await callOk(client, 'sandbox_set_env', { variables: value });
    const r = await callOk(client, 'sandbox_run_command', { command: 'echo "$DEBUG"' });
    expect(r.structuredContent.stdout).toBe(`${value.DEBUG}\n`);
  },
  'sandbox_delete_env.name': async (client, value) => {
    await callOk(client, 'sandbox_set_env', { variables: { [value]: '1' } });
    await callOk(client, 'sandbox_delete_env', { name: value });
    expect((await callOk(client, 'sandbox_get_env', {})).structuredContent.variables[value]).toBeUndefined();
  },
  'sandbox_get_preview_url.port': async (client, value) => {
    await callOk(client, 'sandbox_run_command', { command: `python3 -m http.server ${value} --bind 0.0.0.0`, background: true });
    let r = await callOk(client, 'sandbox_get_preview_url', { port: value });
    while (r.structuredContent.listening === 'not_listening') r = await callOk(client, 'sandbox_get_preview_url', { port: value });
    expect(r.structuredContent.listening).toBe('all_interfaces');
    const res = await fetch(r.structuredContent.url);
    expect(res.status).toBe(200);
  },
  'sandbox_terminal_start.command': async (client, value) => {
    const r = await callOk(client, 'sandbox_terminal_start', { command: value });
    const sent = await callOk(client, 'sandbox_terminal_send', { terminal_id: r.structuredContent.terminal_id, text: 'print(6*7)', keys: ['Enter'], wait_for: '42' });
    expect(sent.structuredContent.output).toContain('42');
    await callOk(client, 'sandbox_terminal_close', { terminal_id: r.structuredContent.terminal_id });
  },
};

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(async () => {
  await backend?.close();
});

describe.each<BackendKind>(['local', 'cloud'])('examples the %s text shows', (kind) => {
  let s: Connected;
  let examples: Example[] = [];
  beforeAll(async () => {
    // Every toolset, so an example added to one that is off by default (desktop) needs a recipe too.
    s = await connect(makeConversation(backend.client, { backend: kind }), { toolsets: [...TOOLSETS] });
    examples = examplesIn((await s.client.listTools()).tools);
    await callOk(s.client, 'sandbox_create', {});
  });
  afterAll(async () => s?.close());

  it('has a recipe for every example', () => {
    expect(examples.length).toBeGreaterThan(15);
    const missing = examples.filter((e) => !RECIPES[`${e.tool}.${e.param}`]).map((e) => `${e.tool}.${e.param} (e.g. ${e.raw})`);
    expect(missing, 'add a recipe to RECIPES that runs the example').toEqual([]);
  });

  it('runs every example successfully', async () => {
    for (const e of examples) {
      try {
        await RECIPES[`${e.tool}.${e.param}`](s.client, e.value);
      } catch (err) {
        throw new Error(`${e.tool}.${e.param} e.g. ${e.raw}: ${(err as Error).message}`);
      }
    }
  });

  it('sends keys the way sandbox_terminal_send says: text "ls" with keys ["Enter"]', async () => {
    const send = (await s.client.listTools()).tools.find((t) => t.name === 'sandbox_terminal_send')!;
    expect(send.description).toContain('text "ls" with keys ["Enter"]');
    await callOk(s.client, 'sandbox_write_file', { path: '/workspace/marker-file.txt', content: 'x' });
    const t = await callOk(s.client, 'sandbox_terminal_start', {});
    const r = await callOk(s.client, 'sandbox_terminal_send', { terminal_id: t.structuredContent.terminal_id, text: 'ls', keys: ['Enter'], wait_for: 'marker-file.txt' });
    expect(r.structuredContent.waited).toBe('text');
    await callOk(s.client, 'sandbox_terminal_close', { terminal_id: t.structuredContent.terminal_id });
  });
});

// What the descriptions and instructions claim about running code, checked on the real backend.
describe('claims about running code', () => {
  let s: Connected;
  beforeAll(async () => {
    s = await connect(makeConversation(backend.client));
    await callOk(s.client, 'sandbox_create', {});
  });
  afterAll(async () => s?.close());

  it('python keeps variables between sandbox_run_code calls; bash and javascript start fresh', async () => {
    await callOk(s.client, 'sandbox_run_code', { code: 'kept = 41' });
    expect((await callOk(s.client, 'sandbox_run_code', { code: 'print(kept + 1)' })).structuredContent.stdout).toBe('42\n');
    await callOk(s.client, 'sandbox_run_code', { language: 'bash', code: 'KEPT=1; cd /tmp' });
    const bash = await callOk(s.client, 'sandbox_run_code', { language: 'bash', code: 'echo "[$KEPT] $PWD"' });
    expect(bash.structuredContent.stdout).toBe('[] /workspace\n');
    await callOk(s.client, 'sandbox_run_code', { language: 'javascript', code: 'globalThis.kept = 1' });
    const js = await callOk(s.client, 'sandbox_run_code', { language: 'javascript', code: 'console.log(typeof globalThis.kept)' });
    expect(js.structuredContent.stdout).toBe('undefined\n');
  });

  it('sandbox_run_command starts a fresh shell each call too', async () => {
    await callOk(s.client, 'sandbox_run_command', { command: 'export KEPT=1; cd /tmp' });
    expect((await callOk(s.client, 'sandbox_run_command', { command: 'echo "[$KEPT] $PWD"' })).structuredContent.stdout).toBe('[] /workspace\n');
  });

  it('a background python run is a new process, without sandbox_run_code variables', async () => {
    await callOk(s.client, 'sandbox_run_code', { code: 'only_in_kernel = 1' });
    const started = await callOk(s.client, 'sandbox_run_code_background', { code: "print('only_in_kernel' in globals())" });
    expect((await ended(s.client, started.structuredContent.process_id)).structuredContent.processes[0].stdout).toBe('False\n');
  });

  it('caps sandbox_run_code at 300 s and sandbox_run_command at 3600 s, as the instructions say', async () => {
    const over = await call(s.client, 'sandbox_run_code', { code: '1', timeout_seconds: 301 });
    expect(textOf(over)).toMatch(/"timeout_seconds" must be at most 300/);
    const overCommand = await call(s.client, 'sandbox_run_command', { command: 'true', timeout_seconds: 3601 });
    expect(textOf(overCommand)).toMatch(/"timeout_seconds" must be at most 3600/);
  });

  it('sandbox_create leaves internet_access to the backend unless asked (cloud-mode text over a local backend too)', async () => {
    const cloud = await connect(makeConversation(backend.client, { backend: 'cloud' }));
    try {
      expect((await callOk(cloud.client, 'sandbox_create', {})).structuredContent.internet_access).toBe(false);
    } finally {
      await cloud.close();
    }
  });

  it('a local sandbox has no internet by default, and /usr is read-only', async () => {
    const net = await callOk(s.client, 'sandbox_run_command', { command: 'cat /proc/net/dev | tail -n +3 | cut -d: -f1' });
    expect(net.structuredContent.stdout.trim()).toBe('lo');
    const usr = await callOk(s.client, 'sandbox_run_command', { command: 'touch /usr/x' });
    expect(usr.structuredContent.success).toBe(false);
  });
});
