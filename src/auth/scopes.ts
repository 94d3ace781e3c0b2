/**
 * OAuth scopes of hopx-mcp, derived from a tool's kind in this one place: a tool that only reads
 * needs `sandbox:read`; one that changes, runs or deletes anything needs `sandbox:write`. Write
 * implies read, so a token with `sandbox:write` alone may also call read tools.
 *
 * The check runs through the SDK's per-operation scope challenge (`scopeChallenge` on
 * registerTool / registerResource): the SDK answers HTTP 403 `insufficient_scope` naming the
 * scope before the handler runs, in both protocol eras.
 */
import type { ScopeChallengeHandler } from '@modelcontextprotocol/server';

export const SCOPE_READ = 'sandbox:read';
const SCOPE_WRITE = 'sandbox:write';
export const SCOPES = [SCOPE_READ, SCOPE_WRITE] as const;

/** Scopes that satisfy a requirement (write includes read). */
const SATISFIES: Record<string, readonly string[]> = {
  [SCOPE_READ]: [SCOPE_READ, SCOPE_WRITE],
  [SCOPE_WRITE]: [SCOPE_WRITE],
};

/** The scope a tool of this kind needs. */
export function scopeForKind(kind: 'read' | 'write' | 'destructive'): string {
  return kind === 'read' ? SCOPE_READ : SCOPE_WRITE;
}

/** Whether granted scopes satisfy `required`. */
function hasScope(granted: readonly string[], required: string): boolean {
  return (SATISFIES[required] ?? [required]).some((scope) => granted.includes(scope));
}

/**
 * A scope challenge asking for `required`. Requests without authentication info (stdio, the static
 * bearer token) are not challenged: scopes exist only for OAuth callers.
 */
export function requireScope(required: string): ScopeChallengeHandler {
  return ({ authInfo }) => {
    if (authInfo?.extra?.oauth !== true || hasScope(authInfo.scopes, required)) return undefined;
    return { scopes: [required], errorDescription: `This call needs the ${required} scope` };
  };
}
