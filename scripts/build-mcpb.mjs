// `npm run bundle`: builds the MCP Bundle (.mcpb) for Claude Desktop from what npm would publish.
//
//   1. `npm pack` (the same files as the npm package: dist/, README, LICENSE, package.json),
//      unpacked into build/mcpb/;
//   2. packaging/mcpb/manifest.json beside it (its version must be package.json's);
//   3. the production dependencies, from package-lock.json (`npm ci --omit=dev`);
//   4. `mcpb pack` (which validates the manifest) into build/hopx-mcp-<version>.mcpb.
//
// Prints the bundle's path, size and SHA-256 (the `fileSha256` a registry entry for it needs).
// Run `npm run build` first (`npm run bundle` does). Options: BUNDLE_OUT=<dir> (default build/).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = resolve(process.env.BUNDLE_OUT ?? join(root, 'build'));
const stage = join(out, 'mcpb');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const manifestPath = join(root, 'packaging', 'mcpb', 'manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));

if (manifest.version !== pkg.version) {
  console.error(`packaging/mcpb/manifest.json has version ${manifest.version}, package.json ${pkg.version}: make them the same.`);
  process.exit(1);
}
try {
  statSync(join(root, 'dist', 'cli.js'));
} catch {
  console.error('dist/cli.js is missing: run `npm run build` first (or `npm run bundle`, which does).');
  process.exit(1);
}

const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

// 1. Exactly the published files.
const packDir = mkdtempSync(join(tmpdir(), 'hopx-mcpb-'));
try {
  const [{ filename }] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', packDir], root));
  run('tar', ['-xzf', join(packDir, filename), '-C', stage, '--strip-components=1'], root);
} finally {
  rmSync(packDir, { recursive: true, force: true });
}

// 2. The manifest; 3. production dependencies at the versions the lock file pins.
copyFileSync(manifestPath, join(stage, 'manifest.json'));
copyFileSync(join(root, 'package-lock.json'), join(stage, 'package-lock.json'));
run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], stage);

// 4. Pack (mcpb validates the manifest first and fails on a bad one).
const bundle = join(out, `${pkg.name}-${pkg.version}.mcpb`);
rmSync(bundle, { force: true });
const mcpb = join(root, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');
run(process.execPath, [mcpb, 'pack', stage, bundle], root);

const bytes = readFileSync(bundle);
console.log(`bundle: ${bundle}`);
console.log(`size:   ${(bytes.length / 1024 / 1024).toFixed(1)} MiB`);
console.log(`sha256: ${createHash('sha256').update(bytes).digest('hex')}`);
