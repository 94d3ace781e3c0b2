#!/usr/bin/env node
// Regenerates the tool table in README.md (between <!-- tools:start --> and <!-- tools:end -->)
// from the tool registry in dist/ (run `npm run build` first; `npm run docs:tools` does both).
// `--check` exits 1 instead of writing when the table is stale. Only that region is rewritten.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const START = '<!-- tools:start -->';
export const END = '<!-- tools:end -->';

const KIND_LABEL = { read: 'read-only', write: 'changes state', destructive: 'destructive' };

/**
 * Markdown for the registry: one table per toolset, in registry order, in the words tools/list
 * uses with HopX cloud (`describe(tool)` = descriptionFor(tool, 'cloud'), `params(tool)` = the
 * parameter names of inputFor(tool, 'cloud')).
 */
export function renderToolTable(tools, describe, params) {
  const sets = [];
  for (const t of tools) if (!sets.includes(t.toolset)) sets.push(t.toolset);
  const out = [
    '',
    '_Generated from the tool registry by `npm run docs:tools`; do not edit by hand. Descriptions as HopX cloud shows them; on the local backend',
    'tools/list says what is true there (`test/contract/__toolsnaps__/tools.local.json`)._',
    '',
  ];
  for (const set of sets) {
    out.push(`**Toolset \`${set}\`**`, '', '| Tool | What it does | Parameters | Kind |', '| --- | --- | --- | --- |');
    for (const t of tools.filter((x) => x.toolset === set)) {
      const names = params(t)
        .map((p) => `\`${p}\``)
        .join(', ');
      const desc = describe(t).replace(/\|/g, '\\|').replace(/\s+/g, ' ');
      out.push(`| \`${t.name}\` | ${desc} | ${names || '—'} | ${KIND_LABEL[t.kind]} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

/** README text with the region between the markers replaced; throws when the markers are missing. */
export function replaceRegion(readme, table) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${START} and ${END}`);
  return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}

async function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { allTools, descriptionFor, inputFor } = await import(pathToFileURL(`${root}dist/tools/index.js`).href);
  const readmePath = `${root}README.md`;
  const readme = readFileSync(readmePath, 'utf8');
  const table = renderToolTable(allTools, (t) => descriptionFor(t, 'cloud'), (t) => Object.keys(inputFor(t, 'cloud').shape));
  const next = replaceRegion(readme, table);
  if (process.argv.includes('--check')) {
    if (next !== readme) {
      console.error('README.md tool table is stale: run `npm run docs:tools`.');
      process.exit(1);
    }
    return;
  }
  if (next !== readme) writeFileSync(readmePath, next);
  console.error(next === readme ? 'README.md tool table already up to date.' : 'README.md tool table updated.');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
