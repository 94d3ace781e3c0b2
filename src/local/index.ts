/**
 * The local HopX-compatible backend: a control plane on one loopback port and one agent per
 * sandbox on its own port, over the sandbox runtime (bubblewrap isolation on Linux).
 * Used in-process by the MCP server when no HopX API key is set, by `hopx-mcp local-backend`,
 * and by the project's end-to-end tests.
 */
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type Logger } from '../log.js';
import { createRuntime } from './runtime/index.js';
import type { RuntimeProbe } from './runtime/types.js';
import { ControlPlane } from './server/control-plane.js';
import { newApiKey } from './server/ids.js';
import { TokenSigner } from './server/jwt.js';
import { SandboxRegistry } from './server/sandboxes.js';
import { availableLanguages, buildTemplateCatalogue } from './server/templates.js';

export interface LocalBackendOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = ephemeral. Default 0. */
  port?: number;
  /** Default: env HOPX_LOCAL_STATE_DIR, else os.tmpdir()/hopx-local-<uid>. */
  stateDir?: string;
  /** Default: a random hopx_live_-style key. */
  apiKey?: string;
  /** Run without namespace isolation when bubblewrap is unavailable (loud warning). */
  allowUnisolated?: boolean;
  logger?: Logger;
}

export interface LocalBackend {
  /** Control-plane base URL, http://127.0.0.1:N. */
  url: string;
  apiKey: string;
  probe: RuntimeProbe;
  /** Kills every sandbox and closes every listener. */
  close(): Promise<void>;
}

const LOCAL_BACKEND_VERSION = '0.1.0';

function defaultStateDir(): string {
  return process.env.HOPX_LOCAL_STATE_DIR || join(tmpdir(), `hopx-local-${process.getuid?.() ?? 'user'}`);
}

export async function startLocalBackend(options: LocalBackendOptions = {}): Promise<LocalBackend> {
  const logger = options.logger ?? silentLogger();
  const host = options.host ?? '127.0.0.1';
  const stateDir = options.stateDir ?? defaultStateDir();
  const apiKey = options.apiKey ?? newApiKey();
  await mkdir(stateDir, { recursive: true, mode: 0o700 });

  const runtime = await createRuntime({ stateDir, allowUnisolated: options.allowUnisolated, logger });
  const probe = runtime.probe;

  const templates = buildTemplateCatalogue(probe);
  const registry = new SandboxRegistry({
    runtime,
    probe,
    languages: availableLanguages(probe),
    signer: new TokenSigner(),
    apiKey,
    host,
    logger,
  });
  const controlPlane = new ControlPlane({ registry, templates, probe, apiKey, logger, version: LOCAL_BACKEND_VERSION });
  let url: string;
  try {
    url = await controlPlane.listen(host, options.port ?? 0);
  } catch (err) {
    await runtime.shutdown().catch(() => undefined);
    throw err;
  }
  logger.info({ url, isolation: probe.isolation, limits: probe.limits, templates: templates.map((t) => t.name) }, 'local backend listening');

  let closing: Promise<void> | null = null;
  return {
    url,
    apiKey,
    probe,
    close() {
      closing ??= (async () => {
        await controlPlane.close();
        await registry.closeAll();
        await runtime.shutdown();
        await removeIfEmpty(join(stateDir, 'sandboxes'));
        logger.info({ url }, 'local backend closed');
      })();
      return closing;
    },
  };
}

async function removeIfEmpty(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => null);
  if (entries && entries.length === 0) await rmdir(dir).catch(() => undefined);
}
