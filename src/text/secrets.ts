/**
 * Secrets never reach a result, an error message or a log line. One place knows what they look
 * like: HopX API keys, JWTs (agent tokens) and bearer credentials in text, and secret-named keys
 * in structured data.
 */

/** `text` with anything shaped like a HopX API key, a JWT or a bearer credential replaced. */
export function redactSecrets(text: string): string {
  return text
    .replace(/hopx_(live|test)_[A-Za-z0-9]+\.[A-Za-z0-9_-]+/g, '[redacted key]')
    .replace(/\b(sk_live_)[A-Za-z0-9_-]+/g, '[redacted key]')
    .replace(/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[redacted token]')
    .replace(/(bearer\s+)(?!\[redacted)[^\s"',]+/gi, '$1[redacted]');
}

/** Keys whose values are credentials: dropped from structured data shown to a model. */
const SECRET_KEY = /token|jwt|secret|password|authorization|api[_-]?key/i;

/** A copy of `raw` (recursively) without the keys that hold credentials. */
export function withoutSecretKeys(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (SECRET_KEY.test(k)) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutSecretKeys(v as Record<string, unknown>) : v;
  }
  return out;
}
