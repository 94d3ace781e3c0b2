/**
 * Per-sandbox agent tokens: compact JWTs (HS256) signed with a secret that lives only in this
 * backend process. Claims: `sub` = sandbox id, `iat`, `exp` (seconds), `jti`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { secretsEqual } from './http.js';

/** Long enough that clients refreshing at "< 1 h left" (docs/hopx-wire.md §2.4) do not refresh every call. */
const DEFAULT_TOKEN_TTL_SECONDS = 24 * 3600;

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export class TokenSigner {
  constructor(
    private readonly secret: Buffer = randomBytes(32),
    private readonly ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
  ) {}

  issue(sandboxId: string, now = Date.now()): IssuedToken {
    const iat = Math.floor(now / 1000);
    const exp = iat + this.ttlSeconds;
    const header = b64json({ alg: 'HS256', typ: 'JWT' });
    const payload = b64json({ sub: sandboxId, iat, exp, jti: randomBytes(8).toString('hex') });
    const signature = this.sign(`${header}.${payload}`);
    return { token: `${header}.${payload}.${signature}`, expiresAt: new Date(exp * 1000) };
  }

  /** True when the token is well-formed, signed by this backend, unexpired and for this sandbox. */
  verify(token: string, sandboxId: string, now = Date.now()): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const [header, payload, signature] = parts;
    if (!secretsEqual(signature, this.sign(`${header}.${payload}`))) return false;
    let claims: { sub?: unknown; exp?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; exp?: unknown };
    } catch {
      return false;
    }
    if (claims.sub !== sandboxId) return false;
    return typeof claims.exp === 'number' && claims.exp * 1000 > now;
  }

  private sign(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
