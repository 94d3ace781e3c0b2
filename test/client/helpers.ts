/** Shared setup for the client contract tests: one WireServer per file, a fresh client per test. */
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { HopxClient } from '../../src/client/index.js';
import type { HopxClientOptions } from '../../src/client/types.js';
import { fakeJwt, inOneDay, sandboxBody, TEST_API_KEY, WireServer } from '../support/wire-server.js';

export interface Harness {
  wire: WireServer;
  client: HopxClient;
  /** Debug lines the client logged during the test. */
  logs: Array<{ obj: Record<string, unknown>; msg: string }>;
  makeClient(options?: HopxClientOptions): HopxClient;
}

/** Registers hooks; the returned object's fields are filled in before each test. */
export function useWireServer(): Harness {
  const harness = { logs: [] as Harness['logs'] } as Harness;
  const extra: HopxClient[] = [];
  beforeAll(async () => {
    harness.wire = await WireServer.start();
  });
  afterAll(async () => {
    await harness.wire.close();
  });
  beforeEach(() => {
    harness.wire.reset();
    harness.logs.length = 0;
    harness.makeClient = (options = {}) => {
      const client = new HopxClient({
        apiKey: TEST_API_KEY,
        baseUrl: harness.wire.url,
        retryBaseDelayMs: 5,
        maxRetryDelayMs: 20,
        logger: {
          debug: (obj, msg) => harness.logs.push({ obj, msg }),
          warn: (obj, msg) => harness.logs.push({ obj, msg }),
        },
        ...options,
      });
      extra.push(client);
      return client;
    };
    harness.client = harness.makeClient();
  });
  afterEach(async () => {
    await Promise.all(extra.splice(0).map((c) => c.close()));
  });
  return harness;
}

export const SANDBOX_ID = '1761048129dsaqav4n';
export const TOKEN_1 = fakeJwt('token-1');
export const TOKEN_2 = fakeJwt('token-2');

/**
 * Script what the client needs before its first agent call: GET the sandbox (public_host = the
 * wire server) and a token refresh. Returns the token the agent should see.
 */
export function primeAgent(wire: WireServer, id = SANDBOX_ID, token = TOKEN_1, publicHost = wire.url): string {
  wire.on('GET', `/v1/sandboxes/${id}`, { json: sandboxBody(id, publicHost) });
  wire.on('POST', `/v1/sandboxes/${id}/token/refresh`, { json: { auth_token: token, token_expires_at: inOneDay() } });
  return token;
}

/** Like primeAgent, but each token refresh hands out the next token: TOKEN_1, then TOKEN_2 (a 401 rotates it). */
export function primeAgentWithRotation(wire: WireServer, id = SANDBOX_ID): void {
  primeAgent(wire, id);
  wire.on(
    'POST',
    `/v1/sandboxes/${id}/token/refresh`,
    { json: { auth_token: TOKEN_1, token_expires_at: inOneDay() } },
    { json: { auth_token: TOKEN_2, token_expires_at: inOneDay() } },
  );
}
