// Copies non-TypeScript runtime assets (the sandbox Python kernel) next to the compiled code.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const assets = [['src/local/runtime/kernel.py', 'dist/local/runtime/kernel.py']];
for (const [from, to] of assets) {
  if (!existsSync(from)) continue;
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}
