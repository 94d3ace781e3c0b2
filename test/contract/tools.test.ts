/**
 * Contract tests: the tools/list snapshot (names, descriptions, schemas, annotations) fails on
 * drift — update it on purpose with `UPDATE_TOOLSNAPS=1 npx vitest run test/contract` — and a lint
 * over the registry enforces the conventions of style.md §8.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTools, filterTools } from '../../src/tools/index.js';
import { OFF_BY_DEFAULT, TOOLSETS } from '../../src/server.js';
import { connect, makeConversation, unreachableClient, type Connected } from '../mcp/harness.js';

const SNAPSHOT = fileURLToPath(new URL('./__toolsnaps__/tools.json', import.meta.url));

let session: Connected;
/** Every tool (all toolsets): what the snapshot and the registry lint cover. */
let listed: Awaited<ReturnType<Connected['client']['listTools']>>['tools'];
/** The default tools/list (toolsets off by default left out). */
let listedByDefault: typeof listed;

beforeAll(async () => {
  session = await connect(makeConversation(unreachableClient()), { toolsets: [...TOOLSETS] });
  listed = (await session.client.listTools()).tools;
  const byDefault = await connect(makeConversation(unreachableClient()));
  listedByDefault = (await byDefault.client.listTools()).tools;
  await byDefault.close();
});
afterAll(async () => session.close());

describe('tools/list snapshot', () => {
  it('matches the checked-in snapshot', () => {
    const current = listed.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      annotations: t.annotations,
      inputSchema: t.inputSchema,
      outputSchema: t.outputSchema,
    }));
    if (process.env.UPDATE_TOOLSNAPS === '1' || !existsSync(SNAPSHOT)) {
      writeFileSync(SNAPSHOT, `${JSON.stringify(current, null, 2)}\n`);
      if (process.env.UPDATE_TOOLSNAPS !== '1') throw new Error(`No snapshot existed; wrote ${SNAPSHOT}. Review and commit it, then rerun.`);
    }
    const stored = JSON.parse(readFileSync(SNAPSHOT, 'utf8'));
    expect(current, 'tools/list changed: if on purpose, run UPDATE_TOOLSNAPS=1 npx vitest run test/contract').toEqual(stored);
  });

  it('stays small enough for clients that send it every turn', () => {
    const bytes = JSON.stringify(listedByDefault).length;
    // A budget, not a speed target: schemas cost context tokens on every turn.
    expect(bytes).toBeLessThan(70_000);
  });
});

describe('registry lint', () => {
  it('lists every registry tool and nothing else', () => {
    expect(listed.map((t) => t.name).sort()).toEqual(allTools.map((t) => t.name).sort());
  });

  for (const tool of allTools) {
    describe(tool.name, () => {
      const schema = () => listed.find((t) => t.name === tool.name)!;

      it('has a sandbox_ snake_case name, a title, a kind and a toolset', () => {
        expect(tool.name).toMatch(/^sandbox_[a-z_]+$/);
        expect(tool.title.length).toBeGreaterThan(2);
        expect(['read', 'write', 'destructive']).toContain(tool.kind);
        expect(TOOLSETS).toContain(tool.toolset);
      });

      it('has a short description that says it acts on the remote sandbox side', () => {
        expect(tool.description.length).toBeGreaterThan(20);
        expect(tool.description.length).toBeLessThan(450);
        expect(tool.description).toMatch(/sandbox|HopX|template/i);
      });

      it('has a flat object input schema, every parameter snake_case and described', () => {
        const input = schema().inputSchema as Record<string, any>;
        expect(input.type).toBe('object');
        for (const k of ['anyOf', 'oneOf', 'allOf', 'not']) expect(input[k], `top-level ${k}`).toBeUndefined();
        for (const [name, prop] of Object.entries<Record<string, any>>(input.properties ?? {})) {
          expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
          expect(prop.description, `${tool.name}.${name} has no description`).toBeTruthy();
        }
      });

      it('bounds its numbers', () => {
        const input = schema().inputSchema as Record<string, any>;
        for (const [name, prop] of Object.entries<Record<string, any>>(input.properties ?? {})) {
          if (prop.type === 'number' || prop.type === 'integer') {
            expect(prop.minimum ?? prop.exclusiveMinimum, `${tool.name}.${name} minimum`).toBeDefined();
            expect(prop.maximum ?? prop.exclusiveMaximum, `${tool.name}.${name} maximum`).toBeDefined();
          }
        }
      });

      it('declares an output schema and annotations derived from its kind', () => {
        const t = schema();
        expect(t.outputSchema, 'data tools declare an output schema').toBeDefined();
        expect(t.annotations?.readOnlyHint).toBe(tool.kind === 'read');
        expect(t.annotations?.destructiveHint).toBe(tool.kind === 'destructive');
        expect(t.annotations?.openWorldHint).toBe(true);
      });

      it('takes sandbox_id when sandbox-scoped; otherwise only to attach or health-check one', () => {
        const props = Object.keys((schema().inputSchema as Record<string, any>).properties ?? {});
        const unscopedWithId = ['sandbox_connect', 'sandbox_health_check'];
        expect(props.includes('sandbox_id')).toBe(tool.sandboxScoped || unscopedWithId.includes(tool.name));
      });
    });
  }
});

describe('toolsets and read-only mode', () => {
  it('leaves the desktop toolset out by default; naming it (or all) brings it in, within 6 KB of tools/list', () => {
    const desktop = listed.filter((t) => t.name.startsWith('sandbox_desktop_'));
    expect(desktop.map((t) => t.name).sort()).toEqual(filterTools(allTools, { toolsets: ['desktop'] }).map((t) => t.name).sort());
    expect(listedByDefault.map((t) => t.name)).not.toContain('sandbox_desktop_screenshot');
    expect(OFF_BY_DEFAULT).toEqual(['desktop']);
    expect(listedByDefault.length).toBe(listed.length - desktop.length);
    // What enabling the toolset adds to every tools/list a client sends to its model, less the
    // shared sandbox_id parameter (its schema is the registry's, not this toolset's, and shrinks
    // when the shared params land; then this counts it too).
    const withoutSharedId = desktop.map((t) => {
      const { sandbox_id: _shared, ...own } = (t.inputSchema as { properties: Record<string, unknown> }).properties;
      return { ...t, inputSchema: { ...t.inputSchema, properties: own } };
    });
    expect(JSON.stringify(withoutSharedId).length).toBeLessThanOrEqual(6 * 1024);
  });

  it('read-only keeps only read tools', () => {
    const ro = filterTools(allTools, { readOnly: true });
    expect(ro.length).toBeGreaterThan(5);
    expect(ro.every((t) => t.kind === 'read')).toBe(true);
    expect(ro.map((t) => t.name)).not.toContain('sandbox_run_code');
  });

  it('rejects an unknown toolset by name, listing the valid ones', () => {
    expect(() => filterTools(allTools, { toolsets: ['files', 'nope'] })).toThrow(/Unknown toolset "nope"; valid toolsets: sandbox, code/);
  });

  it('every toolset has at least one tool', () => {
    for (const set of TOOLSETS) expect(filterTools(allTools, { toolsets: [set] }).length, set).toBeGreaterThan(0);
  });
});
