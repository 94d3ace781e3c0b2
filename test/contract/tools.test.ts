/**
 * Contract tests: the tools/list snapshots, one per backend (names, descriptions, schemas,
 * annotations), fail on drift — update it on purpose with `UPDATE_TOOLSNAPS=1 npx vitest run test/contract` — and a lint
 * over the registry enforces the conventions of docs/conventions.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTools, descriptionFor, filterTools, type BackendKind } from '../../src/tools/index.js';
import { OFF_BY_DEFAULT, TOOLSETS } from '../../src/server.js';
import { connect, makeConversation, unreachableClient, type Connected } from '../mcp/harness.js';
// @ts-expect-error plain ESM script without type declarations
import { BUDGET, measureToolsList } from '../../bench/tools-list.mjs';

const BACKENDS: BackendKind[] = ['local', 'cloud'];
const snapshotPath = (backend: BackendKind) => fileURLToPath(new URL(`./__toolsnaps__/tools.${backend}.json`, import.meta.url));

type Listed = Awaited<ReturnType<Connected['client']['listTools']>>['tools'];
const sessions: Connected[] = [];
/** The default tools/list: what the budget measures. */
const listed = {} as Record<BackendKind, Listed>;
/** Every toolset, off-by-default ones included: what the snapshot and the registry lint cover. */
const listedAll = {} as Record<BackendKind, Listed>;
const instructions = {} as Record<BackendKind, string>;

beforeAll(async () => {
  for (const backend of BACKENDS) {
    const session = await connect(makeConversation(unreachableClient(), { backend }));
    sessions.push(session);
    listed[backend] = (await session.client.listTools()).tools;
    instructions[backend] = session.client.getInstructions() ?? '';
    const every = await connect(makeConversation(unreachableClient(), { backend }), { toolsets: [...TOOLSETS] });
    sessions.push(every);
    listedAll[backend] = (await every.client.listTools()).tools;
  }
});
afterAll(async () => {
  for (const session of sessions) await session.close();
});

/** Every sentence a model reads about a backend: instructions, tool and parameter descriptions. */
function allText(backend: BackendKind): string {
  const params = listed[backend].flatMap((t) => Object.values<Record<string, any>>((t.inputSchema as any).properties ?? {}).map((p) => p.description ?? ''));
  return [instructions[backend], ...listed[backend].map((t) => t.description ?? ''), ...params].join('\n');
}

describe.each(BACKENDS)('tools/list snapshot (%s backend)', (backend) => {
  it('matches the checked-in snapshot', () => {
    const file = snapshotPath(backend);
    const current = listedAll[backend].map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      annotations: t.annotations,
      inputSchema: t.inputSchema,
      outputSchema: t.outputSchema,
    }));
    if (process.env.UPDATE_TOOLSNAPS === '1' || !existsSync(file)) {
      writeFileSync(file, `${JSON.stringify(current, null, 2)}\n`);
      if (process.env.UPDATE_TOOLSNAPS !== '1') throw new Error(`No snapshot existed; wrote ${file}. Review and commit it, then rerun.`);
    }
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    expect(current, 'tools/list changed: if on purpose, run UPDATE_TOOLSNAPS=1 npx vitest run test/contract').toEqual(stored);
  });
});

// Clients send tools/list to the model on every turn (issue 8 §5). The budget is for the default
// toolsets with room left for the tools still to come; `npm run bench` prints the same figures.
describe.each(BACKENDS)('tools/list size budget (%s backend)', (backend) => {
  it(`stays within ${BUDGET.toolsList} bytes, and ${BUDGET.nameDescriptionInput} for name + description + inputSchema`, () => {
    const size = measureToolsList(listed[backend]);
    expect(size.toolsList, 'tools/list bytes: shorten descriptions, share params (src/tools/params.ts)').toBeLessThanOrEqual(BUDGET.toolsList);
    expect(size.nameDescriptionInput, 'name + description + inputSchema bytes').toBeLessThanOrEqual(BUDGET.nameDescriptionInput);
  });

  it(`lets a toolset that is off by default add at most ${BUDGET.offByDefaultToolset} bytes`, async () => {
    const every = await connect(makeConversation(unreachableClient(), { backend }), { toolsets: [...TOOLSETS] });
    try {
      const all = measureToolsList((await every.client.listTools()).tools);
      expect(all.toolsList - measureToolsList(listed[backend]).toolsList).toBeLessThanOrEqual(BUDGET.offByDefaultToolset);
    } finally {
      await every.close();
    }
  });
});

// docs/decisions.md decision 10: say only what is true of the backend in use (issue 8 §2).
describe('what each backend is told', () => {
  it('the local backend is never called remote or a cloud VM, and its defaults are its own', () => {
    const text = allText('local');
    expect(text).not.toMatch(/remote|cloud VM|public URL|pip install|chosen by HopX/i);
    expect(text).toMatch(/on this machine/);
    const create = listed.local.find((t) => t.name === 'sandbox_create')!.inputSchema as any;
    expect(create.properties.internet_access.description).toMatch(/Default false/);
  });

  it('the HopX API is never called this machine, and what only HopX cloud does is said as such', () => {
    // Its words must also hold for a local backend behind HOPX_BASE_URL: a separate machine, not
    // necessarily a cloud VM; HopX cloud's defaults scoped to HopX cloud.
    const text = allText('cloud');
    expect(text).not.toMatch(/this machine|local backend|127\.0\.0\.1/i);
    expect(text).toMatch(/a separate machine behind the HopX API \(a VM on HopX cloud\), not yours/);
    expect(text.replace(/\(a VM on HopX cloud\)|\(VMs on HopX cloud\)/g, '')).not.toMatch(/cloud VM|\bVMs?\b/);
    const create = listed.cloud.find((t) => t.name === 'sandbox_create')!.inputSchema as any;
    expect(create.properties.internet_access.description).toMatch(/Default true on HopX cloud/);
    expect(instructions.cloud).not.toMatch(/public URL\b(?! \(public on HopX cloud\))/);
  });

  it('says once what leaving sandbox_id out means (the parameter itself carries no description)', () => {
    // A sentence naming the parameter sandbox_id must not be dropped as if it named a hidden tool.
    for (const backend of BACKENDS) expect(instructions[backend]).toMatch(/current sandbox, which every tool acts on when sandbox_id is left out/);
    for (const backend of BACKENDS) expect(descriptionFor(allTools.find((t) => t.name === 'sandbox_create')!, backend)).toMatch(/current sandbox \(what tools act on without sandbox_id\)/);
  });

  it('says when to use sandbox_run_command and when bash in sandbox_run_code', () => {
    for (const backend of BACKENDS) expect(instructions[backend]).toMatch(/sandbox_run_command .*3600 s.*bash in sandbox_run_code start a fresh shell each call.*300 s/s);
  });
});

describe('registry lint', () => {
  it('lists every registry tool and nothing else', () => {
    for (const backend of BACKENDS) {
      expect(listedAll[backend].map((t) => t.name).sort()).toEqual(allTools.map((t) => t.name).sort());
      expect(listed[backend].map((t) => t.name).sort()).toEqual(filterTools(allTools).map((t) => t.name).sort());
    }
  });

  for (const tool of allTools) {
    describe(tool.name, () => {
      const schemas = () => BACKENDS.map((backend) => listedAll[backend].find((t) => t.name === tool.name)!);

      it('has a sandbox_ snake_case name, a title, a kind and a toolset', () => {
        expect(tool.name).toMatch(/^sandbox_[a-z_]+$/);
        expect(tool.title.length).toBeGreaterThan(2);
        expect(tool.title.length).toBeLessThanOrEqual(24);
        expect(['read', 'write', 'destructive']).toContain(tool.kind);
        expect(TOOLSETS).toContain(tool.toolset);
      });

      it('has a short description on each backend that says it acts on the sandbox side', () => {
        for (const backend of BACKENDS) {
          const description = descriptionFor(tool, backend);
          expect(description.length).toBeGreaterThan(20);
          expect(description.length).toBeLessThan(300);
          expect(description).toMatch(/sandbox|HopX|template/i);
        }
      });

      it('has a flat object input schema, every parameter snake_case and described', () => {
        for (const listedTool of schemas()) {
          const input = listedTool.inputSchema as Record<string, any>;
          expect(input.type).toBe('object');
          for (const k of ['anyOf', 'oneOf', 'allOf', 'not', '$ref', '$defs']) expect(input[k], `top-level ${k}`).toBeUndefined();
          for (const [name, prop] of Object.entries<Record<string, any>>(input.properties ?? {})) {
            expect(name).toMatch(/^[a-z][a-z0-9_]*$/);
            // The optional sandbox_id of ~30 tools is the one exception (see SANDBOX_ID in params.ts).
            if (name === 'sandbox_id' && !(input.required ?? []).includes(name)) continue;
            expect(prop.description, `${tool.name}.${name} has no description`).toBeTruthy();
          }
        }
      });

      it('bounds its numbers', () => {
        const input = schemas()[0].inputSchema as Record<string, any>;
        for (const [name, prop] of Object.entries<Record<string, any>>(input.properties ?? {})) {
          if (prop.type === 'number' || prop.type === 'integer') {
            expect(prop.minimum ?? prop.exclusiveMinimum, `${tool.name}.${name} minimum`).toBeDefined();
            expect(prop.maximum ?? prop.exclusiveMaximum, `${tool.name}.${name} maximum`).toBeDefined();
          }
        }
      });

      it('declares an output schema unless it only confirms an action, and annotations that mean its kind (absent hints take the spec defaults)', () => {
        for (const t of schemas()) {
          // sandbox_connect is 'read' (it changes nothing on the backend) but acts: it attaches.
          if (tool.confirmation && tool.name !== 'sandbox_connect') expect(tool.kind, 'a read tool returns data').not.toBe('read');
          expect(t.outputSchema === undefined, 'data tools declare an output schema').toBe(tool.confirmation === true);
          const a = t.annotations ?? {};
          expect(a.readOnlyHint ?? false).toBe(tool.kind === 'read');
          if (tool.kind !== 'read') {
            expect(a.destructiveHint ?? true).toBe(tool.kind === 'destructive');
            expect(a.idempotentHint ?? false).toBe(tool.idempotent === true);
          }
          expect(a.openWorldHint ?? true).toBe(true);
        }
      });

      it('takes sandbox_id when sandbox-scoped; otherwise only to attach or health-check one', () => {
        const props = Object.keys((schemas()[0].inputSchema as Record<string, any>).properties ?? {});
        const unscopedWithId = ['sandbox_connect', 'sandbox_health_check'];
        expect(props.includes('sandbox_id')).toBe(tool.sandboxScoped || unscopedWithId.includes(tool.name));
      });
    });
  }
});

describe('toolsets and read-only mode', () => {
  it('read-only keeps only read tools', () => {
    const ro = filterTools(allTools, { readOnly: true });
    expect(ro.length).toBeGreaterThan(5);
    expect(ro.every((t) => t.kind === 'read')).toBe(true);
    expect(ro.map((t) => t.name)).not.toContain('sandbox_run_code');
  });

  it('rejects an unknown toolset by name, listing the valid ones', () => {
    expect(() => filterTools(allTools, { toolsets: ['files', 'nope'] })).toThrow(/Unknown toolset "nope"; valid toolsets: sandbox, code/);
  });

  it('leaves the desktop toolset out by default; naming it (or all) brings it in', () => {
    expect(OFF_BY_DEFAULT).toEqual(['desktop']);
    for (const backend of BACKENDS) {
      expect(listed[backend].some((t) => t.name.startsWith('sandbox_desktop_'))).toBe(false);
      expect(listedAll[backend].filter((t) => t.name.startsWith('sandbox_desktop_'))).toHaveLength(8);
    }
    expect(filterTools(allTools, { toolsets: ['desktop'] }).map((t) => t.name)).toContain('sandbox_desktop_screenshot');
  });

  it('every toolset has at least one tool', () => {
    for (const set of TOOLSETS) expect(filterTools(allTools, { toolsets: [set] }).length, set).toBeGreaterThan(0);
  });
});
