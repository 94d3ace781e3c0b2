/**
 * A real OAuth 2.1 authorization server for tests: oidc-provider (panva) on loopback, with
 * resource indicators (RFC 8707), client credentials, introspection (RFC 7662) and JWT access
 * tokens (RFC 9068) signed with a key made per run.
 *
 * Clients (all client_secret_basic, secret = `${id}-secret`):
 * - `writer`: may get sandbox:read and sandbox:write
 * - `reader`: gets sandbox:read only, whatever it asks for
 * - `brief`:  like writer, but its tokens live 1 second (the expiry test)
 * - `nobody`: gets a token for the resource with no scope at all
 * - `writer2`: a second subject with full scopes (the isolation tests)
 * - `mcp-server`: the resource server's own client, for introspection
 * Clients may also register themselves (RFC 7591) and use the authorization code flow with PKCE,
 * signing a user in through oidc-provider's development login and consent pages (`signIn`).
 */
// Plain JavaScript so that bench/ (which runs without a TypeScript step) uses the same server.
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * @typedef {object} AuthServer
 * @property {string} issuer
 * @property {string} tokenEndpoint token endpoint, for tests that fetch tokens by hand
 * @property {(client: string, options?: { resource?: string; scope?: string }) => Promise<string>} token
 *   a client_credentials token from `client` for `resource` (omit resource: no resource indicator)
 * @property {(authorizationUrl: string, login: string) => Promise<URL>} signIn
 *   what a browser does with an authorization URL: sign `login` in, consent, and return the
 *   redirect back to the client (with `code`, `state` and `iss`)
 * @property {() => Promise<void>} close
 */

/** @type {Record<string, string>} */
export const SCOPE_BY_CLIENT = {
  writer: 'sandbox:read sandbox:write',
  writer2: 'sandbox:read sandbox:write',
  reader: 'sandbox:read',
  brief: 'sandbox:read sandbox:write',
  nobody: '',
};
/** What dynamically registered clients may get (the user consents to it). */
const REGISTERED_SCOPE = 'sandbox:read sandbox:write';

/** @returns {Promise<import('jose').JWK>} */
export async function signingKey() {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
}

/**
 * @param {{ key?: import('jose').JWK; format?: 'jwt' | 'opaque' }} [options]
 * @returns {Promise<AuthServer>}
 */
export async function startAuthServer(options = {}) {
  const key = options.key ?? (await signingKey());
  const http = createServer();
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${http.address().port}`;

  const client = (id, extra = {}) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
    ...extra,
  });
  const provider = new Provider(issuer, {
    clients: ['writer', 'writer2', 'reader', 'brief', 'nobody', 'mcp-server'].map((id) => client(id)),
    jwks: { keys: [key] },
    // Set explicitly (the defaults work, but print a notice each time they are used).
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300 },
    // Scopes the authorization endpoint accepts (the resource server's scopes come from below).
    scopes: ['openid', 'offline_access', 'sandbox:read', 'sandbox:write'],
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      clientCredentials: { enabled: true },
      // Only the resource server's own client may introspect.
      introspection: { enabled: true, allowedPolicy: (ctx) => ctx.oidc.client?.clientId === 'mcp-server' },
      resourceIndicators: {
        enabled: true,
        // A token names the resource it was asked for; what a client may do there is its grant.
        getResourceServerInfo: (_ctx, resource, requester) => ({
          scope: SCOPE_BY_CLIENT[requester.clientId] ?? REGISTERED_SCOPE,
          audience: resource,
          accessTokenTTL: requester.clientId === 'brief' ? 1 : 300,
          accessTokenFormat: options.format ?? 'jwt',
          ...(options.format === 'opaque' ? {} : { jwt: { sign: { alg: 'RS256' } } }),
        }),
      },
    },
  });
  http.on('request', provider.callback());

  const tokenEndpoint = `${issuer}/token`;
  return {
    issuer,
    tokenEndpoint,
    async token(id, o = {}) {
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope: o.scope ?? SCOPE_BY_CLIENT[id] ?? '' });
      if (o.resource) body.set('resource', o.resource);
      const response = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${id}:${id}-secret`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const json = await response.json();
      if (!json.access_token) throw new Error(`token request for ${id} failed: ${json.error}: ${json.error_description}`);
      return json.access_token;
    },
    async signIn(authorizationUrl, login) {
      /** @type {Map<string, string>} */
      const cookies = new Map();
      const go = async (url, init = {}) => {
        const response = await fetch(url, {
          ...init,
          redirect: 'manual',
          headers: { ...init.headers, cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        for (const line of response.headers.getSetCookie()) {
          const [pair] = line.split(';');
          const eq = pair.indexOf('=');
          cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        return response;
      };
      const form = (fields) => ({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      let url = new URL(authorizationUrl);
      for (let hop = 0; hop < 12; hop++) {
        if (!url.href.startsWith(issuer)) return url; // back at the client: done
        const response = await go(url);
        const location = response.headers.get('location');
        if (location) {
          url = new URL(location, url);
          continue;
        }
        const page = await response.text();
        if (response.status !== 200) throw new Error(`authorization failed at ${url}: ${response.status} ${page.slice(0, 300)}`);
        const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
        const fields = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt: String(prompt) };
        const submitted = await go(url, form(fields));
        url = new URL(String(submitted.headers.get('location')), url);
      }
      throw new Error('authorization did not return to the client');
    },
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
