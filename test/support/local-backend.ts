/**
 * Test fixture: a real local backend (real sandboxes) in a fresh temp state dir, plus a HopX
 * client pointed at it. `close()` kills every sandbox, closes the client and the backend, and
 * removes the state dir.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HopxClient } from '../../src/client/index.js';
import { startLocalBackend, type LocalBackend, type LocalBackendOptions } from '../../src/local/index.js';

export interface TestBackend {
  backend: LocalBackend;
  client: HopxClient;
  /** The temp state dir (removed by close). */
  stateDir: string;
  close(): Promise<void>;
}

export async function startTestBackend(options: Omit<LocalBackendOptions, 'stateDir'> = {}): Promise<TestBackend> {
  const stateDir = await mkdtemp(join(tmpdir(), 'hopx-test-backend-'));
  let backend: LocalBackend;
  try {
    backend = await startLocalBackend({ ...options, stateDir });
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  const client = new HopxClient({ apiKey: backend.apiKey, baseUrl: backend.url });
  let closed: Promise<void> | null = null;
  return {
    backend,
    client,
    stateDir,
    close() {
      closed ??= (async () => {
        await client.close().catch(() => undefined);
        await backend.close();
        await rm(stateDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
