/**
 * Access-token verification for the OAuth resource server (docs/decisions.md decision 12).
 *
 * Two ways, chosen by configuration:
 * - JWT access tokens (RFC 9068): signature against the issuer's JWKS (jose's remote key set:
 *   fetched once, cached, refetched when an unknown key id shows up), then issuer, expiry and
 *   audience checked here.
 * - Opaque tokens: RFC 7662 introspection at the issuer's introspection endpoint, with this
 *   server's own client credentials; the same issuer/expiry/audience rules apply to the answer.
 *
 * The audience must be this server's canonical URL (RFC 8707 resource indicator): a token minted
 * for another resource is refused even when the issuer and signature are right. The caller is
 * issuer + subject (`sub`, else `client_id` for client-credentials tokens without one).
 *
 * A JWT that passed is remembered (by its exact text) until it expires, for at most
 * `cacheSeconds`: a client sends the same token on every request, and the signature check is the
 * only costly step. Expiry is still checked on every request (by the SDK's verifyBearerToken).
 * Introspection answers are never cached: revocation is why one introspects.
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import { discoverIssuer, type IssuerMetadata } from './discovery.js';

/** Why a token was refused: the label of the auth-failure metric and of the log line. */
export type RefusalReason =
  | 'missing'
  | 'malformed'
  | 'signature'
  | 'expired'
  | 'issuer'
  | 'audience'
  | 'inactive'
  | 'no_subject'
  | 'insufficient_scope'
  | 'unavailable';

/** An OAuthError that also says why, in one word (the SDK maps its code to 401/403). */
export class TokenRefused extends OAuthError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    code: OAuthErrorCode = OAuthErrorCode.InvalidToken,
  ) {
    super(code, message);
  }
}

export interface VerifierOptions {
  /** The authorization server's issuer identifier, exactly as it publishes it. */
  issuer: string;
  /** This server's canonical URL: the audience every token must carry. */
  resource: URL;
  /** Set: verify by RFC 7662 introspection with these client credentials instead of as JWTs. */
  introspection?: { clientId: string; clientSecret: string };
  /** Discovery, key and introspection requests give up after this long. Default 5 000 ms. */
  timeoutMs?: number;
  /** How long a verified JWT is trusted without checking its signature again; 0 = never. Default 60. */
  cacheSeconds?: number;
  fetch?: typeof fetch;
}

/** Compares resource identifiers as the SDK does: without a fragment and one trailing slash. */
function comparable(value: string): string {
  const hash = value.indexOf('#');
  return (hash === -1 ? value : value.slice(0, hash)).replace(/\/$/, '');
}

/** Verified tokens remembered at most (about 1 KB each). */
const MAX_CACHED_TOKENS = 2_000;

function scopesOf(claims: { scope?: unknown; scp?: unknown }): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

export class IssuerTokenVerifier implements OAuthTokenVerifier {
  private metadata: Promise<IssuerMetadata> | undefined;
  private jwks: JWTVerifyGetKey | undefined;
  private readonly audience: string;
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  /** Verified JWTs by their text (insertion order = age, for eviction). */
  private readonly verified = new Map<string, { info: AuthInfo; untilMs: number }>();

  constructor(private readonly o: VerifierOptions) {
    this.audience = comparable(o.resource.href);
    this.timeoutMs = o.timeoutMs ?? 5_000;
    this.cacheMs = (o.cacheSeconds ?? 60) * 1000;
  }

  get mode(): 'jwt' | 'introspection' {
    return this.o.introspection ? 'introspection' : 'jwt';
  }

  /**
   * Discovers the issuer once; a failure is not cached, so the next request (or readiness probe)
   * tries again once the authorization server is back.
   */
  discover(): Promise<IssuerMetadata> {
    this.metadata ??= discoverIssuer(this.o.issuer, { timeoutMs: this.timeoutMs, fetch: this.o.fetch }).catch((error: unknown) => {
      this.metadata = undefined;
      throw error;
    });
    return this.metadata;
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    let metadata: IssuerMetadata;
    try {
      metadata = await this.discover();
    } catch (error) {
      throw new TokenRefused('unavailable', `Cannot verify tokens now: ${(error as Error).message}`, OAuthErrorCode.ServerError);
    }
    return this.o.introspection ? this.introspect(token, metadata, this.o.introspection) : this.verifyJwt(token, metadata);
  }

  private async verifyJwt(token: string, metadata: IssuerMetadata): Promise<AuthInfo> {
    const known = this.verified.get(token);
    if (known && known.untilMs > Date.now()) return known.info;
    if (known) this.verified.delete(token);
    if (!metadata.jwks_uri) {
      throw new TokenRefused('unavailable', `The issuer ${this.o.issuer} publishes no jwks_uri: configure token introspection instead`, OAuthErrorCode.ServerError);
    }
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: this.timeoutMs });
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, { issuer: this.o.issuer, requiredClaims: ['exp'] }));
    } catch (error) {
      throw refusalFromJose(error);
    }
    const info = this.authInfo(token, payload);
    if (this.cacheMs > 0) {
      if (this.verified.size >= MAX_CACHED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, { info, untilMs: Math.min(Date.now() + this.cacheMs, (payload.exp ?? 0) * 1000) });
    }
    return info;
  }

  private async introspect(token: string, metadata: IssuerMetadata, client: { clientId: string; clientSecret: string }): Promise<AuthInfo> {
    if (!metadata.introspection_endpoint) {
      throw new TokenRefused('unavailable', `The issuer ${this.o.issuer} publishes no introspection_endpoint`, OAuthErrorCode.ServerError);
    }
    // RFC 6749 §2.3.1: client id and secret are form-encoded before the Basic encoding.
    const basic = Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64');
    let answer: Record<string, unknown>;
    try {
      const response = await (this.o.fetch ?? fetch)(metadata.introspection_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (!response.ok) throw new Error(`introspection answered HTTP ${response.status}`);
      answer = (await response.json()) as Record<string, unknown>;
    } catch (error) {
      throw new TokenRefused('unavailable', `Cannot introspect the token: ${(error as Error).message}`, OAuthErrorCode.ServerError);
    }
    if (answer.active !== true) throw new TokenRefused('inactive', 'Token is not active (expired, revoked or unknown)');
    if (answer.iss !== undefined && answer.iss !== this.o.issuer) throw new TokenRefused('issuer', 'Token was issued by another issuer');
    if (typeof answer.exp !== 'number') throw new TokenRefused('malformed', 'Token has no expiration time');
    if (answer.exp <= Date.now() / 1000) throw new TokenRefused('expired', 'Token has expired');
    return this.authInfo(token, { ...answer, iss: this.o.issuer });
  }

  /** Audience and subject checks shared by both ways, then the AuthInfo handlers see. */
  private authInfo(token: string, claims: JWTPayload & { client_id?: unknown; azp?: unknown; scope?: unknown; scp?: unknown }): AuthInfo {
    const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.some((aud) => comparable(aud) === this.audience)) {
      throw new TokenRefused('audience', `Token was not issued for this resource (${this.o.resource.href}): request it with resource=${this.o.resource.href}`);
    }
    const clientId = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : undefined;
    const subject = typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : clientId;
    if (!subject) throw new TokenRefused('no_subject', 'Token names no subject (sub) or client (client_id)');
    return {
      token,
      clientId: clientId ?? subject,
      scopes: scopesOf(claims),
      expiresAt: claims.exp,
      resource: this.o.resource,
      extra: { oauth: true, issuer: this.o.issuer, subject },
    };
  }
}

function refusalFromJose(error: unknown): TokenRefused {
  if (error instanceof joseErrors.JWTExpired) return new TokenRefused('expired', 'Token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return new TokenRefused('issuer', 'Token was issued by another issuer');
    return new TokenRefused('malformed', `Token claim "${error.claim}" is not valid (${error.reason})`);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) {
    return new TokenRefused('signature', "Token signature does not match the issuer's keys");
  }
  if (error instanceof joseErrors.JWKSTimeout || (error instanceof Error && !(error instanceof joseErrors.JOSEError))) {
    // Fetching the key set failed (network): not the token's fault.
    return new TokenRefused('unavailable', `Cannot fetch the issuer's signing keys: ${error.message}`, OAuthErrorCode.ServerError);
  }
  return new TokenRefused('malformed', 'Token is not a valid signed JWT');
}
