// Copies non-TypeScript runtime assets (the sandbox Python kernel and desktop helper) next to the compiled code.
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const assets = [
  ['src/local/runtime/kernel.py', 'dist/local/runtime/kernel.py'],
  ['src/local/runtime/desktop.py', 'dist/local/runtime/desktop.py'],
];
for (const [from, to] of assets) {
  if (!existsSync(from)) continue;
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}
