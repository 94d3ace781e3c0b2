// node:fs plus a small globSync for the patterns the conformance CLI uses ("**/<name>" and plain
// relative paths). Only loaded on Node 20 by node20-compat-hooks.mjs.
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

export function globSync(pattern, options = {}) {
  const cwd = options.cwd ?? process.cwd();
  const patterns = Array.isArray(pattern) ? pattern : [pattern];
  const found = [];
  for (const p of patterns) {
    const match = /^\*\*\/(.+)$/.exec(p);
    if (!match) {
      if (fs.existsSync(path.resolve(cwd, p))) found.push(p);
      continue;
    }
    const name = match[1];
    const walk = (dir) => {
      let entries;
      try {
        entries = fs.readdirSync(path.join(cwd, dir), { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const rel = dir ? path.join(dir, entry.name) : entry.name;
        if (entry.isDirectory()) {
          if (entry.name !== 'node_modules' && entry.name !== '.git') walk(rel);
        } else if (entry.name === name) found.push(rel);
      }
    };
    walk('');
  }
  return found;
}
