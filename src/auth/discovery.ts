/**
 * Authorization server discovery: where the issuer publishes its signing keys (jwks_uri) and its
 * token introspection endpoint. RFC 8414 metadata first, OpenID Connect discovery second; the
 * document must name exactly the configured issuer (RFC 8414 §3.3), so a mistyped --issuer is
 * reported instead of trusting some other server's keys.
 */

export interface IssuerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
}

/** The issuer cannot be reached or its metadata is unusable; the message says which. */
class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

/** RFC 8414 §3.1 inserts the well-known segment before the issuer's path; OIDC appends it. */
function discoveryUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [
    new URL(`/.well-known/oauth-authorization-server${path}`, url).href,
    new URL(`${path}/.well-known/openid-configuration`, url).href,
  ];
}

export async function discoverIssuer(issuer: string, options: { timeoutMs: number; fetch?: typeof fetch }): Promise<IssuerMetadata> {
  const fetchImpl = options.fetch ?? fetch;
  const problems: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let response: Response;
    try {
      response = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(options.timeoutMs) });
    } catch (error) {
      throw new DiscoveryError(`cannot reach the authorization server at ${url}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!response.ok) {
      problems.push(`${url} answered HTTP ${response.status}`);
      await response.body?.cancel();
      continue;
    }
    let document: unknown;
    try {
      document = await response.json();
    } catch {
      problems.push(`${url} did not return JSON`);
      continue;
    }
    const metadata = document as Partial<IssuerMetadata>;
    if (metadata.issuer !== issuer) {
      throw new DiscoveryError(
        `the authorization server at ${url} names its issuer "${String(metadata.issuer)}", not "${issuer}": set --issuer to its exact issuer URL`,
      );
    }
    return { issuer, jwks_uri: metadata.jwks_uri, introspection_endpoint: metadata.introspection_endpoint };
  }
  throw new DiscoveryError(`no authorization server metadata for ${issuer} (${problems.join('; ')})`);
}
