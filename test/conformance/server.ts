/**
 * Test-only entry: the product's HTTP server plus the conformance fixtures. The fixtures never
 * touch HopX, so the backend is a cloud client aimed at a closed port; no sandbox is created.
 */
import { HopxClient } from '../../src/client/index.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { Backend } from '../../src/transports/backend.js';
import { startHttpServer, type HttpServer } from '../../src/transports/http.js';
import type { StateStore } from '../../src/state/types.js';
import { registerConformanceFixtures } from './fixtures.js';

export function unusedCloudBackend(): Backend {
  const client = new HopxClient({ apiKey: 'conformance-unused', baseUrl: 'http://127.0.0.1:9', maxRetries: 0 });
  return { kind: 'cloud', baseUrl: 'http://127.0.0.1:9', client, clientForKey: () => client, close: () => client.close() };
}

export async function startConformanceServer(
  options: { logger?: Logger; port?: number; state?: StateStore } = {},
): Promise<HttpServer & { backend: Backend }> {
  const backend = unusedCloudBackend();
  const http = await startHttpServer({
    backend,
    logger: options.logger ?? silentLogger(),
    customizeServer: (server) => registerConformanceFixtures(server),
    host: '127.0.0.1',
    port: options.port ?? 0,
    maxBodyBytes: 4 * 1024 * 1024,
    maxSessions: 100,
    sessionIdleSeconds: 60,
    state: options.state,
  });
  return { ...http, backend, close: async () => { await http.close(); await backend.close(); } };
}
