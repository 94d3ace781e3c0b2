/** README's generated tool table must match the registry: run `npm run docs:tools` after changing tools. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { allTools, descriptionFor, inputFor } from '../../src/tools/index.js';
import type { ToolDefinition } from '../../src/tools/tool.js';
// @ts-expect-error plain ESM script without type declarations
import { END, renderToolTable, replaceRegion, START } from '../../scripts/update-readme.mjs';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The table as `npm run docs:tools` renders it: in the words HopX cloud is shown. */
const cloudTable = (): string =>
  renderToolTable(
    allTools,
    (t: ToolDefinition) => descriptionFor(t, 'cloud'),
    (t: ToolDefinition) => Object.keys(inputFor(t, 'cloud').shape),
  );

describe('README tool table', () => {
  it('is up to date with the registry', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toContain(START);
    expect(readme).toContain(END);
    expect(replaceRegion(readme, cloudTable()) === readme, 'README.md tool table is stale: run `npm run docs:tools`').toBe(true);
  });

  it('rewrites only the region between the markers', () => {
    const doc = `intro\n${START}\nold table\n${END}\noutro\n`;
    const out = replaceRegion(doc, 'NEW');
    expect(out).toBe(`intro\n${START}\nNEW\n${END}\noutro\n`);
    expect(replaceRegion(out, 'NEW')).toBe(out);
  });

  it('lists every tool with its kind', () => {
    const table = cloudTable();
    for (const t of allTools) expect(table).toContain(`| \`${t.name}\` |`);
    expect(table).toMatch(/\| `sandbox_kill` \| .* \| destructive \|/);
  });
});
