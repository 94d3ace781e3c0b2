/**
 * Which HopX the server talks to (docs/decisions.md decision 5): HopX cloud when HOPX_API_KEY is set,
 * otherwise the local HopX-compatible backend started in this process. Either way tools see the
 * same HopxClient API.
 */
import { createConnectionPool, HopxClient } from '../client/index.js';
import type { HopxClientApi } from '../client/types.js';
import type { LocalBackend } from '../local/index.js';
import { BackendUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { failingClient, localFailure, noBackendMessage, unsupportedPlatform, type LocalBackendFailure } from './no-backend.js';

export interface BackendOptions {
  apiKey?: string;
  baseUrl?: string;
  stateDir?: string;
  allowUnisolated?: boolean;
  /** The platform the local backend would run on (default process.platform; tests pass another). */
  platform?: NodeJS.Platform;
  logger: Logger;
}

export interface Backend {
  kind: 'cloud' | 'local';
  /** Control-plane URL (for the startup log line; no secrets). */
  baseUrl: string;
  /** The server's own client (HOPX_API_KEY, or the local backend's key). */
  readonly client: HopxClientApi;
  /**
   * A client for a caller that brought its own HopX key (HTTP, cloud mode only). The caller owns
   * it and closes it when its conversation ends.
   */
  clientForKey(apiKey: string): HopxClientApi;
  /**
   * Set when nothing can serve sandboxes (no HOPX_API_KEY and the local backend cannot run here):
   * why, and what to configure. Every client call then rejects with this message.
   */
  readonly unavailable?: string;
  /**
   * Local backend: what its sandboxes lack on this machine, from the runtime's probe (no isolation,
   * a missing language or python package), a few words each. Shown to the agent in results, since
   * tool texts are fixed before the backend starts.
   */
  readonly caveats?: readonly string[];
  /** Closes the shared client and, in local mode, the local backend (killing its sandboxes). */
  close(): Promise<void>;
}

/** A Backend of `kind` that explains, on every use, why it cannot serve. */
function unavailableBackend(kind: Backend['kind'], message: string): Backend {
  const error = new BackendUnavailableError(message);
  const client = failingClient(error);
  return {
    kind,
    baseUrl: '(none)',
    client,
    unavailable: message,
    clientForKey: () => client,
    close: () => Promise.resolve(),
  };
}

export async function openBackend(options: BackendOptions): Promise<Backend> {
  const { logger } = options;
  const clientLogger = logger.child({ component: 'client' });
  if (options.apiKey) {
    const baseUrl = options.baseUrl ?? 'https://api.hopx.dev';
    // One pool for the process, made here and passed in: every caller's client shares its sockets.
    const pool = createConnectionPool();
    const client = new HopxClient({ apiKey: options.apiKey, baseUrl, logger: clientLogger, pool });
    logger.info({ backend: 'cloud', base_url: baseUrl }, 'backend ready');
    return {
      kind: 'cloud',
      baseUrl,
      client,
      clientForKey: (apiKey) => new HopxClient({ apiKey, baseUrl, logger: clientLogger, pool }),
      close: async () => {
        await client.close();
        await pool.close();
      },
    };
  }

  // Without a usable local backend the server stays up and every tool explains what to configure.
  const noBackend = (failure: LocalBackendFailure): Backend => {
    const message = noBackendMessage(failure);
    logger.error({ backend: 'none' }, message);
    return unavailableBackend('local', message);
  };
  const platform = unsupportedPlatform(options.platform ?? process.platform);
  if (platform) return noBackend(platform);
  // Loaded only when used: cloud mode never pays for the local runtime's modules at startup.
  const { startLocalBackend } = await import('../local/index.js');
  let local: LocalBackend;
  try {
    local = await startLocalBackend({
      host: '127.0.0.1',
      port: 0,
      stateDir: options.stateDir,
      allowUnisolated: options.allowUnisolated,
      logger: logger.child({ component: 'local-backend' }),
    });
  } catch (error) {
    return noBackend(localFailure(error));
  }
  const client = new HopxClient({ apiKey: local.apiKey, baseUrl: local.url, logger: clientLogger });
  logger.info(
    { backend: 'local', base_url: local.url, isolation: local.probe.isolation },
    'backend ready (local sandboxes on this machine; set HOPX_API_KEY to use HopX cloud)',
  );
  let closing: Promise<void> | undefined;
  return {
    kind: 'local',
    baseUrl: local.url,
    client,
    caveats: localCaveats(local.probe),
    // Caller keys mean nothing to the local backend: everyone uses the in-process one.
    clientForKey: () => client,
    close: () =>
      (closing ??= (async () => {
        await client.close().catch(() => {});
        await local.close();
      })()),
  };
}

/** What the probe says local sandboxes lack, in the words sandbox_create's result uses. */
function localCaveats(probe: LocalBackend['probe']): string[] {
  const caveats: string[] = [];
  if (probe.isolation === 'process') {
    caveats.push('sandboxes are NOT isolated (--allow-unisolated): code runs as plain processes of this machine, with its files and network, and there is no /workspace');
  }
  if (!probe.python) caveats.push('no python');
  else {
    const missing = [probe.python.matplotlib ? null : 'matplotlib', probe.python.pandas ? null : 'pandas'].filter((m) => m !== null);
    if (missing.length > 0) caveats.push(`python has no ${missing.join(' or ')}${probe.python.matplotlib ? '' : ' (no plots)'}`);
  }
  if (!probe.node) caveats.push('no javascript');
  if (!probe.go) caveats.push('no go');
  return caveats;
}
