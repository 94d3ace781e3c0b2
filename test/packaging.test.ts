/**
 * What the MCP Registry and Claude Desktop read about the server:
 * - server.json, validated against the registry's own schema (vendored, packaging/registry/)
 *   with ajv, and kept true to package.json and to the variables the server reads;
 * - the MCP Bundle manifest (packaging/mcpb/manifest.json), validated by `mcpb validate`, and the
 *   bundle itself: `npm run bundle`'s script builds it, `mcpb unpack` opens it, and the server
 *   inside, started with the command and environment Claude Desktop derives from the manifest
 *   (mcpb's own getMcpConfigForManifest), serves MCP and runs code.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMcpConfigForManifest } from '@anthropic-ai/mcpb';
import { Client } from '@modelcontextprotocol/client';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { envName, OPTIONS } from '../src/config.js';
import { ensureBuilt, ROOT } from './transports/built-cli.js';

type Json = Record<string, any>;

const readJson = async (path: string): Promise<Json> => JSON.parse(await readFile(join(ROOT, path), 'utf8')) as Json;
const MCPB_CLI = join(ROOT, 'node_modules', '@anthropic-ai', 'mcpb', 'dist', 'cli', 'cli.js');
// ajv-formats is CommonJS; its default export arrives wrapped under ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

/** Variables the server reads itself (not flag twins). */
const SERVER_VARIABLES = ['HOPX_API_KEY', 'HOPX_BASE_URL'];

describe('server.json for the MCP Registry', async () => {
  const schema = await readJson('packaging/registry/server.schema.2025-12-11.json');
  const server = await readJson('server.json');
  const pkg = await readJson('package.json');
  const validate = addFormats(new Ajv({ strict: false, allErrors: true })).compile(schema);

  it('validates against the registry schema it names', () => {
    expect(server.$schema).toBe(schema.$id);
    const valid = validate(server);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('is refused by that schema when broken (the check bites)', () => {
    const broken = structuredClone(server);
    broken.name = 'no-slash';
    broken.packages[0].transport = { type: 'carrier-pigeon' };
    broken.packages[0].environmentVariables[0].isSecret = 'yes';
    expect(validate(broken)).toBe(false);
    const paths = (validate.errors ?? []).map((e) => e.instancePath);
    expect(paths).toEqual(expect.arrayContaining(['/name', '/packages/0/transport/type', '/packages/0/environmentVariables/0/isSecret']));
  });

  it('names the npm package, version and mcpName of package.json (the registry checks mcpName)', () => {
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    expect(server.packages).toHaveLength(1);
    expect(server.packages[0]).toMatchObject({ registryType: 'npm', identifier: pkg.name, version: pkg.version, transport: { type: 'stdio' } });
  });

  it('lists only variables the server reads, each described; the API key is the one secret', () => {
    const known = new Set([...SERVER_VARIABLES, ...Object.entries(OPTIONS).filter(([, spec]) => !spec.noEnv).map(([name]) => envName(name))]);
    const variables = server.packages[0].environmentVariables as Json[];
    for (const variable of variables) {
      expect(known, variable.name).toContain(variable.name);
      expect(variable.description?.length, variable.name).toBeGreaterThan(10);
    }
    expect(variables.filter((v) => v.isSecret).map((v) => v.name)).toEqual(['HOPX_API_KEY']);
  });
});

describe('MCP Bundle (.mcpb) for Claude Desktop', () => {
  let work: string | undefined;
  let stateDir: string | undefined;
  afterAll(async () => {
    for (const dir of [work, stateDir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('`mcpb validate` accepts the manifest, which matches package.json and asks for the key as sensitive config', async () => {
    const check = spawnSync(process.execPath, [MCPB_CLI, 'validate', join(ROOT, 'packaging', 'mcpb', 'manifest.json')], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('Manifest schema validation passes');

    const manifest = await readJson('packaging/mcpb/manifest.json');
    const pkg = await readJson('package.json');
    expect(manifest).toMatchObject({ name: pkg.name, version: pkg.version, license: pkg.license });
    expect(manifest.user_config.hopx_api_key).toMatchObject({ type: 'string', sensitive: true });
    expect(manifest.server.mcp_config.env.HOPX_API_KEY).toBe('${user_config.hopx_api_key}');
    // An optional setting left unset is substituted only if it has a default; else the literal
    // "${user_config.x}" would reach the server.
    for (const [key, option] of Object.entries(manifest.user_config as Record<string, Json>)) {
      expect(option.required === true || option.default !== undefined, key).toBe(true);
    }
  });

  it('`npm run bundle` builds a bundle whose server, started as Claude Desktop would start it, serves MCP and runs code', { timeout: 300_000 }, async () => {
    await ensureBuilt();
    work = await mkdtemp(join(tmpdir(), 'hopx-mcpb-test-'));
    // Its own temp dir: the sandbox uid must be able to enter the state dir's parent.
    stateDir = await mkdtemp(join(tmpdir(), 'hopx-mcpb-state-'));
    const built = execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-mcpb.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, BUNDLE_OUT: join(work, 'out') },
    });
    const bundle = /^bundle: (.+\.mcpb)$/m.exec(built)?.[1];
    expect(bundle, built).toBeDefined();
    expect(built).toMatch(/^sha256: [0-9a-f]{64}$/m);

    const unpacked = join(work, 'installed');
    execFileSync(process.execPath, [MCPB_CLI, 'unpack', bundle!, unpacked], { encoding: 'utf8' });
    const manifest = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as Json;

    const start = async (userConfig: Record<string, string | boolean>): Promise<Client> => {
      const config = await getMcpConfigForManifest({
        manifest: manifest as Parameters<typeof getMcpConfigForManifest>[0]['manifest'],
        extensionPath: unpacked,
        systemDirs: { HOME: work!, DATA: work!, DOCUMENTS: work!, DOWNLOADS: work!, DESKTOP: work! },
        userConfig,
        pathSeparator: '/',
      });
      expect(config?.command).toBe('node');
      expect(JSON.stringify(config)).not.toContain('${');
      const client = new Client({ name: 'mcpb-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: config!.args ?? [],
          env: { ...getDefaultEnvironment(), ...config!.env, HOPX_MCP_STATE_DIR: stateDir!, HOPX_MCP_LOG_LEVEL: 'warn' },
        }),
      );
      return client;
    };

    // Nothing configured (Linux): an empty key means the local backend.
    const local = await start({});
    try {
      const names = (await local.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['sandbox_create', 'sandbox_run_code']));
      const created = await local.callTool({ name: 'sandbox_create', arguments: {} });
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy();
      const run = await local.callTool({ name: 'sandbox_run_code', arguments: { code: 'print(6*7)' } });
      expect(JSON.stringify(run.content)).toContain('42');
    } finally {
      await local.close();
    }

    // The read-only switch reaches the server.
    const readOnly = await start({ read_only: true });
    try {
      const names = (await readOnly.listTools()).tools.map((t) => t.name);
      expect(names).toContain('sandbox_list');
      expect(names).not.toContain('sandbox_create');
    } finally {
      await readOnly.close();
    }
  });
});
