/**
 * The OAuth 2.1 resource server end to end: a real authorization server (oidc-provider on
 * loopback, resource indicators on), the SDK v2 client's own OAuth support (discovery from the
 * 401, client-credentials token for this resource, tools called), in both protocol eras, and
 * every refusal with its status and WWW-Authenticate header.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  ClientCredentialsProvider,
  StreamableHTTPClientTransport,
  type OAuthClientInformationMixed,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthTokens,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import type { HttpServer, HttpServerOptions } from '../../src/transports/http.js';
// @ts-expect-error plain ESM script without type declarations (JSDoc types only)
import { signingKey, startAuthServer, type AuthServer } from '../support/oidc.mjs';
import { callTool, createSandbox, INITIALIZE_BODY, MCP_HEADERS, rawRequest, sandboxGone, useHttpFixture, waitFor, type Era } from './helpers.js';

const fixture = useHttpFixture();
let as: AuthServer;
const authServers: AuthServer[] = [];

beforeAll(async () => {
  as = await startAuthServer();
});
afterEach(async () => {
  await Promise.allSettled(authServers.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await as?.close();
});

/** An HTTP server on the test backend, an OAuth resource server of `as` unless overridden. */
function serve(overrides: Partial<HttpServerOptions> = {}): Promise<HttpServer> {
  return fixture.serve({ oauth: { issuer: as.issuer }, ...overrides });
}

/** HTTP exchanges the client made, for asserting statuses and challenges. */
type Seen = Array<{ method: string; url: string; status: number; wwwAuthenticate: string | null }>;

/** An SDK client that authenticates itself with OAuth client credentials, as a remote connector would. */
async function oauthClient(server: HttpServer, era: Era, clientId: string, seen: Seen = []): Promise<Client> {
  const provider = new ClientCredentialsProvider({ clientId, clientSecret: `${clientId}-secret`, expectedIssuer: as.issuer });
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    seen.push({
      method: init?.method ?? 'GET',
      url: String(input instanceof Request ? input.url : input),
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate'),
    });
    return response;
  };
  const client = new Client({ name: 'oauth-test', version: '1.0.0' }, { versionNegotiation: { mode: era === 'legacy' ? 'legacy' : 'auto' } });
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider, fetch: recordingFetch }));
  fixture.track(client);
  return client;
}

/**
 * What a remote connector (claude.ai, Claude Desktop, VS Code) keeps: it registers itself, sends
 * the user's browser to the authorization URL, and holds the tokens. Here the "browser" is
 * AuthServer.signIn.
 */
class ConnectorProvider implements OAuthClientProvider {
  readonly redirectUrl = 'http://127.0.0.1:9/callback';
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: 'remote connector (test)',
    redirect_uris: [this.redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  };
  authorizationUrl: URL | undefined;
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** Connects as a remote connector whose user `login` signs in (authorization code + PKCE). */
async function connectorClient(server: HttpServer, era: Era, login: string): Promise<{ client: Client; provider: ConnectorProvider }> {
  const provider = new ConnectorProvider();
  const options = { versionNegotiation: { mode: era === 'legacy' ? ('legacy' as const) : ('auto' as const) } };
  const first = new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider });
  // No token yet: the 401 starts registration and sends the user to the authorization server.
  await expect(new Client({ name: 'connector', version: '1.0.0' }, options).connect(first)).rejects.toThrow(/nauthorized/);
  expect(provider.authorizationUrl?.searchParams.get('resource')).toBe(server.url);
  expect(provider.authorizationUrl?.searchParams.get('code_challenge_method')).toBe('S256');
  const back = await as.signIn(provider.authorizationUrl!.href, login);
  await first.finishAuth(back.searchParams);
  const client = new Client({ name: 'connector', version: '1.0.0' }, options);
  await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider }));
  fixture.track(client);
  return { client, provider };
}

function bearer(token: string): Record<string, string> {
  return { ...MCP_HEADERS, authorization: `Bearer ${token}` };
}

/** The challenge parameters of a WWW-Authenticate: Bearer header. */
function challenge(header: string | string[] | undefined): Record<string, string> {
  const text = String(header ?? '');
  expect(text).toMatch(/^Bearer /);
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

function metadataUrl(server: HttpServer): string {
  const url = new URL(server.url);
  return `${url.origin}/.well-known/oauth-protected-resource${url.pathname}`;
}

describe('discovery', () => {
  it('answers 401 naming its Protected Resource Metadata, which names the issuer, resource and scopes', async () => {
    const server = await serve();
    const refused = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(refused.status).toBe(401);
    expect(challenge(refused.headers['www-authenticate']).resource_metadata).toBe(metadataUrl(server));

    const prm = await fetch(metadataUrl(server));
    expect(prm.status).toBe(200);
    expect(await prm.json()).toMatchObject({
      resource: server.url,
      authorization_servers: [as.issuer],
      scopes_supported: ['sandbox:read', 'sandbox:write'],
      bearer_methods_supported: ['header'],
    });
  });
});

describe.each(['legacy', 'modern'] as const)('%s-era SDK client with OAuth', (era) => {
  it('discovers the authorization server from the 401, gets a token for this resource, and calls tools', async () => {
    const server = await serve();
    const seen: Seen = [];
    const client = await oauthClient(server, era, 'writer', seen);
    expect(client.getProtocolEra()).toBe(era);
    // The path a remote connector takes: 401 → metadata → authorization server → token → retry.
    expect(seen[0]).toMatchObject({ url: server.url, status: 401 });
    expect(seen.some((s) => s.url === metadataUrl(server) && s.status === 200)).toBe(true);
    expect(seen.some((s) => s.url === as.tokenEndpoint && s.status === 200)).toBe(true);

    const id = await createSandbox(client);
    const run = await callTool(client, 'sandbox_run_code', { code: 'print(6*7)' });
    expect(run.isError, run.text).toBe(false);
    expect(run.text).toContain('42');
    await server.close();
    expect(await sandboxGone(fixture.backend().client, id)).toBe(true);
  });

  it('refuses a tool beyond the token’s scope with 403 insufficient_scope naming sandbox:write', async () => {
    const server = await serve();
    const seen: Seen = [];
    const before = (await fixture.backend().client.sandboxes.list()).sandboxes.length;
    const client = await oauthClient(server, era, 'reader', seen);
    // Reading works with sandbox:read.
    const list = await callTool(client, 'sandbox_list');
    expect(list.isError, list.text).toBe(false);
    // Creating needs sandbox:write, which this client cannot get: the SDK tries a step-up, then gives up.
    await expect(client.callTool({ name: 'sandbox_create', arguments: {} })).rejects.toThrow(/insufficient_scope|403/);
    const forbidden = seen.find((s) => s.status === 403);
    expect(forbidden, JSON.stringify(seen)).toBeDefined();
    const params = challenge(forbidden!.wwwAuthenticate ?? undefined);
    expect(params).toMatchObject({ error: 'insufficient_scope', scope: 'sandbox:write', resource_metadata: metadataUrl(server) });
    expect((await fixture.backend().client.sandboxes.list()).sandboxes.length).toBe(before);
  });
});

describe.each(['legacy', 'modern'] as const)('%s-era remote connector (authorization code + PKCE, dynamic registration)', (era) => {
  it('signs a user in, gets a token for this resource, and each user has their own sandboxes', async () => {
    const server = await serve();
    const alice = await connectorClient(server, era, 'alice');
    expect(decodeJwt(alice.provider.tokens()!.access_token)).toMatchObject({ sub: 'alice', aud: server.url, iss: as.issuer });
    const id = await createSandbox(alice.client);
    const run = await callTool(alice.client, 'sandbox_run_code', { code: 'print("hi from alice")' });
    expect(run.text).toContain('hi from alice');

    const bob = await connectorClient(server, era, 'bob');
    const bobList = await callTool(bob.client, 'sandbox_list');
    expect(bobList.isError, bobList.text).toBe(false);
    expect(bobList.text).not.toContain(id);
    expect((await callTool(bob.client, 'sandbox_kill', { sandbox_id: id })).isError).toBe(true);
    expect(await sandboxGone(fixture.backend().client, id)).toBe(false);
  });
});

describe('scopes on raw requests', () => {
  it('a token without scope may list tools, but neither call a read tool nor read a resource (403 naming sandbox:read)', async () => {
    const server = await serve();
    const token = await as.token('nobody', { resource: server.url, scope: '' });
    const init = await rawRequest(server.url, { headers: bearer(token), body: INITIALIZE_BODY });
    expect(init.status).toBe(200);
    const headers = { ...bearer(token), 'mcp-session-id': String(init.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
    const send = (id: number, method: string, params: unknown) => rawRequest(server.url, { headers, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) });
    expect((await send(2, 'tools/list', {})).status).toBe(200);
    for (const [method, params] of [
      ['tools/call', { name: 'sandbox_list', arguments: {} }],
      ['resources/read', { uri: 'hopx://templates' }],
    ] as const) {
      const res = await send(3, method, params);
      expect(res.status, method).toBe(403);
      expect(challenge(res.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: 'sandbox:read', resource_metadata: metadataUrl(server) });
    }
  });
});

describe('refusals', () => {
  async function refusedWith(server: HttpServer, token: string) {
    const res = await rawRequest(server.url, { headers: bearer(token), body: INITIALIZE_BODY });
    return { status: res.status, params: challenge(res.headers['www-authenticate']), body: JSON.parse(res.body) as { error: string; error_description: string } };
  }

  it('a token for another resource (wrong audience) → 401 invalid_token', async () => {
    const server = await serve();
    const token = await as.token('writer', { resource: 'http://127.0.0.1:9/other-mcp' });
    const { status, params, body } = await refusedWith(server, token);
    expect(status).toBe(401);
    expect(params).toMatchObject({ error: 'invalid_token', resource_metadata: metadataUrl(server) });
    expect(body.error_description).toMatch(/not issued for this resource/);
  });

  it('a token without a resource indicator (no audience, opaque) → 401 invalid_token', async () => {
    const server = await serve();
    const token = await as.token('writer');
    const { status, params } = await refusedWith(server, token);
    expect(status).toBe(401);
    expect(params.error).toBe('invalid_token');
  });

  it('an expired token → 401 invalid_token', async () => {
    const server = await serve();
    const token = await as.token('brief', { resource: server.url });
    const { exp } = decodeJwt(token);
    // Accepted while it lives...
    const fresh = await rawRequest(server.url, { headers: bearer(token), body: INITIALIZE_BODY });
    if (Date.now() / 1000 < exp!) expect(fresh.status).toBe(200);
    // ...refused once its exp has passed (the wait is for that instant, not a fixed time).
    await waitFor(() => Date.now() / 1000 > exp! + 0.05, 5_000, 'the token to expire');
    const { status, params, body } = await refusedWith(server, token);
    expect(status).toBe(401);
    expect(params.error).toBe('invalid_token');
    expect(body.error_description).toMatch(/expired/);
  });

  it('a token from another issuer, even signed with the same key → 401 invalid_token', async () => {
    const key = await signingKey();
    const [ours, other] = await Promise.all([startAuthServer({ key }), startAuthServer({ key })]);
    authServers.push(ours, other);
    const server = await serve({ oauth: { issuer: ours.issuer } });
    const good = await ours.token('writer', { resource: server.url });
    expect((await rawRequest(server.url, { headers: bearer(good), body: INITIALIZE_BODY })).status).toBe(200);

    const foreign = await other.token('writer', { resource: server.url });
    const { status, params, body } = await refusedWith(server, foreign);
    expect(status).toBe(401);
    expect(params.error).toBe('invalid_token');
    expect(body.error_description).toMatch(/another issuer/);
  });

  it('a token signed by someone else’s key → 401 invalid_token; no token → 401 with the metadata URL', async () => {
    const server = await serve();
    const stranger = await startAuthServer();
    authServers.push(stranger);
    const forged = await stranger.token('writer', { resource: server.url });
    expect((await refusedWith(server, forged)).status).toBe(401);
    const none = await rawRequest(server.url, { headers: MCP_HEADERS, body: INITIALIZE_BODY });
    expect(none.status).toBe(401);
    expect(challenge(none.headers['www-authenticate']).resource_metadata).toBe(metadataUrl(server));
  });
});

describe('callers', () => {
  it('each subject has its own 2026-era conversation and sandboxes', async () => {
    const server = await serve();
    const alice = await oauthClient(server, 'modern', 'writer');
    const bob = await oauthClient(server, 'modern', 'writer2');
    // One conversation per subject, held from their first request on.
    expect(server.stats()).toEqual({ sessions: 0, callers: 2 });
    const id = await createSandbox(alice);

    const bobList = await callTool(bob, 'sandbox_list');
    expect(bobList.text).not.toContain(id);
    const bobRun = await callTool(bob, 'sandbox_run_code', { sandbox_id: id, code: 'print(1)' });
    expect(bobRun.isError).toBe(true);
    expect(bobRun.text).toMatch(/not attached to this conversation/);
    // Alice's conversation still has its current sandbox.
    const aliceRun = await callTool(alice, 'sandbox_run_code', { code: 'print(3)' });
    expect(aliceRun.isError, aliceRun.text).toBe(false);
  });

  it('a 2025-era session presented with another subject’s token is 404', async () => {
    const server = await serve();
    const alice = await as.token('writer', { resource: server.url });
    const bob = await as.token('writer2', { resource: server.url });
    const init = await rawRequest(server.url, { headers: bearer(alice), body: INITIALIZE_BODY });
    expect(init.status).toBe(200);
    const sessionId = String(init.headers['mcp-session-id']);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    const headers = (token: string) => ({ ...bearer(token), 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect((await rawRequest(server.url, { headers: headers(bob), body: list })).status).toBe(404);
    expect((await rawRequest(server.url, { headers: headers(alice), body: list })).status).toBe(200);
  });
});

describe('token introspection (RFC 7662)', () => {
  it('accepts opaque tokens the issuer vouches for, for this resource only', async () => {
    const opaque = await startAuthServer({ format: 'opaque' });
    authServers.push(opaque);
    const server = await serve({ oauth: { issuer: opaque.issuer, introspection: { clientId: 'mcp-server', clientSecret: 'mcp-server-secret' } } });
    const token = await opaque.token('writer', { resource: server.url });
    expect(token.split('.').length).not.toBe(3);
    expect((await rawRequest(server.url, { headers: bearer(token), body: INITIALIZE_BODY })).status).toBe(200);

    const elsewhere = await opaque.token('writer', { resource: 'http://127.0.0.1:9/other-mcp' });
    const refused = await rawRequest(server.url, { headers: bearer(elsewhere), body: INITIALIZE_BODY });
    expect(refused.status).toBe(401);
    expect(challenge(refused.headers['www-authenticate']).error).toBe('invalid_token');
    expect((await rawRequest(server.url, { headers: bearer('not-a-token-at-all'), body: INITIALIZE_BODY })).status).toBe(401);
  });
});

describe('when the authorization server is unusable', () => {
  it('is down: not ready, and requests get 503 with Retry-After (not 401: the token is not at fault)', async () => {
    const gone = await startAuthServer();
    const issuer = gone.issuer;
    await gone.close();
    const server = await serve({ oauth: { issuer } });
    const origin = new URL(server.url).origin;
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.checks.backend.ok).toBe(true);
    expect(body.checks.auth).toMatchObject({ ok: false, detail: expect.stringMatching(/cannot reach/) });

    const res = await rawRequest(server.url, { headers: bearer('eyJhbGciOiJSUzI1NiJ9.e30.x'), body: INITIALIZE_BODY });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
  });

  it('is configured by the wrong issuer URL: /readyz says the issuer it found', async () => {
    // Same server, other spelling: its metadata names 127.0.0.1, so localhost is not its issuer.
    const wrong = as.issuer.replace('127.0.0.1', 'localhost');
    const server = await serve({ oauth: { issuer: wrong } });
    const ready = await fetch(`${new URL(server.url).origin}/readyz`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
    expect(body.checks.auth.detail).toContain(`names its issuer "${as.issuer}"`);
  });
});
