/**
 * Bad input, missing sandboxes and filtering, through a real MCP client. None of these reach
 * HopX: the client points at a port nothing listens on, so a call that did would fail loudly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connect, makeConversation, textOf, unreachableClient, type Connected } from './harness.js';

let s: Connected;
beforeAll(async () => {
  s = await connect(makeConversation(unreachableClient()));
});
afterAll(async () => s.close());

describe('input validation', () => {
  it('names a missing required field and what it wants', async () => {
    const r = await call(s.client, 'sandbox_run_code', {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/Invalid arguments for sandbox_run_code: "code" is required \(string\)\. Expected "code": e\.g\. print/);
  });

  it('names a field of the wrong type', async () => {
    const r = await call(s.client, 'sandbox_run_code', { code: 42 });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/"code" must be a string, got a number \(42\)/);
  });

  it('lists the allowed values of an enum', async () => {
    const r = await call(s.client, 'sandbox_run_code', { code: 'x', language: 'ruby' });
    expect(textOf(r)).toMatch(/"language" must be one of "python", "javascript", "bash", "go", got "ruby"/);
  });

  it('gives the bound of a number out of range', async () => {
    const r = await call(s.client, 'sandbox_run_code', { code: 'x', timeout_seconds: 100000 });
    expect(textOf(r)).toMatch(/"timeout_seconds" must be at most 300, got 100000/);
  });

  it('rejects unknown parameters, listing the real ones (catches sandboxId vs sandbox_id)', async () => {
    const r = await call(s.client, 'sandbox_get_info', { sandboxId: 'abc' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/Unknown parameter "sandboxId" \(did you mean "sandbox_id"\?\); this tool takes "sandbox_id"/);
  });

  it.each([
    ['sandbox_set_env', { env: { A: '1' } }, 'env', 'variables'],
    ['sandbox_set_timeout', { seconds: 60 }, 'seconds', 'timeout_seconds'],
    ['sandbox_run_code', { code: 'x', langauge: 'python' }, 'langauge', 'language'],
    ['sandbox_create', { timeoutSeconds: 60 }, 'timeoutSeconds', 'timeout_seconds'],
    ['sandbox_read_file', { file_path: '/workspace/a' }, 'file_path', 'path'],
  ])('%s: a misnamed parameter gets the name it meant, said once', async (tool, args, wrong, meant) => {
    const r = await call(s.client, tool, args);
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(new RegExp(`^Invalid arguments for ${tool}: Unknown parameter "${wrong}" \\(did you mean "${meant}"\\?\\); this tool takes [^.]+\\.$`));
  });

  it('suggests names other tools use (cmd, cwd) and leaves unrelated ones alone', async () => {
    const r = await call(s.client, 'sandbox_run_command', { cmd: 'ls', cwd: '/workspace' });
    expect(textOf(r)).toMatch(/Unknown parameters "cmd" \(did you mean "command"\?\), "cwd" \(did you mean "working_dir"\?\); this tool takes/);
    const odd = await call(s.client, 'sandbox_run_code', { code: 'x', foo: 1 });
    expect(textOf(odd)).toMatch(/Unknown parameter "foo"; this tool takes/);
  });

  it('treats null as an omitted optional parameter, and names a required one that is null', async () => {
    const r = await call(s.client, 'sandbox_list_files', { sandbox_id: null, path: null });
    // A whole sentence: the final period survives message cleanup.
    expect(textOf(r)).toMatch(/no current sandbox.*or pass "sandbox_id"\.$/);
    const required = await call(s.client, 'sandbox_run_code', { code: null });
    expect(textOf(required)).toMatch(/"code" must be a string, got null/);
  });

  it('explains a relative path', async () => {
    const r = await call(s.client, 'sandbox_read_file', { path: 'data.csv' });
    expect(textOf(r)).toMatch(/"path" must be an absolute path in the sandbox, e\.g\. \/workspace\/data\.csv, got "data\.csv"/);
  });

  it('gives the length of a string that is too long, never its text (it may be a secret)', async () => {
    const secret = `sekrit-${'x'.repeat(100_000)}`;
    const r = await call(s.client, 'sandbox_set_env', { variables: { DB_PASSWORD: secret } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain(`"variables.DB_PASSWORD" must be at most 100000 characters long, got a string of ${secret.length} characters`);
    expect(textOf(r)).not.toContain('sekrit');
    const empty = await call(s.client, 'sandbox_get_template', { name: '' });
    const flat = await call(s.client, 'sandbox_create', { env_vars: 'API_TOKEN=sekrit-2' });
    expect(textOf(flat)).toContain('"env_vars" must be an object, got a string of 18 characters');
    expect(textOf(flat)).not.toContain('sekrit');
    expect(textOf(empty)).toContain('"name" must be at least 1 character long, got a string of 0 characters');
  });

  it('explains a bad env var name inside a record', async () => {
    const r = await call(s.client, 'sandbox_set_env', { variables: { 'BAD-NAME': 'x' } });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/"variables" has an invalid name "BAD-NAME": variable names are letters, digits and _/);
  });
});

/** A valid value for a parameter, from its advertised JSON Schema (enough to get past validation). */
function sample(name: string, prop: Record<string, any>): unknown {
  if (prop.enum) return prop.enum[0];
  if (prop.default !== undefined) return prop.default;
  switch (prop.type) {
    case 'integer':
    case 'number':
      return prop.minimum ?? 1;
    case 'boolean':
      return false;
    case 'object':
      return {};
    default:
      if (name === 'mode') return '0644';
      // Paths (the advertised schema carries no pattern; validation wants an absolute one).
      if (name === 'path' || name === 'working_dir') return '/workspace/x';
      return 'x';
  }
}

function wrongTypeFor(prop: Record<string, any>): unknown {
  return prop.type === 'string' ? 12345 : 'not-the-right-type';
}

describe('every tool, from its advertised schema', () => {
  it('names each missing required parameter', async () => {
    const tools = (await s.client.listTools()).tools;
    let checked = 0;
    for (const tool of tools) {
      const schema = tool.inputSchema as { properties?: Record<string, any>; required?: string[] };
      for (const missing of schema.required ?? []) {
        const args = Object.fromEntries((schema.required ?? []).filter((r) => r !== missing).map((r) => [r, sample(r, schema.properties![r])]));
        const r = await call(s.client, tool.name, args);
        expect(r.isError, `${tool.name} without ${missing}`).toBe(true);
        expect(textOf(r)).toContain(`"${missing}" is required`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('names each parameter given the wrong type', async () => {
    for (const tool of (await s.client.listTools()).tools) {
      const schema = tool.inputSchema as { properties?: Record<string, any>; required?: string[] };
      for (const [name, prop] of Object.entries(schema.properties ?? {})) {
        const args = { ...Object.fromEntries((schema.required ?? []).map((r) => [r, sample(r, schema.properties![r])])), [name]: wrongTypeFor(prop) };
        const r = await call(s.client, tool.name, args);
        expect(r.isError, `${tool.name}.${name}`).toBe(true);
        expect(textOf(r), `${tool.name}.${name}`).toMatch(new RegExp(`Invalid arguments for ${tool.name}: "${name}`));
      }
    }
  });

  it('refuses an unknown sandbox_id on every sandbox-scoped tool, naming it and sandbox_connect', async () => {
    let checked = 0;
    for (const tool of (await s.client.listTools()).tools) {
      const schema = tool.inputSchema as { properties?: Record<string, any>; required?: string[] };
      if (!schema.properties?.sandbox_id || tool.name === 'sandbox_connect') continue;
      const args = { ...Object.fromEntries((schema.required ?? []).map((r) => [r, sample(r, schema.properties![r])])), sandbox_id: 'sbx-unknown-1' };
      const r = await call(s.client, tool.name, args);
      expect(r.isError, tool.name).toBe(true);
      expect(textOf(r), tool.name).toContain('Sandbox "sbx-unknown-1" is not attached to this conversation');
      expect(textOf(r), tool.name).toContain('sandbox_connect');
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });
});

describe('sandbox resolution', () => {
  it('without a current sandbox says to create or connect one', async () => {
    const r = await call(s.client, 'sandbox_list_files', {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/no current sandbox\. Create one with sandbox_create .*sandbox_connect/);
  });

  it('refuses a sandbox this conversation does not have, naming it and the fix', async () => {
    const r = await call(s.client, 'sandbox_run_command', { sandbox_id: 'sbx-not-mine', command: 'id' });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/Sandbox "sbx-not-mine" is not attached to this conversation.*sandbox_connect \{"sandbox_id": "sbx-not-mine"\}/);
  });

  it('reports an unreachable HopX API with the next step, not a stack trace', async () => {
    const r = await call(s.client, 'sandbox_list_templates', {});
    expect(r.isError).toBe(true);
    expect(textOf(r)).not.toMatch(/\bat .*\.(js|ts):\d+/);
    expect(textOf(r)).toMatch(/HopX|reach|network/i);
  });

  it('an unknown tool is a protocol error', async () => {
    await expect(call(s.client, 'sandbox_nope', {})).rejects.toThrow(/sandbox_nope/);
  });
});

describe('toolsets and read-only mode over MCP', () => {
  it('read-only hides every tool that changes anything', async () => {
    const ro = await connect(makeConversation(unreachableClient()), { readOnly: true });
    try {
      const tools = (await ro.client.listTools()).tools;
      expect(tools.length).toBeGreaterThan(5);
      expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['sandbox_list', 'sandbox_read_file', 'sandbox_connect']));
      expect(tools.map((t) => t.name)).not.toContain('sandbox_create');
      const instructions = ro.client.getInstructions() ?? '';
      expect(instructions).toMatch(/sandbox_connect/);
      expect(instructions).not.toMatch(/sandbox_create|sandbox_run_code|killed when it ends/);
    } finally {
      await ro.close();
    }
  });

  it('toolsets select tool groups and shape the instructions', async () => {
    const only = await connect(makeConversation(unreachableClient()), { toolsets: ['files'] });
    try {
      const names = (await only.client.listTools()).tools.map((t) => t.name);
      expect(names.every((n) => /file|dir/.test(n))).toBe(true);
      expect(names).toContain('sandbox_write_file');
      const instructions = only.client.getInstructions() ?? '';
      expect(instructions).toMatch(/sandbox_write_file/);
      expect(instructions).not.toMatch(/sandbox_run_code/);
    } finally {
      await only.close();
    }
  });
});
