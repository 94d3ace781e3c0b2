/**
 * Who may call the HTTP endpoint, and who they are (docs/decisions.md decisions 7 and 12).
 *
 * - `token`: the static bearer token (HOPX_MCP_AUTH_TOKEN), compared in constant time. Everyone
 *   holding it is one caller.
 * - `oauth`: an OAuth 2.1 resource server. It publishes Protected Resource Metadata (RFC 9728) at
 *   the well-known path derived from its canonical URL, answers 401 with a `WWW-Authenticate`
 *   challenge naming that document, and verifies access tokens (IssuerTokenVerifier) through the
 *   SDK's `verifyBearerToken` (which also checks expiry and the audience). Each issuer + subject is
 *   its own caller. Scope checks per tool happen later, in the SDK's scope challenges.
 * - `none`: loopback only; the one anonymous caller.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerAuthChallengeResponse,
  getOAuthProtectedResourceMetadataUrl,
  OAuthErrorCode,
  verifyBearerToken,
  type AuthInfo,
  type OAuthProtectedResourceMetadata,
} from '@modelcontextprotocol/server';
import { bearerGuard } from '../http/guards.js';
import { SCOPES } from './scopes.js';
import { IssuerTokenVerifier, TokenRefused, type RefusalReason } from './verifier.js';

export interface Caller {
  /** Stable key of the caller: conversations, sandboxes and limits hang on it. */
  identity: string;
  /** OAuth callers: the verified token (scopes, expiry), handed to the MCP handlers. */
  authInfo?: AuthInfo;
}

export interface Authenticator {
  readonly mode: 'none' | 'token' | 'oauth';
  /** Answers the well-known metadata routes this mode publishes; false when `path` is not one. */
  serveMetadata(req: IncomingMessage, res: ServerResponse, path: string): boolean;
  /** The caller, or undefined after answering the request with a refusal (401/403/503). */
  authenticate(req: IncomingMessage, res: ServerResponse): Promise<Caller | undefined>;
  /** For /readyz: can callers be authenticated now (the issuer reachable)? */
  ready(): Promise<{ ok: boolean; detail?: string }>;
}

export interface OAuthGateOptions {
  issuer: string;
  /** This server's canonical URL (the MCP endpoint): the token audience and the PRM `resource`. */
  resource: URL;
  introspection?: { clientId: string; clientSecret: string };
  /** Seconds a verified JWT is trusted without a new signature check (default 60; 0 = never). */
  cacheSeconds?: number;
  /** Called on every refusal with its reason (metrics). */
  onRefused?: (reason: RefusalReason) => void;
  verifier?: IssuerTokenVerifier;
}

/** Identity of an OAuth caller: issuer + subject, hashed (a subject may be an e-mail address). */
function oauthIdentity(issuer: string, subject: string): string {
  return `oauth:${createHash('sha256').update(`${issuer}\n${subject}`).digest('hex').slice(0, 24)}`;
}

export function noAuth(): Authenticator {
  return {
    mode: 'none',
    serveMetadata: () => false,
    authenticate: () => Promise.resolve({ identity: 'anonymous' }),
    ready: () => Promise.resolve({ ok: true }),
  };
}

export function staticTokenAuth(token: string, onRefused?: (reason: RefusalReason) => void): Authenticator {
  const check = bearerGuard(token);
  return {
    mode: 'token',
    serveMetadata: () => false,
    authenticate(req, res) {
      if (check(req, res)) return Promise.resolve({ identity: 'bearer' });
      onRefused?.(req.headers.authorization ? 'signature' : 'missing');
      return Promise.resolve(undefined);
    },
    ready: () => Promise.resolve({ ok: true }),
  };
}

/** Writes a fetch-style Response (the SDK's challenge answers) onto a node response. */
async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key] = value));
  const body = await response.text();
  res.writeHead(response.status, headers).end(body);
}

export function oauthAuth(o: OAuthGateOptions): Authenticator & { metadata: OAuthProtectedResourceMetadata; metadataUrl: string } {
  const verifier =
    o.verifier ?? new IssuerTokenVerifier({ issuer: o.issuer, resource: o.resource, introspection: o.introspection, cacheSeconds: o.cacheSeconds });
  const metadataUrl = getOAuthProtectedResourceMetadataUrl(o.resource);
  const metadataPath = new URL(metadataUrl).pathname;
  // RFC 9728 §2. Built here rather than with the SDK's buildOAuthProtectedResourceMetadata, which
  // wants the issuer's full RFC 8414 metadata at startup: the server must start (not ready) while
  // the authorization server is down.
  const metadata: OAuthProtectedResourceMetadata = {
    resource: o.resource.href,
    authorization_servers: [o.issuer],
    scopes_supported: [...SCOPES],
    bearer_methods_supported: ['header'],
    resource_name: 'hopx-mcp',
  };
  const body = JSON.stringify(metadata);

  return {
    mode: 'oauth',
    metadata,
    metadataUrl,
    serveMetadata(req, res, path) {
      if (path !== metadataPath && path !== '/.well-known/oauth-protected-resource') return false;
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET, OPTIONS' }).end();
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD, OPTIONS' }).end();
      } else {
        // Browser-based clients (MCP Inspector, web connectors) read it cross-origin.
        res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'max-age=3600' });
        res.end(req.method === 'HEAD' ? undefined : body);
      }
      return true;
    },
    async authenticate(req, res) {
      try {
        const authInfo = await verifyBearerToken(req.headers.authorization, { verifier, expectedResource: o.resource, resourceMetadataUrl: metadataUrl });
        const { issuer, subject } = authInfo.extra as { issuer: string; subject: string };
        return { identity: oauthIdentity(issuer, subject), authInfo };
      } catch (error) {
        const reason: RefusalReason =
          error instanceof TokenRefused ? error.reason : req.headers.authorization ? 'malformed' : 'missing';
        o.onRefused?.(reason);
        if (error instanceof TokenRefused && error.code === (OAuthErrorCode.ServerError as string)) {
          // The issuer is unreachable or misconfigured: not the caller's fault, so no 401 (which
          // would send clients into a new authorization round); they retry later.
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '5' });
          res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: error.message }));
          return undefined;
        }
        await sendWebResponse(res, bearerAuthChallengeResponse(error, { resourceMetadataUrl: metadataUrl }));
        return undefined;
      }
    },
    async ready() {
      try {
        await verifier.discover();
        return { ok: true };
      } catch (error) {
        return { ok: false, detail: `authorization server: ${(error as Error).message}` };
      }
    },
  };
}
