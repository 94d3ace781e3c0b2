// Part of `npm run build`, after tsc: bundles the `hopx-mcp` command (dist/cli.js, tsc's output)
// and everything it imports, node_modules included, into dist/cli.js plus chunks in dist/chunks/.
//
// Why: before the first answer Node would otherwise load some 170 ES modules one by one (zod
// alone is ~100 files), and on Node 20 that module loading, not our code, was most of the time
// from spawn to the first tools/list (bench/startup.mjs). One file for the start-up path, and
// one chunk per lazily imported part (HopX client and local backend, HTTP hosting, Redis state,
// the local-backend command), keeps each loaded only when used.
//
// The library entry (dist/index.js and the rest of tsc's output) is not touched: `import('hopx-mcp')`
// gets the plain modules. The local runtime finds its sandbox assets (kernel.py, desktop.py) next
// to its own module, so they are copied into dist/chunks/ as well.
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const chunks = join(dist, 'chunks');

rmSync(chunks, { recursive: true, force: true });
await build({
  input: { cli: join(dist, 'cli.js') },
  platform: 'node',
  // Loaded by path at run time (createRequire), only for `--log-format pretty`: stays a package.
  external: ['pino-pretty'],
  logLevel: 'warn',
  output: {
    dir: dist,
    format: 'esm',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    // Keep names readable in stack traces; the bundle is not shipped to browsers.
    minify: false,
  },
});

for (const asset of ['kernel.py', 'desktop.py']) {
  const from = join(dist, 'local', 'runtime', asset);
  if (existsSync(from)) copyFileSync(from, join(chunks, asset));
}
if (!readdirSync(chunks).some((f) => f.endsWith('.js'))) throw new Error('bundle-cli: no chunks written');
